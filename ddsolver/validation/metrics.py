"""Comparison metrics between a DD solution and particle SGD, per reduced coordinate
(docs/theory.md §1, §2).

* :func:`wasserstein1`: exact W1 between an empirical law and a piecewise-constant density;
  :func:`wasserstein1_densities` between two piecewise-constant densities on the same cells.
  Applied to one coordinate at a time: the empirical law of that coordinate of the units
  against the PDE marginal (:meth:`ddsolver.solution.Solution.marginal`).
* :func:`marginal_mean_sd`: exact mean and standard deviation of a piecewise-constant density.
* :func:`finite_n_correction`: the deterministic O(1/N) diagonal term of E R_N, for any reduction.
* :func:`risk_gap`, :func:`mean_gap`: seeds' mean against the prediction, with its standard
  error.
* :func:`fit_slope`: least-squares slope of log(error) against log(value).
"""

from __future__ import annotations

import math

import numpy as np

from ..grid import cell_average


def wasserstein1(samples, edges, density) -> float:
    """W1 = ∫ |F_emp(x) − F_pde(x)| dx, exactly.

    ``density`` holds the cell values of a piecewise-constant density on ``edges`` (normalised
    here to mass 1), so F_pde is piecewise linear (0 below the grid, 1 above it); F_emp is the
    step CDF of ``samples``. Between consecutive breakpoints (edges ∪ samples) F_emp ≡ e is
    constant and F_pde runs linearly from a to b, so the piece of width h contributes
    h |(a + b)/2 − e| if a − e and b − e have the same sign, else h ((a−e)² + (b−e)²) / (2|b − a|).
    """
    samples = np.sort(np.asarray(samples, float).ravel())
    edges = np.asarray(edges, float)
    cdf = np.concatenate([[0.0], np.cumsum(np.asarray(density, float) * np.diff(edges))])
    cdf /= cdf[-1]
    points = np.union1d(edges, samples)
    f_pde = np.interp(points, edges, cdf, left=0.0, right=1.0)
    e = np.searchsorted(samples, points[:-1], side="right") / samples.size
    return _integral_of_abs_linear(f_pde[:-1] - e, f_pde[1:] - e, np.diff(points))


def wasserstein1_densities(edges, p, q) -> float:
    """W1 = ∫ |F_p − F_q| dx between two piecewise-constant densities on the same ``edges``
    (each normalised here), exactly: F_p − F_q is linear on every cell."""
    widths = np.diff(np.asarray(edges, float))
    gap = np.concatenate([[0.0], np.cumsum(np.asarray(p, float) * widths) / np.dot(p, widths)
                          - np.cumsum(np.asarray(q, float) * widths) / np.dot(q, widths)])
    return _integral_of_abs_linear(gap[:-1], gap[1:], widths)


def _integral_of_abs_linear(a, b, h) -> float:
    """Σ ∫ |linear from a to b over width h|: h |a + b|/2 without a sign change, else
    h (a² + b²) / (2 |b − a|)."""
    same = a * b >= 0
    crossing = np.divide(a * a + b * b, 2 * np.abs(b - a), out=np.zeros_like(a), where=~same)
    return float(np.sum(h * np.where(same, np.abs(a + b) / 2, crossing)))


def cdf_spread(edges, density) -> float:
    """J = ∫ √(F(1 − F)) dx for the piecewise-constant density (midpoint rule on 8 sub-points
    per cell). For N iid samples E W1 ≈ √(2/(πN)) J (since E|F_N − F| ≈ √(2F(1−F)/(πN)))."""
    edges = np.asarray(edges, float)
    sub = np.linspace(edges[0], edges[-1], 8 * (edges.size - 1) + 1)
    cdf = np.concatenate([[0.0], np.cumsum(np.asarray(density, float) * np.diff(edges))])
    f = np.interp(0.5 * (sub[1:] + sub[:-1]), edges, cdf / cdf[-1])
    return float(np.sum(np.sqrt(np.clip(f * (1 - f), 0, None)) * np.diff(sub)))


def marginal_mean_sd(edges, density) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of piecewise-constant densities ``density`` (..., cells) on
    ``edges`` (each normalised here), exactly: ∫_cell x = h c and ∫_cell x² = h (c² + h²/12)
    per unit density, c the cell centre and h its width."""
    edges = np.asarray(edges, float)
    h, c = np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
    mass = np.asarray(density, float) * h
    mass = mass / mass.sum(axis=-1, keepdims=True)
    mean = mass @ c
    return mean, np.sqrt(np.maximum(mass @ (c**2 + h**2 / 12) - mean**2, 0.0))


def finite_n_correction(density, grid, reduction, neurons, nodes=2, tol=None) -> np.ndarray:
    """E R_N − R(p) = (α²/N) (∫ U(θ, θ) p(dθ) − ∫∫ U p p) for N iid units of law p
    (docs/theory.md §1).

    U(θ, θ) = E σ*(x; θ)² is ``reduction.diagonal`` (exact, not direction-averaged) and
    ∫∫ U p p = Σ_k c_k², c_k = ∫ f_k dp the feature moments of the solver
    (:class:`~ddsolver.operator.lowrank.LowRankPotential`), or ``reduction.interaction`` for
    kernels given without features (the planar teacher), both from cell averages of the
    piecewise-constant ``density`` (n, *grid.shape) on any grid; one value per snapshot. The
    cell averages take ``nodes`` Gauss–Legendre points per axis: 2 (exact for cubics in every
    cell) is ample for this O(1/N) term and 8 times cheaper than the solver's 4 on a 3-D grid.
    With ``tol`` (the case's ``pde.kernel_tol``) the features are compressed to the kernel's
    numerical rank, as in the solver.
    """
    diagonal = cell_average(reduction.diagonal, grid, nodes)
    p = np.reshape(density, (-1, grid.size)) * grid.cell_volume
    pairs = reduction.interaction(grid, p, nodes, tol)
    return reduction.scale**2 / neurons * (p @ diagonal - pairs)


def seed_mean(values) -> tuple[np.ndarray, np.ndarray]:
    """Mean over seeds (axis 0) and its standard error std/√S (zeros for one seed)."""
    values = np.asarray(values, float)
    seeds = values.shape[0]
    se = values.std(axis=0, ddof=1) / math.sqrt(seeds) if seeds > 1 else np.zeros(values.shape[1:])
    return values.mean(axis=0), se


def risk_gap(sgd_risk, lower, upper) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of m(t) = mean_s R_N^s(t) to the band [lower(t), upper(t)], i.e.
    m − upper above it, m − lower below it, 0 inside, and the seed-to-seed standard error of m;
    SGD risks (seeds, n), bounds (n,) at the same times. The validation uses the band
    [R(p_t), E R_N(t)] (see docs/validation.md)."""
    mean, se = seed_mean(sgd_risk)
    return np.maximum(mean - upper, 0) + np.minimum(mean - lower, 0), se


def mean_gap(sgd_coords, pde_mean) -> tuple[np.ndarray, np.ndarray]:
    """mean_s (1/N Σ_i x_i^s(t)) − ∫ x p_t(dx) and its standard error, for the values
    (seeds, n, N) of one coordinate x of the units."""
    mean, se = seed_mean(np.asarray(sgd_coords, float).mean(axis=2))
    return mean - pde_mean, se


def fit_slope(values, errors) -> tuple[float, float, float]:
    """Least-squares fit log e = a + b log v: returns (b, standard error of b, a).

    SE(b) = √(Σ res² / (n − 2) / Σ (log v − mean)²); NaN for two points.
    """
    x, y = np.log(np.asarray(values, float)), np.log(np.asarray(errors, float))
    xc = x - x.mean()
    slope = float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))
    intercept = float(y.mean() - slope * x.mean())
    residual = y - intercept - slope * x
    se = (math.sqrt(np.dot(residual, residual) / (x.size - 2) / np.dot(xc, xc))
          if x.size > 2 else math.nan)
    return slope, se, intercept
