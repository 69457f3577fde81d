"""The finite-volume transport kernels (ddsolver.operator.transport) against their plain-numpy
twins, and the discrete invariants they promise (mass, the positivity bound)."""

import numpy as np
import pytest

from ddsolver.operator.transport import (
    RECONSTRUCTIONS,
    face_velocities,
    face_velocities_numpy,
    transport_rhs,
    transport_rhs_numpy,
)

from ..finite_volumes import SHAPES, faces, random_problem


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
