"""Cell averages of functions of the coordinates on a grid, by tensor Gauss–Legendre quadrature."""

from __future__ import annotations

import numpy as np

from .cartesian import CartesianGrid

AVERAGE_BLOCK = 2**22       # output values per call of the averaged function (32 MB)


def cell_average(fun, grid: CartesianGrid, nodes: int = 4) -> np.ndarray:
    """Cell averages of ``fun`` by tensor Gauss–Legendre quadrature with ``nodes`` points per axis.

    ``fun(*coords)`` takes one flat coordinate array per axis and returns an array of shape
    (..., npoints); the result has shape (..., grid.size) in C order of the cells. ``fun`` is
    called on blocks of cells holding about ``AVERAGE_BLOCK`` output values each (the first call
    is one cell, which measures the output size per point), so memory stays bounded on large
    grids and for many outputs.
    """
    x, w = np.polynomial.legendre.leggauss(nodes)
    offsets = np.stack(np.meshgrid(*(0.5 * a.spacing * x for a in grid.axes), indexing="ij"),
                       axis=-1).reshape(-1, grid.ndim)          # quadrature nodes in C order
    weights = np.ones(1)
    for _ in range(grid.ndim):
        weights = np.multiply.outer(weights, 0.5 * w).ravel()
    centres = np.stack([c.ravel() for c in grid.mesh()], axis=1)

    def averages(lo, hi):
        points = centres[lo:hi, None, :] + offsets[None, :, :]
        values = np.asarray(fun(*(points[..., k].ravel() for k in range(grid.ndim))))
        return values.reshape(values.shape[:-1] + (hi - lo, weights.size)) @ weights

    first = averages(0, 1)
    out = np.empty(first.shape[:-1] + (grid.size,))
    out[..., :1] = first
    block = max(1, AVERAGE_BLOCK // (max(first.size, 1) * weights.size))
    for lo in range(1, grid.size, block):
        hi = min(lo + block, grid.size)
        out[..., lo:hi] = averages(lo, hi)
    return out
