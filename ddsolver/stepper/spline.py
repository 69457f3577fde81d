"""Tensor-product cubic splines on uniform nodes: the tabulated kernel of the Lagrangian scheme.

On an axis with nodes x_j = lo + j h (j = 0 … n) a cubic spline is S(x) = Σ_{j=−1}^{n+1} c_j
B((x − x_j)/h), B the uniform cubic B-spline. The n + 3 coefficients solve the interpolation
conditions (c_{j−1} + 4c_j + c_{j+1})/6 = f_j and the not-a-knot conditions (no jump of S''' at
x_1 and x_{n−1}): the interpolant of scipy's ``make_interp_spline(x, f, k=3)``, error O(h⁴) in
S and O(h³) in S'. In D dimensions the coefficients are the 1-D solve applied along each axis
(:func:`spline_coefficients`), and on the cell j, t = (x − x_j)/h ∈ [0, 1) of every axis

    S(x) = Σ_{combinations of k_a ∈ 0…3} c[j_1 + k_1, …, j_D + k_D] Π_a B_{k_a}(t_a),
    B₀ = (1 − t)³/6, B₁ = (3t³ − 6t² + 4)/6, B₂ = (−3t³ + 3t² + 3t + 1)/6, B₃ = t³/6,

(array index j + k holds c_{j+k−1}); ∂_a S replaces B_{k_a} by B'_{k_a}/h_a. Outside the nodes
the end cells' polynomials are extended. Many functions S_f share the nodes (the last axis of
the coefficients); what the Lagrangian scheme needs of them at n points x_i is two
contractions, each one pass over the 4^D coefficient rows of every point's cell (any D; the
last axis, of unit stride, innermost):
:func:`spline_moments` Σ_i m_i S_f(x_i), and :func:`spline_contract` Σ_f m_f S_f(x_i) with its
gradient. :func:`spline_numpy` (all S_f and ∇S_f at the points, any D) is their plain-numpy
twin.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg import solve_banded


def _not_a_knot_system(n: int) -> np.ndarray:
    """The (4, 4)-banded matrix (``solve_banded`` layout: entry (row, col) at [4 + row − col,
    col]) of the n + 3 conditions on one axis of n intervals: not-a-knot at x_1 (row 0),
    interpolation at x_0 … x_n (rows 1 … n + 1), not-a-knot at x_{n−1} (row n + 2)."""
    size = n + 3
    banded = np.zeros((9, size))
    rows = np.arange(1, n + 2)
    for offset, value in enumerate((1 / 6, 4 / 6, 1 / 6)):   # columns row − 1, row, row + 1
        banded[5 - offset, rows - 1 + offset] = value
    for offset, value in enumerate((1, -4, 6, -4, 1)):
        banded[4 - offset, offset] = value                     # row 0, columns 0 … 4
        banded[8 - offset, size - 5 + offset] = value          # row n + 2, columns n − 2 … n + 2
    return banded


def spline_coefficients(values: np.ndarray) -> np.ndarray:
    """Coefficients (n_1 + 3, …, n_D + 3, F) of the not-a-knot splines through ``values``
    (n_1 + 1, …, n_D + 1, F) on uniform nodes (every axis needs n_a ≥ 4 intervals)."""
    coefficients = np.asarray(values, float)
    for axis in range(coefficients.ndim - 1):
        n = coefficients.shape[axis] - 1
        if n < 4:
            raise ValueError(f"spline axis {axis}: {n} intervals, at least 4 needed")
        moved = np.moveaxis(coefficients, axis, 0)
        rhs = np.zeros((n + 3,) + moved.shape[1:])
        rhs[1:-1] = moved
        solved = solve_banded((4, 4), _not_a_knot_system(n), rhs.reshape(n + 3, -1))
        coefficients = np.moveaxis(solved.reshape(rhs.shape), 0, axis)
    return np.ascontiguousarray(coefficients)


class SplineTable:
    """Functions S_f (f = 0 … F−1) tabulated on the tensor grid of uniform ``nodes`` (one 1-D
    array per axis), as the arguments of the compiled kernels: ``args`` = (coefficients
    (nodes, F) flattened over the axes, lo, h, cells, strides)."""

    def __init__(self, nodes: list[np.ndarray], values: np.ndarray):
        self.nodes = [np.asarray(x, float) for x in nodes]
        coefficients = spline_coefficients(values)
        shape = coefficients.shape[:-1]
        strides = np.cumprod((1,) + shape[:0:-1])[::-1]
        self.args = (coefficients.reshape(-1, coefficients.shape[-1]),
                     np.array([x[0] for x in self.nodes]),
                     np.array([x[1] - x[0] for x in self.nodes]),
                     np.array([x.size - 1 for x in self.nodes], dtype=np.int64),
                     np.ascontiguousarray(strides, dtype=np.int64))

    @property
    def functions(self) -> int:
        return self.args[0].shape[1]


@njit(cache=True, fastmath=True)
def cell(x, lo, inverse_h, last):
    """(j, t): the cell j = clip(⌊(x − lo)/h⌋, 0, last) and t = (x − lo)/h − j (int()
    truncates towards 0, which the clip at 0 makes the floor)."""
    s = (x - lo) * inverse_h
    j = min(max(int(s), 0), last)
    return j, s - j


@njit(cache=True, fastmath=True)
def cubic_weights(t):
    """(B₀, B₁, B₂, B₃) at t."""
    u = 1.0 - t
    t2 = t * t
    return (u * u * u / 6.0, (3.0 * t2 * t - 6.0 * t2 + 4.0) / 6.0,
            (-3.0 * t2 * t + 3.0 * t2 + 3.0 * t + 1.0) / 6.0, t2 * t / 6.0)


@njit(cache=True, fastmath=True)
def cubic_slopes(t, inverse_h):
    """(B₀', B₁', B₂', B₃') at t, divided by h."""
    u = 1.0 - t
    return (-0.5 * u * u * inverse_h, (1.5 * t * t - 2.0 * t) * inverse_h,
            (-1.5 * t * t + t + 0.5) * inverse_h, 0.5 * t * t * inverse_h)


@njit(cache=True, fastmath=True)
def along(coefficients, row, f, w):
    """Σ_k w_k c[row + k, f], k = 0 … 3: the last axis of a cell (unit stride)."""
    return (w[0] * coefficients[row, f] + w[1] * coefficients[row + 1, f]
            + w[2] * coefficients[row + 2, f] + w[3] * coefficients[row + 3, f])


@njit(cache=True, fastmath=True)
def row_products(coefficients, row, moments):
    """(p_0 … p_3), p_k = Σ_f m_f c[row + k, f]."""
    p0 = p1 = p2 = p3 = 0.0
    for f in range(moments.size):
        p0 += moments[f] * coefficients[row, f]
        p1 += moments[f] * coefficients[row + 1, f]
        p2 += moments[f] * coefficients[row + 2, f]
        p3 += moments[f] * coefficients[row + 3, f]
    return p0, p1, p2, p3


@njit(cache=True, fastmath=True)
def dot4(w, p):
    """Σ_k w_k p_k over k = 0 … 3."""
    return w[0] * p[0] + w[1] * p[1] + w[2] * p[2] + w[3] * p[3]


@njit(cache=True, fastmath=True, inline="always")
def leading_cell(x, lo, h, cells, strides, weights, slopes):
    """The first coefficient row Σ_a j_a stride_a of the cell of the point x (D,) over the
    leading axes a < D − 1, and in place weights[a] = B_k(t_a), slopes[a] = B'_k(t_a)/h_a
    (k = 0 … 3) there (``slopes`` of size 0: not computed)."""
    row = 0
    for a in range(x.size - 1):
        inverse = 1.0 / h[a]
        j, t = cell(x[a], lo[a], inverse, cells[a] - 1)
        row += j * strides[a]
        weights[a, 0], weights[a, 1], weights[a, 2], weights[a, 3] = cubic_weights(t)
        if slopes.size:
            slopes[a, 0], slopes[a, 1], slopes[a, 2], slopes[a, 3] = cubic_slopes(t, inverse)
    return row


@njit(cache=True, fastmath=True, inline="always")
def leading_offset(combo, weights, strides, picks):
    """For combo = Σ_a k_a 4^(L−1−a) over the L leading axes: picks[a] = k_a, and
    (Σ_a k_a stride_a, Π_a B_{k_a}(t_a))."""
    offset, factor = 0, 1.0
    for a in range(weights.shape[0] - 1, -1, -1):
        k = combo % 4
        combo //= 4
        picks[a] = k
        offset += k * strides[a]
        factor *= weights[a, k]
    return offset, factor


@njit(cache=True, fastmath=True)
def spline_moments(points, masses, coefficients, lo, h, cells, strides, out):
    """out[f] = Σ_i m_i S_f(x_i) at the points (n, D): for each of the 4^(D−1) coefficient
    rows of the leading axes, the last axis (unit stride) by :func:`along`."""
    out[:] = 0.0
    z = points.shape[1] - 1
    weights, none, picks = np.empty((z, 4)), np.empty((0, 4)), np.empty(z, np.int64)
    combos = 4 ** z
    for i in range(points.shape[0]):
        j, t = cell(points[i, z], lo[z], 1.0 / h[z], cells[z] - 1)
        w = cubic_weights(t)
        if z == 0:
            for f in range(out.size):
                out[f] += masses[i] * along(coefficients, j, f, w)
            continue
        row = j + leading_cell(points[i], lo, h, cells, strides, weights, none)
        for combo in range(combos):
            offset, factor = leading_offset(combo, weights, strides, picks)
            factor *= masses[i]
            for f in range(out.size):
                out[f] += factor * along(coefficients, row + offset, f, w)


@njit(cache=True, fastmath=True)
def spline_contract(points, moments, coefficients, lo, h, cells, strides, values, grads):
    """values[i] = Σ_f m_f S_f(x_i) and grads[i, a] = Σ_f m_f ∂_a S_f(x_i) at the points
    (n, D): products over f per coefficient row of the leading axes (:func:`row_products`),
    then the basis weights (∂_a: B'_{k_a}/h_a in place of B_{k_a})."""
    z = points.shape[1] - 1
    weights, slopes, picks = np.empty((z, 4)), np.empty((z, 4)), np.empty(z, np.int64)
    combos, inverse_z = 4 ** z, 1.0 / h[z]
    for i in range(points.shape[0]):
        j, t = cell(points[i, z], lo[z], inverse_z, cells[z] - 1)
        w, d = cubic_weights(t), cubic_slopes(t, inverse_z)
        if z == 0:
            p = row_products(coefficients, j, moments)
            values[i] = dot4(w, p)
            grads[i, 0] = dot4(d, p)
            continue
        row = j + leading_cell(points[i], lo, h, cells, strides, weights, slopes)
        value = grad_z = 0.0
        for a in range(z):
            grads[i, a] = 0.0
        for combo in range(combos):
            offset, factor = leading_offset(combo, weights, strides, picks)
            p = row_products(coefficients, row + offset, moments)
            v = dot4(w, p)
            value += factor * v
            grad_z += factor * dot4(d, p)
            for a in range(z):
                others = slopes[a, picks[a]] * v
                for b in range(z):
                    if b != a:
                        others *= weights[b, picks[b]]
                grads[i, a] += others
        values[i] = value
        grads[i, z] = grad_z


def spline_numpy(points, coefficients, lo, h, cells, strides):
    """All S_f and ∇S_f at the points (M, D): (values (M, F), gradients (M, D, F)); with them
    the plain-numpy twins of :func:`spline_moments` (masses @ values) and
    :func:`spline_contract` (values @ m, gradients @ m)."""
    points = np.atleast_2d(np.asarray(points, float))
    s = (points - lo) / h
    j = np.clip(np.floor(s).astype(int), 0, cells - 1)
    t, u = s - j, 1.0 - (s - j)
    weights = np.stack([u**3 / 6, (3 * t**3 - 6 * t**2 + 4) / 6,
                        (-3 * t**3 + 3 * t**2 + 3 * t + 1) / 6, t**3 / 6], axis=-1)
    slopes = np.stack([-0.5 * u**2, 1.5 * t**2 - 2 * t, -1.5 * t**2 + t + 0.5, 0.5 * t**2],
                      axis=-1) / h[:, None]
    dim = points.shape[1]
    values = np.zeros((points.shape[0], coefficients.shape[1]))
    grads = np.zeros((points.shape[0], dim, coefficients.shape[1]))
    for combo in np.ndindex(*(4,) * dim):
        rows = coefficients[(j + np.array(combo)) @ strides]
        picked = np.stack([weights[:, a, k] for a, k in enumerate(combo)], axis=1)
        values += picked.prod(axis=1)[:, None] * rows
        for a in range(dim):
            factor = np.prod(np.delete(picked, a, axis=1), axis=1) * slopes[:, a, combo[a]]
            grads[:, a] += factor[:, None] * rows
    return values, grads
