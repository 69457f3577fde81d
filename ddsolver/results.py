"""The results of a run: :class:`Solution` (snapshots of the density and the risk on a grid, from
``solve`` and ``stationary``) and :class:`SgdResult` (snapshots of a particle SGD run). Both give
the text rows that ``ddsolver show`` prints (:meth:`Solution.summary_rows`).
"""

from __future__ import annotations

import math
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
    certificates : the landscape certificates per snapshot stored by ``ddsolver certify``
        (arrays ``risk``, ``gap``, ``stationarity``; ``r_min`` or None), or None.
    particles : (positions (n, particles, grid.ndim), weights (particles,)) of a particle
        solution (the Lagrangian scheme), the law ρ_t = Σ_i w_i δ_{θ_i(t)} itself, whose binned
        version is ``density``; None for the other schemes and for files written before it
        was stored.
    """

    t: np.ndarray
    risk: np.ndarray
    density: np.ndarray
    grid: CartesianGrid
    case: dict
    free_energy: np.ndarray | None = None
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    certificates: dict | None = None
    particles: tuple[np.ndarray, np.ndarray] | None = None

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

    def particle_moment(self, coord: str, order: int = 1) -> np.ndarray:
        """Σ_i w_i θ_{i,coord}(t)^order for every snapshot of a particle solution (the exact
        moment of its law, no grid)."""
        if self.particles is None:
            raise ValueError("particle_moment: this solution has no particles (only the "
                             "Lagrangian scheme stores them)")
        positions, weights = self.particles
        return positions[:, :, self.grid.names.index(coord)] ** order @ weights

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

    def _certificate_text(self) -> str:
        """The stored certificates at the last snapshot (``ddsolver certify``)."""
        c = self.certificates
        text = (f"at t = {self.t[-1]:g}: optimality gap {c['gap'][-1]:.3g}, stationarity "
                f"{c['stationarity'][-1]:.3g}")
        if c.get("r_min") is not None:
            text += f", R - R_min = {c['risk'][-1] - c['r_min']:.3g} (R_min {c['r_min']:.6g})"
        return text

    def summary_rows(self) -> list[tuple[str, str]]:
        """Snapshots, risk, free energy, mass, steps and times of a solution; for a stationary
        state (one snapshot at t = inf) the convergence report instead of the snapshots."""
        if len(self.t) == 0:
            return [("snapshots", "0")]
        diag, attrs = self.diagnostics, self.attrs
        mass = self.mass
        if np.isinf(self.t).all() and attrs.get("method") == "frank-wolfe":
            edge = attrs.get("edge") or "none"
            rows = [("snapshots", "1, t = inf: global minimum over the grid (Frank-Wolfe)"),
                    ("R_min", f"{self.risk[-1]:.12g}"),
                    ("gap", f"{attrs['gap']:.3g} (certificate: R exceeds the minimum by at most "
                            f"this; {'reached' if attrs['converged'] else 'NOT reached'})"),
                    ("minimiser", f"{attrs['atoms']} atoms, stationarity "
                                  f"{attrs['stationarity']:.3g}, {attrs['iterations']} "
                                  f"iterations; mass on the grid's edge: {edge}")]
        elif np.isinf(self.t).all():
            converged = {True: "yes", False: "NO"}.get(attrs.get("converged"), "unknown")
            rows = [("snapshots", "1, t = inf: stationary (Gibbs) state"),
                    ("converged", f"{converged} ({attrs.get('method', '?')}, "
                                  f"{attrs.get('iterations', '?')} iterations, moment residual "
                                  f"{attrs.get('residual', math.nan):.3g})"),
                    ("risk", f"{self.risk[-1]:.6g}")]
            if self.free_energy is not None:
                rows.append(("free energy", f"{self.free_energy[-1]:.6g}"))
        else:
            rows = [("snapshots", f"{len(self.t)}, t in [{self.t[0]:g}, {self.t[-1]:g}]"),
                    ("risk", f"{self.risk[0]:.6g} at t = {self.t[0]:g}  ->  "
                             f"{self.risk[-1]:.6g} at t = {self.t[-1]:g}")]
            if self.free_energy is not None:
                rows.append(("free energy", f"{self.free_energy[0]:.6g} at t = {self.t[0]:g}  ->  "
                                            f"{self.free_energy[-1]:.6g} at t = {self.t[-1]:g}"))
        rows.append(("mass", f"min {mass.min():.15g}, max {mass.max():.15g}"))
        if self.particles is not None:
            rows.append(("particles", f"{self.particles[1].size} (positions at every snapshot)"))
        if self.certificates is not None:
            rows.append(("landscape", self._certificate_text()))
        if "steps" in diag:
            rejected = (f" ({diag['rejected_steps'][-1]} rejected)" if "rejected_steps" in diag
                        else "")
            rows.append(("steps", f"{diag['steps'][-1]}{rejected}"))
        run_time = attrs.get("run_time", diag["wall_time"][-1] if "wall_time" in diag else None)
        if run_time is not None:
            compile_time = attrs.get("compile_time")
            compiled = "" if compile_time is None else f" (+ {compile_time:.3g} s compile/load)"
            rows.append(("wall time", f"{run_time:.3g} s{compiled}"))
        return rows


@dataclass
class SgdResult:
    """Snapshots of one SGD run (:func:`ddsolver.sgd.simulate`): times, exact risk R_N, the
    reduced coordinates of every unit, optionally the weights."""

    t: np.ndarray
    risk: np.ndarray
    coords: dict[str, np.ndarray]
    case: dict
    seed: int
    weights: np.ndarray | None = None
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n = next(iter(self.coords.values())).shape[1] if self.coords else "?"
        span = (f"t ∈ [{self.t[0]:g}, {self.t[-1]:g}], final risk {self.risk[-1]:.6g}"
                if len(self.t) else "no snapshots")
        return (f"SgdResult(seed {self.seed}, N = {n}, {len(self.t)} snapshots, "
                f"coords {tuple(self.coords)}, {span})")

    def summary_rows(self) -> list[tuple[str, str]]:
        """Network, seed, snapshots, risk, reduced coordinates and wall time of an SGD run."""
        sgd = self.case["sgd"]
        dim = self.case["data"].get("dim")
        rows = [("network", f"N = {sgd['neurons']} units" + (f", d = {dim}" if dim else "")
                 + f"; eps = {sgd['eps']:g}, batch {sgd['batch']}, seed {self.seed}"),
                ("snapshots", f"{len(self.t)}" + (f", t in [{self.t[0]:g}, {self.t[-1]:g}]"
                                                      if len(self.t) else ""))]
        if len(self.t):
            rows.append(("risk", f"{self.risk[0]:.6g} at t = {self.t[0]:g}  ->  "
                                 f"{self.risk[-1]:.6g} at t = {self.t[-1]:g}  (exact R_N)"))
            for name, x in self.coords.items():
                rows.append((name, f"mean {x[0].mean():.4g}, range [{x[0].min():.4g}, "
                                   f"{x[0].max():.4g}] at t = {self.t[0]:g}  ->  mean "
                                   f"{x[-1].mean():.4g}, range [{x[-1].min():.4g}, "
                                   f"{x[-1].max():.4g}] at t = {self.t[-1]:g}"))
        rows.append(("weights", "saved" if self.weights is not None else "not saved"))
        if "run_time" in self.attrs:
            rows.append(("wall time", f"{self.attrs['run_time']:.3g} s"))
        return rows
