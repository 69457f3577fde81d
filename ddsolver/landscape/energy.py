"""The DD's energy on a grid and the certificates of a law (docs/numerics.md §13).

A law with cell masses m (Σ m = 1, m ≥ 0) on the grid has, from the cell averages of the
finite-volume potential (:class:`~ddsolver.operator.lowrank.LowRankPotential`, features F̄
compressed to the kernel's numerical rank),

    E(m) = R(m)/(2α²) + Σ_j ridge_j m_j = R_#/(2α²) + bᵀm + ½|F̄ m|²,   b = v̄/α + ridge,

the noiseless DD's Lyapunov functional (R itself when λ = 0). E is convex, and its gradient is
the cell-averaged potential Ψ̄ = b + F̄ᵀ(F̄ m) of the DD (the first variation of E). Hence, in risk
units (× 2α²):

- **optimality gap** 2α² (Σ_j m_j Ψ̄_j − min_j Ψ̄_j) ≥ 2α² (E(m) − E_min): zero exactly at the
  global minimisers, so a law with gap ≤ tol is certified within tol of the minimum (the
  Frank–Wolfe duality gap);
- **stationarity** 2α² (Σ_j m_j (Ψ̄_j − ⟨Ψ̄⟩_m)²)^½: the spread of Ψ over the law's support, zero
  when Ψ is constant there (the Euler–Lagrange condition of the constrained minimum; a
  stationary point of the DD whose support is disconnected can have a different constant on
  each piece).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CaseError
from ..grid import CartesianGrid
from ..model import model_of
from ..operator.lowrank import LowRankPotential


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


class GridEnergy(Energy):
    """E, Ψ̄ and the certificates for cell masses on ``grid`` from the low-rank finite-volume
    potential (module docstring)."""

    def __init__(self, potential: LowRankPotential):
        self.potential = potential
        self.grid = potential.grid
        self.scale = potential.reduction.scale
        self.linear = potential.base                       # b = v̄/α + ridge (noiseless)
        self.features = potential.features                 # F̄ (rank, cells)

    def gradient(self, m: np.ndarray) -> np.ndarray:
        """Ψ̄ = b + F̄ᵀ(F̄ m)."""
        return self.linear + self.features.T @ (self.features @ m)

    def block(self, cells: np.ndarray) -> np.ndarray:
        """U_SS = F̄_Sᵀ F̄_S."""
        return self.features[:, cells].T @ self.features[:, cells]

    def diagonal(self) -> np.ndarray:
        """U_jj = |F̄_j|²."""
        return np.sum(self.features**2, axis=0)

    def risk(self, m: np.ndarray) -> float:
        return self.potential.risk(m / self.grid.cell_volume)

    def free_energy(self, m: np.ndarray) -> float:
        return self.potential.free_energy(m / self.grid.cell_volume)

    def rank_attrs(self) -> dict:
        return {"kernel_rank": self.potential.full_rank,
                "kernel_rank_used": self.potential.rank}


@dataclass
class Certificate:
    """Of one law: ``gap`` (optimality, risk units, ≥ R − R_min), ``stationarity`` (risk units),
    ``argmin`` the flat index of the cell where Ψ̄ is least, ``risk`` R(m)."""

    gap: float
    stationarity: float
    argmin: int
    risk: float


def energy_of(case: dict, grid: CartesianGrid | None = None) -> Energy:
    """The energy of a normalised case on its grid (or ``grid``): the model's reduction and its
    cell averages, compressed at ``pde.kernel_tol`` (:class:`GridEnergy`)."""
    model = model_of(case)
    grid = CartesianGrid.from_dict(case["pde"]["grid"]) if grid is None else grid
    reduction = model.reduction(case, grid)
    if reduction.rank is None:
        raise CaseError(f"data.kind: {model.kind!r} has no low-rank kernel; the landscape "
                        "(minimize, certificates) needs one")
    return GridEnergy(LowRankPotential(reduction, grid, tol=case["pde"]["kernel_tol"]))
