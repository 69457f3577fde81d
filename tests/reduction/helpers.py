"""Builders of the biased, second-layer and anisotropic reductions, Monte Carlo in the full
dimension and quadrature rules: shared by the reduction tests."""

import math

import numpy as np
from scipy.special import roots_jacobi

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.reduction.anisotropic import AnisotropicReduction
from ddsolver.reduction.second_layer import BiasedRadialReduction

MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ACTIVATIONS = [("relu", {}), ("piecewise_linear", MMN), ("tanh", {}), ("erf", {})]
IDS = [name for name, _ in ACTIVATIONS]
N_MC = 200_000
PROBE_B, PROBE_R = np.linspace(-2, 2, 5), np.linspace(0, 3, 16)
PROBE_AN = (np.linspace(0, 3, 13), np.linspace(0, 3, 13))


def biased(name, params, dim, kernel_dim=None, **kw):
    kw = {"tol": 1e-7, "max_terms": 100, **kw}
    return BiasedRadialReduction(make_activation(name, params), IsotropicGaussians(0.6, dim),
                                 dim if kernel_dim is None else kernel_dim, probe_b=PROBE_B,
                                 probe_r=PROBE_R, **kw)


def anisotropic(name, params, dim, signal_dim, kernel_dim=None, **kw):
    kw = {"tol": 1e-7, "max_terms": 60, "probe": PROBE_AN, **kw}
    return AnisotropicReduction(make_activation(name, params),
                                AnisotropicGaussians(0.6, dim, signal_dim),
                                dim if kernel_dim is None else kernel_dim, **kw)


# -- Monte Carlo in the full dimension ------------------------------------------------------------

def directions(rng, n, dim):
    u = rng.standard_normal((n, dim))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def random_units(rng, n, data, radii):
    """(n, d) weights with uniformly random directions and block norms ``radii``: (r,) for
    isotropic data, (r₁, r₂) for anisotropic data (blocks of sizes s₀, d − s₀)."""
    if len(radii) == 1:
        return radii[0] * directions(rng, n, data.dim)
    s0 = data.signal_dim
    return np.concatenate([radii[0] * directions(rng, n, s0),
                           radii[1] * directions(rng, n, data.dim - s0)], axis=1)


def assert_mc(values, exact, label="", slack=0.0):
    """exact within 5 standard errors (plus ``slack``) of the sample mean of values."""
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(values.size)
    assert abs(mean - exact) <= 5 * se + slack + 1e-12, \
        f"{label}: MC {mean:.6g} ± {se:.2g}, exact {exact:.6g}"


def check_against_monte_carlo(red, theta, theta2, bias=None, seed=0, truncation=0.0):
    """V(θ), the direction-averaged U(θ, θ') and the diagonal U(θ, θ) against Monte Carlo.

    θ, θ' are tuples of reduced coordinates; ``bias`` picks the b coordinate (index 0) of them.
    U may differ from the exact kernel by the certified ``truncation`` error besides the MC error.
    """
    rng = np.random.default_rng(seed)
    data, act = red.data, red.activation
    split = (lambda t: (t[0], t[1:])) if bias else (lambda t: (0.0, t))
    (b1, radii1), (b2, radii2) = split(theta), split(theta2)
    x, y = data.sample(N_MC, rng)
    w1, w2 = random_units(rng, N_MC, data, radii1), random_units(rng, N_MC, data, radii2)
    s1 = act.sigma(np.einsum("ij,ij->i", w1, x) + b1)
    s2 = act.sigma(np.einsum("ij,ij->i", w2, x) + b2)
    point = [np.array([c]) for c in theta]
    assert_mc(-y * s1, red.v(*point)[0], "V")
    assert_mc(s1**2, red.diagonal(*point)[0], "diagonal")
    u = (red.features(*point).T @ red.features(*(np.array([c]) for c in theta2)))[0, 0]
    assert_mc(s1 * s2, u, "U", truncation)


# -- independent quadrature --------------------------------------------------------------------

def cosine_rule(dim, nodes):
    """Gauss–Jacobi rule for the cosine of two uniform directions in R^dim, density
    ∝ (1 − c²)^((dim−3)/2)."""
    c, w = roots_jacobi(nodes, (dim - 3) / 2, (dim - 3) / 2)
    return c, w / w.sum()


def certified(red, theta, theta2):
    """(U(θ, θ') from the features, its certified truncation error for the probe θ, θ')."""
    corners = [c.ravel() for c in np.meshgrid(*zip(theta, theta2))]
    scale = np.max(np.sum(red.features(*corners) ** 2, axis=0))
    u = red.features(*(np.array([c]) for c in theta)).T @ red.features(
        *(np.array([c]) for c in theta2))
    return u[0, 0], red.tail_bound * scale
