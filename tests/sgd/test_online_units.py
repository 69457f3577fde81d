"""Particle SGD and the exact finite-N risk for units σ(⟨w, x⟩), a σ(⟨w, x⟩) and a σ(⟨w, x⟩ + b)
on isotropic and anisotropic Gaussian data (MATH.md 1–3, 4.2, 4.3, 7)."""

import math

import numpy as np
import pytest
from conftest import make_case
from scipy import integrate

import ddsolver
from ddsolver.errors import CaseError
from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.online import minibatch_sgd, online_sgd, unit_step, unit_step_numpy
from ddsolver.sgd.risk import exact_risk, monte_carlo_risk
from ddsolver.sgd.run import GaussianSgdModel, make_sgd_model, simulate

MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ACTIVATIONS = [("piecewise_linear", MMN), ("relu", {}), ("tanh", {})]
UNITS = {"w": (False, False), "aw": (True, False), "awb": (True, True)}
CONSTANT = (0, 1.0, 1.0, 0.0)


def make_data(kind, dim=6, delta=0.7):
    return (IsotropicGaussians(delta, dim) if kind == "isotropic"
            else AnisotropicGaussians(delta, dim, 2))


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


# -- the compiled step -------------------------------------------------------------------------

@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("lam, inv_beta", [(0.0, 0.0), (0.3, 0.5)])
def test_step_matches_numpy(name, params, unit, lam, inv_beta):
    rng = np.random.default_rng(1)
    act = make_activation(name, params)
    has_a, has_b = UNITS[unit]
    n, d = 30, 7
    W = rng.standard_normal((n, d))
    A = rng.standard_normal(n) if has_a else np.ones(n)
    B = rng.standard_normal(n) if has_b else np.zeros(n)
    x, noise, noise_ab = rng.standard_normal(d), rng.standard_normal((n, d)), rng.standard_normal((n, 2))
    ref = unit_step_numpy(W, A, B, has_a, has_b, x, 1.0, noise, noise_ab, act, 1.5, lam, 0.01,
                          inv_beta)
    A0, B0 = A.copy(), B.copy()
    pred = unit_step(W, A, B, has_a, has_b, x, 1.0, noise, noise_ab, *pointwise_args(act), 1.5,
                     lam, 0.01, inv_beta, np.empty(n))
    assert pred == pytest.approx(ref[3], rel=1e-13)
    for new, expected in zip((W, A, B), ref[:3]):
        np.testing.assert_allclose(new, expected, rtol=1e-13, atol=1e-14)
    assert np.array_equal(A, A0) or has_a                   # untrained a and b stay put
    assert np.array_equal(B, B0) or has_b


@pytest.mark.parametrize("batch", [1, 4])
def test_reproducible_and_untrained_parameters_fixed(batch):
    act = make_activation("relu")
    scales = AnisotropicGaussians(0.5, 6, 2).scales
    W0 = np.random.default_rng(3).standard_normal((20, 6))

    def run(seed, unit):
        W, A, B = W0.copy(), np.full(20, 0.5), np.full(20, 0.1)
        has_a, has_b = UNITS[unit]
        kw = {"A": A if has_a else None, "B": B if has_b else None}
        if batch == 1:
            online_sgd(W, *pointwise_args(act), scales, 1.0, 0.1, 0.2, 1e-3, CONSTANT, 0, 500,
                       seed, **kw)
        else:
            minibatch_sgd(W, *pointwise_args(act), scales, 1.0, 0.1, 0.2, 4e-3, CONSTANT, 0,
                          125, batch, seed, **kw)
        return W, A, B

    first, again, other = run(7, "awb"), run(7, "awb"), run(8, "awb")
    assert all(np.array_equal(p, q) for p, q in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1]) and not np.array_equal(first[2], other[2])
    _, A, B = run(7, "w")
    assert np.all(A == 0.5) and np.all(B == 0.1)


@pytest.mark.parametrize("batch", [1, 0])
def test_sampled_inputs_have_the_label_covariances(batch):
    """One step from W = 0, a = 1, b = 0 with σ(t) = t, α = 1, s = ½ gives b = y and w = y x
    exactly, so the kernels' samples can be read off: P(y = 1) = ½ and E[x xᵀ | y] =
    diag(scales[y]²) within 5 standard errors (batch = 0: the mini-batch kernel, batch size 1)."""
    data = AnisotropicGaussians(0.8, 4, 2)
    code, params = pointwise_args(make_activation("linear"))
    xs, ys = [], []
    for seed in range(20_000):
        W, A, B = np.zeros((1, 4)), np.ones(1), np.zeros(1)
        if batch:
            online_sgd(W, code, params, data.scales, 1.0, 0.0, 0.0, 0.5, CONSTANT, 0, 1, seed,
                       A=A, B=B)
        else:
            minibatch_sgd(W, code, params, data.scales, 1.0, 0.0, 0.0, 0.5, CONSTANT, 0, 1, 1,
                          seed, A=A, B=B)
        assert A[0] == 1.0 and abs(B[0]) == 1.0
        xs.append(W[0] * B[0])
        ys.append(B[0])
    xs, ys = np.array(xs), np.array(ys)
    assert abs(np.mean(ys > 0) - 0.5) < 5 * 0.5 / math.sqrt(len(ys))
    for row, label in ((0, 1.0), (1, -1.0)):
        x = xs[ys == label]
        products = x[:, :, None] * x[:, None, :]
        mean = products.mean(axis=0)
        err = products.std(axis=0) / math.sqrt(len(x))
        assert np.all(np.abs(mean - np.diag(data.scales[row] ** 2)) < 5 * err), (mean, err)


def flat_params(W, A, B, has_a, has_b):
    return np.concatenate([W.ravel(), A if has_a else [], B if has_b else []])


def risk_gradient(act, data, scale, W, A, B, has_a, has_b, h=1e-5):
    """∇R_N over (W, a, b) by central differences of the exact risk."""
    n, d = W.shape
    theta = flat_params(W, A, B, has_a, has_b)

    def risk(t):
        a = t[n * d: n * d + n] if has_a else None
        b = t[n * d + n * has_a:] if has_b else None
        return exact_risk(t[: n * d].reshape(n, d), act, data, scale, a=a, b=b)

    grad = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        grad[k] = (risk(theta + e) - risk(theta - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("name, params", [("relu", {}), ("tanh", {})])
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("kind", ["isotropic", "anisotropic"])
@pytest.mark.parametrize("batch", [1, 4])
def test_expected_increment_is_the_risk_gradient(name, params, unit, kind, batch):
    """E[θ_i' − θ_i] = −s [(N/α²) ∇_{θ_i} R_N + 2λ θ_i] for every parameter of every unit
    (MATH.md 2–3: the expected SGD step, with ∇R_N by central differences of the exact risk).
    With s = 1e-10 the state moves by ~1e-6 over a run, so the mean increment of 20 runs of
    20000 samples each (online, or mini-batches of 4) estimates the expectation at θ; it must
    match within 5 standard errors."""
    act, data = make_activation(name, params), make_data(kind, dim=4)
    has_a, has_b = UNITS[unit]
    rng = np.random.default_rng(11)
    n, d, scale, lam, s = 4, 4, 1.5, 0.3, 1e-10
    W0 = rng.standard_normal((n, d))
    A0 = rng.uniform(-1.5, 1.5, n) if has_a else np.ones(n)
    B0 = rng.uniform(-1.0, 1.0, n) if has_b else np.zeros(n)
    theta0 = flat_params(W0, A0, B0, has_a, has_b)
    steps = 20_000 // batch
    increments = []
    for seed in range(20):
        W, A, B = W0.copy(), A0.copy(), B0.copy()
        kw = {"A": A if has_a else None, "B": B if has_b else None}
        if batch == 1:
            online_sgd(W, *pointwise_args(act), data.scales, scale, lam, 0.0, s, CONSTANT, 0,
                       steps, seed, **kw)
        else:
            minibatch_sgd(W, *pointwise_args(act), data.scales, scale, lam, 0.0, s, CONSTANT, 0,
                          steps, batch, seed, **kw)
        increments.append((flat_params(W, A, B, has_a, has_b) - theta0) / (s * steps))
    increments = np.array(increments)
    mean, err = increments.mean(axis=0), increments.std(axis=0, ddof=1) / math.sqrt(20)
    expected = -(n / scale**2) * risk_gradient(act, data, scale, W0, A0, B0, has_a, has_b) \
        - 2 * lam * theta0
    assert np.all(np.abs(mean - expected) <= 5 * err), np.abs(mean - expected) / err
    assert np.median(err / np.abs(expected)) < 0.02              # the test has power


@pytest.mark.parametrize("batch", [1, 4])
def test_noise_on_a_and_b_is_ornstein_uhlenbeck(batch):
    """σ ≡ 0 (piecewise linear with s1 = s2 = 0): V = U = 0 and every parameter is an AR(1)
    process θ ← (1 − 2λs)θ + sqrt(4s/β) ζ (MATH.md 3), with mean θ₀ ρ^k and variance
    σ_s² (1 − ρ^(2k)), ρ = 1 − 2λs, σ_s² = (4s/β)/(1 − ρ²) → 1/(βλ). Checked on a, b and w over
    N = 4000 units within 5 standard errors."""
    code, params = pointwise_args(make_activation("piecewise_linear",
                                                  {"s1": 0.0, "s2": 0.0, "t1": 0.0, "t2": 1.0}))
    n, d, lam, beta, eps, k = 4000, 2, 0.5, 10.0, 1e-3, 1000
    s = eps * batch
    steps = k // batch
    W, A, B = np.full((n, d), 0.4), np.full(n, 1.0), np.full(n, -0.5)
    scales = IsotropicGaussians(0.5, d).scales
    if batch == 1:
        online_sgd(W, code, params, scales, 1.0, lam, 1 / beta, s, CONSTANT, 0, steps, 3,
                   A=A, B=B)
    else:
        minibatch_sgd(W, code, params, scales, 1.0, lam, 1 / beta, s, CONSTANT, 0, steps, batch,
                      3, A=A, B=B)
    rho = 1 - 2 * lam * s
    var = 4 * s / beta / (1 - rho**2) * (1 - rho ** (2 * steps))
    for values, start in ((A, 1.0), (B, -0.5), (W[:, 0], 0.4), (W[:, 1], 0.4)):
        assert abs(values.mean() - start * rho**steps) < 5 * math.sqrt(var / n)
        assert abs(values.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (n - 1))


# -- the exact risk -----------------------------------------------------------------------------

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


# -- the model and the run loop -----------------------------------------------------------------

MODELS = [("isotropic_gaussians", "w"), ("isotropic_gaussians", "aw"),
          ("isotropic_gaussians", "awb"), ("anisotropic_gaussians", "w"),
          ("anisotropic_gaussians", "aw")]


def model_case(data_kind, unit, batch=1, **init):
    data = {"kind": data_kind, "dim": 6, "delta": 0.6}
    if data_kind == "anisotropic_gaussians":
        data["signal_dim"] = 2
    coords = ddsolver.case.COORDINATES[(data_kind, unit)]
    return make_case(data=data, network={"unit": unit, "activation": "relu",
                                         "activation_params": {}},
                     training={"t_final": 0.2}, init={"kind": "gaussian", "kappa": 0.8, **init},
                     pde={"snapshot_times": [0.0, 0.1, 0.2],
                          "grid": {c: {"cells": 8} for c in coords}},
                     sgd={"neurons": 40, "eps": 1e-3, "batch": batch, "save_weights": True})


@pytest.mark.parametrize("kind, unit", MODELS)
@pytest.mark.parametrize("batch", [1, 2])
def test_simulate_records_every_coordinate(kind, unit, batch):
    """coords in the documented order with shapes (snapshots, N); the recorded risk is the exact
    risk of the recorded units; r, r1, r2 are the (block) norms of the recorded W; a run is
    reproducible from its seed."""
    init = {"a": {"kind": "uniform", "low": -1.0, "high": 1.0}} if unit != "w" else {}
    if unit == "awb":
        init["b"] = {"kind": "normal", "mean": 0.0, "std": 0.5}
    case = model_case(kind, unit, batch, **init)
    first, again = simulate(case, seed=2, progress=False), simulate(case, seed=2, progress=False)
    other = simulate(case, seed=3, progress=False)
    coords = ddsolver.case.COORDINATES[(kind, unit)]
    assert tuple(first.coords) == coords
    assert all(v.shape == (3, 40) for v in first.coords.values())
    assert all(np.array_equal(first.coords[c], again.coords[c]) for c in coords)
    assert np.array_equal(first.risk, again.risk) and not np.array_equal(first.risk, other.risk)
    model = GaussianSgdModel(ddsolver.normalize_case(case))
    for k in range(3):
        a, b = first.coords.get("a"), first.coords.get("b")
        risk = exact_risk(first.weights[k], model.activation, model.data, 1.0,
                          a=None if a is None else a[k], b=None if b is None else b[k])
        assert first.risk[k] == risk
    W = first.weights
    norms = {"r": np.linalg.norm(W, axis=2), "r1": np.linalg.norm(W[..., :2], axis=2),
             "r2": np.linalg.norm(W[..., 2:], axis=2)}
    for name in set(coords) & set(norms):
        np.testing.assert_allclose(first.coords[name], norms[name], rtol=1e-14)
    if "a" in coords:
        assert np.all(np.abs(first.coords["a"][0]) <= 1.0)
        assert not np.array_equal(first.coords["a"][0], first.coords["a"][-1])   # a is trained
    assert "coords ('" in repr(first)


def test_initial_state_follows_the_laws():
    """Anisotropic gaussian w: r1² d/κ² ~ χ²_{s₀}, r2² d/κ² ~ χ²_{d−s₀}; a ~ N(0.5, 0.2²);
    mean and variance within 5 standard errors."""
    case = ddsolver.normalize_case(model_case(
        "anisotropic_gaussians", "aw", a={"kind": "normal", "mean": 0.5, "std": 0.2}))
    model = make_sgd_model(case)
    n = 20_000
    state = model.initial(n, np.random.default_rng(0))
    coords = model.reduced(state)
    for name, dof in (("r1", 2), ("r2", 4)):
        z = coords[name] ** 2 * 6 / 0.64
        assert abs(z.mean() - dof) < 5 * math.sqrt(2 * dof / n)
        assert abs(z.var() - 2 * dof) < 5 * 2 * dof * math.sqrt((8 + 12 / dof) / n)
    assert abs(coords["a"].mean() - 0.5) < 5 * 0.2 / math.sqrt(n)
    assert abs(coords["a"].std() - 0.2) < 5 * 0.2 / math.sqrt(2 * n)
    assert np.all(state.B == 0.0) and state.W.shape == (n, 6)


@pytest.mark.parametrize("kind, unit", [("isotropic_gaussians", "aw"),
                                        ("anisotropic_gaussians", "w")])
def test_density_init_samples_the_grid_law(kind, unit):
    """init.kind = 'density' on a 2-D grid: the reduced coordinates of the units (norms of W or of
    its blocks, and a) fall in the cells with the density's masses (binomial, 5 standard errors);
    none in the empty cell."""
    coords = ddsolver.case.COORDINATES[(kind, unit)]
    values = np.random.default_rng(1).uniform(0.0, 1.0, 16)
    values[3] = 0.0
    case = model_case(kind, unit, kind="density", values=values)
    del case["init"]["kappa"]
    case["pde"]["grid"] = {c: {"min": 0.0 if c != "a" else -2.0, "max": 2.0, "cells": 4}
                           for c in coords}
    model = make_sgd_model(ddsolver.normalize_case(case))
    n = 40_000
    reduced = model.reduced(model.initial(n, np.random.default_rng(2)))
    edges = [np.linspace(-2.0 if c == "a" else 0.0, 2.0, 5) for c in coords]
    counts = np.histogramdd(np.column_stack([reduced[c] for c in coords]), bins=edges)[0]
    mass = values.reshape(4, 4) / values.sum()
    assert np.all(np.abs(counts / n - mass) <= 5 * np.sqrt(mass * (1 - mass) / n))
    assert counts.ravel()[3] == 0


def test_point_init_refused_for_anisotropic_data():
    case = ddsolver.normalize_case(model_case("anisotropic_gaussians", "w"))
    case["init"] = {"kind": "point", "kappa": 0.8}
    with pytest.raises(CaseError, match="init.kind: expected 'gaussian' or 'density'"):
        GaussianSgdModel(case).initial(5, np.random.default_rng(0))
