"""Online SGD on the full network ŷ(x) = (α/N) Σ_i σ(⟨w_i, x⟩), MATH.md sections 2–3.

One fresh sample (x_k, y_k) per step, step size s_k = ε ξ(kε), and for every unit

    w_i ← (1 − 2λ s_k) w_i + (2 s_k / α)(y_k − ŷ(x_k)) σ'(⟨w_i, x_k⟩) x_k + sqrt(4 s_k / β) g_i,

g_i ~ N(0, I_d) (no noise term when β = ∞). Time is t = kε. :func:`sgd_step` applies one step
to given samples and has the plain-numpy twin :func:`sgd_step_numpy`; :func:`online_sgd` runs
steps k_start … k_end − 1 drawing isotropic-Gaussian samples (y = ±1, x | y ~ N(0, τ_y² I))
from numba's generator seeded with ``seed`` at entry, so a run split into chunks with one seed
per chunk is reproducible bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..problem.pointwise import sigma_pair
from ..problem.schedule import schedule_value


@njit(cache=True, fastmath=True)
def sgd_step(W, x, y, noise, code, params, scale, lam, step, inv_beta, pre):
    """One SGD step of size ``step`` on sample (x, y) with unit noises ``noise`` (N, d), in place;
    ``pre`` is scratch of length N. Returns the prediction ŷ(x) before the step."""
    n, d = W.shape
    total = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += W[i, j] * x[j]
        pre[i] = acc
        total += sigma_pair(code, params, acc)[0]
    prediction = scale * total / n
    shrink = 1.0 - 2.0 * lam * step
    gain = 2.0 * step / scale * (y - prediction)
    noise_scale = math.sqrt(4.0 * step * inv_beta)
    for i in range(n):
        g = gain * sigma_pair(code, params, pre[i])[1]
        if g == 0.0 and shrink == 1.0:
            pass
        else:
            for j in range(d):
                W[i, j] = shrink * W[i, j] + g * x[j]
        if inv_beta > 0.0:
            for j in range(d):
                W[i, j] += noise_scale * noise[i, j]
    return prediction


def sgd_step_numpy(W, x, y, noise, activation, scale, lam, step, inv_beta):
    """Plain-numpy twin of :func:`sgd_step` (returns the new weights and ŷ)."""
    pre = W @ x
    prediction = scale * activation.sigma(pre).mean()
    gain = 2.0 * step / scale * (y - prediction) * activation.dsigma(pre)
    new = (1.0 - 2.0 * lam * step) * W + np.outer(gain, x)
    if inv_beta > 0:
        new = new + math.sqrt(4.0 * step * inv_beta) * noise
    return new, prediction


@njit(cache=True)
def online_sgd(W, code, params, taus, scale, lam, inv_beta, eps, schedule, k_start, k_end, seed):
    """Steps k_start … k_end − 1 of online SGD on isotropic Gaussians, in place (see module)."""
    np.random.seed(seed)
    n, d = W.shape
    code_s, value, offset, exponent = schedule
    x = np.empty(d)
    noise = np.zeros((n, d)) if inv_beta > 0.0 else np.zeros((1, 1))
    pre = np.empty(n)
    for k in range(k_start, k_end):
        y = 1.0 if np.random.random() < 0.5 else -1.0
        tau = taus[0] if y > 0.0 else taus[1]
        for j in range(d):
            x[j] = tau * np.random.standard_normal()
        if inv_beta > 0.0:
            for i in range(n):
                for j in range(d):
                    noise[i, j] = np.random.standard_normal()
        step = eps * schedule_value(code_s, value, offset, exponent, k * eps)
        sgd_step(W, x, y, noise, code, params, scale, lam, step, inv_beta, pre)


@njit(cache=True)
def minibatch_sgd(W, code, params, taus, scale, lam, inv_beta, eps_batch, schedule, k_start,
                  k_end, batch, seed):
    """Mini-batch steps k_start … k_end − 1: each draws ``batch`` samples X (B, d) and applies

        W ← (1 − 2λ s) W + (2 s / (α B)) Cᵀ X + sqrt(4 s / β) G,   C_bi = (y_b − ŷ(x_b)) σ'(⟨w_i, x_b⟩),

    with s = εB ξ(kεB) (``eps_batch`` = εB), so t = kεB means the same as in online SGD. The
    products X Wᵀ and Cᵀ X are BLAS matrix products."""
    np.random.seed(seed)
    n, d = W.shape
    code_s, value, offset, exponent = schedule
    X = np.empty((batch, d))
    y = np.empty(batch)
    C = np.empty((batch, n))
    for k in range(k_start, k_end):
        for b in range(batch):
            y[b] = 1.0 if np.random.random() < 0.5 else -1.0
            tau = taus[0] if y[b] > 0.0 else taus[1]
            for j in range(d):
                X[b, j] = tau * np.random.standard_normal()
        P = np.dot(X, W.T)
        for b in range(batch):
            total = 0.0
            for i in range(n):
                total += sigma_pair(code, params, P[b, i])[0]
            err = y[b] - scale * total / n
            for i in range(n):
                C[b, i] = err * sigma_pair(code, params, P[b, i])[1]
        step = eps_batch * schedule_value(code_s, value, offset, exponent, k * eps_batch)
        update = np.dot(C.T, X)
        shrink = 1.0 - 2.0 * lam * step
        gain = 2.0 * step / (scale * batch)
        noise_scale = math.sqrt(4.0 * step * inv_beta)
        for i in range(n):
            for j in range(d):
                W[i, j] = shrink * W[i, j] + gain * update[i, j]
                if inv_beta > 0.0:
                    W[i, j] += noise_scale * np.random.standard_normal()
