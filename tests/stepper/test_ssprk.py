"""The SSP-RK3 stepper of the finite-volume DD (ddsolver.stepper.ssprk): a compiled step against
its numpy twin, and the semi-discrete risk decay of its right-hand side."""

import numpy as np
import pytest

from ddsolver.operator.lowrank import lowrank_potential_numpy
from ddsolver.stepper.ssprk import evaluate_rhs, ssprk3_advance, ssprk3_step_numpy

from ..finite_volumes import faces, random_problem


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
                                            schedule, 1.0, np.inf, 0.3, 0.3 + 1e-4, 0.3 + 1e-4,
                                            1e-4, 10)
    assert (status, steps) == (0, 1) and t == pytest.approx(0.3 + 1e-4)
    np.testing.assert_allclose(q, ref, rtol=1e-12, atol=1e-14)
