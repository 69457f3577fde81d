"""The result of a solve: snapshots of the density and the risk on a grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grid import CartesianGrid


@dataclass
class Solution:
    """Snapshots of a DD solve, as returned by :func:`ddsolver.solve` and :func:`ddsolver.load`.

    Attributes
    ----------
    t : (n,) snapshot times.
    risk : (n,) population risk R(ρ_t) at those times.
    density : (n, *grid.shape) probability density in the grid coordinates
        (``(density[k] * grid.cell_volume).sum() == 1``).
    grid : the grid of cells.
    case : the full case (defaults filled in) as a plain dict.
    free_energy : (n,) F(ρ_t) = R/(2α²) + (λ/2)∫|θ|² dρ + (1/β)∫ρ log ρ (docs/numerics.md);
        None for files written before it was stored.
    diagnostics : per-snapshot arrays (mass, min_density, steps, rejected_steps, wall_time, …).
    attrs : run-level facts (status, versions, compile and run times, kernel rank, …).
    """

    t: np.ndarray
    risk: np.ndarray
    density: np.ndarray
    grid: CartesianGrid
    case: dict
    free_energy: np.ndarray | None = None
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    @property
    def mass(self) -> np.ndarray:
        """Total mass Σ density × cell volume of every snapshot."""
        axes = tuple(range(1, self.density.ndim))
        return self.density.sum(axis=axes) * self.grid.cell_volume

    def moment(self, coord: str, order: int = 1) -> np.ndarray:
        """∫ θ_coord^order ρ_t(dθ) for every snapshot (midpoint rule on cell centres)."""
        x = self.grid.mesh()[self.grid.names.index(coord)]
        axes = tuple(range(1, self.density.ndim))
        return (self.density * x**order).sum(axis=axes) * self.grid.cell_volume

    def marginal(self, coord: str) -> np.ndarray:
        """(n, cells) density of the coordinate ``coord`` alone for every snapshot: the density
        summed over the other axes times their cell volumes."""
        i = self.grid.names.index(coord)
        others = tuple(k + 1 for k in range(self.grid.ndim) if k != i)
        return self.density.sum(axis=others) * (self.grid.cell_volume / self.grid.spacing[i])

    def __repr__(self) -> str:
        status = self.attrs.get("status", "in memory")
        return (f"Solution({len(self.t)} snapshots, t ∈ [{self.t[0]:g}, {self.t[-1]:g}], "
                f"grid {dict(zip(self.grid.names, self.grid.shape))}, "
                f"final risk {self.risk[-1]:.6g}, status {status!r})")
