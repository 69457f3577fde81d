"""Finite-volume run of the DD: state, stepping (compiled SSPRK3, or the linearly implicit
steppers of :mod:`ddsolver.stepper.semi_implicit` when noisy), diagnostics."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numba
import numpy as np

from ..errors import NumericalError
from ..operator.lowrank import LowRankPotential
from ..operator.transport import RECONSTRUCTIONS
from ..problem.schedule import Schedule
from ..threads import single_blas_thread
from .boundary import EdgeGuard
from .guard import StepCollapse
from .semi_implicit import PatankarStepper, SemiImplicitStepper
from .ssprk import MAX_STEPS, NEGATIVE, UNDERFLOW, ssprk3_advance

IMPLICIT_STEPPERS = {"semi_implicit": SemiImplicitStepper, "mprk22": PatankarStepper}
PARALLEL_MIN_CELLS = 16384   # below this many cells one thread is faster (bench_multid.py)


def kernel_threads(threads, shape: tuple[int, ...]) -> int:
    """Threads for the compiled kernels on a grid of ``shape``: ``threads`` (an integer >= 1)
    capped at numba's pool size NUMBA_NUM_THREADS; None: the whole pool on grids of 2 or 3 axes
    with at least PARALLEL_MIN_CELLS cells, else one thread (the kernels share out the lines of
    an axis: a 1-D grid is a single line, and on small grids starting threads costs more than it
    saves)."""
    pool = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return pool if len(shape) > 1 and math.prod(shape) >= PARALLEL_MIN_CELLS else 1
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads: expected an integer >= 1 or None, got {threads!r}")
    return min(int(threads), pool)


@contextmanager
def numba_threads(threads: int):
    """Run numba's parallel kernels with ``threads`` threads and the BLAS behind the low-rank
    products with one, restoring the previous counts. BLAS threads next to numba's spinning
    OpenMP threads (or another busy process) stall every product: on the 160 × 200
    anisotropic case (rank ≈ 300) two threads took 154 s with free BLAS threads, 64 s with one
    (benchmarks/bench_multid.py --case)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with single_blas_thread():
            yield
    finally:
        numba.set_num_threads(previous)


class FiniteVolumeRun:
    """Holds the density on the grid and advances it with :func:`ssprk3_advance` or, for
    ``integrator`` = "semi_implicit" or "mprk22" (noisy only), the stepper of that name.

    ``open_ends``: (axis, side) pairs of grid edges that are not natural boundaries of the
    reduced coordinates (side 0 = min, 1 = max). When more than ``boundary_mass`` of the mass
    sits in the outer cell layer of such an edge, the run fails (``on_boundary = "error"``) or
    warns once (``"warn"``): the no-flux wall would otherwise silently distort the dynamics.
    ``threads``: numba threads of the compiled kernels (see :func:`kernel_threads`).
    """

    def __init__(self, potential: LowRankPotential, density0: np.ndarray, schedule: Schedule, *,
                 integrator="ssprk3", cfl=0.9, tol=1e-7, reconstruction="upwind3", open_ends=(),
                 on_boundary="error", boundary_mass=1e-9, max_steps=10**8, threads=None):
        self.potential = potential
        self.kernel_rank = potential.rank
        self.grid = potential.grid
        self.p = np.ascontiguousarray(density0, dtype=float).reshape(self.grid.padded_shape())
        self.schedule = schedule
        self.cfl, self.tol, self.reconstruction = cfl, tol, RECONSTRUCTIONS[reconstruction]
        self.open_ends, self.boundary_mass = open_ends, boundary_mass
        self.edges = EdgeGuard(on_boundary)
        self.max_steps = max_steps
        self.threads = kernel_threads(threads, self.grid.shape)
        self.t, self.steps, self.rejected = 0.0, 0, 0
        self.dt = 1e-3 * self.grid.spacing.min()
        self.spacing = self.grid.padded_spacing()
        beta = potential.beta
        self.inv_beta = 0.0 if np.isinf(beta) else 1.0 / beta
        self.implicit = (IMPLICIT_STEPPERS[integrator](potential.base, potential.features,
                                                       self.grid.cell_volume, self.spacing, beta,
                                                       schedule.args(), tol, self.p.shape)
                         if integrator in IMPLICIT_STEPPERS else None)

    def _advance_kernel(self, p, t, t_end, t_limit, dt, max_steps):
        if self.implicit is not None:
            return self.implicit.advance(p, t, t_end, t_limit, dt, max_steps)
        pot = self.potential
        with numba_threads(self.threads):
            return ssprk3_advance(p, pot.base, pot.features, self.grid.cell_volume, self.spacing,
                                  self.reconstruction, self.inv_beta, self.schedule.args(),
                                  self.cfl, self.tol, t, t_end, t_limit, dt, max_steps)

    def warm_up(self) -> float:
        """Compile (or load from numba's disk cache) the kernels; returns the seconds it took."""
        start = time.perf_counter()
        self._advance_kernel(self.p.copy(), 0.0, 0.0, 0.0, self.dt, 1)
        return time.perf_counter() - start

    def advance(self, t_end: float, limit: float | None = None):
        """Step to at least ``t_end``, never past ``limit`` (default ``t_end``; the next
        snapshot time), checking the open edges."""
        t_limit = t_end if limit is None else max(limit, t_end)
        t, dt, steps, rejected, status = self._advance_kernel(
            self.p, self.t, t_end, t_limit, self.dt, self.max_steps - self.steps)
        self.t, self.dt = t, dt
        self.steps += steps
        self.rejected += rejected
        if status == NEGATIVE:
            raise NumericalError(f"negative or non-finite density at t = {t:.6g} with "
                                 f"dt = {dt:.3e}; this is a bug, please report it")
        if status == MAX_STEPS:
            raise StepCollapse(f"step limit {self.max_steps} reached at t = {t:.6g} "
                               f"(dt = {dt:.3e})")
        if status == UNDERFLOW:
            raise StepCollapse(f"the step size collapsed to {dt:.3e} at t = {t:.6g} "
                               f"({self.rejected} steps rejected)")
        self.check_boundaries()

    def check_boundaries(self):
        density = self.density
        for axis, side in self.open_ends:
            index = [slice(None)] * density.ndim
            index[axis] = -1 if side else 0
            mass = density[tuple(index)].sum() * self.grid.cell_volume
            if mass <= self.boundary_mass:
                continue
            ax = self.grid.axes[axis]
            self.edges.report(f"mass {mass:.2e}", ax.name, ax.hi if side else ax.lo,
                              "max" if side else "min", self.t)

    @property
    def density(self) -> np.ndarray:
        return self.p.reshape(self.grid.shape)

    def risk(self) -> float:
        return self.potential.risk(self.density)

    def free_energy(self) -> float:
        return self.potential.free_energy(self.density)

    def resume_state(self) -> dict:
        """What :meth:`restore` needs to continue bit for bit: the density, t, the next step
        size and the step counts."""
        return {"p": self.p.ravel().copy(), "t": self.t, "dt": self.dt, "steps": self.steps,
                "rejected": self.rejected}

    def restore(self, state: dict) -> None:
        """Continue from a :meth:`resume_state` of a run of the same case."""
        self.p[...] = np.asarray(state["p"]).reshape(self.p.shape)
        self.t, self.dt = float(state["t"]), float(state["dt"])
        self.steps, self.rejected = int(state["steps"]), int(state["rejected"])

    def diagnostics(self) -> dict:
        return {"mass": self.grid.mass(self.density), "min_density": float(self.p.min()),
                "steps": self.steps, "rejected_steps": self.rejected, "dt": self.dt}
