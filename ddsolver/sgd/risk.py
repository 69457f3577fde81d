"""Population risk of the finite network ŷ(x) = (α/N) Σ_i σ(⟨w_i, x⟩) (MATH.md 1, 4.1, 7).

Isotropic data (y = ±1 w.p. ½, x | y ~ N(0, τ_±² I_d)), r_i = |w_i|, c_ij = cos∠(w_i, w_j):

    R_N = R_# + (2α/N) Σ_i V(w_i) + (α²/N²) Σ_{i,j} U(w_i, w_j)        (diagonal included)
    V(w)  = −½ [q(τ₊ r) − q(τ₋ r)]
    U_ij  = ½ Σ_τ E[σ(τ r_i Z₁) σ(τ r_j (c Z₁ + s Z₂))],   s = √(1 − c²)

Diagonal: U_ii = ½ Σ_τ E σ(τ r_i G)². Off-diagonal pairs by Mehler's formula

    U_ij = ½ Σ_τ Σ_{n≥0} c_ij^n h_n(τ r_i) h_n(τ r_j),   h_n(s) = E[σ(sG) He_n(G)]/√(n!),

summed for all pairs at once as ½ Σ_τ Σ_n h_nᵀ (M ∘ C^∘n) h_n (M masks the series pairs,
C^∘n the elementwise power). Truncation after n = K: by Cauchy–Schwarz and Parseval,

    |U_ij − U_ij^(K)| ≤ |c_ij|^(K+1) B_K,   B_K = ½ Σ_τ max_i (E σ(τ r_i G)² − Σ_{n≤K} h_n(τ r_i)²),

and K is the smallest order with |c|_max^(K+1) B_K ≤ tol (an absolute bound per pair, so the
risk is within α² tol). Pairs with |c| > c_cut = (tol / B_max_order)^(1/(max_order+1)) would
need more than ``max_order`` terms; they are computed by 1-D quadrature of the conditional mean

    U_ij = ½ Σ_τ E[σ(a Z₁) g(Z₁)],   g(z) = E σ(b c z + b s G),   a = τ r_i, b = τ r_j,

g in closed form for sums of ramps, E(m + ŝG − t)₊ = ŝ φ(u) + (m − t) Φ(u), u = (m − t)/ŝ,
otherwise by quadrature. Both Gaussian integrals use composite Gauss–Legendre panels on
[−L, L], graded geometrically around the kinks of σ (and t = 0) mapped to the integration
variable, so kinked activations converge fast (plain Gauss–Hermite would not).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import ndtr

from ..problem.activations import _RampSum
from ..problem.gaussian import std_normal_pdf

HALF_WIDTH = 12.0     # L: Gaussian integrals over [−L, L]
STEP = 1.0            # widest panel
MIN_WIDTH = 1e-6      # finest grading around a kink
PANEL_NODES = 16      # Gauss–Legendre nodes per panel
BLOCK_ROWS = 64       # rows of C^∘n processed together in the Mehler sum


def exact_risk(W, activation, data, scale=1.0, tol=1e-12, max_order=400):
    """Exact population risk R_N of the units W (N, d) for isotropic Gaussian ``data``."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    n = W.shape[0]
    r = np.linalg.norm(W, axis=1)
    taus = np.asarray(data.taus, dtype=float)
    s = np.outer(taus, r)                                          # (2, N): τ r_i
    mean_v = -0.5 * np.mean(activation.q(s[0]) - activation.q(s[1]))
    second = activation.second_moment(s)                           # E σ(τ r_i G)²
    units = np.divide(W, r[:, None], out=np.zeros_like(W), where=r[:, None] > 0)
    cos = np.clip(units @ units.T, -1.0, 1.0)
    off = ~np.eye(n, dtype=bool)

    h, tails = _mehler_terms(activation, s, second, np.abs(cos[off]).max(initial=0.0), tol,
                             max_order)
    near = off & (np.abs(cos) > _cutoff(tails[-1], tol, h.shape[0] - 1))
    cmax = np.abs(cos[off & ~near]).max(initial=0.0)
    order = _order(cmax, tails, tol)
    total = 0.5 * second.sum() + _mehler_sum(h[: order + 1], cos, off & ~near)
    for i, j in zip(*np.nonzero(np.triu(near))):
        sin = np.linalg.norm(units[j] - cos[i, j] * units[i])
        total += sum(_pair_quadrature(activation, tau * r[i], tau * r[j], cos[i, j], sin)
                     for tau in taus)                              # 2 · ½ Σ_τ: (i, j) and (j, i)
    return float(data.label_second_moment + 2 * scale * mean_v + scale**2 * total / n**2)


def monte_carlo_risk(W, activation, data, scale=1.0, samples=100_000, rng=None, batch=10_000):
    """(mean, standard error) of (y − ŷ(x))² over ``samples`` fresh draws of ``data.sample``."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    rng = np.random.default_rng(rng)
    count, mean, m2 = 0, 0.0, 0.0
    while count < samples:
        x, y = data.sample(min(batch, samples - count), rng)
        loss = (y - scale * activation.sigma(x @ W.T).mean(axis=1)) ** 2
        k, mu = loss.size, loss.mean()
        # Chan et al.: merge (count, mean, m2) with the batch's (k, mu, Σ(loss − mu)²)
        m2 += np.sum((loss - mu) ** 2) + (mu - mean) ** 2 * count * k / (count + k)
        mean += (mu - mean) * k / (count + k)
        count += k
    return float(mean), float(math.sqrt(m2 / (count - 1) / count))


# -- Mehler series --------------------------------------------------------------------------------

def _mehler_terms(activation, s, second, cmax, tol, max_order):
    """h_n(τ r_i), shape (K+1, 2, N), and the Parseval tail bounds B_0 … B_K (see module doc).

    K = min(max_order, smallest n with cmax^(n+1) B_0 ≤ tol): enough, since B_n ≤ B_0.
    """
    variance = 0.5 * np.maximum(second - activation.q(s) ** 2, 0.0).max(axis=1).sum()
    h = activation.hermite(s, _order(cmax, np.full(max_order + 1, variance), tol))
    residual = np.maximum(second - np.cumsum(h**2, axis=0), 0.0)
    return h, 0.5 * residual.max(axis=2).sum(axis=1)


def _order(cmax, tails, tol):
    """Smallest n with cmax^(n+1) B_n ≤ tol, or the last n."""
    ok = np.flatnonzero(cmax ** np.arange(1, tails.size + 1) * tails <= tol)
    return int(ok[0]) if ok.size else tails.size - 1


def _cutoff(tail, tol, order):
    """c_cut = (tol / B_K)^(1/(K+1)): the series of order K is within tol for |c| ≤ c_cut."""
    return 1.0 if tail <= tol else (tol / tail) ** (1.0 / (order + 1))


def _mehler_sum(h, cos, mask):
    """Σ_{mask} U_ij = ½ Σ_τ Σ_n h_nᵀ (mask ∘ C^∘n) h_n, for h of shape (K+1, 2, N).

    Rows are taken in blocks of BLOCK_ROWS so that each block's powers stay in cache.
    """
    total = 0.0
    for start in range(0, cos.shape[0], BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        power, block = mask[rows].astype(float), cos[rows]
        for n, hn in enumerate(h):
            total += np.sum(hn[:, rows].T * (power @ hn.T))
            if n + 1 < len(h):
                power *= block
    return 0.5 * total


# -- quadrature for |c| close to 1 ----------------------------------------------------------------

def _panel_rule(centres, widths):
    """Nodes and weights, each (rows, k), of ∫_{−L}^{L} f(z) φ(z) dz ≈ Σ w f(z) per row.

    Composite Gauss–Legendre on panels of width ≤ STEP, with the extra breakpoints c and
    c ± w·2^j (w·2^j ≤ STEP) around every centre c of width w, both (rows, m). Breakpoints are
    clipped to [−L, L]; repeated ones give empty panels, so every row has the same length.
    """
    centres = np.atleast_2d(centres)
    widths = np.clip(np.broadcast_to(widths, centres.shape), MIN_WIDTH, STEP)
    levels = math.ceil(math.log2(STEP / widths.min())) + 1
    offsets = widths[..., None] * 2.0 ** np.arange(levels)
    offsets = np.where(offsets <= STEP, offsets, 0.0)
    graded = centres[..., None] + np.concatenate([np.zeros_like(offsets[..., :1]), offsets, -offsets], -1)
    uniform = np.linspace(-HALF_WIDTH, HALF_WIDTH, math.ceil(2 * HALF_WIDTH / STEP) + 1)
    rows = centres.shape[0]
    ends = np.concatenate([np.broadcast_to(uniform, (rows, uniform.size)),
                           graded.reshape(rows, -1)], axis=1)
    ends = np.sort(np.clip(ends, -HALF_WIDTH, HALF_WIDTH), axis=1)
    x, w = leggauss(PANEL_NODES)
    mid = 0.5 * (ends[:, 1:] + ends[:, :-1])
    half = 0.5 * (ends[:, 1:] - ends[:, :-1])
    nodes = (mid[..., None] + half[..., None] * x).reshape(rows, -1)
    weights = (half[..., None] * w).reshape(rows, -1) * std_normal_pdf(nodes)
    return nodes, weights


def _features(activation):
    """Points t where σ has a kink or its main transition: {0} ∪ kinks."""
    return np.array(sorted({0.0, *map(float, activation.kinks)}))


def _shifted_mean(activation, m, sd):
    """E σ(m + sd·G) for an array m and a scalar sd ≥ 0."""
    if sd == 0:
        return activation.sigma(m)
    if isinstance(activation, _RampSum):
        offset, ramps = activation._ramps()
        out = np.full_like(m, offset)
        for k, t in ramps:
            u = (m - t) / sd
            out += k * (sd * std_normal_pdf(u) + (m - t) * ndtr(u))
        return out
    g, w = _panel_rule((_features(activation)[None, :] - m[:, None]) / sd, 1.0 / sd)
    return np.sum(w * activation.sigma(m[:, None] + sd * g), axis=1)


def _pair_quadrature(activation, a, b, c, s):
    """E[σ(a Z₁) σ(b (c Z₁ + s Z₂))] for a, b > 0, c ≠ 0, s = √(1 − c²), as E[σ(a Z₁) g(Z₁)].

    Panels are graded around t/a (kinks of σ(a z)) and t/(bc) (where g bends, over a width
    ≈ s/|c| in z), for t in {0} ∪ kinks.
    """
    t = _features(activation)
    centres = np.concatenate([t / a, t / (b * c)])
    widths = np.concatenate([np.full(t.size, 1.0 / a), np.full(t.size, s / abs(c))])
    z, w = _panel_rule(centres[None, :], widths[None, :])
    z, w = z[0], w[0]
    return float(np.dot(w, activation.sigma(a * z) * _shifted_mean(activation, b * c * z, b * s)))
