"""examples/mmn_9_3.py at its --quick size: SGD of units a ReLU(<w, x> + b) on anisotropic data
follows the 4-D DD (a, b, r1, r2), and both select the signal coordinates: r2 collapses while
r1 grows."""

import numpy as np

from .gallery import load_example


def test_mmn_9_3_quick(tmp_path):
    """Measured (d = 40, s0 = 10, N = 400, 2 seeds, t = 4): mean r2 0.859 -> 0.228 (DD) and
    0.856 -> 0.240 (SGD), mean r1 0.488 -> 1.03; every validation row passes (risk gap 0.0036
    against a tolerance of 0.035; W1 of a and b against the particles' point masses 0.012 and
    0.0073)."""
    result = load_example("mmn_9_3").main(tmp_path, quick=True)
    assert (tmp_path / "mmn_9_3.png").stat().st_size > 10_000
    for metric, (value, tolerance, within) in result["rows"].items():
        assert within, (metric, value, tolerance)
    (r2_start, r2_end), (sgd_start, sgd_end) = result["r2_dd"], result["r2_sgd"]["2e-4"]
    assert r2_end < 0.35 * r2_start and sgd_end < 0.35 * sgd_start
    assert result["r1_dd"][1] > 1.8 * result["r1_dd"][0]
    dd, dd_inf = result["dd"], result["dd_inf"]
    assert dd.particles[0].shape[2] == 4 and np.all(dd_inf.risk[1:] < dd.risk[1:])
