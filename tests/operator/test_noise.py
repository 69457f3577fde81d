"""The Scharfetter–Gummel kernel of the noisy DD (ddsolver.operator.noise): the compiled kernel,
its numpy twin and the sparse matrix against each other and an independent 1-D formula; mass,
the discrete Gibbs state, the positivity bound and the decay of the free energy."""

import numpy as np
import pytest

from ddsolver.operator.noise import sg_matrix, sg_rhs, sg_rhs_numpy

from ..finite_volumes import SHAPES, random_potential_problem


def sg_reference_1d(p, phi, h, diffusion, beta):
    """Independent 1-D Scharfetter–Gummel divergence written from docs/theory.md §5.1 (mpmath-free,
    B(z) = z/(eᶻ − 1) by expm1): out_j = −(J_{j+½} − J_{j−½})/h, no-flux ends."""
    z = beta * np.diff(phi)
    bern = lambda x: np.where(x == 0, 1.0, x / np.expm1(np.where(x == 0, 1.0, x)))
    flux = diffusion / h * (bern(z) * p[:-1] - bern(-z) * p[1:])
    flux = np.concatenate([[0.0], flux, [0.0]])
    return -np.diff(flux) / h


@pytest.mark.parametrize("shape", SHAPES)
def test_sg_kernel_matches_numpy_and_conserves_mass(shape):
    p, phi, spacing = random_potential_problem(shape)
    out, outflow = np.empty(shape), np.empty(shape)
    rate = sg_rhs(p, phi, spacing, 0.3, 7.0, out, outflow)
    ref_out, ref_rate = sg_rhs_numpy(p, phi, spacing, 0.3, 7.0)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12 * np.abs(ref_out).max())
    assert rate == pytest.approx(ref_rate, rel=1e-12)
    assert abs(out.sum()) < 1e-13 * np.abs(out).sum()
    # the sparse operator of the semi-implicit stepper is the same linear map
    A = sg_matrix(phi, spacing, 0.3, 7.0)
    np.testing.assert_allclose(A @ p.ravel(), ref_out.ravel(), rtol=1e-12,
                               atol=1e-12 * np.abs(ref_out).max())
    np.testing.assert_allclose(np.asarray(A.sum(axis=0)).ravel(), 0.0,
                               atol=1e-12 * abs(A).max())       # columns sum to 0: mass
    off = A - A.multiply(np.eye(A.shape[0], dtype=bool))
    assert off.min() >= 0                                       # M-matrix structure


def test_sg_kernel_matches_independent_formula():
    """1-D, including |z| from 1e-12 (the B(0) branch) to 300 (overflow-safe branch)."""
    rng = np.random.default_rng(5)
    n, h = 60, 0.05
    phi = np.cumsum(rng.standard_normal(n) * np.geomspace(1e-13, 30, n)[rng.permutation(n)])
    p = rng.random(n)
    out, outflow = np.empty((n, 1, 1)), np.empty((n, 1, 1))
    sg_rhs(p.reshape(n, 1, 1), phi.reshape(n, 1, 1), np.array([h, 1.0, 1.0]), 0.2, 10.0, out,
           outflow)
    ref = sg_reference_1d(p, phi, h, 0.2, 10.0)
    np.testing.assert_allclose(out.ravel(), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("shape", SHAPES)
def test_gibbs_state_of_frozen_potential_is_steady(shape):
    """p ∝ exp(−βφ): every SG flux vanishes, so L(p) = 0 to round-off relative to the gross
    fluxes (docs/theory.md §5.1), in the compiled kernel, its twin and the sparse matrix."""
    _, phi, spacing = random_potential_problem(shape, seed=7)
    beta, diffusion = 3.0, 0.4                   # β φ spans about ±10: p over ~9 decades
    p = np.exp(-beta * phi)
    p /= p.sum()
    out, outflow = np.empty(shape), np.empty(shape)
    sg_rhs(p, phi, spacing, diffusion, beta, out, outflow)
    gross = np.abs(outflow).max()
    assert np.abs(out).max() <= 1e-13 * gross, np.abs(out).max() / gross
    ref_out, _ = sg_rhs_numpy(p, phi, spacing, diffusion, beta)
    assert np.abs(ref_out).max() <= 1e-13 * gross, np.abs(ref_out).max() / gross
    A = sg_matrix(phi, spacing, diffusion, beta)
    assert np.abs(A @ p.ravel()).max() <= 1e-13 * gross
    # and away from it the flux is not zero: the test is not vacuous
    sg_rhs(np.full(shape, 1.0 / p.size), phi, spacing, diffusion, beta, out, outflow)
    assert np.abs(out).max() > 1e-2 * np.abs(outflow).max()


@pytest.mark.parametrize("shape", SHAPES)
def test_sg_positivity_bound_is_sharp(shape):
    """Forward Euler with Δt = 1/rate keeps p ≥ 0; Δt = 1.05/rate does not. Sharpness needs the
    cell with the largest rate to get no inflow, so one test density has mass only on every other
    cell (a checkerboard), the other is random with empty cells."""
    _, phi, spacing = random_potential_problem(shape, seed=3)
    phi *= 3
    out, outflow = np.empty(shape), np.empty(shape)
    random_p = random_potential_problem(shape, seed=4)[0]
    rate = sg_rhs(random_p, phi, spacing, 0.5, 2.0, out, outflow)
    assert np.min(random_p + (1 - 1e-9) / rate * out) >= 0
    checker = np.indices(shape).sum(axis=0) % 2 == 0
    p = np.where(checker, np.random.default_rng(6).random(shape) + 0.5, 0.0)
    rate = sg_rhs(p, phi, spacing, 0.5, 2.0, out, outflow)
    assert np.min(p + (1 - 1e-9) / rate * out) >= 0
    assert np.min(p + 1.05 / rate * out) < 0


@pytest.mark.parametrize("seed", range(4))
def test_semi_discrete_free_energy_decays(seed):
    """dF/dt = Σ_j (Φ_j + (1/β)(log p_j + 1)) L(p)_j |cell| ≤ 0 for a frozen potential
    (the SG flux and the gradient of F have opposite signs on every face)."""
    rng = np.random.default_rng(seed)
    shape, beta = (50, 1, 1), 5.0
    p = rng.random(shape) + 1e-3
    phi = rng.standard_normal(shape)
    out, _ = sg_rhs_numpy(p, phi, np.array([0.1, 1.0, 1.0]), 0.3, beta)
    assert np.sum((phi + (np.log(p) + 1) / beta) * out) <= 0
