"""examples/kernel_limit.py at its --quick size: the files it writes and its numbers (the
symmetric law's gap falls faster than 1/α, the skewed law's like 1/α; units move by O(1/α))."""

import numpy as np

import ddsolver

from .gallery import load_example


def test_kernel_limit_example_quick(tmp_path, capsys):
    """Measured slopes −1.77 ± 0.07 (symmetric) and −0.96 ± 0.01 (skewed); α × the mean
    displacement within 4 % of the kernel limit's first-order value at α = 32."""
    results = load_example("kernel_limit").main(tmp_path, quick=True)
    assert (tmp_path / "kernel_limit.png").stat().st_size > 10_000
    assert "slope of the gap" in capsys.readouterr().out
    symmetric, skewed = results["symmetric"]["slope"][0], results["skewed"]["slope"][0]
    assert symmetric < -1.6, symmetric
    assert -1.1 < skewed < -0.9, skewed
    for law, result in results.items():
        stored = ddsolver.load(tmp_path / law / "alpha_32.h5")
        np.testing.assert_allclose(stored.risk, result["runs"][-1].risk, rtol=0, atol=0)
        assert abs(result["moved"][-1] / result["kernel_moved"] - 1) < 0.04, law
