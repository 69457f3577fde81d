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

import numpy as np

from ..errors import CaseError
from ..grid import CartesianGrid
from ..model import model_of
from ..operator.lowrank import LowRankPotential
from .base import Certificate, Energy


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


def energy_of(case: dict, grid: CartesianGrid | None = None) -> Energy:
    """The energy of a normalised case on its grid (or ``grid``): the model's reduction and its
    cell averages, compressed at ``pde.kernel_tol`` (:class:`GridEnergy`); the planar teacher's
    kernel by FFT in φ at the cell centres (:class:`~ddsolver.landscape.planar.PlanarEnergy`)."""
    from ..reduction.planar import PlanarReduction

    training = case["training"]
    if training["penalty"] == "anchored" and training["lambda"] > 0:
        raise CaseError("training.penalty: the anchored penalty (λ/2)∫|θ − θ₀|² depends on each "
                        "unit's start, not on the law alone, so the landscape (minimize, "
                        "certify) is that of penalty = 'origin'; in the kernel regime the "
                        "anchored minimiser is kernel ridge regression")
    model = model_of(case)
    grid = CartesianGrid.from_dict(case["pde"]["grid"]) if grid is None else grid
    reduction = model.reduction(case, grid)
    if isinstance(reduction, PlanarReduction):
        from .planar import PlanarEnergy
        return PlanarEnergy(reduction.problem, grid, scale=reduction.scale,
                            lam=case["training"]["lambda"])
    if reduction.rank is None:
        raise CaseError(f"data.kind: {model.kind!r} has no low-rank kernel; the landscape "
                        "(minimize, certificates) needs one")
    return GridEnergy(LowRankPotential(reduction, grid, tol=case["pde"]["kernel_tol"]))


__all__ = ["Certificate", "Energy", "GridEnergy", "energy_of"]
