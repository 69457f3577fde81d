"""Progress guards: a run whose step size collapses, or whose accepted steps head far past any
reasonable count, stops with its likely cause instead of running for ever.

The steppers raise :class:`StepCollapse` (a step below ``DT_FLOOR`` · max(1, t), or their own
step limit); :func:`guarded_advance` wraps a run's ``advance`` for the drive loop, adds the
likely cause read from the case (tolerance, schedule or stiffness) and stops a run whose steps,
projected from the time reached to ``t_final``, exceed ``MAX_PROJECTED_STEPS``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import NumericalError

DT_FLOOR = 1e-12                # relative step size below which a step has collapsed
MAX_PROJECTED_STEPS = 10**8     # accepted steps projected to t_final above this stop a run
TINY_TOL = 1e-13                # tolerances below this are under round-off
FAST_SCHEDULE = 1e3             # ξ above this makes the dynamics that much faster


class StepCollapse(NumericalError):
    """The step size collapsed, or the step limit was reached."""


@njit(cache=True)
def collapsed(t: float, dt: float, t_end: float) -> bool:
    """Whether a step ``dt`` at ``t`` (not the last, shortened one before ``t_end``) has
    collapsed."""
    return dt < DT_FLOOR * max(1.0, abs(t_end)) and dt < t_end - t


def likely_cause(case: dict, tol_key: str) -> str:
    """The likely cause of a stalled run: its tolerance (``pde.<tol_key>``), its schedule or
    stiffness."""
    pde, schedule = case["pde"], case["training"]["schedule"]
    peak = schedule["value"] * schedule.get("offset", 1.0) ** -schedule.get("exponent", 0.0)
    if pde[tol_key] < TINY_TOL:
        return (f"the tolerance (pde.{tol_key} = {pde[tol_key]:g} is below round-off; use "
                f"{TINY_TOL:g} or more)")
    if peak > FAST_SCHEDULE:
        return (f"the schedule (ξ up to {peak:g} makes the dynamics that much faster and the "
                "steps that much shorter; lower training.schedule.value)")
    return ("stiffness (a fine grid or a steep potential; try a coarser pde.grid, a larger "
            "pde.tol, or with noise pde.integrator = 'mprk22')")


def guarded_advance(run, case: dict, tol_key: str):
    """``run.advance`` for the drive loop, with the step-collapse and step-count guards
    (``tol_key``: the scheme's tolerance key in ``[pde]``). The run may step past a stop up to
    the next snapshot time, never beyond."""
    times = np.asarray(case["pde"]["snapshot_times"], dtype=float)
    t_final = float(times[-1])

    def advance(stop):
        limit = float(times[min(np.searchsorted(times, stop), times.size - 1)])
        try:
            run.advance(stop, max(limit, stop))
        except StepCollapse as exc:
            raise StepCollapse(f"{exc}; likely cause: {likely_cause(case, tol_key)}") from None
        if run.t > 0 and run.steps * t_final / run.t > MAX_PROJECTED_STEPS:
            raise StepCollapse(
                f"{run.steps} steps to t = {run.t:.4g} project to "
                f"{run.steps * t_final / run.t:.2g} steps to t_final = {t_final:g}, above "
                f"{MAX_PROJECTED_STEPS:.0e}; likely cause: {likely_cause(case, tol_key)}")
    return advance
