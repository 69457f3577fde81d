"""Planar teacher model (ddsolver.problem.planar): the kernel K(r, r', δ), V and R_# against
Monte Carlo and closed forms, and its quadrature and series paths against each other and their
numpy twins. The SGD of the model is tested in tests/sgd/test_planar.py."""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.bivariate import (
    bivariate_cdf,
    hermite_table,
    mehler_series,
    mehler_series_numpy,
    pair_quadrature,
    pair_quadrature_numpy,
    ramp_pair,
    tail_roots,
)
from ddsolver.problem.gaussian import GL_NODES, GL_WEIGHTS
from ddsolver.problem.planar import PlanarTeacher
from ddsolver.problem.pointwise import pointwise_args

TEACHER = [[1.0, 0.0], [0.0, 1.5]]
TEACHER_WEIGHTS = [1.0, 0.5]
MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ZIGZAG = {"s1": -1.0, "s2": 2.5, "s3": -4.0, "s4": 5.0, "t1": 0.0, "t2": 0.25, "t3": 0.5, "t4": 1.5}


def polar(r, angle):
    return np.array([r * math.cos(angle), r * math.sin(angle)])


# -- the kernel -----------------------------------------------------------------------------------

# (r, r', δ): parallel, nearly parallel, generic, orthogonal, nearly antiparallel, r = 0
TRIPLES = [(1.0, 1.0, 0.0), (1.7, 0.6, 0.05), (0.8, 2.5, 1.1), (1.2, 0.9, math.pi / 2),
           (2.0, 1.3, math.pi - 0.1), (0.0, 1.4, 0.7)]


@pytest.mark.parametrize("name, params", [("erf", {}), ("relu", {}), ("tanh", {}),
                                          ("piecewise_linear", MMN)])
def test_kernel_matches_monte_carlo(name, params):
    """K(r, r', δ) against the sample mean of σ(⟨w, x⟩)σ(⟨w', x⟩) over 4e5 draws, within 5
    standard errors for every triple."""
    act = make_activation(name, params)
    problem = PlanarTeacher(act, TEACHER, TEACHER_WEIGHTS)
    x = np.random.default_rng(11).standard_normal((400_000, 2))
    worst = 0.0
    for r, r2, delta in TRIPLES:
        w, w2 = polar(r, 0.3), polar(r2, 0.3 + delta)
        values = act.sigma(x @ w) * act.sigma(x @ w2)
        se = values.std() / math.sqrt(len(values))
        z = abs(problem.kernel(r, r2, delta) - values.mean()) / max(se, 1e-300)
        worst = max(worst, z)
        assert z < 5, (name, r, r2, delta, z)
    print(f"{name}: worst |K - MC| = {worst:.2f} SE")


def erf_formula(w, w2):
    return 2 / math.pi * np.arcsin(2 * np.dot(w, w2)
                                   / math.sqrt((1 + 2 * np.dot(w, w)) * (1 + 2 * np.dot(w2, w2))))


def relu_formula(w, w2):
    r, r2 = np.linalg.norm(w), np.linalg.norm(w2)
    if r == 0 or r2 == 0:
        return 0.0
    theta = math.acos(min(1.0, max(-1.0, np.dot(w, w2) / (r * r2))))
    return r * r2 / (2 * math.pi) * (math.sin(theta) + (math.pi - theta) * math.cos(theta))


@pytest.mark.parametrize("name, formula", [("erf", erf_formula), ("relu", relu_formula)])
def test_kernel_matches_closed_forms(name, formula):
    """The Mehler series (with its fallback near |c| = 1) against the erf and arc-cosine closed
    forms written with w, w' directly, on radii with 0 and angles with 0, π and tiny ones."""
    problem = PlanarTeacher(make_activation(name), TEACHER)
    radii = np.array([0.0, 0.05, 0.5, 1.0, 2.3, 4.0])
    deltas = np.concatenate([[0.0, 1e-7, 1e-3, 0.05, math.pi, math.pi - 1e-4],
                             np.linspace(0.1, 6.2, 23)])
    got = problem.kernel(radii[:, None, None], radii[None, :, None], deltas[None, None, :])
    assert got.shape == (6, 6, deltas.size)
    want = np.array([[[formula(polar(r, 0.2), polar(r2, 0.2 + d)) for d in deltas]
                      for r2 in radii] for r in radii])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-12)
    closed = problem.kernel(radii[:, None, None], radii[None, :, None], deltas, method="closed")
    np.testing.assert_allclose(closed, want, rtol=0, atol=1e-14)


@pytest.mark.parametrize("name, params", [("erf", {}), ("relu", {}), ("tanh", {}),
                                          ("sigmoid", {}), ("piecewise_linear", MMN),
                                          ("zigzag", ZIGZAG)])
def test_quadrature_fallback(name, params):
    """pair_quadrature equals its numpy twin; it matches the closed forms (erf, ReLU) and, where
    the series converges, the Mehler series (two independent methods)."""
    act = make_activation(name, params)
    problem = PlanarTeacher(act, TEACHER)
    r1 = np.array([1.3, 0.0, 2.0, 0.7, 3.0])
    r2 = np.array([0.8, 1.1, 2.0, 1.9, 0.5])
    c = np.array([1.0, 0.3, 0.999, -0.6, -1.0])
    out = np.empty(5)
    pair_quadrature(*pointwise_args(act), r1, r2, c, GL_NODES, GL_WEIGHTS, out)
    twin = [pair_quadrature_numpy(act, *args) for args in zip(r1, r2, c)]
    np.testing.assert_allclose(out, twin, rtol=1e-13, atol=1e-14)
    if name in ("erf", "relu"):
        want = [(erf_formula if name == "erf" else relu_formula)(polar(a, 0.0),
                                                              polar(b, math.acos(cc)))
                for a, b, cc in zip(r1, r2, c)]
        np.testing.assert_allclose(out, want, rtol=0, atol=1e-13)
    if name in ("erf", "relu", "piecewise_linear", "zigzag"):
        np.testing.assert_allclose(out, act.pair_kernel(r1, r2, c), rtol=1e-12, atol=1e-13)
    moderate = np.cos(np.linspace(0.4, 2.7, 7))
    quad = np.empty(7)
    pair_quadrature(*pointwise_args(act), np.full(7, 1.2), np.full(7, 0.9), moderate,
                    GL_NODES, GL_WEIGHTS, quad)
    series = problem.kernel(1.2, 0.9, np.arccos(moderate), method="series")
    np.testing.assert_allclose(series, quad, rtol=0, atol=2e-12)


def test_bivariate_cdf_and_ramp_closed_form():
    """Φ₂ by Owen's T against scipy's multivariate normal cdf (including h = 0 or k = 0); the
    ramp-pair formula gives the arc-cosine kernel for a single ramp at 0, is continuous at
    ρ = ±1, and the piecewise-linear closed form matches quadrature on a grid of (r, r', c)."""
    from scipy.stats import multivariate_normal
    for h, k, rho in [(0.3, -0.7, 0.5), (0.0, 1.2, -0.8), (-1.1, 0.0, 0.95), (0.0, 0.0, 0.3),
                      (2.0, 1.5, -0.99), (-0.5, -0.4, 0.9999), (-2.5, 0.7, 0.1)]:
        ref = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([h, k])
        assert bivariate_cdf(h, k, rho) == pytest.approx(ref, abs=1e-13)
    r = np.array([0.0, 0.3, 1.0, 2.0, 3.5])
    c = np.concatenate([[-1.0, -1 + 1e-13, 0.0, 1 - 1e-13, 1.0], np.linspace(-0.99, 0.99, 9)])
    R, R2, C = np.meshgrid(r, r, c, indexing="ij")
    np.testing.assert_allclose(ramp_pair(R, R2, C, 0.0, 0.0),
                               make_activation("relu").pair_kernel(R, R2, C), rtol=0, atol=1e-14)
    for t1, t2 in [(0.5, 1.5), (1.5, 1.5), (-0.5, -1.5)]:
        near = ramp_pair(1.3, 0.8, [1 - 1e-14, -1 + 1e-14], t1, t2)
        ends = ramp_pair(1.3, 0.8, [1.0, -1.0], t1, t2)
        np.testing.assert_allclose(near, ends, rtol=0, atol=1e-13)
    act = make_activation("piecewise_linear", MMN)
    quad = np.empty(R.size)
    pair_quadrature(*pointwise_args(act), R.ravel(), R2.ravel(), C.ravel(), GL_NODES,
                    GL_WEIGHTS, quad)
    np.testing.assert_allclose(act.pair_kernel(R, R2, C).ravel(), quad, rtol=0, atol=1e-12)


def test_mehler_series_matches_numpy_twin():
    act = make_activation("relu")
    radii = np.array([0.0, 0.4, 1.0, 2.5])
    h, second = hermite_table(act, radii, 120)
    roots = tail_roots(h, second)
    rng = np.random.default_rng(4)
    first, other = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    c = np.concatenate([rng.uniform(-1, 1, 297), [1.0, -1.0, 0.0]])
    out, certified = np.empty(300), np.empty(300, dtype=bool)
    mehler_series(h, roots, first, other, c, 1e-12, out, certified)
    ref, ref_certified = mehler_series_numpy(h, roots, first, other, c, 1e-12)
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)
    assert np.array_equal(certified, ref_certified) and certified.any() and not certified.all()


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_shared_rule_hermite_table_matches_activation(name):
    """The matrix-product Hermite table of smooth activations equals the activation's own
    quadrature, and its second moments the activation's."""
    act = make_activation(name)
    radii = np.array([0.0, 0.3, 1.0, 2.2, 4.0])
    h, second = hermite_table(act, radii, 300)
    np.testing.assert_allclose(h, act.hermite(radii, 300).T, rtol=0, atol=1e-14)
    np.testing.assert_allclose(second, act.second_moment(radii), rtol=1e-13)


def test_kernel_properties():
    """Symmetry in (r, r') and δ → −δ, 2π-periodicity, r = 0 (K = σ(0) E σ(r'G)), the diagonal,
    and circle_kernel = K(1, 1, ·)."""
    problem = PlanarTeacher(make_activation("sigmoid"), TEACHER)
    d = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(problem.kernel(0.7, 1.9, d), problem.kernel(1.9, 0.7, -d),
                               atol=1e-15)
    np.testing.assert_allclose(problem.kernel(0.7, 1.9, d), problem.kernel(0.7, 1.9, d + 2 * np.pi),
                               atol=2e-12)
    np.testing.assert_allclose(problem.kernel(0.0, 1.9, d), 0.25, atol=1e-13)   # σ(0) · ½
    np.testing.assert_allclose(problem.kernel([0.5, 1.5, 3.0], [0.5, 1.5, 3.0], 0.0),
                               problem.diagonal([0.5, 1.5, 3.0]), atol=2e-12)
    np.testing.assert_allclose(problem.circle_kernel(d), problem.kernel(1.0, 1.0, d))


@pytest.mark.parametrize("name", ["relu", "tanh"])
def test_v_and_label_second_moment_match_monte_carlo(name):
    """V(r, φ) = −E[y σ(⟨w, x⟩)] and R_# = E y² against samples of the labelled data."""
    act = make_activation(name)
    problem = PlanarTeacher(act, TEACHER, TEACHER_WEIGHTS)
    x, y = problem.sample(400_000, np.random.default_rng(5))
    assert abs(y.var() + y.mean()**2 - problem.label_second_moment) < 5 * (y**2).std() / 632.4
    r = np.array([0.0, 0.8, 1.5, 2.2])
    phi = np.array([0.4, -2.0, 1.57, 3.0])
    v = problem.v(r, phi)
    np.testing.assert_allclose(problem.v(r[:, None], phi[None, :]).diagonal(), v)
    for k in range(4):
        values = -y * act.sigma(x @ polar(r[k], phi[k]))
        se = values.std() / math.sqrt(len(values))
        assert abs(v[k] - values.mean()) <= 5 * se + 1e-15, (k, v[k], values.mean(), se)
    np.testing.assert_allclose(problem.circle_v(phi), problem.v(1.0, phi))
