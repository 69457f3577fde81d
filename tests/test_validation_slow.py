"""Long validation runs (``python -m pytest -m slow``): the accuracy targets of the core solver."""

import numpy as np
import pytest

import ddsolver

from conftest import assert_invariants, make_case

pytestmark = pytest.mark.slow


def test_default_grid_reproduces_converged_risk_curve():
    """MMN 9.1 to t = 200: the default grid (3200 cells) against the Lagrangian scheme with 4000
    quantile particles, an independent discretisation that is itself converged to ~1e-5."""
    times = np.linspace(0, 200, 401)
    fv = ddsolver.solve(make_case(training={"t_final": 200.0},
                                  pde={"snapshot_times": times, "grid": {"r": {"max": 8.0}}}))
    lag = ddsolver.solve(make_case(training={"t_final": 200.0},
                                   pde={"snapshot_times": times, "scheme": "lagrangian",
                                        "particles": 4000, "rtol": 1e-10}))
    assert fv.grid.shape == (3200,)
    assert_invariants(fv)
    assert_invariants(lag)
    assert np.max(np.abs(fv.risk - lag.risk)) < 1e-4
    assert fv.risk[20] == pytest.approx(0.175, abs=2e-3)      # t = 10, MATH.md 4.1
