"""examples/mmn_9_2.py at its --quick size: R_min and the single delta at d = ∞ against the
convex-hull values of docs/theory.md §6b, the threshold, SGD against the DD at d = 40."""

import numpy as np

from .gallery import load_example

HULL = {0.3: 0.13924, 0.4: 0.025568}        # R_min = R* below Δ_h (docs/theory.md §6b)
SINGLE = {0.6: 0.0750, 0.8: 0.4928}         # R* above Δ_h, where R_min = 0
THRESHOLD = 0.474219


def test_mmn_9_2_quick(tmp_path):
    result = load_example("mmn_9_2").main(tmp_path, quick=True)
    assert (tmp_path / "mmn_9_2.png").stat().st_size > 10_000
    table = result["table"]
    deltas, r_min, single = table["delta"], table["min_risk"], table["single_risk"]
    assert np.all(table["min_gap"] < 1e-9)
    assert np.all(np.diff(r_min) <= 1e-12)                      # R_min falls as Δ grows
    for delta, value in HULL.items():
        i = np.flatnonzero(np.isclose(deltas, delta))[0]
        assert abs(r_min[i] - value) < 2e-5, (delta, r_min[i])
        assert abs(single[i] - r_min[i]) < 1e-6 and table["single_optimal"][i] == 1  # cells
    for delta, value in SINGLE.items():
        i = np.flatnonzero(np.isclose(deltas, delta))[0]
        assert r_min[i] < 1e-9
        assert abs(single[i] - value) < 1e-3 and table["single_optimal"][i] == 0
    lo, hi = result["threshold"]
    assert lo - 1e-6 <= THRESHOLD <= hi + 1e-6 and hi - lo <= 1.1e-4
    # the Lagrangian DD's risk is of point particles, R_min of cell averages: 2e-7 apart
    assert np.all(table["dd_risk"] >= r_min - 1e-6)
    for delta, point in result["points"].items():
        value, tolerance, within = point["rows"]["risk_gap"]
        assert within, (delta, value, tolerance)
