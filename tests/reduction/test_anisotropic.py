"""The reductions of anisotropic data (AnisotropicReduction, BiasedAnisotropicReduction,
docs/theory.md §4.3, §4.3b) against Monte Carlo in the full dimension, the arc-cosine formula of
ReLU, conditional quadrature with a bias and the d = ∞ limit."""

import math

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import norm

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians
from ddsolver.reduction.anisotropic import AnisotropicReduction, BiasedAnisotropicReduction
from ddsolver.reduction.second_layer import SecondLayerReduction

from .helpers import (
    ACTIVATIONS,
    IDS,
    MMN,
    N_MC,
    PROBE_AN,
    anisotropic,
    assert_mc,
    certified,
    check_against_monte_carlo,
    cosine_rule,
)

# -- Monte Carlo in the full dimension ------------------------------------------------------------

@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("theta, theta2", [((1.2, 0.5), (0.3, 1.4)), ((2.0, 0.0), (1.0, 1.0))])
def test_anisotropic_against_monte_carlo(name, params, theta, theta2):
    """d = 6, s₀ = 2: the series converges slowly (E c₁^(2m) ~ 1/√m), so the kernel is checked
    up to its certified truncation error, the bound times the largest averaged diagonal over the
    probe (all (r₁, r₂) pairs of the two points)."""
    probe = tuple(np.array(pair) for pair in zip(theta, theta2))
    red = anisotropic(name, params, 6, 2, tol=1e-3, max_terms=80, probe=probe)
    assert red.coords == ("r1", "r2") and red.tail_bound <= 1e-3
    corners = [c.ravel() for c in np.meshgrid(*probe)]
    scale = np.max(np.sum(red.features(*corners) ** 2, axis=0))
    check_against_monte_carlo(red, theta, theta2, truncation=red.tail_bound * scale)


# -- independent quadrature --------------------------------------------------------------------

def test_anisotropic_relu_kernel_against_arccos_formula():
    """E[ReLU(γZ) ReLU(γ'Z')] = γγ'/(2π) (√(1−ρ²) + (π − arccos ρ) ρ) averaged over the cosines c₁
    (in R^4) and c₂ (in R^6) by tensor Gauss–Jacobi quadrature (smooth: |ρ| < 1 here)."""
    data, theta, theta2 = AnisotropicGaussians(0.6, 10, 4), (1.2, 0.5), (0.3, 1.4)
    red = AnisotropicReduction(make_activation("relu"), data, 10, tol=1e-6, max_terms=80,
                               probe=tuple(np.array(p) for p in zip(theta, theta2)))
    (c1, w1), (c2, w2) = cosine_rule(4, 40), cosine_rule(6, 40)
    c1, c2 = np.meshgrid(c1, c2, indexing="ij")
    expected = 0.0
    for tau in data.taus:
        g, g2 = math.hypot(tau * theta[0], theta[1]), math.hypot(tau * theta2[0], theta2[1])
        rho = (tau**2 * theta[0] * theta2[0] * c1 + theta[1] * theta2[1] * c2) / (g * g2)
        arccos = g * g2 / (2 * np.pi) * (np.sqrt(1 - rho**2) + (np.pi - np.arccos(rho)) * rho)
        expected += 0.5 * np.sum(np.outer(w1, w2) * arccos)
    u, error = certified(red, theta, theta2)
    assert 0 < error < 1e-6 and abs(u - expected) <= error + 1e-13


# -- d = ∞ ----------------------------------------------------------------------------------------

def test_anisotropic_infinite_dimension_limit():
    r1, r2 = np.meshgrid(np.linspace(0, 3, 5), np.linspace(0.2, 3, 5))
    r1, r2 = r1.ravel(), r2.ravel()
    act = make_activation("piecewise_linear", MMN)
    kernel = lambda red: red.features(r1, r2).T @ red.features(r1, r2)
    u_inf = kernel(anisotropic("piecewise_linear", MMN, 6, 2, kernel_dim=math.inf))
    gammas = [np.hypot(t * r1, r2) for t in (1.6, 0.4)]
    closed = 0.5 * sum(np.outer(act.q(g), act.q(g)) for g in gammas)
    np.testing.assert_allclose(u_inf, closed, rtol=0, atol=1e-12)
    gaps = [np.max(np.abs(kernel(anisotropic("piecewise_linear", MMN, d, d // 3)) - u_inf))
            for d in (30, 300, 3000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)


def test_anisotropic_kernel_dim_must_match_data():
    with pytest.raises(ValueError, match=r"kernel_dim: expected inf or data.dim = 6.*got 40"):
        anisotropic("relu", {}, 6, 2, kernel_dim=40)


# -- units σ(⟨w, x⟩ + b): coordinates (b, r₁, r₂) ------------------------------------------------

def biased_anisotropic(name, params, dim, signal_dim, kernel_dim=None, **kw):
    kw = {"tol": 1e-7, "max_terms": 60, "probe": PROBE_AN, "probe_b": np.linspace(-2, 2, 5),
          **kw}
    return BiasedAnisotropicReduction(make_activation(name, params),
                                      AnisotropicGaussians(0.6, dim, signal_dim),
                                      dim if kernel_dim is None else kernel_dim, **kw)


@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("theta, theta2", [((-0.7, 1.2, 0.5), (0.5, 0.3, 1.4)),
                                           ((1.0, 2.0, 0.0), (-1.5, 1.0, 1.0))])
def test_biased_anisotropic_against_monte_carlo(name, params, theta, theta2):
    """d = 6, s₀ = 2: V, U up to its certified truncation error, and U(θ, θ) against w, w' with
    uniform directions in both blocks and x from the data."""
    probe = tuple(np.array(pair) for pair in zip(theta, theta2))
    red = biased_anisotropic(name, params, 6, 2, tol=1e-3, max_terms=80, probe=probe[1:],
                             probe_b=probe[0])
    assert red.coords == ("b", "r1", "r2") and red.tail_bound <= 1e-3
    u, error = certified(red, theta, theta2)
    check_against_monte_carlo(red, theta, theta2, bias=True, truncation=error)


def test_biased_anisotropic_relu_kernel_against_conditional_quadrature():
    """U = ½ Σ_τ E_{c₁,c₂} ∫ ReLU(γz + b) E[ReLU(γ'(ρz + √(1−ρ²) G) + b')] φ(z) dz, the inner
    expectation in closed form (E(m + ŝG)₊ = ŝ φ(m/ŝ) + m Φ(m/ŝ)), z by Gauss–Legendre panels
    from the kink −b/γ, c₁ (in R^4) and c₂ (in R^6) by Gauss–Jacobi quadrature."""
    data, theta, theta2 = AnisotropicGaussians(0.6, 10, 4), (-0.7, 1.2, 0.5), (0.5, 0.3, 1.4)
    probe = tuple(np.array(pair) for pair in zip(theta, theta2))
    red = BiasedAnisotropicReduction(make_activation("relu"), data, 10, tol=1e-6, max_terms=80,
                                     probe=probe[1:], probe_b=probe[0])
    (c1, w1), (c2, w2) = cosine_rule(4, 30), cosine_rule(6, 30)
    c1, c2, weight = c1[:, None, None], c2[None, :, None], np.outer(w1, w2)
    (b, r1, r2), (b2, s1, s2) = theta, theta2
    x, wx = np.polynomial.legendre.leggauss(40)
    expected = 0.0
    for tau in data.taus:
        g, g2 = math.hypot(tau * r1, r2), math.hypot(tau * s1, s2)
        rho = (tau**2 * r1 * s1 * c1 + r2 * s2 * c2) / (g * g2)
        edges = np.linspace(-b / g, 12.0, 25)
        for lo, hi in zip(edges[:-1], edges[1:]):
            z, wz = 0.5 * (hi - lo) * x + 0.5 * (hi + lo), 0.5 * (hi - lo) * wx
            m, spread = g2 * rho * z + b2, g2 * np.sqrt(1 - rho**2)
            inner = spread * norm.pdf(m / spread) + m * ndtr(m / spread)
            expected += 0.5 * np.sum(weight * np.sum(wz * (g * z + b) * norm.pdf(z) * inner,
                                                     axis=2))
    u, error = certified(red, theta, theta2)
    assert 0 < error < 1e-5 and abs(u - expected) <= error + 1e-12


def test_biased_anisotropic_infinite_dimension_against_monte_carlo():
    """d = ∞: the pre-activations of two units are independent given y, so U = ½ Σ_τ
    E σ(γ_τ Z + b) σ(γ'_τ Z' + b') with independent Z, Z' (sampled), and ReLU's q(γ; b) =
    γ φ(b/γ) + b Φ(b/γ) gives V; the finite-d kernel approaches it like 1/d."""
    theta, theta2 = (-0.4, 1.1, 0.7), (0.8, 0.2, 1.5)
    red = biased_anisotropic("relu", {}, 6, 2, kernel_dim=math.inf)
    point, point2 = ([np.array([c]) for c in t] for t in (theta, theta2))
    rng = np.random.default_rng(5)
    y = rng.choice([0, 1], size=N_MC)
    gamma = lambda t: np.hypot(np.take(red.taus, y) * t[1], t[2])
    relu = lambda t: np.maximum(t, 0.0)
    z = rng.standard_normal((2, N_MC))
    u = red.kernel(*point, *point2)[0, 0]
    assert_mc(relu(gamma(theta) * z[0] + theta[0]) * relu(gamma(theta2) * z[1] + theta2[0]), u,
              "U")
    q = lambda g, b: g * norm.pdf(b / g) + b * ndtr(b / g)
    gp, gm = (math.hypot(t * theta[1], theta[2]) for t in red.taus)
    assert red.v(*point)[0] == pytest.approx(-0.5 * (q(gp, theta[0]) - q(gm, theta[0])),
                                             abs=1e-14)
    gaps = [abs(biased_anisotropic("relu", {}, d, d // 3).kernel(*point, *point2)[0, 0] - u)
            for d in (30, 300, 3000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)


@pytest.mark.parametrize("kernel_dim", [6, math.inf])
def test_biased_anisotropic_at_zero_bias_is_the_unbiased_reduction(kernel_dim):
    """(a, b = 0, r₁, r₂) against the (a, r₁, r₂) reduction: V, U, the diagonal, the series."""
    a, r1, r2 = np.array([-1.5, 0.4, 2.0]), np.array([0.0, 1.3, 2.5]), np.array([0.7, 0.0, 1.1])
    b = np.zeros_like(a)
    options = {"probe_b": [0.0], "kernel_dim": kernel_dim}
    biased_red = SecondLayerReduction(biased_anisotropic("erf", {}, 6, 2, **options))
    plain = SecondLayerReduction(anisotropic("erf", {}, 6, 2, kernel_dim=kernel_dim))
    assert biased_red.coords == ("a", "b", "r1", "r2") and biased_red.terms == plain.terms
    np.testing.assert_allclose(biased_red.v(a, b, r1, r2), plain.v(a, r1, r2), atol=1e-14)
    np.testing.assert_allclose(biased_red.features(a, b, r1, r2), plain.features(a, r1, r2),
                               atol=1e-14)
    np.testing.assert_allclose(biased_red.diagonal(a, b, r1, r2), plain.diagonal(a, r1, r2),
                               rtol=1e-10)
    np.testing.assert_array_equal(biased_red.log_jacobian(a, b, r1, r2),
                                  plain.log_jacobian(a, r1, r2))
