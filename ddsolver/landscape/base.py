"""The protocol of an energy on the cell masses of a grid, and the certificates of a law, shared by
every energy (docs/numerics.md §13; the formulas in :mod:`ddsolver.landscape.energy`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..grid import CartesianGrid


class Energy:
    """The protocol of an energy on the cell masses of a grid (and the certificates, shared):
    ``grid``, ``scale`` α, ``linear`` b, :meth:`gradient` Ψ̄(m), :meth:`block` the Hessian
    block U_SS of a set of cells, :meth:`diagonal` U_jj of every cell, :meth:`risk`."""

    grid: CartesianGrid
    scale: float
    linear: np.ndarray

    def gradient(self, m: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def block(self, cells: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def diagonal(self) -> np.ndarray:
        raise NotImplementedError

    def risk(self, m: np.ndarray) -> float:
        raise NotImplementedError

    def free_energy(self, m: np.ndarray) -> float:
        """E(m) = R/(2α²) + ridge (noiseless: no entropy)."""
        raise NotImplementedError

    def rank_attrs(self) -> dict:
        """``kernel_rank`` and ``kernel_rank_used`` where the kernel has a low-rank form."""
        return {}

    def masses(self, density: np.ndarray) -> np.ndarray:
        """Cell masses m = density × |cell| (flat)."""
        return np.ravel(density) * self.grid.cell_volume

    def certify(self, m: np.ndarray) -> Certificate:
        """The optimality gap and stationarity of the law m, and where Ψ̄ is least."""
        psi = self.gradient(m)
        mean = float(m @ psi)
        low = int(np.argmin(psi))
        to_risk = 2 * self.scale**2
        return Certificate(gap=to_risk * (mean - float(psi[low])),
                           stationarity=to_risk * float(np.sqrt(max(m @ (psi - mean)**2, 0.0))),
                           argmin=low, risk=self.risk(m))


@dataclass
class Certificate:
    """Of one law: ``gap`` (optimality, risk units, ≥ R − R_min), ``stationarity`` (risk units),
    ``argmin`` the flat index of the cell where Ψ̄ is least, ``risk`` R(m)."""

    gap: float
    stationarity: float
    argmin: int
    risk: float
