"""Population risk of the finite network ŷ(x) = (α/N) Σ_i a_i σ(⟨w_i, x⟩ + b_i)
(docs/theory.md §1, §4, §7).

Data: y = ±1 with probability ½, x | y ~ N(0, diag(s_y²)) with per-label coordinate standard
deviations s_y = ``data.scales[y]`` (isotropic data: s_± = τ_± in every coordinate). Given y,
the pre-activations ⟨w_i, x⟩ are jointly Gaussian with covariance W diag(s_y²) Wᵀ: standard
deviations γ_{y,i} = |s_y ∘ w_i| and correlations c^y_ij. With a_i ≡ 1, b_i ≡ 0 for units that
lack them,

    R_N = R_# + (2α/N) Σ_i V_i + (α²/N²) Σ_{i,j} U_ij        (diagonal included)
    V_i  = −½ a_i [q(γ_{+,i}; b_i) − q(γ_{−,i}; b_i)],   q(γ; b) = E σ(γG + b)
    U_ij = a_i a_j ½ Σ_y E[σ(γ_{y,i} Z₁ + b_i) σ(γ_{y,j}(c Z₁ + s Z₂) + b_j)],
    c = c^y_ij, s = √(1 − c²)

Diagonal: U_ii = a_i² ½ Σ_y E σ(γ_{y,i} G + b_i)². Off-diagonal pairs by Mehler's formula

    U_ij = ½ Σ_y Σ_{n≥0} (c^y_ij)^n h̃_n(y, i) h̃_n(y, j),   h̃_n(y, i) = a_i h_n(γ_{y,i}; b_i),

h_n(γ; b) = E[σ(γG + b) He_n(G)]/√(n!), summed for all pairs at once as ½ Σ_y Σ_n h̃_nᵀ (M ∘ C_y^∘n)
h̃_n (M masks the series pairs, C_y^∘n the elementwise power). When s_+ and s_− are proportional
(isotropic data) both labels share one correlation matrix, computed once. Truncation after n = K:
by Cauchy–Schwarz and Parseval,

    |U_ij − U_ij^(K)| ≤ |c|_max^(K+1) B_K,
    B_K = ½ Σ_y max_i (a_i² E σ(γ_{y,i} G + b_i)² − Σ_{n≤K} h̃_n(y, i)²),

and K is the smallest order with |c|_max^(K+1) B_K ≤ tol (an absolute bound per pair, so the
risk is within α² tol). Pairs with |c| > c_cut = (tol / B_max_order)^(1/(max_order+1)) would
need more than ``max_order`` terms; they are computed by 1-D quadrature of the conditional mean

    E[σ(γ_i Z₁ + b_i) g(Z₁)],   g(z) = E σ(γ_j c z + b_j + γ_j s G),

g in closed form for sums of ramps, E(m + ŝG − t)₊ = ŝ φ(u) + (m − t) Φ(u), u = (m − t)/ŝ,
otherwise by quadrature. Both Gaussian integrals use composite Gauss–Legendre panels on
[−L, L], graded geometrically around the kinks of σ (and t = 0) mapped to the integration
variable, so kinked activations converge fast (plain Gauss–Hermite would not).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.legendre import leggauss

from ..problem.activations import _RampSum
from ..problem.gaussian import std_normal_pdf

HALF_WIDTH = 12.0     # L: Gaussian integrals over [−L, L]
STEP = 1.0            # widest panel
MIN_WIDTH = 1e-6      # finest grading around a kink
PANEL_NODES = 16      # Gauss–Legendre nodes per panel
BLOCK_ROWS = 64       # rows of C^∘n processed together in the Mehler sum


def exact_risk(W, activation, data, scale=1.0, a=None, b=None, tol=1e-12, max_order=400):
    """Exact population risk R_N of the units (W (N, d), a (N,), b (N,)) on Gaussian ``data``
    with per-label coordinate standard deviations ``data.scales`` (2, d); a = None means
    a ≡ 1 and b = None means b ≡ 0."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    n = W.shape[0]
    a = np.ones(n) if a is None else _per_unit("a", a, n)
    b = None if b is None else _per_unit("b", b, n)
    groups = _label_geometry(W, data.scales)
    gamma = np.empty((2, n))                                      # γ_{y,i}
    for labels, g, _ in groups:
        gamma[labels] = g
    mean_v = -0.5 * np.mean(a * (activation.q(gamma[0], b) - activation.q(gamma[1], b)))
    second = a**2 * activation.second_moment(gamma, b)            # a_i² E σ(γ_{y,i} G + b_i)²
    cosines = [np.clip(units @ units.T, -1.0, 1.0) for _, _, units in groups]
    off = ~np.eye(n, dtype=bool)

    cmax = max(np.abs(cos[off]).max(initial=0.0) for cos in cosines)
    h, tails = _mehler_terms(activation, gamma, a, b, second, cmax, tol, max_order)
    cut = _cutoff(tails[-1], tol, h.shape[0] - 1)
    nears = [off & (np.abs(cos) > cut) for cos in cosines]
    cmax = max(np.abs(cos[off & ~near]).max(initial=0.0) for cos, near in zip(cosines, nears))
    order = _order(cmax, tails, tol)
    shift = np.zeros(n) if b is None else b
    total = 0.5 * second.sum()
    for (labels, _, units), cos, near in zip(groups, cosines, nears):
        total += _mehler_sum(h[: order + 1, labels], cos, off & ~near)
        for i, j in zip(*np.nonzero(np.triu(near))):
            sin = np.linalg.norm(units[j] - cos[i, j] * units[i])
            total += a[i] * a[j] * sum(                           # 2 · ½ Σ_y: (i, j) and (j, i)
                _pair_quadrature(activation, gamma[y, i], shift[i], gamma[y, j], shift[j],
                                 cos[i, j], sin) for y in labels)
    return float(data.label_second_moment + 2 * scale * mean_v + scale**2 * total / n**2)


def _per_unit(name, values, n):
    """``values`` as a finite float array of shape (n,), or a ValueError naming ``name``."""
    values = np.asarray(values, dtype=float)
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: expected {n} finite numbers (one per unit), got shape "
                         f"{values.shape}")
    return values


def _label_geometry(W, scales):
    """[(labels, γ (len(labels), N), unit vectors (N, d))] for groups of labels whose scales are
    proportional, s_y = t_y m with max m = 1: then ⟨w, x⟩ | y has standard deviation
    γ_{y,i} = t_y |m ∘ w_i| and the correlations are those of the unit vectors m ∘ w_i / |m ∘ w_i|
    (0 for a zero vector)."""
    scales = np.asarray(scales, dtype=float)
    if scales.shape != (2, W.shape[1]) or not np.all(scales > 0):
        raise ValueError(f"data.scales: expected positive numbers of shape (2, {W.shape[1]}), "
                         f"got shape {scales.shape}")
    top = scales.max(axis=1)
    shape = scales / top[:, None]
    groups = [[0, 1]] if np.array_equal(shape[0], shape[1]) else [[0], [1]]
    out = []
    for labels in groups:
        scaled = W * shape[labels[0]]
        r = np.linalg.norm(scaled, axis=1)
        units = np.divide(scaled, r[:, None], out=np.zeros_like(scaled), where=r[:, None] > 0)
        out.append((labels, np.outer(top[labels], r), units))
    return out


# -- Mehler series --------------------------------------------------------------------------------

def _mehler_terms(activation, gamma, a, b, second, cmax, tol, max_order):
    """h̃_n(y, i) = a_i h_n(γ_{y,i}; b_i), shape (K+1, 2, N), and the Parseval tail bounds
    B_0 … B_K (see module doc); ``second`` is a_i² E σ(γ_{y,i} G + b_i)².

    K = min(max_order, smallest n with cmax^(n+1) B_0 ≤ tol): enough, since B_n ≤ B_0.
    """
    variance = 0.5 * np.maximum(second - (a * activation.q(gamma, b)) ** 2, 0.0).max(axis=1).sum()
    h = a * activation.hermite(gamma, _order(cmax, np.full(max_order + 1, variance), tol), b)
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
    """Σ_{mask} ½ Σ_y Σ_n h_n(y)ᵀ (mask ∘ C^∘n) h_n(y), for h of shape (K+1, labels, N).

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
    graded = centres[..., None] + np.concatenate([np.zeros_like(offsets[..., :1]), offsets,
                                                  -offsets], -1)
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
        return activation.smoothed(m, sd)
    g, w = _panel_rule((_features(activation)[None, :] - m[:, None]) / sd, 1.0 / sd)
    return np.sum(w * activation.sigma(m[:, None] + sd * g), axis=1)


def _pair_quadrature(activation, g1, b1, g2, b2, c, s):
    """E[σ(g1 Z₁ + b1) σ(g2 (c Z₁ + s Z₂) + b2)] for g1, g2 > 0, c ≠ 0, s = √(1 − c²), as
    E[σ(g1 Z₁ + b1) g(Z₁)], g(z) = E σ(g2 c z + b2 + g2 s G).

    Panels are graded around (t − b1)/g1 (kinks of σ(g1 z + b1)) and (t − b2)/(g2 c) (where g
    bends, over a width ≈ s/|c| in z), for t in {0} ∪ kinks.
    """
    t = _features(activation)
    centres = np.concatenate([(t - b1) / g1, (t - b2) / (g2 * c)])
    widths = np.concatenate([np.full(t.size, 1.0 / g1), np.full(t.size, s / abs(c))])
    z, w = _panel_rule(centres[None, :], widths[None, :])
    z, w = z[0], w[0]
    return float(np.dot(w, activation.sigma(g1 * z + b1)
                        * _shifted_mean(activation, g2 * c * z + b2, g2 * s)))
