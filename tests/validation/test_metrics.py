"""Validation metrics (W1, gaps, slopes, marginal moments, the finite-N correction) against
independent computations."""

import math

import numpy as np
import pytest
import scipy.stats

import ddsolver
from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import IsotropicGaussians, make_data
from ddsolver.sgd.risk import exact_risk
from ddsolver.solve import build_reduction
from ddsolver.validation import (
    cdf_spread,
    finite_n_correction,
    fit_slope,
    mean_gap,
    risk_gap,
    wasserstein1,
    wasserstein1_densities,
)
from ddsolver.validation.metrics import marginal_mean_sd

from .synthetic import bump, custom_case, model_case, sample_grid


def random_density(rng, cells=40, lo=0.5, hi=3.0):
    edges = np.linspace(lo, hi, cells + 1)
    density = rng.random(cells)
    return edges, density / np.sum(density * np.diff(edges))


def sample_density(rng, edges, density, n):
    """n draws from the piecewise-constant density: a cell by its mass, then uniform in it."""
    widths = np.diff(edges)
    cells = rng.choice(widths.size, size=n, p=density * widths)
    return edges[cells] + rng.random(n) * widths[cells]


def fine_discretisation(edges, density, sub=400):
    """Points and weights representing the density to O(h / sub) in W1."""
    widths = np.diff(edges)
    points = edges[:-1, None] + (np.arange(sub) + 0.5) / sub * widths[:, None]
    return points.ravel(), np.repeat(density * widths / sub, sub)


# -- metrics --------------------------------------------------------------------------------------

@pytest.mark.parametrize("loc", [1.5, 0.0, 5.0])        # overlapping, below and above the grid
def test_wasserstein1_against_scipy(loc):
    rng = np.random.default_rng(1)
    edges, density = random_density(rng)
    samples = rng.normal(loc, 0.8, 300)
    points, weights = fine_discretisation(edges, density)
    expected = scipy.stats.wasserstein_distance(samples, points, v_weights=weights)
    assert wasserstein1(samples, edges, density) == pytest.approx(expected, abs=1e-5)


def test_wasserstein1_between_densities_against_scipy():
    rng = np.random.default_rng(5)
    edges, p = random_density(rng)
    q = rng.random(p.size) ** 3
    points, p_weights = fine_discretisation(edges, p)
    q_weights = fine_discretisation(edges, q)[1]
    expected = scipy.stats.wasserstein_distance(points, points, p_weights, q_weights)
    assert wasserstein1_densities(edges, p, 7 * q) == pytest.approx(expected, abs=1e-5)
    assert wasserstein1_densities(edges, p, p) == 0.0


def test_wasserstein1_of_samples_from_the_density_is_the_sampling_error():
    rng = np.random.default_rng(2)
    edges, density = random_density(rng)
    points, weights = fine_discretisation(edges, density)
    for n in (100, 10_000):
        samples = sample_density(rng, edges, density, n)
        w1 = wasserstein1(samples, edges, density)
        assert w1 == pytest.approx(scipy.stats.wasserstein_distance(
            samples, points, v_weights=weights), abs=1e-5)
        expected = math.sqrt(2 / math.pi / n) * cdf_spread(edges, density)
        assert expected / 3 < w1 < 3 * expected


def test_wasserstein1_of_a_point_mass_and_a_uniform_cell():
    """Uniform on [0, 1] against δ_a: W1 = a² / 2 + (1 − a)² / 2."""
    for a in (0.0, 0.3, 1.0, 2.0):
        expected = a - 0.5 if a > 1 else (a**2 + (1 - a) ** 2) / 2
        assert wasserstein1([a], [0.0, 0.5, 1.0], [1.0, 1.0]) == pytest.approx(expected)


def test_finite_n_correction_against_random_networks(make_case):
    """E R_N over networks of N iid units with |w| ~ p and uniform directions equals
    R(p) + diagonal term (the exact R_N of each network from ddsolver.sgd.risk)."""
    neurons, networks, d = 8, 3000, 10
    case = ddsolver.normalize_case(make_case(data={"dim": d}, training={"t_final": 1.0},
                                             pde={"grid": {"r": {"max": 4.0,
                                                                                  "cells": 100}}}))
    sol = ddsolver.solve(case, progress=False)
    grid = sol.grid
    rng = np.random.default_rng(3)
    act = make_activation("piecewise_linear", case["network"]["activation_params"])
    data = IsotropicGaussians(0.8, d)
    k = len(sol.t) // 2
    risks = []
    for _ in range(networks):
        r = sample_density(rng, grid.axes[0].edges, sol.density[k], neurons)
        w = rng.standard_normal((neurons, d))
        risks.append(exact_risk(r[:, None] * w / np.linalg.norm(w, axis=1, keepdims=True),
                                act, data))
    correction = finite_n_correction(sol.density[k], grid, build_reduction(case, grid), neurons)
    mean, se = np.mean(risks), np.std(risks) / math.sqrt(networks)
    assert correction[0] > 20 * se                       # the term is resolved by the test
    assert sol.risk[k] + correction[0] == pytest.approx(mean, abs=4 * se)


def test_gaps_and_standard_errors():
    values = np.array([[1.0, 2.0, 0.0], [3.0, 6.0, 2.0]])       # means 2, 4, 1
    gap, se = risk_gap(values, np.array([0.5, 1.0, 1.5]), np.array([1.0, 5.0, 2.0]))
    np.testing.assert_allclose(gap, [1.0, 0.0, -0.5])           # above, inside, below the band
    np.testing.assert_allclose(se, [1.0, 2.0, 1.0])             # std(ddof=1) / √2
    coords = np.stack([np.full((2, 5), 1.0), np.full((2, 5), 2.0)])
    gap, se = mean_gap(coords, np.array([1.5, 1.0]))
    np.testing.assert_allclose(gap, [0.0, 0.5])
    np.testing.assert_allclose(se, [0.5, 0.5])


def test_fit_slope_against_linregress():
    rng = np.random.default_rng(4)
    x = np.array([100, 200, 400, 800, 1600.0])
    y = 3 * x**-0.5 * np.exp(0.1 * rng.standard_normal(x.size))
    slope, se, intercept = fit_slope(x, y)
    ref = scipy.stats.linregress(np.log(x), np.log(y))
    assert (slope, se, intercept) == pytest.approx((ref.slope, ref.stderr, ref.intercept))
    assert fit_slope(x, 2 * x**-1.0)[0] == pytest.approx(-1.0)


# -- 2-D and 3-D reductions and user problems ------------------------------------------------------

def test_marginal_mean_and_sd_are_exact():
    rng = np.random.default_rng(0)
    edges = np.linspace(-1.0, 2.0, 31)
    density = rng.random((2, 30))
    mean, sd = marginal_mean_sd(edges, density)
    for k in range(2):
        law = scipy.stats.rv_histogram((density[k], edges), density=True)
        assert (mean[k], sd[k]) == pytest.approx((law.mean(), law.std()), rel=1e-12)


def arccos_relu_risk(W, a, scales, scale=1.0):
    """Exact R_N of networks ŷ = (α/N) Σ_i a_i ReLU(⟨w_i, x⟩), y = ±1 w.p. ½ and x | y ~
    N(0, diag(scales[y]²)) (rows y = +1, −1), for W (M, N, d), a (M, N): with K = W Σ Wᵀ,
    E ReLU(u) ReLU(v) = s_u s_v (√(1 − c²) + c (π − arccos c)) / (2π) (the arc-cosine kernel)
    and E ReLU(u) = s_u / √(2π)."""
    n = W.shape[1]
    risk = np.ones(W.shape[0])
    for label, sign in zip(scales, (1.0, -1.0)):
        K = np.einsum("mid,d,mjd->mij", W, label**2, W)
        s = np.sqrt(np.einsum("mii->mi", K))
        c = np.clip(K / (s[:, :, None] * s[:, None, :]), -1.0, 1.0)
        pair = s[:, :, None] * s[:, None, :] * (np.sqrt(1 - c * c) + c * (np.pi - np.arccos(c)))
        U = 0.5 * np.einsum("mi,mij,mj->m", a, pair / (2 * np.pi), a)
        V = -0.5 * sign * np.sum(a * s, axis=1) / math.sqrt(2 * np.pi)
        risk += 2 * scale / n * V + scale**2 / n**2 * U
    return risk


def random_directions(rng, shape, dim):
    u = rng.standard_normal(shape + (dim,))
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


@pytest.mark.parametrize("model", ["aw", "anisotropic_w"])
def test_finite_n_correction_against_random_relu_networks(model):
    """E R_N over networks of N iid units drawn from a 2-D density p (uniform directions) is
    R(p) + (α²/N)(∫U(θ,θ)dp − ∫∫U dp dp); R_N of each network in closed form (arc-cosine
    kernel), independent of the reductions' Mehler series."""
    neurons, networks = 5, 20_000
    case = model_case(model, network={"scale": 1.5})
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = bump(grid, [0.4 * a.lo + 0.6 * a.hi for a in grid.axes],
                   [0.15 * (a.hi - a.lo) for a in grid.axes])
    reduction = build_reduction(case, grid)
    rng = np.random.default_rng(1)
    theta = sample_grid(rng, grid, density, networks * neurons)
    theta = {c: v.reshape(networks, neurons) for c, v in theta.items()}
    data = make_data(case["data"])
    if model == "aw":
        W = theta["r"][..., None] * random_directions(rng, (networks, neurons), data.dim)
        a = theta["a"]
    else:
        s0 = data.signal_dim
        W = np.concatenate([theta["r1"][..., None] * random_directions(rng, (networks, neurons),
                                                                       s0),
                            theta["r2"][..., None] * random_directions(
                                rng, (networks, neurons), data.dim - s0)], axis=-1)
        a = np.ones((networks, neurons))
    risks = arccos_relu_risk(W, a, data.scales, scale=1.5)
    correction = finite_n_correction(density[None], grid, reduction, neurons)
    mean, se = risks.mean(), risks.std() / math.sqrt(networks)
    assert correction[0] > 20 * se
    expected = LowRankPotential(reduction, grid).risk(density) + correction[0]
    assert expected == pytest.approx(mean, abs=4 * se)


@pytest.mark.parametrize("model", ["aw", "anisotropic_w"])
def test_finite_n_correction_with_compressed_features(model):
    """With the solver's kernel_tol the interaction uses the kernel's numerical rank on the grid
    (ReLU units a·relu: U = a a' r r' k(cos), one term on (a, r); anisotropic: 182 terms → 4
    at kernel_tol = 1e-6) and agrees with the full-rank one to the tolerance; a loose tolerance
    drops terms, which only lowers ∫∫U p p = mᵀKm, by at most tol·‖K‖₂·|m|²."""
    from ddsolver.operator.lowrank import compress_features

    case = model_case(model)
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = bump(grid, [0.4 * a.lo + 0.6 * a.hi for a in grid.axes],
                   [0.15 * (a.hi - a.lo) for a in grid.axes])
    reduction = build_reduction(case, grid)
    masses = density.ravel()[None] * grid.cell_volume
    full = reduction.interaction(grid, masses)[0]
    tol = case["pde"]["kernel_tol"]
    features = reduction.cell_features(grid, 2)
    rank = compress_features(features, tol).shape[0]
    assert rank == 1 if model == "aw" else 1 < rank < reduction.rank / 20
    compressed = reduction.interaction(grid, masses, tol=tol)[0]
    assert compressed == pytest.approx(full, rel=10 * tol)
    difference = (finite_n_correction(density[None], grid, reduction, 10, tol=tol)
                  - finite_n_correction(density[None], grid, reduction, 10))
    assert abs(difference[0]) < reduction.scale**2 / 10 * 10 * tol * full
    if model == "anisotropic_w":
        loose = reduction.interaction(grid, masses, tol=1e-3)[0]
        bound = 1e-3 * np.linalg.norm(features, 2)**2 * np.sum(masses**2)
        assert 1e-6 * full < full - loose <= bound


def test_finite_n_correction_of_a_custom_problem_against_direct_sums(tmp_path):
    """The same identity for a user problem, R_N from the O(N²) double sum of U(θ_i, θ_j)."""
    neurons, networks = 4, 20_000
    case = custom_case(tmp_path)
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = bump(grid, [1.0, 0.2], [0.6, 0.5])
    reduction = build_reduction(case, grid)
    problem = reduction.problem
    rng = np.random.default_rng(2)
    theta = np.stack(list(sample_grid(rng, grid, density, networks * neurons).values()), axis=1)
    v = problem.v(*theta.T).reshape(networks, neurons)
    f = problem.features(*theta.T).reshape(-1, networks, neurons)
    double_sum = np.einsum("qmi,qmj->m", f, f)
    alpha = reduction.scale
    risks = (problem.label_second_moment + 2 * alpha * v.mean(axis=1)
             + alpha**2 * double_sum / neurons**2)
    correction = finite_n_correction(density, grid, reduction, neurons)
    mean, se = risks.mean(), risks.std() / math.sqrt(networks)
    assert correction[0] > 20 * se
    expected = LowRankPotential(reduction, grid).risk(density) + correction[0]
    assert expected == pytest.approx(mean, abs=4 * se)
