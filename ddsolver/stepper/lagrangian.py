"""Lagrangian scheme for the noiseless radial DD: the characteristics of the quantile function.

In one dimension the noiseless DD transports mass along ṙ = −2ξ(t) ∂_r ψ(r; p_t) without
crossing, so equal-mass particles r_i (the quantiles of p_t at levels (i − ½)/n, or the samples
of an empirical initial law) follow the ODE system

    ṙ_i = −2ξ(t) [ v'(r_i)/α + λ r_i + Σ_k f_k'(r_i) c_k ],    c_k = Σ_j w_j f_k(r_j),

integrated with scipy's DOP853. It uses the point values and derivatives of the features (not
their cell averages) and no grid, so it is independent of the finite-volume discretisation.
The risk is R = R_# + 2α Σ_i w_i v(r_i) + α² Σ_k c_k²; the density on a grid is the linear
deposit of the particles.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import NumericalError
from ..grid import CartesianGrid
from ..problem.initial import deposit
from ..problem.schedule import Schedule
from .boundary import EdgeGuard


class LagrangianRun:
    """Equal-weight quantile particles advanced by solve_ivp (see module docstring)."""

    def __init__(self, reduction, positions, weights, schedule: Schedule, grid: CartesianGrid,
                 *, rtol=1e-10, on_boundary="error"):
        self.reduction = reduction
        self.kernel_rank = reduction.rank
        self.r = np.asarray(positions, float).copy()
        self.weights = np.asarray(weights, float)
        self.schedule = schedule
        self.grid = grid
        self.rtol = rtol
        self.edges = EdgeGuard(on_boundary)
        self.t, self.steps = 0.0, 0

    def velocity(self, t, r):
        red = self.reduction
        moments = red.features(r) @ self.weights
        grad = red.dv(r) / red.scale + red.lam * r + red.dfeatures(r).T @ moments
        return -2.0 * float(self.schedule(t)) * grad

    def warm_up(self) -> float:
        return 0.0

    def advance(self, t_end: float):
        if t_end <= self.t:
            return
        scale = max(np.abs(self.r).max(), 1.0)
        sol = solve_ivp(self.velocity, (self.t, t_end), self.r, method="DOP853",
                        rtol=self.rtol, atol=self.rtol * scale)
        if not sol.success:
            raise NumericalError(f"Lagrangian scheme failed at t = {sol.t[-1]:.6g}: {sol.message}")
        self.r = sol.y[:, -1]
        self.t = t_end
        self.steps += sol.t.size - 1
        self._check_grid()

    def _check_grid(self):
        """Particles must stay on the output grid (r = 0 is a natural boundary)."""
        axis = self.grid.axes[0]
        lo_bad = axis.lo > 0 and self.r.min() < axis.lo
        if not (lo_bad or self.r.max() > axis.hi):
            return
        edge, side = (axis.lo, "min") if lo_bad else (axis.hi, "max")
        self.edges.report("particles", axis.name, edge, side, self.t)

    @property
    def density(self) -> np.ndarray:
        return deposit(self.r, self.weights, self.grid)

    def risk(self) -> float:
        red = self.reduction
        mean_v = float(self.weights @ red.v(self.r))
        return red.risk(mean_v, red.features(self.r) @ self.weights)

    def free_energy(self) -> float:
        """F = R/(2α²) + (λ/2) Σ w_i r_i² (noiseless: no entropy)."""
        red = self.reduction
        return self.risk() / (2 * red.scale**2) + 0.5 * red.lam * float(self.weights @ self.r**2)

    def diagnostics(self) -> dict:
        return {"mass": float(self.weights.sum()), "min_density": 0.0, "steps": self.steps,
                "rejected_steps": 0, "dt": float("nan")}
