"""Reductions with a bias (BiasedRadialReduction) or a second-layer weight (SecondLayerReduction)
(docs/theory.md §4.2, 4.3) against Monte Carlo in the full dimension, independent quadrature and
their d = ∞ limits; the risk of a point mass against finite networks; the log-Jacobians."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.reduction.anisotropic import AnisotropicReduction
from ddsolver.reduction.radial import RadialReduction
from ddsolver.reduction.second_layer import BiasedRadialReduction, SecondLayerReduction

from .helpers import (
    ACTIVATIONS,
    IDS,
    MMN,
    N_MC,
    anisotropic,
    assert_mc,
    biased,
    certified,
    check_against_monte_carlo,
    cosine_rule,
    random_units,
)

# -- Monte Carlo in the full dimension ------------------------------------------------------------

@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("theta, theta2", [((-0.7, 1.2), (0.5, 0.4)), ((1.0, 2.0), (-1.5, 1.5))])
def test_biased_radial_against_monte_carlo(name, params, theta, theta2):
    red = biased(name, params, 5)
    assert red.coords == ("b", "r") and red.tail_bound <= 1e-7
    check_against_monte_carlo(red, theta, theta2, bias=True)


# -- independent quadrature --------------------------------------------------------------------

def test_biased_relu_kernel_against_conditional_quadrature():
    """U = ½ Σ_τ E_c ∫ ReLU(a z + b) E[ReLU(a'(c z + √(1−c²) G) + b')] φ(z) dz, the inner
    expectation in closed form (E(m + ŝG)₊ = ŝ φ(m/ŝ) + m Φ(m/ŝ)), z by adaptive quadrature from
    the kink, c by Gauss–Jacobi quadrature."""
    data, (b, r), (b2, r2) = IsotropicGaussians(0.6, 5), (-0.7, 1.2), (0.5, 0.4)
    red = BiasedRadialReduction(make_activation("relu"), data, 5, tol=1e-10, max_terms=400,
                                probe_b=[b, b2], probe_r=[r, r2])
    phi = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    expected = 0.0
    for tau in data.taus:
        for c, w in zip(*cosine_rule(5, 40)):
            spread = tau * r2 * math.sqrt(1 - c * c)

            def integrand(z, tau=tau, c=c, spread=spread):
                m = tau * r2 * c * z + b2
                inner = spread * phi(m / spread) + m * ndtr(m / spread)
                return (tau * r * z + b) * inner * phi(z)

            expected += 0.5 * w * integrate.quad(integrand, -b / (tau * r), 14, epsabs=1e-14,
                                                 epsrel=1e-13, limit=200)[0]
    u, error = certified(red, (b, r), (b2, r2))
    assert error < 1e-10 and u == pytest.approx(expected, abs=error + 1e-10)


# -- d = ∞ ----------------------------------------------------------------------------------------

def test_biased_infinite_dimension_limit():
    b, r = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(0.1, 3, 6))
    b, r = b.ravel(), r.ravel()
    act = make_activation("relu")
    kernel = lambda red: red.features(b, r).T @ red.features(b, r)
    u_inf = kernel(biased("relu", {}, 5, kernel_dim=math.inf))
    closed = 0.5 * sum(np.outer(act.q(t * r, b), act.q(t * r, b)) for t in (1.6, 0.4))
    np.testing.assert_allclose(u_inf, closed, rtol=0, atol=1e-13)
    gaps = [np.max(np.abs(kernel(biased("relu", {}, d)) - u_inf)) for d in (50, 500, 5000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)          # the gap is O(1/d)


# -- second-layer weights -------------------------------------------------------------------------

def test_second_layer_scales_the_inner_reduction():
    inner = biased("piecewise_linear", MMN, 5)
    red = SecondLayerReduction(inner)
    a, b, r = np.array([-1.5, 0.0, 0.7]), np.array([0.3, -1.0, 2.0]), np.array([1.0, 0.2, 2.5])
    assert red.coords == ("a", "b", "r")
    for key in ("scale", "lam", "data", "kernel_dim", "terms", "tail_bound", "rank"):
        assert getattr(red, key) == getattr(inner, key)
    np.testing.assert_array_equal(red.v(a, b, r), a * inner.v(b, r))
    np.testing.assert_array_equal(red.features(a, b, r), a * inner.features(b, r))
    np.testing.assert_array_equal(red.diagonal(a, b, r), a**2 * inner.diagonal(b, r))
    np.testing.assert_array_equal(red.log_jacobian(a, b, r), inner.log_jacobian(b, r))
    assert red.features(a, b, r).shape == (red.rank, 3)


@pytest.mark.parametrize("model", ["aw", "awb", "aw-anisotropic"])
def test_point_mass_risk_against_finite_network(model):
    """R for ρ = δ_θ, with directions averaged, against Monte Carlo of ŷ = (α/N) Σ_i a σ(⟨w_i, x⟩
    + b) with N units of the same reduced coordinates and independent uniform directions:

        E R_N = R_# + 2α V(θ) + α² [(1 − 1/N) Ū(θ, θ) + U(θ, θ)/N],

    Ū from the features (risk(v, f)), U(θ, θ) the diagonal. The probe is θ itself, so the
    certified truncation error of Ū is tail_bound · Ū."""
    scale, units = 1.5, 10
    act = make_activation("relu")
    if model == "aw-anisotropic":
        data = AnisotropicGaussians(0.6, 6, 2)
        theta, bias = (0.8, 1.2, 0.6), 0.0
        inner = AnisotropicReduction(act, data, 6, scale=scale, probe=([1.2], [0.6]), tol=1e-4)
    elif model == "awb":
        data = IsotropicGaussians(0.6, 5)
        theta, bias = (0.8, -0.4, 1.3), -0.4
        inner = BiasedRadialReduction(act, data, 5, scale=scale, probe_b=[-0.4], probe_r=[1.3],
                                      tol=1e-7)
    else:
        data = IsotropicGaussians(0.6, 5)
        theta, bias = (0.8, 1.3), 0.0
        inner = RadialReduction(act, data, 5, scale=scale, probe_r=[1.3], tol=1e-7)
    red = SecondLayerReduction(inner)
    point = [np.array([c]) for c in theta]
    averaged = red.risk(red.v(*point)[0], red.features(*point)[:, 0])
    u_bar = (averaged - 1 - 2 * scale * red.v(*point)[0]) / scale**2
    expected = averaged + scale**2 * (red.diagonal(*point)[0] - u_bar) / units

    rng = np.random.default_rng(3)
    n = N_MC // 2
    x, y = data.sample(n, rng)
    radii = theta[2:] if model == "awb" else theta[1:]
    w = random_units(rng, n * units, data, radii).reshape(n, units, data.dim)
    yhat = scale / units * theta[0] * act.sigma(np.einsum("iud,id->iu", w, x) + bias).sum(axis=1)
    assert_mc((y - yhat) ** 2, expected, "risk", scale**2 * red.tail_bound * u_bar)


def test_log_jacobians_give_chi_distributions():
    """With w ~ N(0, I_d) the reduced law is ∝ J e^(−|θ|²/2): E r² = d, E r₁² = s₀,
    E r₂² = d − s₀."""
    r = np.linspace(1e-4, 12, 6001)
    weight = lambda logj: np.exp(logj - logj.max())
    iso = SecondLayerReduction(biased("relu", {}, 5))
    p = weight(iso.log_jacobian(np.zeros_like(r), np.zeros_like(r), r) - r**2 / 2)
    assert np.sum(r**2 * p) / np.sum(p) == pytest.approx(5, rel=1e-6)
    an = anisotropic("relu", {}, 6, 2, kernel_dim=math.inf)
    r1, r2 = np.meshgrid(r[::10], r[::10], indexing="ij")
    p = weight(an.log_jacobian(r1, r2) - (r1**2 + r2**2) / 2)
    assert np.sum(r1**2 * p) / np.sum(p) == pytest.approx(2, rel=1e-4)
    assert np.sum(r2**2 * p) / np.sum(p) == pytest.approx(4, rel=1e-4)
