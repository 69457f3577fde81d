"""Initial laws of the radial coordinate r = |w| (MATH.md 4.1).

- ``gaussian``: w ~ N(0, κ²/d I_d), so r = κ χ_d / √d (χ_d: chi law with d degrees of freedom);
- ``point``:    all mass at r = κ;
- ``density``:  a density given by its values on the grid cells (normalised here);
- ``samples``:  the empirical law of given radii.

Each law gives cell averages of its density on a grid (exact cell masses for ``gaussian``;
mean-preserving linear deposit for ``point`` and ``samples``) and equal-mass particles for the
Lagrangian scheme (quantiles at levels (i − ½)/n, or the samples themselves).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import CaseError
from ..grid import CartesianGrid


def deposit(positions, weights, grid: CartesianGrid) -> np.ndarray:
    """Cell densities of point masses, each split linearly between its two nearest cell centres
    (this keeps total mass and mean). Positions outside [first centre, last centre] go to the
    end cells (but stay inside the grid)."""
    axis = grid.axes[0]
    x = (np.asarray(positions, float) - axis.centres[0]) / axis.spacing
    x = np.clip(x, 0.0, axis.cells - 1)
    left = np.minimum(np.floor(x).astype(int), axis.cells - 2)
    frac = x - left
    mass = np.bincount(left, weights * (1 - frac), minlength=axis.cells)
    mass += np.bincount(left + 1, weights * frac, minlength=axis.cells)
    return mass / axis.spacing


class InitialLaw:
    """Initial law of r built from the ``[init]`` table of a case and the data dimension."""

    def __init__(self, spec: dict, dim: int):
        self.kind = spec["kind"]
        self.spec = spec
        self.dim = dim

    def _check_inside(self, grid: CartesianGrid, lo: float, hi: float, what: str):
        axis = grid.axes[0]
        if lo < axis.lo or hi > axis.hi:
            raise CaseError(f"init: {what} [{lo:g}, {hi:g}] is not inside pde.grid.{axis.name} = "
                            f"[{axis.lo:g}, {axis.hi:g}]")

    def cell_density(self, grid: CartesianGrid, outside_tol: float = 1e-12) -> np.ndarray:
        """Cell averages of the initial density on a 1-D grid (Σ density × h = 1)."""
        axis = grid.axes[0]
        if self.kind == "gaussian":
            law = stats.chi(self.dim, scale=self.spec["kappa"] / np.sqrt(self.dim))
            mass = np.diff(law.cdf(axis.edges))
            outside = 1.0 - mass.sum()
            if outside > outside_tol:
                raise CaseError(f"init: the gaussian law puts mass {outside:.2e} outside "
                                f"pde.grid.{axis.name} = [{axis.lo:g}, {axis.hi:g}]")
            return mass / mass.sum() / axis.spacing
        if self.kind == "density":
            values = self.spec["values"]
            if values.size != axis.cells:
                raise CaseError(f"init.values: expected {axis.cells} values (one per cell of "
                                f"pde.grid.{axis.name}), got {values.size}")
            total = values.sum() * axis.spacing
            if not total > 0:
                raise CaseError("init.values: the density has zero mass")
            return values / total
        positions, weights = self.particles(1)
        self._check_inside(grid, positions.min(), positions.max(),
                           "the point mass at" if self.kind == "point" else "the samples span")
        return deposit(positions, weights, grid)

    def particles(self, n: int, grid: CartesianGrid | None = None):
        """(positions, weights) of equal-mass particles representing the law."""
        kappa = self.spec.get("kappa")
        if self.kind == "point":
            return np.array([kappa]), np.ones(1)
        if self.kind == "samples":
            values = np.sort(self.spec["values"])
            return values, np.full(values.size, 1.0 / values.size)
        levels = (np.arange(n) + 0.5) / n
        if self.kind == "gaussian":
            positions = stats.chi.ppf(levels, self.dim) * kappa / np.sqrt(self.dim)
        else:
            cdf = np.concatenate([[0.0], np.cumsum(self.cell_density(grid))]) * grid.spacing[0]
            positions = np.interp(levels, cdf, grid.axes[0].edges)
        return positions, np.full(n, 1.0 / n)
