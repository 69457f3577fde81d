"""examples/mmn_9_4.py at its --quick size: the certificates of the two starts differ (the bad
start's gap to the certified minimum is large, the good one's small), and SGD follows both."""

from .gallery import load_example


def test_mmn_9_4_quick(tmp_path):
    """Measured: R_min 0.130153 (single delta 0.130151); small start gap 1.92, excess 0.716;
    large start gap 2.5e-6, excess 2.0e-7; SGD 0.853 and 0.144 (N = 200)."""
    result = load_example("mmn_9_4").main(tmp_path, quick=True)
    assert (tmp_path / "mmn_9_4.png").stat().st_size > 10_000
    minimum, single = result["minimum"], result["single"]
    assert minimum.attrs["gap"] < 1e-9
    assert abs(minimum.risk[0] - single.risk) < 1e-5           # QP on cells, scan on points
    small, large = result["starts"]["small"], result["starts"]["large"]
    assert small["certificates"].gap[-1] > 1.0 and small["certificates"].excess[-1] > 0.5
    assert large["certificates"].gap[-1] < 1e-4 and large["certificates"].excess[-1] < 1e-5
    for start in (small, large):
        for metric, (value, tolerance, within) in start["rows"].items():
            assert within, (metric, value, tolerance)
    assert small["sgd_risk"] - minimum.risk[0] > 0.5                       # SGD trapped too
    assert abs(large["sgd_risk"] - minimum.risk[0]) < 0.02
