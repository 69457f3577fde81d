"""``ddsolver.solve``: case → problem → reduction → grid → operator → stepper → storage."""

from __future__ import annotations

import logging
import math
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .case import normalize_case, radial_coordinates, read_case
from .errors import CaseError
from .grid import CartesianGrid
from .operator.lowrank import LowRankPotential
from .problem.activations import make_activation
from .problem.data import make_data
from .problem.initial import InitialLaw
from .problem.schedule import Schedule
from .problem.user import load_problem
from .reduction.anisotropic import AnisotropicReduction
from .reduction.radial import RadialReduction
from .reduction.second_layer import BiasedRadialReduction, SecondLayerReduction
from .solution import Solution
from .stepper.fv import FiniteVolumeRun
from .stepper.lagrangian import LagrangianRun

log = logging.getLogger("ddsolver")
ANISOTROPIC_MAX_TERMS = 40       # the anisotropic series has rank T(T + 1) for T even orders
PROGRESS_UPDATES = 200          # the run pauses this many times for the progress bar and checks


def as_case(case) -> dict:
    """A normalised case from a TOML path or a (raw or normalised) dict."""
    if isinstance(case, (str, Path)):
        return read_case(case)
    return normalize_case(case)


def build_reduction(case: dict, grid: CartesianGrid):
    """The reduction of a case's model on its grid (docs/case-file.md lists the models)."""
    data_spec, net, pde = case["data"], case["network"], case["pde"]
    lam = case["training"]["lambda"]
    if data_spec["kind"] == "custom":
        return load_problem(case).reduction(grid, scale=net["scale"], lam=lam)
    activation = make_activation(net["activation"], net["activation_params"])
    data = make_data(data_spec)
    options = {"scale": net["scale"], "lam": lam, "tol": pde["kernel_tol"],
               "max_terms": pde["kernel_max_terms"]}
    probe = {axis.name: np.append(axis.centres, axis.hi) for axis in grid.axes}
    if data_spec["kind"] == "anisotropic_gaussians":
        options["max_terms"] = min(options["max_terms"], ANISOTROPIC_MAX_TERMS)
        inner = AnisotropicReduction(activation, data, pde["kernel_dim"],
                                     probe=(probe["r1"], probe["r2"]), **options)
    elif net["unit"] == "awb":
        inner = BiasedRadialReduction(activation, data, pde["kernel_dim"], probe_b=probe["b"],
                                      probe_r=probe["r"], **options)
    else:
        inner = RadialReduction(activation, data, pde["kernel_dim"], probe_r=probe["r"],
                                **options)
    return SecondLayerReduction(inner) if net["unit"] in ("aw", "awb") else inner


def open_ends(grid: CartesianGrid, radial: tuple[str, ...]) -> list[tuple[int, int]]:
    """(axis, side) pairs of grid edges that are not natural boundaries: every edge except
    min = 0 of a norm coordinate (``radial``: r, r1, r2 of the built-in models)."""
    return [(i, side) for i, axis in enumerate(grid.axes) for side in (0, 1)
            if side == 1 or axis.lo > 0 or axis.name not in radial]


def integrator(case: dict) -> str:
    """The time integrator of a case. ``auto`` is ssprk3, noisy or not: measured on the noisy
    9.1 case (benchmarks/bench_noisy.py) it reaches a given accuracy several times faster than
    the semi-implicit scheme, which is positive for any step but only first order."""
    name, noisy = case["pde"]["integrator"], case["training"]["beta"] < math.inf
    if name == "auto":
        return "ssprk3"
    if name == "semi_implicit" and not noisy:
        raise CaseError("pde.integrator: 'semi_implicit' needs training.beta < inf "
                        "(the noiseless DD is pure transport; use 'ssprk3' or 'auto')")
    return name


def build_run(case: dict):
    """The grid and a ready-to-advance run (finite volumes or Lagrangian) for a normalised case."""
    pde = case["pde"]
    beta = case["training"]["beta"]
    grid = CartesianGrid.from_dict(pde["grid"])
    if pde["scheme"] == "lagrangian" and beta < math.inf:
        raise CaseError("pde.scheme: the Lagrangian scheme is noiseless only (training.beta = "
                        "inf); use scheme = 'fv' for noisy dynamics")
    if pde["scheme"] == "lagrangian" and grid.names != ("r",):
        raise CaseError(f"pde.scheme: the Lagrangian scheme solves the radial model (r) only, "
                        f"not coordinates {grid.names}; use scheme = 'fv'")
    reduction = build_reduction(case, grid)
    schedule = Schedule.from_dict(case["training"]["schedule"])
    initial = InitialLaw(case["init"], case["data"].get("dim"), case["data"].get("signal_dim"))
    if pde["scheme"] == "lagrangian":
        positions, weights = initial.particles(pde["particles"], grid)
        run = LagrangianRun(reduction, positions, weights, schedule, grid, rtol=pde["rtol"],
                            on_boundary=pde["on_boundary"])
    else:
        potential = LowRankPotential(reduction, grid, beta=beta)
        density = initial.cell_density(grid, outside_tol=pde["boundary_mass"])
        run = FiniteVolumeRun(potential, density, schedule,
                              integrator=integrator(case), cfl=pde["cfl"], tol=pde["tol"],
                              reconstruction=pde["reconstruction"], open_ends=open_ends(grid, radial_coordinates(case["data"]["kind"] == "custom")),
                              on_boundary=pde["on_boundary"], boundary_mass=pde["boundary_mass"],
                              threads=pde["threads"])
    return grid, reduction, run


def _stops(times: np.ndarray) -> list[float]:
    """Snapshot times merged with evenly spaced pauses for progress and boundary checks."""
    pauses = np.linspace(0.0, times[-1], PROGRESS_UPDATES + 1)
    return sorted(set(times.tolist()) | set(pauses.tolist()))


def solve(case, output=None, *, overwrite=False, progress=None) -> Solution:
    """Solve the distributional dynamics of a case; optionally stream snapshots to HDF5.

    Parameters
    ----------
    case : path of a TOML case file, or a case dict (see docs/case-file.md).
    output : path of an HDF5 file to write as the run goes (see docs/hdf5-format.md).
    overwrite : replace an existing ``output`` (otherwise an existing file is an error).
    progress : show a progress bar; ``None`` shows one only on a terminal.

    Returns
    -------
    Solution with ``t``, ``risk``, ``density`` (snapshots × cells), ``grid`` and diagnostics.
    """
    start = time.perf_counter()
    case = as_case(case)
    if output is not None:
        from .storage import check_output_path
        check_output_path(output, overwrite)
    grid, reduction, run = build_run(case)
    setup_time = time.perf_counter() - start
    compile_time = run.warm_up()
    log.info("set-up %.2f s, compile/load %.2f s, kernel rank %d", setup_time, compile_time,
             reduction.rank)
    attrs = {"scheme": case["pde"]["scheme"], "kernel_terms": reduction.terms,
             "integrator": integrator(case) if case["pde"]["scheme"] == "fv" else "DOP853",
             "kernel_rank": reduction.rank, "kernel_tail_bound": reduction.tail_bound,
             "setup_time": setup_time, "compile_time": compile_time}
    times = case["pde"]["snapshot_times"]
    snapshot_set = set(times.tolist())
    records = {"t": [], "risk": [], "free_energy": [], "density": [], "diagnostics": []}
    show = sys.stderr.isatty() if progress is None else bool(progress)
    run_start = time.perf_counter()
    with ExitStack() as stack:
        writer = None
        if output is not None:
            from .storage import SolutionWriter
            writer = stack.enter_context(
                SolutionWriter(output, grid, case, overwrite=overwrite, attrs=attrs))
        bar = stack.enter_context(tqdm(
            total=float(times[-1]), disable=not show, unit="t", desc="ddsolver",
            bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]{postfix}"))
        for stop in _stops(times):
            run.advance(stop)
            bar.update(stop - bar.n)
            if stop not in snapshot_set:
                continue
            risk, free_energy, density = run.risk(), run.free_energy(), run.density.copy()
            diagnostics = dict(run.diagnostics(), wall_time=time.perf_counter() - run_start)
            for key, value in (("t", stop), ("risk", risk), ("free_energy", free_energy),
                               ("density", density), ("diagnostics", diagnostics)):
                records[key].append(value)
            bar.set_postfix(risk=f"{risk:.5f}")
            if writer is not None:
                writer.append(stop, risk, density, free_energy=free_energy, **diagnostics)
        run_time = time.perf_counter() - run_start
        if writer is not None:
            writer.close(status="complete", run_time=run_time)
    attrs.update(run_time=run_time, status="complete")
    log.info("run %.2f s, %d steps (%d rejected)", run_time, run.steps,
             run.diagnostics()["rejected_steps"])
    diagnostics = {key: np.array([d[key] for d in records["diagnostics"]])
                   for key in records["diagnostics"][0]}
    return Solution(t=np.array(records["t"]), risk=np.array(records["risk"]),
                    free_energy=np.array(records["free_energy"]),
                    density=np.array(records["density"]), grid=grid, case=case,
                    diagnostics=diagnostics, attrs=attrs)
