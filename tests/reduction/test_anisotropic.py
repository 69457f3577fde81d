"""The reduction of anisotropic data (AnisotropicReduction, docs/theory.md §4.3) against Monte
Carlo in the full dimension, the arc-cosine formula of ReLU and its d = ∞ limit."""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians
from ddsolver.reduction.anisotropic import AnisotropicReduction

from .helpers import (
    ACTIVATIONS,
    IDS,
    MMN,
    anisotropic,
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
