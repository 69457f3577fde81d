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
