"""A spectral solve in time: adaptive ETDRK4 on a spectral operator, with ξ(t) by a time change,
output as cell averages, and monitors for negative density and free-energy increase.

Every term of the DD is multiplied by ξ(t), so ρ at time t is the ξ ≡ 1 solution at
τ(t) = ∫₀ᵗ ξ(s) ds (:meth:`~ddsolver.problem.schedule.Schedule.integral`); the operator runs at
ξ = 1 and the run maps snapshot times to τ. Spectral schemes do not preserve positivity and
resolve the free-energy decay only up to the discretisation error, so both are monitored: a
warning is logged (once each) when min p < −``negative_tol`` · max p or when F grows by more
than 1e-8 · max(1, |F|) between two pauses; below −max p (typically a noiseless law
that sharpens beyond the grid) the run stops with :class:`~ddsolver.errors.NumericalError`.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import NumericalError
from ..threads import single_blas_thread
from .guard import StepCollapse
from .imex import ETDRK4Stepper

log = logging.getLogger("ddsolver")
ENERGY_TOL = 1e-8
STOP_FRACTION = 1.0         # min p below −max p: the solution is meaningless, stop


class SpectralRun:
    """The run interface of :func:`ddsolver.solve` (``advance``, ``density``, ``risk``,
    ``free_energy``, ``diagnostics``) for an operator with ``to_state``/``from_state``,
    ``risk``, ``free_energy``, ``mass``, ``min_density``.

    ``project`` maps nodal values to the cell averages stored on the output grid;
    ``free_energy_shift`` is added to the operator's free energy (a constant, so that every
    scheme reports F = R/(2α²) + …).
    """

    def __init__(self, operator, nodal_density, schedule, project, *, tol=1e-8,
                 negative_tol=1e-6, free_energy_shift=0.0, dt=None, kernel_rank=None):
        self.op, self.schedule, self.project = operator, schedule, project
        self.kernel_rank = kernel_rank
        self.state = operator.to_state(nodal_density)
        self.stepper = ETDRK4Stepper(operator, 1e-2 if dt is None else dt, tol=tol)
        self.negative_tol, self.shift = negative_tol, free_energy_shift
        self.t = self.tau = 0.0
        self._energy = self.free_energy()
        self._warned = set()

    @property
    def nodal(self) -> np.ndarray:
        """The density at the collocation nodes."""
        return self.op.from_state(self.state)

    @property
    def steps(self) -> int:
        return self.stepper.steps

    def warm_up(self) -> float:
        """Nothing is compiled: 0 s."""
        return 0.0

    def advance(self, t_end: float, limit: float | None = None) -> None:
        """Step to at least ``t_end``, never past ``limit`` (default ``t_end``; the next snapshot
        time): in τ, to τ(t_end) and at most τ(limit); then the monitors."""
        limit = t_end if limit is None else max(limit, t_end)
        tau_end, tau_limit = (float(self.schedule.integral(s)) for s in (t_end, limit))
        with single_blas_thread():   # small products: threads only wait
            try:
                self.state, self.tau = self.stepper.advance(self.state, self.tau, tau_end,
                                                            tau_limit)
            except FloatingPointError as exc:
                raise StepCollapse(f"spectral scheme: {exc}") from None
            self.t = limit if self.tau == tau_limit else t_end
            self._monitor()

    def resume_state(self) -> dict:
        """What :meth:`restore` needs to continue bit for bit: the stepper's coordinates (as
        real numbers), t, τ, the next step size and the step counts."""
        u = self.stepper.coordinates(self.state)
        return {"u": np.ascontiguousarray(u).view(np.float64).ravel(), "t": self.t,
                "tau": self.tau, "dt": self.stepper.dt, "steps": self.stepper.steps,
                "rejected": self.stepper.rejected}

    def restore(self, state: dict) -> None:
        """Continue from a :meth:`resume_state` of a run of the same case."""
        like = self.stepper.to_basis(self.state)
        u = np.ascontiguousarray(state["u"], dtype=np.float64).view(like.dtype)
        self.state = self.stepper.resume_at(u.reshape(like.shape), np.isrealobj(self.state))
        self.t, self.tau = float(state["t"]), float(state["tau"])
        self.stepper.dt = float(state["dt"])
        self.stepper.steps, self.stepper.rejected = int(state["steps"]), int(state["rejected"])
        self._energy = self.free_energy()

    def _warn(self, key, message):
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)

    def _monitor(self):
        p = self.nodal
        low, high = float(p.min()), float(p.max())
        if low < -STOP_FRACTION * high:
            raise NumericalError(f"spectral density oscillates at t = {self.t:.4g}: min p = "
                                 f"{low:.3e} against max p = {high:.3e}; the law is not "
                                 "resolved (more points, noise, or scheme = 'fv')")
        if low < -self.negative_tol * high:
            self._warn("negative", f"spectral density negative at t = {self.t:.4g}: min p = "
                       f"{low:.3e} ({-low / high:.1e} of max p); refine the grid (more "
                       "points) or smooth the initial law")
        energy = self.free_energy()
        if energy > self._energy + ENERGY_TOL * max(1.0, abs(energy)):
            self._warn("energy", f"free energy increased at t = {self.t:.4g} by "
                       f"{energy - self._energy:.3e}: the spectral solution is under-resolved")
        self._energy = energy

    @property
    def density(self) -> np.ndarray:
        """Cell averages of the interpolant on the output grid."""
        with single_blas_thread():   # woken BLAS threads cost more than the product
            return self.project(self.nodal)

    def risk(self) -> float:
        return float(self.op.risk(self.nodal))

    def free_energy(self) -> float:
        return float(self.op.free_energy(self.nodal)) + self.shift

    def diagnostics(self) -> dict:
        p = self.nodal
        return {"mass": self.op.mass(p), "min_density": float(p.min()),
                "steps": self.stepper.steps, "rejected_steps": self.stepper.rejected,
                "dt": self.stepper.dt}
