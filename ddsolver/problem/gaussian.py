"""Expectations over a standard Gaussian G ~ N(0, 1), weighted by Hermite polynomials.

Notation: φ, Φ the standard normal pdf and cdf; He_n the probabilists' Hermite polynomials;
ψ_n = He_n / √(n!) their normalised form (orthonormal under φ). The quadrature computes

    E[f(sG + b) ψ_n(G)] = ∫ f(s g + b) φ(g) ψ_n(g) dg,   n = 0 … nmax,

for scales s ≥ 0 and shifts b (default 0) with a composite Gauss–Legendre rule on g ∈ [−L, L],
L = 12. The truncation is harmless for every n: by Cramér's inequality |φ(g) ψ_n(g)| ≤
1.09 e^(−g²/4)/√(2π) ≈ 1e−16 at |g| = 12, so the neglected tails are of order
1e−16 · max|f(sg + b)| there.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.legendre import leggauss

HALF_WIDTH = 12.0      # L: the quadrature covers g ∈ [−L, L]
PANEL_NODES = 16       # Gauss–Legendre nodes per panel
MAX_PANEL = 1.5        # widest panel, for smooth Gaussian-weighted integrands
PANEL_WAVES = 1.5      # widest panel in Hermite wavelengths 2π/√(nmax + 1)
BLOCK_NODES = 1 << 22  # quadrature nodes held in memory at once (rows × nodes per row)
GL_NODES, GL_WEIGHTS = leggauss(PANEL_NODES)   # one panel's rule on [−1, 1]


def check_scale(s) -> np.ndarray:
    """Return s as a float array, refusing s < 0.

    Only s ≥ 0 is needed: E[f(sG) He_n(G)] = (−1)^n E[f(|s|G) He_n(G)] since G and −G agree in law.
    """
    s = np.asarray(s, dtype=float)
    if not np.all(s >= 0):
        raise ValueError(f"scale s must be >= 0 (use E[f(sG)He_n(G)] = (-1)^n E[f(|s|G)He_n(G)]); "
                         f"got min {np.min(s)!r}")
    return s


def check_scale_shift(s, b) -> tuple[np.ndarray, np.ndarray]:
    """(s, b) as float arrays of their common broadcast shape; b = None means b = 0.

    s ≥ 0 as in :func:`check_scale`; the shift b must be finite.
    """
    s = check_scale(s)
    b = np.zeros_like(s) if b is None else np.asarray(b, dtype=float)
    if not np.all(np.isfinite(b)):
        raise ValueError(f"shift b must be finite, got {b[~np.isfinite(b)].ravel()[0]!r}")
    return tuple(np.array(x) for x in np.broadcast_arrays(s, b))


def std_normal_pdf(x):
    """φ(x) = exp(−x²/2) / √(2π)."""
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2.0 * math.pi)


def hermite_rows(x, start, nmax):
    """Yield start·ψ_n(x), n = 0 … nmax, by ψ_{n+1} = (x ψ_n − √n ψ_{n−1}) / √(n+1).

    The recurrence is linear, so any per-point factor ``start`` (φ(x), quadrature weights) can be
    carried from the first row: rows stay bounded where start·ψ_n is, with no overflow or 0·∞.
    """
    prev, row = np.zeros_like(start), start
    for n in range(nmax + 1):
        yield row
        if n < nmax:
            prev, row = row, (x * row - math.sqrt(n) * prev) / math.sqrt(n + 1)


def _collect(x, start, nmax):
    out = np.empty((nmax + 1,) + np.shape(x))
    for n, row in enumerate(hermite_rows(x, start, nmax)):
        out[n] = row
    return out


def normalized_hermite(x, nmax: int) -> np.ndarray:
    """(nmax+1, *x.shape) array of ψ_n(x) = He_n(x)/√(n!).

    ψ_n(x)² ≲ e^(x²/2), so this is finite for nmax ~ 1000 at |x| ≤ 40.
    """
    x = np.asarray(x, dtype=float)
    return _collect(x, np.ones_like(x), nmax)


def phi_times_hermite(x, nmax: int) -> np.ndarray:
    """(nmax+1, *x.shape) array of φ(x) He_n(x)/√(n!); 0, not nan, where φ(x) underflows."""
    x = np.asarray(x, dtype=float)
    start = std_normal_pdf(x)
    return _collect(np.where(start > 0, x, 0.0), start, nmax)


# -- panel quadrature -----------------------------------------------------------------------------

def _panel_width(nmax):
    """Widest panel: min(MAX_PANEL, PANEL_WAVES · 2π/√(nmax+1)), the Hermite wavelength bound."""
    return min(MAX_PANEL, PANEL_WAVES * 2.0 * math.pi / math.sqrt(nmax + 1))


def _layout(smax, nmax, kinks):
    """(uniform points, offsets, centres) of the panel ends shared by all rows, for scales up to
    ``smax`` (see :func:`_breakpoints`)."""
    width = _panel_width(nmax)
    uniform = np.linspace(-HALF_WIDTH, HALF_WIDTH, math.ceil(2 * HALF_WIDTH / width) + 1)
    levels = max(0, math.ceil(math.log2(width * smax))) + 1
    steps = 2.0 ** np.arange(levels)
    offsets = np.concatenate([[0.0], steps, -steps])
    centres = np.array(sorted({0.0, *map(float, kinks)}))
    return uniform, offsets, centres


def _breakpoints(s, b, layout):
    """(len(s), P+1) sorted panel ends for s > 0 and shifts b (same length).

    A uniform grid of step ≤ _panel_width on [−L, L], plus, around each centre
    c ∈ ({0} ∪ kinks − b)/s, the points c and c ± 2^j/s (j = 0 … J−1, up to the uniform step
    at the largest scale): the panels are graded on the scale 1/s on which f(s g + b) varies near
    its kinks and near s g + b = 0. Points outside [−L, L] are clipped to ±L and give empty
    panels, so every row has the same length.
    """
    uniform, offsets, centres = layout
    graded = ((centres[None, :, None] - b[:, None, None]) + offsets[None, None, :]) \
        / s[:, None, None]
    points = np.concatenate([np.broadcast_to(uniform, (s.size, uniform.size)),
                             graded.reshape(s.size, -1)], axis=1)
    return np.sort(np.clip(points, -HALF_WIDTH, HALF_WIDTH), axis=1)


def panel_rule(ends) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights w, each (*rows, P·PANEL_NODES), of the composite Gauss–Legendre rule
    ∫ f dz ≈ Σ w f(z) on the P panels between consecutive sorted ``ends`` (last axis, P+1
    points): z = m + h x_q, w = h w_q on a panel of midpoint m and half-width h (a repeated end
    gives an empty panel, w = 0)."""
    ends = np.asarray(ends, dtype=float)
    mid = 0.5 * (ends[..., 1:] + ends[..., :-1])
    half = 0.5 * (ends[..., 1:] - ends[..., :-1])
    nodes = mid[..., None] + half[..., None] * GL_NODES
    weights = half[..., None] * GL_WEIGHTS
    shape = ends.shape[:-1] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


def _panel_nodes(s, b, layout) -> tuple[np.ndarray, np.ndarray]:
    """Nodes g and weights w, each (len(s), nodes), of the composite rule for the scales s > 0
    and shifts b."""
    return panel_rule(_breakpoints(s, b, layout))


def common_rule(smax: float, nmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes g and weights w·φ(g) (1-D) of one rule for E[f(sG) ψ_n(G)] ≈ Σ w φ(g) f(sg) ψ_n(g),
    n ≤ nmax, at every scale 0 < s ≤ smax, for f smooth with its transition at t = 0: the rule
    of :func:`hermite_quadrature` at s = smax, whose grading around g = 0 from 1/smax up to the
    panel width resolves f(sg) for the smaller s too."""
    g, w = _panel_nodes(np.array([float(smax)]), np.zeros(1), _layout(smax, nmax, ()))
    return g[0], w[0] * std_normal_pdf(g[0])


def hermite_quadrature(f, s, nmax: int, kinks=(), b=None) -> np.ndarray:
    """(nmax+1, *shape) array of E[f(sG + b) He_n(G)]/√(n!) by panel quadrature.

    shape is the broadcast shape of s and the shift b (b = None: b = 0, shape = s.shape). f maps
    an array of t = s g + b to f(t); ``kinks`` lists the t where f has a kink, a jump or a steep
    transition (t = 0 is always included), and f must be smooth between them. At s = 0 the value
    is f(b)·[n = 0], the s → 0+ limit when f is continuous at b. f must act elementwise. Memory
    is bounded: rows are processed in blocks of about BLOCK_NODES nodes (one panel layout for
    all, so the blocking does not change the result) and the Hermite rows are summed one at a
    time.
    """
    s, b = check_scale_shift(s, b)
    flat, shift = s.ravel(), b.ravel()
    out = np.zeros((nmax + 1, flat.size))
    pos = flat > 0
    out[0, ~pos] = f(shift[~pos])
    rows = np.flatnonzero(pos)
    if rows.size:
        layout = _layout(flat[rows].max(), nmax, kinks)
        per_row = PANEL_NODES * (layout[0].size + layout[1].size * layout[2].size)
        block = max(1, BLOCK_NODES // per_row)
        for first in range(0, rows.size, block):
            idx = rows[first:first + block]
            g, w = _panel_nodes(flat[idx], shift[idx], layout)
            start = w * f(flat[idx, None] * g + shift[idx, None]) * std_normal_pdf(g)
            for n, row in enumerate(hermite_rows(g, start, nmax)):
                out[n, idx] = row.sum(axis=1)
    return out.reshape((nmax + 1,) + s.shape)


def gaussian_expectation(f, s, kinks=(), b=None) -> np.ndarray:
    """E f(sG + b), shape that of s and b broadcast, by :func:`hermite_quadrature` with n = 0."""
    return hermite_quadrature(f, s, 0, kinks, b)[0]
