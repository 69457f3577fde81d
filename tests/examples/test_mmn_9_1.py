"""examples/mmn_9_1.py at its --quick size: SGD within the validation's tolerances of the
finite-d DD and closer to it than to the d = ∞ DD; the law of |w| splits, in SGD as in the DD."""

import numpy as np

import ddsolver

from .gallery import load_example


def test_mmn_9_1_quick(tmp_path):
    """Measured (N = 200, ε = 1e-4, 2 seeds, t ≤ 10): risk_gap 0.0078 (d = 40) against 0.035
    (d = ∞); mass at r < 0.5 at t = 10: DD 0.139, SGD 0.125; at t = 200 0.236 / 0.011 / 0.753."""
    result = load_example("mmn_9_1").main(tmp_path, quick=True)
    assert (tmp_path / "mmn_9_1.png").stat().st_size > 10_000
    stored = ddsolver.load(tmp_path / "dd_d40.h5")
    np.testing.assert_allclose(stored.risk, result["risk"], rtol=0, atol=0)
    assert abs(result["risk"][0] - 1.70447) < 1e-4          # tests/test_solve.py
    for metric, (value, tolerance, within) in result["rows"].items():
        assert within, (metric, value, tolerance)
    assert result["rows"]["risk_gap"][0] < 0.5 * result["rows_inf"]["risk_gap"][0]
    collapsed, middle, outer = result["masses"][-1]           # the DD at t = 200
    assert collapsed > 0.2 and middle < 0.02 and outer > 0.7
    k = np.flatnonzero(np.isclose(result["t"], result["sgd_t"][-1]))[0]
    dd_collapsed, n = result["masses"][k, 0], 2 * 200
    binomial_se = np.sqrt(dd_collapsed * (1 - dd_collapsed) / n)
    assert dd_collapsed > 0.1
    assert abs(result["sgd_masses"][0] - dd_collapsed) < 3 * binomial_se
