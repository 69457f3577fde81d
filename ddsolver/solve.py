"""``ddsolver.solve``: case → model → reduction → grid → operator → stepper → storage.

The case names its model (:mod:`ddsolver.model`) and its scheme (:mod:`ddsolver.scheme`); the
scheme builds the grid, the model's reduction on it and a run, which :func:`ddsolver.drive.drive`
advances from snapshot to snapshot while the writer streams them to HDF5.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .case import as_case
from .drive import TIME_BAR, Progress, drive
from .errors import DdsolverError
from .model import model_of
from .resources import check_memory
from .results import Solution
from .scheme import Scheme
from .stepper.guard import guarded_advance

log = logging.getLogger("ddsolver")
PROGRESS_UPDATES = 50           # the run pauses this many times for the progress bar and checks


def scheme_of(case: dict) -> type[Scheme]:
    """The scheme of a normalised case."""
    return Scheme.from_name(case["pde"]["scheme"])


def build_reduction(case: dict, grid):
    """The reduction of a normalised case's model on ``grid``."""
    return model_of(case).reduction(case, grid)


def build_run(case: dict):
    """(grid of the stored density, reduction, run) of a normalised case, from its scheme."""
    return scheme_of(case).build(case, model_of(case))


def stops(times: np.ndarray) -> list[float]:
    """Snapshot times merged with evenly spaced pauses for progress and boundary checks."""
    pauses = np.linspace(0.0, times[-1], PROGRESS_UPDATES + 1)
    return sorted(set(times.tolist()) | set(pauses.tolist()))


def run_attrs(reduction, run) -> dict:
    """The kernel facts stored with a solve where the reduction has a low-rank form (None values
    are not stored): series terms, their tail bound, the reduction's rank and the rank the run
    evaluates (smaller after compression to the numerical rank, ``pde.kernel_tol``)."""
    facts = {"kernel_terms": reduction.terms, "kernel_rank": reduction.rank,
             "kernel_rank_used": run.kernel_rank, "kernel_tail_bound": reduction.tail_bound}
    return {key: value for key, value in facts.items() if value is not None}


def solve(case, output=None, *, overwrite=False, resume=False, progress=None,
          max_memory=None) -> Solution:
    """Solve the distributional dynamics of a case; optionally stream snapshots to HDF5.

    Parameters
    ----------
    case : path of a TOML case file, or a case dict (see docs/case-file.md).
    output : path of an HDF5 file to write as the run goes (see docs/hdf5-format.md).
    overwrite : replace an existing ``output`` (otherwise an existing file is an error).
    resume : continue the run in ``output``'s partial file (killed, interrupted or failed) or
        the finished ``output`` (to a later ``t_final``) from its last snapshot, bit for bit as
        an uninterrupted run (:mod:`ddsolver.storage.resume`); without either file, a new run.
    progress : show a progress bar; ``None`` shows one only on a terminal.
    max_memory : memory budget (bytes or a size such as ``"4GiB"``); a run whose estimate
        (:mod:`ddsolver.resources`) exceeds it is refused. Default: 80 % of the available memory.

    Returns
    -------
    Solution with ``t``, ``risk``, ``density`` (snapshots × cells), ``grid`` and diagnostics.
    """
    start = time.perf_counter()
    case = as_case(case)
    check_memory(case, "solve", max_memory)
    times = case["pde"]["snapshot_times"]
    point = None
    if resume and (overwrite or output is None):
        raise DdsolverError("resume continues the run in an output file: give one, and not "
                            "with overwrite")
    if output is not None:
        from .storage import FORMAT, FORMAT_VERSION, check_output_path, load, resume_point
        if resume:
            point = resume_point(output, case, FORMAT, FORMAT_VERSION, times)
            if point is not None and point.complete:
                log.warning("%s is a finished run of this case: nothing to resume", output)
                return load(output)
        if point is None:
            check_output_path(output, overwrite)
    if case["training"]["regime"] == "kernel":
        from .kernel import build
        grid, reduction, run = build(case, model_of(case))
        method = {"scheme": "kernel-limit", "integrator": "expm"}
        particles = None
    else:
        scheme = scheme_of(case)
        grid, reduction, run = scheme.build(case, model_of(case))
        method = {"scheme": scheme.name, "integrator": scheme.integrator(case)}
        particles = scheme.particles(run)
    weights = None if particles is None else particles[1].copy()
    resumed = point is not None and point.count > 0
    if resumed:
        run.restore(point.state)
    setup_time = time.perf_counter() - start
    compile_time = run.warm_up()
    log.info("set-up %.2f s, compile/load %.2f s, kernel rank %s (%s used)", setup_time,
             compile_time, reduction.rank, run.kernel_rank)
    attrs = {**method, **run_attrs(reduction, run),
             "setup_time": setup_time, "compile_time": compile_time}
    writer = None
    if output is not None:
        from .storage import SolutionWriter
        writer = SolutionWriter(output, grid, case, overwrite=overwrite, attrs=attrs,
                                particle_weights=weights,
                                diagnostics={**run.diagnostics(), "wall_time": 0.0},
                                state=run.resume_state(), resume=point)

    def observe(stop, elapsed):
        record = {"t": stop, "risk": run.risk(), "free_energy": run.free_energy(),
                  "density": run.density.copy(), **run.diagnostics(), "wall_time": elapsed}
        if weights is not None:
            record["positions"] = scheme.particles(run)[0].copy()
        return record

    advance = guarded_advance(run, case, scheme_of(case).tolerance_key)
    done = drive([stop for stop in stops(times) if not resumed or stop > point.t],
                 set(times.tolist()), advance, observe,
                 Progress(float(times[-1]), "t", "ddsolver", TIME_BAR,
                          lambda record: {"risk": f"{record['risk']:.5f}"}, progress),
                 writer=writer, state=run.resume_state, initial=run.t)
    attrs.update(run_time=done.run_time, status="complete")
    log.info("run %.2f s, %d steps (%d rejected)", done.run_time, run.steps,
             run.diagnostics()["rejected_steps"])
    if resumed:
        return load(output)
    return solution_of(done.records, grid, case, attrs, weights)


def solution_of(records: list[dict], grid, case: dict, attrs: dict,
                weights: np.ndarray | None = None) -> Solution:
    """A :class:`Solution` from the drive loop's records (t, risk, free_energy, density and
    diagnostics per snapshot; positions too for a particle run of particle ``weights``)."""
    fields = ("t", "risk", "free_energy", "density", "positions")
    diagnostics = {key: np.array([r[key] for r in records]) for key in records[0]
                   if key not in fields}
    particles = (None if weights is None
                 else (np.array([r["positions"] for r in records]), weights))
    return Solution(t=np.array([r["t"] for r in records]),
                    risk=np.array([r["risk"] for r in records]),
                    free_energy=np.array([r["free_energy"] for r in records]),
                    density=np.array([r["density"] for r in records]), grid=grid, case=case,
                    diagnostics=diagnostics, attrs=attrs, particles=particles)
