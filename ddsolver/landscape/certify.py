"""Certificates of a DD solution, snapshot by snapshot (docs/numerics.md §13)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import Solution
from .energy import energy_of


@dataclass
class Certificates:
    """Per snapshot of a solution: ``risk`` R(ρ_t) of the stored density on the grid,
    ``gap`` the optimality gap 2α²(∫Ψ dρ_t − min Ψ) (≥ 0; ≥ R − R_min when λ = 0),
    ``stationarity`` the spread of Ψ over the support, and, given the certified minimum,
    ``r_min`` and ``excess`` = risk − r_min."""

    t: np.ndarray
    risk: np.ndarray
    gap: np.ndarray
    stationarity: np.ndarray
    r_min: float | None = None

    @property
    def excess(self) -> np.ndarray | None:
        return None if self.r_min is None else self.risk - self.r_min


def certify(solution: Solution, r_min: float | None = None) -> Certificates:
    """The certificates of every snapshot of ``solution`` (any scheme: its density on the grid,
    with the case's reduction averaged over the cells, as finite volumes see it)."""
    energy = energy_of(solution.case, solution.grid)
    rows = [energy.certify(energy.masses(density)) for density in solution.density]
    return Certificates(t=np.asarray(solution.t, float),
                        risk=np.array([c.risk for c in rows]),
                        gap=np.array([c.gap for c in rows]),
                        stationarity=np.array([c.stationarity for c in rows]), r_min=r_min)
