"""Compiled kernels against their plain-numpy twins, and the discrete invariants they promise."""

import numpy as np
import pytest

from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import cell_average, lowrank_potential, lowrank_potential_numpy
from ddsolver.operator.transport import (
    RECONSTRUCTIONS,
    face_velocities,
    face_velocities_numpy,
    transport_rhs,
    transport_rhs_numpy,
)
from ddsolver.stepper.ssprk import evaluate_rhs, ssprk3_advance, ssprk3_step_numpy

SHAPES = [(40, 1, 1), (12, 9, 1), (6, 5, 7)]
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


def test_lowrank_potential_matches_numpy():
    p, features, base, _ = random_problem((50, 1, 1))
    moments, psi = np.empty(4), np.empty(50)
    lowrank_potential(p.ravel(), base, features, 0.1, moments, psi)
    ref_moments, ref_psi = lowrank_potential_numpy(p.ravel(), base, features, 0.1)
    np.testing.assert_allclose(moments, ref_moments, rtol=1e-13)
    np.testing.assert_allclose(psi, ref_psi, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", list(RECONSTRUCTIONS.values()))
def test_transport_matches_numpy_and_conserves_mass(shape, kind):
    p, _, _, spacing = random_problem(shape)
    psi = np.random.default_rng(1).standard_normal(shape)
    u = faces(shape)
    face_velocities(psi, spacing, 0.7, *u)
    ref_u = face_velocities_numpy(psi, spacing, 0.7)
    for a, b in zip(u, ref_u):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    out, outflow = np.empty(shape), np.empty(shape)
    rate = transport_rhs(p, *u, spacing, kind, out, outflow)
    ref_out, ref_rate = transport_rhs_numpy(p, ref_u, spacing, kind)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    assert rate == pytest.approx(ref_rate, rel=1e-12)
    assert abs(out.sum()) < 1e-12 * np.abs(out).sum()


@pytest.mark.parametrize("shape", SHAPES)
def test_positivity_bound_is_sharp(shape):
    """Forward Euler with Δt = 1/rate keeps p ≥ 0; a slightly longer step does not."""
    p, _, _, spacing = random_problem(shape, seed=3)
    psi = 10 * np.random.default_rng(4).standard_normal(shape)
    u = faces(shape)
    face_velocities(psi, spacing, 1.0, *u)
    out, outflow = np.empty(shape), np.empty(shape)
    rate = transport_rhs(p, *u, spacing, RECONSTRUCTIONS["upwind3"], out, outflow)
    assert np.min(p + (1 - 1e-9) / rate * out) >= 0
    assert np.min(p + 1.05 / rate * out) < 0


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


def test_cell_average_is_exact_for_polynomials():
    grid = CartesianGrid.from_dict({"x": {"min": 0, "max": 1, "cells": 4},
                                    "y": {"min": -1, "max": 1, "cells": 3}})
    avg = cell_average(lambda x, y: np.stack([x**3 * y**2, x + y]), grid).reshape(2, 4, 3)
    xe, ye = grid.axes[0].edges, grid.axes[1].edges
    exact = np.outer(np.diff(xe**4) / 4, np.diff(ye**3) / 3) / grid.cell_volume
    np.testing.assert_allclose(avg[0], exact, rtol=1e-13)
    np.testing.assert_allclose(avg[1], np.add.outer(grid.axes[0].centres, grid.axes[1].centres),
                               atol=1e-14)
