"""Online and mini-batch SGD on the full network, docs/theory.md §1–3.

Units σ*(x; θ_i) = a_i σ(z_i), z_i = ⟨w_i, x⟩ + b_i, prediction ŷ(x) = (α/N) Σ_i a_i σ(z_i).
A unit without a second-layer weight has a_i ≡ 1, one without a bias b_i ≡ 0: the arrays A = 1
and B = 0 are then read but never updated (flags ``has_a``, ``has_b``). One step of size s_k on
a sample (x, y), with g = (2 s_k / α)(y − ŷ(x)) and every gradient at the old parameters:

    a_i ← a_i − 2λs_k (a_i − a_i⁰) + g σ(z_i)            + sqrt(4 s_k / β) ζ_i
    b_i ← b_i − 2λs_k (b_i − b_i⁰) + g a_i σ'(z_i)       + sqrt(4 s_k / β) η_i
    w_i ← w_i − 2λs_k (w_i − w_i⁰) + g a_i σ'(z_i) x     + sqrt(4 s_k / β) g_i

with independent standard normal noises (none when β = ∞). The anchors θ⁰ = (W⁰, A⁰, B⁰) are 0
for ``training.penalty = "origin"`` (weight decay, a factor 1 − 2λs_k) and the starting weights
for ``"anchored"``; the kernels take ``anchor`` = None (origin) or (W⁰, A⁰, B⁰) (anchored):
numba compiles each kind once and prunes the pull from the origin's code (a run-time flag cost
10 % at (800, 40)); the anchored step reads W⁰ beside W, 1.5× the memory traffic and about 1.5×
the time. Step size
s_k = ε ξ(kε), time t = kε. Samples: y = ±1 with probability ½, x | y ~ N(0, diag(scales[y]²))
(row 0 of ``scales`` for y = +1, row 1 for y = −1; isotropic data has constant rows τ_±).

Compiled kernels: :func:`unit_step` (one step on a given sample and noise; numpy twin
:func:`unit_step_numpy`), :func:`online_loop` and :func:`minibatch_loop`. :func:`online_units`
and :func:`minibatch_units` run them with samples and noises from
``numpy.random.default_rng(seed)`` (numba compiles its PCG64 generator and ziggurat normals, the
same stream as numpy's and about 8x faster than the legacy ``np.random`` in numba), so that a run
split into chunks with one seed per chunk is reproducible bit for bit. :func:`online_sgd` and
:func:`minibatch_sgd` are their entry points with optional unit arrays; :func:`sgd_step` /
:func:`sgd_step_numpy` are the w-only forms of the single step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..problem.pointwise import sigma_pairs
from ..problem.schedule import schedule_value


@njit(cache=True)
def draw_sample(rng, scales, x):
    """Fill x with a draw of x | y ~ N(0, diag(scales[y]²)) and return y = ±1 (probability ½):
    y = +1 iff rng.random() < ½, then x_j = scales[y, j] · rng.standard_normal() for j = 0 … d−1."""
    y = 1.0 if rng.random() < 0.5 else -1.0
    row = 0 if y > 0.0 else 1
    for j in range(x.size):
        x[j] = scales[row, j] * rng.standard_normal()
    return y


@njit(cache=True, fastmath=True)
def forward(W, B, x, pre):
    """pre_i = ⟨w_i, x⟩ + b_i."""
    n, d = W.shape
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += W[i, j] * x[j]
        pre[i] = acc + B[i]


@njit(cache=True, fastmath=True)
def activate(A, code, params, pre, slope):
    """pre_i ← σ(z_i) and slope_i ← σ'(z_i) for z = pre (:func:`sigma_pairs`); returns
    Σ_i a_i σ(z_i)."""
    sigma_pairs(code, params, pre, slope)
    total = 0.0
    for i in range(pre.size):
        total += A[i] * pre[i]
    return total


@njit(cache=True, fastmath=True)
def update(W, A, B, has_a, has_b, anchor, x, gain, shrink, noise_scale, noise, noise_ab, value,
           slope, x_next, pre):
    """The step of the module docstring with gain = (2s/α)(y − ŷ), shrink = 1 − 2λs,
    value_i = σ(z_i), slope_i = σ'(z_i) and noises scaled by noise_scale = sqrt(4s/β) (none if
    0), fused with the next forward pass: pre_i ← ⟨w_i', x_next⟩ + b_i' from the updated row, in
    the same sweep over W. ``value`` and ``pre`` may be the same array (value_i is read before
    pre_i is written). The anchored pull (1 − shrink)θ⁰_i is added in the same sweep (the
    branches on ``anchor`` are resolved at compile time)."""
    n, d = W.shape
    pull = 1.0 - shrink
    noisy = noise_scale > 0.0
    for i in range(n):
        g = gain * A[i] * slope[i]
        if has_a:
            A[i] = shrink * A[i] + gain * value[i] + noise_scale * noise_ab[i, 0]
            if anchor is not None:
                A[i] += pull * anchor[1][i]
        if has_b:
            B[i] = shrink * B[i] + g + noise_scale * noise_ab[i, 1]
            if anchor is not None:
                B[i] += pull * anchor[2][i]
        acc = 0.0
        if noisy:
            for j in range(d):
                w = shrink * W[i, j] + g * x[j] + noise_scale * noise[i, j]
                if anchor is not None:
                    w += pull * anchor[0][i, j]
                W[i, j] = w
                acc += w * x_next[j]
        elif g != 0.0 or shrink != 1.0:
            for j in range(d):
                w = shrink * W[i, j] + g * x[j]
                if anchor is not None:
                    w += pull * anchor[0][i, j]
                W[i, j] = w
                acc += w * x_next[j]
        else:
            for j in range(d):
                acc += W[i, j] * x_next[j]
        pre[i] = acc + B[i]


@njit(cache=True)
def unit_step(W, A, B, has_a, has_b, anchor, x, y, noise, noise_ab, code, params, scale, lam,
              step, inv_beta, pre):
    """One SGD step (module docstring) on sample (x, y), in place: :func:`forward`,
    :func:`activate`, :func:`update`. ``noise`` (N, d) are the w-noises, ``noise_ab`` (N, 2)
    the a- and b-noises; ``pre`` (N) holds ⟨w_i', x⟩ + b_i' of the updated units at exit.
    Returns the prediction ŷ(x) before the step."""
    slope = np.empty(W.shape[0])
    forward(W, B, x, pre)
    prediction = scale * activate(A, code, params, pre, slope) / W.shape[0]
    update(W, A, B, has_a, has_b, anchor, x, 2.0 * step / scale * (y - prediction),
           1.0 - 2.0 * lam * step, math.sqrt(4.0 * step * inv_beta), noise, noise_ab, pre, slope,
           x, pre)
    return prediction


def unit_step_numpy(W, A, B, has_a, has_b, anchor, x, y, noise, noise_ab, activation, scale, lam,
                    step, inv_beta):
    """Plain-numpy twin of :func:`unit_step`: returns (W, A, B, ŷ) after the step (copies)."""
    W0, A0, B0 = (0.0, 0.0, 0.0) if anchor is None else anchor
    z = W @ x + B
    value, slope = activation.sigma(z), activation.dsigma(z)
    prediction = scale * np.mean(A * value)
    gain = 2.0 * step / scale * (y - prediction)
    decay = 2.0 * lam * step
    noise_scale = math.sqrt(4.0 * step * inv_beta)
    new_w = W - decay * (W - W0) + np.outer(gain * A * slope, x)
    new_a = A - decay * (A - A0) + gain * value if has_a else A.copy()
    new_b = B - decay * (B - B0) + gain * A * slope if has_b else B.copy()
    if inv_beta > 0:
        new_w = new_w + noise_scale * noise
        new_a = new_a + noise_scale * noise_ab[:, 0] if has_a else new_a
        new_b = new_b + noise_scale * noise_ab[:, 1] if has_b else new_b
    return new_w, new_a, new_b, prediction


def sgd_step(W, x, y, noise, code, params, scale, lam, step, inv_beta, pre):
    """:func:`unit_step` for units σ(⟨w, x⟩) (a ≡ 1, b ≡ 0): W updated in place, returns ŷ."""
    n = W.shape[0]
    return unit_step(W, np.ones(n), np.zeros(n), False, False, None, x, y, noise,
                     np.zeros((n, 2)), code, params, scale, lam, step, inv_beta, pre)


def sgd_step_numpy(W, x, y, noise, activation, scale, lam, step, inv_beta):
    """:func:`unit_step_numpy` for units σ(⟨w, x⟩): returns (new W, ŷ)."""
    n = W.shape[0]
    new_w, _, _, prediction = unit_step_numpy(W, np.ones(n), np.zeros(n), False, False,
                                              None, x, y, noise, None, activation, scale,
                                              lam, step, inv_beta)
    return new_w, prediction


@njit(cache=True)
def online_loop(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta, eps,
                schedule, k_start, k_end, rng):
    """Steps k_start … k_end − 1 of online SGD, in place (module docstring). Per step the
    generator ``rng`` gives y, x (:func:`draw_sample`), then per unit its d w-noises, its a-noise
    and its b-noise. The sample of step k + 1 is drawn before step k's update, which computes
    its pre-activations in the same sweep over W (:func:`update`); one sample more than used is
    drawn at the end."""
    n, d = W.shape
    code_s, value, offset, exponent = schedule
    noisy = inv_beta > 0.0
    x, x_next = np.empty(d), np.empty(d)
    noise = np.zeros((n, d)) if noisy else np.zeros((1, 1))
    noise_ab = np.zeros((n, 2))
    pre, slope = np.empty(n), np.empty(n)
    y = draw_sample(rng, scales, x)
    forward(W, B, x, pre)
    for k in range(k_start, k_end):
        prediction = scale * activate(A, code, params, pre, slope) / n
        step = eps * schedule_value(code_s, value, offset, exponent, k * eps)
        if noisy:
            for i in range(n):
                for j in range(d):
                    noise[i, j] = rng.standard_normal()
                if has_a:
                    noise_ab[i, 0] = rng.standard_normal()
                if has_b:
                    noise_ab[i, 1] = rng.standard_normal()
        y_next = draw_sample(rng, scales, x_next)
        update(W, A, B, has_a, has_b, anchor, x, 2.0 * step / scale * (y - prediction),
               1.0 - 2.0 * lam * step, math.sqrt(4.0 * step * inv_beta), noise, noise_ab, pre,
               slope, x_next, pre)
        x, x_next, y = x_next, x, y_next


def online_units(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta, eps,
                 schedule, k_start, k_end, seed):
    """:func:`online_loop` with the generator ``numpy.random.default_rng(seed)``."""
    online_loop(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta, eps,
                schedule, k_start, k_end, np.random.default_rng(seed))


@njit(cache=True)
def minibatch_loop(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta,
                   eps_batch, schedule, k_start, k_end, batch, rng):
    """Mini-batch steps k_start … k_end − 1, in place: each draws ``batch`` samples X (B, d)
    and applies the module's update with the gradients averaged over the batch,

        W ← W − 2λs (W − W⁰) + (2 s / (α B)) Cᵀ X + noise,   C_bi = (y_b − ŷ(x_b)) a_i σ'(z_bi),

    b_i and a_i alike with Σ_b C_bi and Σ_b (y_b − ŷ(x_b)) σ(z_bi), and s = εB ξ(kεB)
    (``eps_batch`` = εB), so t = kεB means the same as in online SGD. The products X Wᵀ and
    Cᵀ X are BLAS matrix products. Per step ``rng`` gives the B samples, then unit by unit the
    d w-noises, the a-noise and the b-noise."""
    n, d = W.shape
    code_s, value, offset, exponent = schedule
    X = np.empty((batch, d))
    y = np.empty(batch)
    C = np.empty((batch, n))
    grad_a = np.empty(n)
    for k in range(k_start, k_end):
        for b in range(batch):
            y[b] = draw_sample(rng, scales, X[b])
        P = np.dot(X, W.T)
        grad_a[:] = 0.0
        for b in range(batch):
            z = P[b]
            for i in range(n):
                z[i] += B[i]
            err = y[b] - scale * activate(A, code, params, z, C[b]) / n   # z_i ← σ, C_bi ← σ'
            for i in range(n):
                C[b, i] *= err * A[i]
                grad_a[i] += err * z[i]
        step = eps_batch * schedule_value(code_s, value, offset, exponent, k * eps_batch)
        update = np.dot(C.T, X)
        shrink = 1.0 - 2.0 * lam * step
        pull = 1.0 - shrink
        gain = 2.0 * step / (scale * batch)
        noise_scale = math.sqrt(4.0 * step * inv_beta)
        for i in range(n):
            for j in range(d):
                W[i, j] = shrink * W[i, j] + gain * update[i, j]
                if anchor is not None:
                    W[i, j] += pull * anchor[0][i, j]
                if inv_beta > 0.0:
                    W[i, j] += noise_scale * rng.standard_normal()
            if has_a:
                A[i] = shrink * A[i] + gain * grad_a[i]
                if anchor is not None:
                    A[i] += pull * anchor[1][i]
                if inv_beta > 0.0:
                    A[i] += noise_scale * rng.standard_normal()
            if has_b:
                B[i] = shrink * B[i] + gain * C[:, i].sum()
                if anchor is not None:
                    B[i] += pull * anchor[2][i]
                if inv_beta > 0.0:
                    B[i] += noise_scale * rng.standard_normal()


def minibatch_units(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta,
                    eps_batch, schedule, k_start, k_end, batch, seed):
    """:func:`minibatch_loop` with the generator ``numpy.random.default_rng(seed)``."""
    minibatch_loop(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta,
                   eps_batch, schedule, k_start, k_end, batch, np.random.default_rng(seed))


def _unit_arrays(W, scales, A, B):
    """(scales (2, d), A, B, has_a, has_b): ``scales`` may be (τ₊, τ₋) for isotropic data; a
    missing A is ones and a missing B zeros (not trained)."""
    n, d = W.shape
    scales = np.asarray(scales, dtype=float)
    if scales.shape == (2,):
        scales = np.repeat(scales[:, None], d, axis=1)
    if scales.shape != (2, d):
        raise ValueError(f"scales: expected shape (2,) or (2, {d}), got {scales.shape}")
    for name, arr in (("A", A), ("B", B)):
        if arr is not None and (arr.shape != (n,) or arr.dtype != np.float64):
            raise ValueError(f"{name}: expected a float64 array of shape ({n},), got "
                             f"{arr.dtype} {arr.shape}")
    return (np.ascontiguousarray(scales), np.ones(n) if A is None else A,
            np.zeros(n) if B is None else B, A is not None, B is not None)


def online_sgd(W, code, params, scales, scale, lam, inv_beta, eps, schedule, k_start, k_end,
               seed, A=None, B=None, anchor=None):
    """Online SGD steps k_start … k_end − 1 (:func:`online_units`), updating W (N, d) and the
    given A, B (N,) in place. ``scales``: (2, d) per-label standard deviations, or (τ₊, τ₋);
    ``anchor``: (W⁰, A⁰, B⁰) of the anchored penalty, or None (the origin)."""
    scales, A, B, has_a, has_b = _unit_arrays(W, scales, A, B)
    online_units(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta, eps,
                 schedule, k_start, k_end, seed)


def minibatch_sgd(W, code, params, scales, scale, lam, inv_beta, eps_batch, schedule, k_start,
                  k_end, batch, seed, A=None, B=None, anchor=None):
    """Mini-batch SGD steps k_start … k_end − 1 (:func:`minibatch_units`), in place like
    :func:`online_sgd`."""
    scales, A, B, has_a, has_b = _unit_arrays(W, scales, A, B)
    minibatch_units(W, A, B, has_a, has_b, anchor, code, params, scales, scale, lam, inv_beta,
                    eps_batch, schedule, k_start, k_end, batch, seed)
