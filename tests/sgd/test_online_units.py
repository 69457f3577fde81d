"""Particle SGD of units σ(⟨w, x⟩), a σ(⟨w, x⟩) and a σ(⟨w, x⟩ + b) on isotropic and anisotropic
Gaussian data (ddsolver.sgd.online; docs/theory.md §1–3, 4.2, 4.3, 7): the compiled step and the
fused multi-step loop against the numpy twin, reproducibility, the sampled inputs, the expected
increment and the noise, with the origin penalty (λ/2)|θ|² and the anchored (λ/2)|θ − θ⁰|²."""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.online import minibatch_sgd, online_sgd, unit_step, unit_step_numpy
from ddsolver.sgd.risk import exact_risk

from .units import ACTIVATIONS, CONSTANT, UNITS, make_data


def random_anchor(rng, n, d, anchored):
    """None (origin penalty) or random anchors (W⁰, A⁰, B⁰)."""
    if not anchored:
        return None
    return rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(n)


# -- the compiled step -------------------------------------------------------------------------

@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("lam, inv_beta", [(0.0, 0.0), (0.3, 0.0), (0.3, 0.5)])
@pytest.mark.parametrize("anchored", [False, True])
def test_step_matches_numpy(name, params, unit, lam, inv_beta, anchored):
    rng = np.random.default_rng(1)
    act = make_activation(name, params)
    has_a, has_b = UNITS[unit]
    n, d = 30, 7
    W = rng.standard_normal((n, d))
    A = rng.standard_normal(n) if has_a else np.ones(n)
    B = rng.standard_normal(n) if has_b else np.zeros(n)
    x, noise = rng.standard_normal(d), rng.standard_normal((n, d))
    noise_ab = rng.standard_normal((n, 2))
    anchor = random_anchor(rng, n, d, anchored)
    ref = unit_step_numpy(W, A, B, has_a, has_b, anchor, x, 1.0, noise, noise_ab, act, 1.5, lam,
                          0.01, inv_beta)
    A0, B0 = A.copy(), B.copy()
    pre = np.empty(n)
    pred = unit_step(W, A, B, has_a, has_b, anchor, x, 1.0, noise, noise_ab,
                     *pointwise_args(act), 1.5, lam, 0.01, inv_beta, pre)
    assert pred == pytest.approx(ref[3], rel=1e-13)
    for new, expected in zip((W, A, B), ref[:3]):
        np.testing.assert_allclose(new, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(pre, ref[0] @ x + ref[2], rtol=1e-13, atol=1e-13)
    assert np.array_equal(A, A0) or has_a                   # untrained a and b stay put
    assert np.array_equal(B, B0) or has_b


@pytest.mark.parametrize("name, params", ACTIVATIONS)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("lam, inv_beta", [(0.0, 0.0), (0.3, 0.5)])
@pytest.mark.parametrize("anchored", [False, True])
def test_online_loop_matches_numpy_steps(name, params, unit, lam, inv_beta, anchored):
    """60 steps of the compiled online loop (the next sample's forward pass fused with the
    update) against 60 numpy twin steps on the stream of numpy.random.default_rng(seed) read in
    the documented order (per step y, x, then per unit its w-noises, a-noise and b-noise), with a
    power schedule s_k = ε · 2 (1 + kε)^(−½) from k = 5 on."""
    act, data = make_activation(name, params), make_data("anisotropic", dim=7)
    has_a, has_b = UNITS[unit]
    rng = np.random.default_rng(4)
    n, d, eps, k_start, k_end, seed = 30, 7, 0.01, 5, 65, 9
    W = rng.standard_normal((n, d))
    A = rng.standard_normal(n) if has_a else np.ones(n)
    B = rng.standard_normal(n) if has_b else np.zeros(n)
    W0 = W.copy()
    ref = (W.copy(), A.copy(), B.copy())
    anchor = ref if anchored else None
    stream = np.random.default_rng(seed)
    for k in range(k_start, k_end):
        y = 1.0 if stream.random() < 0.5 else -1.0
        x = data.scales[0 if y > 0 else 1] * stream.standard_normal(d)
        noise, noise_ab = np.zeros((n, d)), np.zeros((n, 2))
        for i in range(n * (inv_beta > 0)):
            noise[i] = stream.standard_normal(d)
            noise_ab[i, 0] = stream.standard_normal() if has_a else 0.0
            noise_ab[i, 1] = stream.standard_normal() if has_b else 0.0
        step = eps * 2.0 * (1.0 + k * eps) ** -0.5
        ref = unit_step_numpy(*ref, has_a, has_b, anchor, x, y, noise, noise_ab, act, 1.5, lam,
                              step, inv_beta)[:3]
    online_sgd(W, *pointwise_args(act), data.scales, 1.5, lam, inv_beta, eps,
               (1, 2.0, 1.0, 0.5), k_start, k_end, seed, A=A if has_a else None,
               B=B if has_b else None, anchor=anchor)
    assert np.abs(W - W0).max() > 0.01                          # the run moved the weights
    for new, expected in zip((W, A, B), ref):
        np.testing.assert_allclose(new, expected, rtol=1e-11, atol=1e-12)


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
@pytest.mark.parametrize("anchored", [False, True])
def test_expected_increment_is_the_risk_gradient(name, params, unit, kind, batch, anchored):
    """E[θ_i' − θ_i] = −s [(N/α²) ∇_{θ_i} R_N + 2λ (θ_i − θ_i⁰)] for every parameter of every unit
    (docs/theory.md §2–3: the expected SGD step, with ∇R_N by central differences of the exact
    risk; θ⁰ = 0 or random anchors). With s = 1e-10 the state moves by ~1e-6 over a run, so the
    mean increment of 20 runs of 20000 samples each (online, or mini-batches of 4) estimates the
    expectation at θ; it must match within 5 standard errors."""
    act, data = make_activation(name, params), make_data(kind, dim=4)
    has_a, has_b = UNITS[unit]
    rng = np.random.default_rng(11)
    n, d, scale, lam, s = 4, 4, 1.5, 0.3, 1e-10
    W0 = rng.standard_normal((n, d))
    A0 = rng.uniform(-1.5, 1.5, n) if has_a else np.ones(n)
    B0 = rng.uniform(-1.0, 1.0, n) if has_b else np.zeros(n)
    theta0 = flat_params(W0, A0, B0, has_a, has_b)
    anchor = random_anchor(rng, n, d, anchored)
    anchor_flat = 0.0 if anchor is None else flat_params(*anchor, has_a, has_b)
    steps = 20_000 // batch
    increments = []
    for seed in range(20):
        W, A, B = W0.copy(), A0.copy(), B0.copy()
        kw = {"A": A if has_a else None, "B": B if has_b else None, "anchor": anchor}
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
        - 2 * lam * (theta0 - anchor_flat)
    assert np.all(np.abs(mean - expected) <= 5 * err), np.abs(mean - expected) / err
    assert np.median(err / np.abs(expected)) < 0.02              # the test has power


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("anchored", [False, True])
def test_noise_on_a_and_b_is_ornstein_uhlenbeck(batch, anchored):
    """σ ≡ 0 (piecewise linear with s1 = s2 = 0): V = U = 0 and every parameter is an AR(1)
    process θ ← θ − 2λs(θ − θ⁰) + sqrt(4s/β) ζ (docs/theory.md §3), with mean
    θ⁰ + (θ(0) − θ⁰) ρ^k, ρ^k = (1 − 2λs)^k ≈ e^(−2λt): the weights relax to the anchor θ⁰ (0 for
    the origin penalty) at rate 2λ, and variance σ_s² (1 − ρ^(2k)), σ_s² = (4s/β)/(1 − ρ²) →
    1/(βλ). Checked on a, b and w over N = 4000 units within 5 standard errors."""
    code, params = pointwise_args(make_activation("piecewise_linear",
                                                  {"s1": 0.0, "s2": 0.0, "t1": 0.0, "t2": 1.0}))
    n, d, lam, beta, eps, k = 4000, 2, 0.5, 10.0, 1e-3, 1000
    s = eps * batch
    steps = k // batch
    W, A, B = np.full((n, d), 0.4), np.full(n, 1.0), np.full(n, -0.5)
    anchor = (np.full((n, d), -0.3), np.full(n, 0.2), np.full(n, 0.6)) if anchored else None
    ends = (-0.3, 0.2, 0.6) if anchored else (0.0, 0.0, 0.0)
    scales = IsotropicGaussians(0.5, d).scales
    if batch == 1:
        online_sgd(W, code, params, scales, 1.0, lam, 1 / beta, s, CONSTANT, 0, steps, 3,
                   A=A, B=B, anchor=anchor)
    else:
        minibatch_sgd(W, code, params, scales, 1.0, lam, 1 / beta, s, CONSTANT, 0, steps, batch,
                      3, A=A, B=B, anchor=anchor)
    rho = 1 - 2 * lam * s
    var = 4 * s / beta / (1 - rho**2) * (1 - rho ** (2 * steps))
    for values, start, end in ((A, 1.0, ends[1]), (B, -0.5, ends[2]), (W[:, 0], 0.4, ends[0]),
                               (W[:, 1], 0.4, ends[0])):
        mean = end + (start - end) * rho**steps
        assert abs(values.mean() - mean) < 5 * math.sqrt(var / n)
        assert abs(values.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (n - 1))
