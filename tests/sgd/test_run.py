"""simulate(): seeding, initial laws, snapshots, and agreement with the PDE at t = 0."""

import math

import numpy as np
import pytest

import ddsolver
from ddsolver.sgd.run import make_sgd_model, simulate


@pytest.fixture(name="tiny", scope="module")
def tiny_fixture(make_case):
    def tiny(**sgd):
        return make_case(data={"dim": 10}, training={"t_final": 0.2},
                         pde={"snapshot_times": [0.0, 0.1, 0.2]},
                         sgd={"neurons": 50, "eps": 1e-3, **sgd})

    return tiny


def test_reproducible_and_seeded(tiny):
    a, b = simulate(tiny(), seed=3), simulate(tiny(), seed=3)
    c = simulate(tiny(), seed=4)
    assert np.array_equal(a.coords["r"], b.coords["r"]) and np.array_equal(a.risk, b.risk)
    assert not np.array_equal(a.coords["r"], c.coords["r"])
    np.testing.assert_allclose(a.t, [0.0, 0.1, 0.2])
    assert a.risk[-1] < a.risk[0]


def test_minibatch_time_axis_and_weights(tiny):
    res = simulate(tiny(batch=4, save_weights=True))
    np.testing.assert_allclose(res.t, [0.0, 0.1, 0.2])
    assert res.weights.shape == (3, 50, 10)
    np.testing.assert_allclose(np.linalg.norm(res.weights, axis=2), res.coords["r"])


@pytest.mark.parametrize("init", [{"kind": "gaussian", "kappa": 0.8},
                                  {"kind": "point", "kappa": 0.8}])
def test_initial_weights_follow_the_law(init, make_case):
    """gaussian: |w|² κ⁻² d ~ χ²_d; point: |w| = κ with uniform directions (mean w ≈ 0)."""
    case = ddsolver.normalize_case(make_case(init=init, sgd={"neurons": 20000}))
    model = make_sgd_model(case)
    W = model.weights(model.initial(20000, np.random.default_rng(0)))
    r, d = np.linalg.norm(W, axis=1), W.shape[1]
    if init["kind"] == "point":
        np.testing.assert_allclose(r, 0.8)
    else:
        z = r**2 * d / 0.64
        assert abs(z.mean() - d) < 5 * math.sqrt(2 * d / len(z))
        assert abs(z.var() - 2 * d) < 5 * 2 * d * math.sqrt(8 / len(z) + 12 / (d * len(z)))
    assert np.all(np.abs(W.mean(axis=0)) < 5 * 0.8 / math.sqrt(d) / math.sqrt(len(r)))


def test_initial_risk_matches_pde_with_diagonal_correction(make_case):
    """At t = 0 the mean of R_N over seeds is R(p₀) + O(1/N): with N = 400 the gap is small
    against the O(1/N) diagonal term (about E σ² / N ≈ 0.03 here)."""
    case = make_case(training={"t_final": 0.01}, pde={"snapshot_times": [0.0, 0.01]},
                     sgd={"neurons": 400, "eps": 1e-3})
    risks = [simulate(case, seed=s).risk[0] for s in range(8)]
    pde = ddsolver.solve(case).risk[0]
    assert abs(np.mean(risks) - pde) < 0.05
