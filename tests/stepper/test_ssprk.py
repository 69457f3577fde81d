"""The SSP-RK3 stepper of the finite-volume DD (ddsolver.stepper.ssprk): a compiled step against
its numpy twin, and the semi-discrete risk decay of its right-hand side."""

import numpy as np
import pytest

from ddsolver.operator.lowrank import lowrank_potential_numpy
from ddsolver.stepper.ssprk import evaluate_rhs, ssprk3_advance, ssprk3_step_numpy

SPACINGS = {1: [0.1, 1, 1], 2: [0.1, 0.2, 1], 3: [0.1, 0.2, 0.3]}


def random_problem(shape, seed=0):
    rng = np.random.default_rng(seed)
    ndim = sum(n > 1 for n in shape)
    p = rng.random(shape) * (rng.random(shape) > 0.3)           # some empty cells
    rank = 4
    features = rng.standard_normal((rank, p.size))
    base = rng.standard_normal(p.size)
    return p, features, base, np.array(SPACINGS[ndim], float)


def faces(shape):
    n0, n1, n2 = shape
    return np.empty((n0 + 1, n1, n2)), np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1))


def test_semi_discrete_risk_decays():
    """dR/dt = 2 |cell| Σ ψ̄ L(p) ≤ 0 (α = 1) for any density and potential of the form used."""
    for seed in range(5):
        p, features, base, spacing = random_problem((60, 1, 1), seed)
        work = (np.empty_like(p), np.empty_like(p), np.empty(4), *faces(p.shape))
        out = np.empty_like(p)
        evaluate_rhs(p, base, features, 0.1, spacing, 2, 1.0, 0.0, work, out)
        _, psi = lowrank_potential_numpy(p.ravel(), base, features, 0.1)
        assert psi @ out.ravel() <= 0


@pytest.mark.parametrize("inv_beta", [0.0, 0.1])
def test_ssprk3_step_matches_numpy(inv_beta):
    p, features, base, spacing = random_problem((40, 1, 1), seed=2)
    features *= 0.05
    schedule = (1, 2.0, 1.0, 0.25)                        # ξ(t) = 2 (1 + t)^(−1/4)
    ref = ssprk3_step_numpy(p, 1e-4, 0.3, base, features, 0.1, spacing, 2, schedule, inv_beta)
    q = p.copy()
    t, _, steps, _, status = ssprk3_advance(q, base, features, 0.1, spacing, 2, inv_beta,
                                            schedule, 1.0, np.inf, 0.3, 0.3 + 1e-4, 1e-4, 10)
    assert (status, steps) == (0, 1) and t == pytest.approx(0.3 + 1e-4)
    np.testing.assert_allclose(q, ref, rtol=1e-12, atol=1e-14)
