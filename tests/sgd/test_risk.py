"""Exact finite-N risk (ddsolver.sgd.risk) against Monte Carlo, the radial reduction and
quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import IsotropicGaussians
from ddsolver.reduction.radial import RadialReduction
from ddsolver.sgd.risk import exact_risk

from .monte_carlo import monte_carlo_risk

MMN = dict(s1=-2.5, s2=7.5, t1=0.5, t2=1.5)
ACTIVATIONS = [("piecewise_linear", MMN), ("relu", None), ("tanh", None)]


def unit(v):
    return v / np.linalg.norm(v)


def mixed_network(dim, rng):
    """Five units: a near-parallel pair, an exact duplicate, an anti-parallel unit, a random one."""
    u = unit(rng.standard_normal(dim))
    return np.array([2.5 * u, 2.5 * u + 1e-3 * rng.standard_normal(dim), 2.5 * u, -0.8 * u,
                     4.0 * unit(rng.standard_normal(dim))])


@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("dim", [3, 20])
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_exact_against_monte_carlo(name, params, dim, scale):
    act, data = make_activation(name, params), IsotropicGaussians(0.8, dim)
    W = mixed_network(dim, np.random.default_rng(dim))
    mean, err = monte_carlo_risk(W, act, data, scale, samples=200_000, rng=7)
    assert abs(exact_risk(W, act, data, scale) - mean) < 5 * err


def test_zero_rows_against_monte_carlo():
    act, data = make_activation("piecewise_linear", MMN), IsotropicGaussians(0.8, 5)
    W = np.zeros((4, 5))
    W[1:] = np.random.default_rng(3).standard_normal((3, 5))
    mean, err = monte_carlo_risk(W, act, data, 1.5, samples=200_000, rng=1)
    assert abs(exact_risk(W, act, data, 1.5) - mean) < 5 * err
    # all-zero network: ŷ = α σ(0) = −2.5α, R = E(y − ŷ)² = 1 + (2.5α)²
    assert exact_risk(np.zeros((3, 5)), act, data, 1.5) == pytest.approx(1 + 3.75**2, rel=1e-13)


@pytest.mark.parametrize("name, params", ACTIVATIONS)
def test_series_and_quadrature_paths_agree(name, params):
    """max_order = 6 sends most pairs to the 1-D quadrature; the result must not change."""
    act, data = make_activation(name, params), IsotropicGaussians(0.8, 3)
    rng = np.random.default_rng(1)
    W = rng.standard_normal((6, 3)) * rng.uniform(0.2, 3.0, (6, 1))
    full = exact_risk(W, act, data, 1.5)
    assert exact_risk(W, act, data, 1.5, max_order=6) == pytest.approx(full, abs=1e-10)


def brute_pair(act, a, b, c):
    """E[σ(a Z₁) σ(b(c Z₁ + s Z₂))] by nested adaptive quadrature over (Z₁, Z₂)."""
    s = math.sqrt(1 - c * c)
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    kinks = [0.0, *act.kinks]
    quad = lambda f, pts: integrate.quad(f, -12, 12, points=[p for p in pts if abs(p) < 12],
                                         epsabs=1e-12, epsrel=1e-12, limit=400)[0]
    inner = lambda z1: quad(lambda z2: float(act.sigma(b * (c * z1 + s * z2))) * phi(z2),
                            [(t / b - c * z1) / s for t in kinks])
    return quad(lambda z1: float(act.sigma(a * z1)) * inner(z1) * phi(z1),
                [t / a for t in kinks] + [t / (b * c) for t in kinks])


@pytest.mark.parametrize("name, params", [("piecewise_linear", MMN), ("tanh", None)])
def test_exact_against_brute_force_pairs(name, params):
    """Three units, three pairs: c ≈ 0.9998 (quadrature path), and two generic cosines (series)."""
    act, data = make_activation(name, params), IsotropicGaussians(0.8, 3)
    u, v = unit(np.array([1.0, 0.2, -0.3])), unit(np.array([-0.4, 1.0, 0.5]))
    W = np.array([1.7 * u, 2.2 * unit(u + 0.02 * v), 0.9 * v])
    r, scale = np.linalg.norm(W, axis=1), 1.3
    cos = (W / r[:, None]) @ (W / r[:, None]).T
    assert cos[0, 1] > 0.9995
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    mean = lambda f: integrate.quad(lambda z: f(z) * phi(z), -12, 12, points=[0.0, *act.kinks],
                                    epsabs=1e-13, limit=400)[0]
    total, linear = 0.0, 0.0
    for tau, y in zip(data.taus, (1.0, -1.0)):
        for i in range(3):
            linear -= 0.5 * y * mean(lambda z: float(act.sigma(tau * r[i] * z)))
            total += 0.5 * mean(lambda z: float(act.sigma(tau * r[i] * z)) ** 2)
            for j in range(i + 1, 3):
                total += brute_pair(act, tau * r[i], tau * r[j], cos[i, j])   # ½ · 2 (i,j), (j,i)
    brute = 1 + 2 * scale * linear / 3 + scale**2 * total / 9
    assert exact_risk(W, act, data, scale) == pytest.approx(brute, abs=1e-8)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_large_network_matches_radial_risk(scale):
    """R_N = R(p̂) + (α²/N)(mean U_ii − mean u_d(r_i, r_i)) + angle fluctuations."""
    act, data = make_activation("piecewise_linear", MMN), IsotropicGaussians(0.8, 40)
    n, dim = 400, 40
    rng = np.random.default_rng(5)
    r = rng.uniform(0.0, 5.0, n)
    W = r[:, None] * np.apply_along_axis(unit, 1, rng.standard_normal((n, dim)))
    red = RadialReduction(act, data, dim, scale=scale)
    f = red.features(r)
    radial = red.risk(red.v(r).mean(), f.mean(axis=1))
    diag_u = 0.5 * sum(act.second_moment(tau * r) for tau in data.taus)
    correction = scale**2 / n * (diag_u.mean() - (f**2).sum(axis=0).mean())
    gap = exact_risk(W, act, data, scale) - radial
    assert abs(gap - correction) < 3 / math.sqrt(n) * scale
    assert abs(gap - correction) < 0.2 * abs(correction)      # the diagonal term dominates
