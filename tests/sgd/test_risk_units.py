"""The exact finite-N risk (ddsolver.sgd.risk) of networks of units σ(⟨w, x⟩), a σ(⟨w, x⟩) and
a σ(⟨w, x⟩ + b) on isotropic and anisotropic Gaussian data against Monte Carlo and brute-force
quadrature (docs/theory.md §1–3, 4.2, 4.3, 7)."""

import math

import numpy as np
import pytest
from scipy import integrate

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.online import online_sgd
from ddsolver.sgd.risk import exact_risk

from .monte_carlo import monte_carlo_risk
from .units import ACTIVATIONS, CONSTANT, UNITS, make_data


def network(unit, dim, rng, n=5):
    """W with a near-parallel pair, an exact duplicate and an anti-parallel unit; a of both
    signs (ones for w units), b ≠ 0 for awb units (None otherwise)."""
    u = rng.standard_normal(dim)
    u /= np.linalg.norm(u)
    W = np.array([1.5 * u, 1.5 * u + 1e-3 * rng.standard_normal(dim), 1.5 * u, -0.8 * u,
                  *rng.standard_normal((n - 4, dim))])
    has_a, has_b = UNITS[unit]
    a = rng.uniform(-1.5, 1.5, n) if has_a else None
    b = rng.uniform(-1.0, 1.0, n) if has_b else None
    return W, a, b


@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("kind", ["isotropic", "anisotropic"])
def test_exact_risk_against_monte_carlo(name, params, unit, kind):
    act, data = make_activation(name, params), make_data(kind)
    W, a, b = network(unit, data.dim, np.random.default_rng(4))
    mean, err = monte_carlo_risk(W, act, data, 1.5, a=a, b=b, samples=200_000, rng=5)
    exact = exact_risk(W, act, data, 1.5, a=a, b=b)
    assert abs(exact - mean) < 5 * err, (exact, mean, err)


@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["isotropic", "anisotropic"])
def test_series_and_quadrature_paths_agree(name, params, kind):
    """max_order = 6 sends most pairs to the 1-D quadrature (with shifts b and per-label
    correlations); the risk must not change."""
    act, data = make_activation(name, params), make_data(kind, dim=3)
    rng = np.random.default_rng(6)
    W = rng.standard_normal((6, 3)) * rng.uniform(0.2, 3.0, (6, 1))
    a, b = rng.uniform(-2, 2, 6), rng.uniform(-1.5, 1.5, 6)
    full = exact_risk(W, act, data, 1.5, a=a, b=b)
    assert exact_risk(W, act, data, 1.5, a=a, b=b, max_order=6) == pytest.approx(full, abs=1e-10)


def relu(t):
    return max(t, 0.0)


def gauss_mean(f, points):
    """E f(Z) by adaptive quadrature on [−12, 12] with the given breakpoints."""
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return integrate.quad(lambda z: f(z) * phi(z), -12, 12,
                          points=[p for p in points if abs(p) < 12], epsabs=1e-12, epsrel=1e-12,
                          limit=400)[0]


def brute_pair(g1, b1, g2, b2, c):
    """E[relu(g1 Z₁ + b1) relu(g2 (c Z₁ + s Z₂) + b2)] by nested quadrature over (Z₁, Z₂)."""
    s = math.sqrt(1 - c * c)
    inner = lambda z1: gauss_mean(lambda z2: relu(g2 * (c * z1 + s * z2) + b2),
                                  [(-b2 / g2 - c * z1) / s])
    return gauss_mean(lambda z1: relu(g1 * z1 + b1) * inner(z1), [-b1 / g1, -b2 / (g2 * c)])


def test_exact_risk_against_brute_force_pairs():
    """ReLU, awb units, anisotropic data: every pair by nested adaptive quadrature over
    (Z₁, Z₂) with the label's covariance W diag(s_y²) Wᵀ built independently here; one pair
    nearly parallel (quadrature path), the others generic (series)."""
    act, data = make_activation("relu"), AnisotropicGaussians(0.6, 4, 2)
    rng = np.random.default_rng(8)
    W = rng.standard_normal((3, 4))
    W[1] = 1.3 * W[0] + 0.03 * rng.standard_normal(4)
    a, b, scale = np.array([1.2, -0.7, 0.9]), np.array([0.3, -0.4, 0.1]), 1.3
    linear, total = 0.0, 0.0
    for row, y in ((0, 1.0), (1, -1.0)):
        cov = W @ np.diag(data.scales[row] ** 2) @ W.T
        g = np.sqrt(np.diag(cov))
        assert cov[0, 1] / (g[0] * g[1]) > 0.9995
        for i in range(3):
            first = gauss_mean(lambda z, gi=g[i], bi=b[i]: relu(gi * z + bi), [-b[i] / g[i]])
            second = gauss_mean(lambda z, gi=g[i], bi=b[i]: relu(gi * z + bi) ** 2,
                                [-b[i] / g[i]])
            linear -= 0.5 * y * a[i] * first
            total += 0.5 * a[i] ** 2 * second
            for j in range(i + 1, 3):
                c = cov[i, j] / (g[i] * g[j])
                total += a[i] * a[j] * brute_pair(g[i], b[i], g[j], b[j], c)   # ½ · 2 orders
    brute = 1 + 2 * scale * linear / 3 + scale**2 * total / 9
    assert exact_risk(W, act, data, scale, a=a, b=b) == pytest.approx(brute, abs=1e-8)


def test_bad_unit_arrays_refused():
    act, data = make_activation("relu"), IsotropicGaussians(0.5, 3)
    with pytest.raises(ValueError, match="a: expected 2 finite numbers"):
        exact_risk(np.ones((2, 3)), act, data, a=np.ones(3))
    with pytest.raises(ValueError, match="scales: expected shape"):
        online_sgd(np.ones((2, 3)), *pointwise_args(act), np.ones((2, 4)), 1.0, 0.0, 0.0, 1e-3,
                   CONSTANT, 0, 1, 0)
