"""Scharfetter–Gummel flux for drift plus diffusion, ∂_t p = ∇·(D (∇p + β p ∇Φ)), in 1–3 D.

With D = 2ξ/β and the effective potential Φ (cell averages of ψ_λ minus (1/β) log of the
reduction's Jacobian, e.g. −((d−1)/β) log r for r = |w|), the flux through the face between
cells L and R along an axis of spacing h is

    J = (D/h) [B(z) p_L − B(−z) p_R],   z = β (Φ_R − Φ_L),   B(z) = z / (eᶻ − 1),

positive from L to R, zero on boundary faces. J vanishes exactly when p_R / p_L = e^{−z}, so the
discrete Gibbs state p ∝ exp(−βΦ) of a frozen Φ is steady to round-off, and the semi-discrete
scheme dissipates the discrete free energy. A forward-Euler step is positive exactly when
Δt · outflow_j ≤ p_j, outflow_j = Σ_faces (D/h²) B(±z) p_j: :func:`sg_rhs` returns the rate
max_j outflow_j / p_j over cells with mass. :func:`sg_matrix` assembles the same operator as a
sparse matrix A (dp/dt = A p for frozen Φ; its columns sum to zero and its off-diagonal entries
are ≥ 0, so I − Δt A is an M-matrix) for the linearly implicit steppers; on 1-D grids
:func:`sg_bands_into` fills its three bands and :func:`solve_mmatrix_banded` solves
(I − c₀ A₀ diag(s) − c₁ A₁) x = b (plain-numpy twins :func:`sg_bands`,
:func:`solve_mmatrix_banded_numpy`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from scipy.linalg import solve_banded

from .transport import axis_view, line_tasks, positivity_rate, task_lines


@njit(cache=True)
def bernoulli(z):
    """B(z) = z / (eᶻ − 1), with B(0) = 1 and no overflow for large |z|."""
    if abs(z) < 1e-10:
        return 1.0 - 0.5 * z
    if z > 700.0:
        return z * math.exp(-z)
    return z / math.expm1(z)


@njit(cache=True)
def bernoulli_pair(z):
    """(B(z), B(−z)) with one exponential: B(−z) = B(z) + z, applied to the argument of positive
    sign so that the subtraction never cancels."""
    small = bernoulli(abs(z))
    if z >= 0.0:
        return small, small + z
    return small - z, small


@njit(cache=True, inline="always")
def sg_flux(p3, phi3, out3, outflow3, a, j, b, scale, beta):
    """Add the Scharfetter–Gummel flux through face j − ½ of line (a, b) to ``out3`` and
    ``outflow3`` (``scale`` = D/h²)."""
    forward, backward = bernoulli_pair(beta * (phi3[a, j, b] - phi3[a, j - 1, b]))
    leave_left = scale * forward * p3[a, j - 1, b]
    leave_right = scale * backward * p3[a, j, b]
    out3[a, j - 1, b] += leave_right - leave_left
    out3[a, j, b] += leave_left - leave_right
    outflow3[a, j - 1, b] += leave_left
    outflow3[a, j, b] += leave_right


@njit(cache=True, parallel=True)
def sg_rhs(p, phi, spacing, diffusion, beta, out, outflow):
    """out = −∇·J with Scharfetter–Gummel fluxes (see module docstring); returns the positivity
    rate max over cells with p > 0 of outflow / p. Parallel over the lines of each axis, swept as
    in :func:`ddsolver.operator.transport.transport_rhs`."""
    out[:] = 0.0
    outflow[:] = 0.0
    for axis in range(3):
        p3, phi3 = axis_view(p, axis), axis_view(phi, axis)
        out3, outflow3 = axis_view(out, axis), axis_view(outflow, axis)
        scale = diffusion / (spacing[axis] * spacing[axis])
        before, n, after = p3.shape
        if n == 1:
            continue
        for task in prange(line_tasks(before, after)):
            a, start, stop = task_lines(task, after)
            if after == 1:
                for j in range(1, n):
                    sg_flux(p3, phi3, out3, outflow3, a, j, 0, scale, beta)
            else:
                for j in range(1, n):
                    for b in range(start, stop):
                        sg_flux(p3, phi3, out3, outflow3, a, j, b, scale, beta)
    return positivity_rate(p, outflow)


def _bernoulli_numpy(z):
    z = np.asarray(z, float)
    small = np.abs(z) < 1e-10
    safe = np.where(small, 1.0, np.minimum(z, 700.0))
    value = np.where(z > 700, z * np.exp(-np.minimum(z, 745.0)), safe / np.expm1(safe))
    return np.where(small, 1.0 - 0.5 * z, value)


def _face_rates(phi, spacing, diffusion, beta, axis):
    """(D/h²) B(z) and (D/h²) B(−z) on the interior faces along ``axis``."""
    z = beta * np.diff(phi, axis=axis)
    scale = diffusion / spacing[axis] ** 2
    return scale * _bernoulli_numpy(z), scale * _bernoulli_numpy(-z)


def sg_rhs_numpy(p, phi, spacing, diffusion, beta):
    """Plain-numpy twin of :func:`sg_rhs`: returns (−∇·J, positivity rate)."""
    out, outflow = np.zeros_like(p), np.zeros_like(p)
    for axis in range(3):
        n = p.shape[axis]
        if n == 1:
            continue
        right, left = _face_rates(phi, spacing, diffusion, beta, axis)
        leave_left = right * np.take(p, range(n - 1), axis=axis)
        leave_right = left * np.take(p, range(1, n), axis=axis)
        pad_lo = [(0, 0)] * 3
        pad_lo[axis] = (0, 1)
        pad_hi = [(0, 0)] * 3
        pad_hi[axis] = (1, 0)
        net = leave_left - leave_right
        out += np.pad(net, pad_hi) - np.pad(net, pad_lo)
        outflow += np.pad(leave_left, pad_lo) + np.pad(leave_right, pad_hi)
    positive = p > 0
    return out, float(np.max(outflow[positive] / p[positive], initial=0.0))


def sg_bands(phi, spacing, diffusion, beta) -> np.ndarray:
    """The 1-D operator of :func:`sg_matrix` in LAPACK banded form (3, n): rows are the upper
    diagonal, the diagonal and the lower diagonal (``scipy.linalg.solve_banded`` layout)."""
    phi = np.ravel(phi)
    right, left = _face_rates(phi, np.array([spacing]), diffusion, beta, 0)
    bands = np.zeros((3, phi.size))
    bands[0, 1:] = left                     # A[j, j+1]: inflow from the right neighbour
    bands[2, :-1] = right                   # A[j+1, j]: inflow from the left neighbour
    bands[1, :-1] -= right
    bands[1, 1:] -= left
    return bands


def sg_matrix(phi, spacing, diffusion, beta) -> sp.csr_matrix:
    """Sparse A with A @ p.ravel() = sg_rhs(p, phi) for the 3-D array shape of ``phi``."""
    index = np.arange(phi.size).reshape(phi.shape)
    rows, cols, vals = [], [], []
    for axis in range(3):
        n = phi.shape[axis]
        if n == 1:
            continue
        right, left = _face_rates(phi, spacing, diffusion, beta, axis)
        lo = np.take(index, range(n - 1), axis=axis).ravel()
        hi = np.take(index, range(1, n), axis=axis).ravel()
        right, left = right.ravel(), left.ravel()
        rows += [lo, hi, hi, lo]
        cols += [lo, lo, hi, hi]
        vals += [-right, right, -left, left]
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(phi.size, phi.size))


@njit(cache=True)
def sg_bands_into(phi, spacing, diffusion, beta, bands):
    """:func:`sg_bands` compiled: fills ``bands`` (3, n) for the flat potential ``phi``."""
    scale = diffusion / (spacing * spacing)
    bands[:] = 0.0
    for j in range(1, phi.size):
        forward, backward = bernoulli_pair(beta * (phi[j] - phi[j - 1]))
        bands[0, j] = scale * backward           # A[j−1, j]
        bands[2, j - 1] = scale * forward        # A[j, j−1]
        bands[1, j - 1] -= scale * forward
        bands[1, j] -= scale * backward


@njit(cache=True)
def solve_mmatrix_banded(c0, bands0, weights, c1, bands1, rhs, out):
    """x = M⁻¹ rhs into ``out`` for M = I − c₀ A₀ diag(s) − c₁ A₁, c₀, c₁ ≥ 0, s > 0, with the
    tridiagonal SG generators A₀, A₁ in the banded layout of :func:`sg_bands` (off-diagonals ≥ 0,
    columns summing to zero), s = ``weights``.

    Thomas algorithm without pivoting. M has unit column sums and non-positive off-diagonals, so
    every pivot u_j = M_jj − M_j,j−1 M_j−1,j / u_j−1 satisfies u_j ≥ 1 + |M_j+1,j| (column
    dominance is inherited by the Schur complements): elimination is stable, and since the
    multipliers and the off-diagonals are ≤ 0, forward and back substitution only add
    non-negative terms, so x ≥ 0 exactly for rhs ≥ 0, with no clipping."""
    n = rhs.size
    pivot = np.empty(n)
    for j in range(n):
        diag = 1.0 - c0 * bands0[1, j] * weights[j] - c1 * bands1[1, j]
        if j == 0:
            pivot[j], out[j] = diag, rhs[j]
            continue
        lower = -c0 * bands0[2, j - 1] * weights[j - 1] - c1 * bands1[2, j - 1]   # M[j, j−1]
        upper = -c0 * bands0[0, j] * weights[j] - c1 * bands1[0, j]               # M[j−1, j]
        factor = lower / pivot[j - 1]
        pivot[j] = diag - factor * upper
        out[j] = rhs[j] - factor * out[j - 1]
    out[n - 1] /= pivot[n - 1]
    for j in range(n - 2, -1, -1):
        upper = -c0 * bands0[0, j + 1] * weights[j + 1] - c1 * bands1[0, j + 1]   # M[j, j+1]
        out[j] = (out[j] - upper * out[j + 1]) / pivot[j]


def solve_mmatrix_banded_numpy(c0, bands0, weights, c1, bands1, rhs):
    """Plain-numpy twin of :func:`solve_mmatrix_banded` (LAPACK's banded solver)."""
    matrix = -c0 * bands0 * weights - c1 * bands1       # column j of A is bands[:, j]
    matrix[1] += 1.0
    return solve_banded((1, 1), matrix, rhs)
