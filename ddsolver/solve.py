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
from .grid import Axis, CartesianGrid
from .operator.chebyshev import ChebyshevRadialOperator
from .operator.chebyshev import cell_average_matrix as chebyshev_average
from .operator.fourier import FourierOperator
from .operator.fourier import cell_average_matrix as fourier_average
from .operator.lowrank import LowRankPotential
from .operator.polar import PolarOperator
from .problem.activations import make_activation
from .problem.data import make_data
from .problem.initial import InitialLaw
from .problem.planar import teacher_from_case
from .problem.schedule import Schedule
from .problem.user import load_problem
from .reduction.anisotropic import AnisotropicReduction
from .reduction.planar import PlanarReduction
from .reduction.radial import RadialReduction
from .reduction.second_layer import BiasedRadialReduction, SecondLayerReduction
from .solution import Solution
from .stepper.fv import FiniteVolumeRun
from .stepper.lagrangian import LagrangianRun
from .stepper.spectral import SpectralRun

log = logging.getLogger("ddsolver")
ANISOTROPIC_MAX_TERMS = 40       # the anisotropic series has rank T(T + 1) for T even orders
PROGRESS_UPDATES = 200          # the run pauses this many times for the progress bar and checks
SPECTRAL_OUTPUT_REFINE = {1: 8, 2: 2}   # stored cells per collocation point, by grid dimension


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
    if data_spec["kind"] == "planar_teacher":
        return PlanarReduction(teacher_from_case(case), net["unit"], net["scale"])
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
    if case["pde"]["scheme"] != "fv":
        return {"spectral": "etdrk4", "lagrangian": "DOP853"}[case["pde"]["scheme"]]
    if name == "auto":
        return "ssprk3"
    if name == "semi_implicit" and not noisy:
        raise CaseError("pde.integrator: 'semi_implicit' needs training.beta < inf "
                        "(the noiseless DD is pure transport; use 'ssprk3' or 'auto')")
    return name


def output_grid(grid: CartesianGrid) -> CartesianGrid:
    """The grid of stored cell averages of a spectral solve: each axis of collocation points
    (``cells``) refined by ``SPECTRAL_OUTPUT_REFINE`` over the same interval."""
    refine = SPECTRAL_OUTPUT_REFINE[grid.ndim]
    return CartesianGrid(tuple(Axis(a.name, a.lo, a.hi, refine * a.cells) for a in grid.axes))


def _spectral_operator(case: dict, grid: CartesianGrid, out: CartesianGrid, reduction):
    """(operator, nodes {name: (points, lo, hi)}, quadrature weights of the nodes, matrices that
    average the interpolant over the cells of ``out``, one per axis) of a spectral case."""
    beta, scale, lam = case["training"]["beta"], case["network"]["scale"], case["training"]["lambda"]
    axes = {a.name: a for a in grid.axes}
    matrices = []
    if "r" in axes:
        r = axes["r"]
        matrices.append(chebyshev_average(r.cells, r.lo, r.hi, out.axis("r").edges))
    if "phi" in axes:
        phi = axes["phi"]
        offset = phi.lo + 0.5 * phi.spacing
        matrices.append(fourier_average(phi.cells, offset, out.axis("phi").edges))
    if grid.names == ("r",):
        op = ChebyshevRadialOperator(reduction, r.lo, r.hi, r.cells, beta=beta)
        return op, {"r": (op.r, r.lo, r.hi)}, op.weights, matrices
    problem = reduction.problem
    if grid.names == ("phi",):
        op = FourierOperator(phi.cells, V=problem.circle_v, U=problem.circle_kernel, alpha=scale,
                             beta=beta, offset=offset,
                             label_second_moment=problem.label_second_moment)
        return op, {"phi": (op.phi, phi.lo, phi.hi)}, np.full(phi.cells, op.h), matrices
    op = PolarOperator(problem, r.lo, r.hi, r.cells, phi.cells, offset, alpha=scale, lam=lam,
                       beta=beta)
    return (op, {"r": (op.r, r.lo, r.hi), "phi": (op.phi, phi.lo, phi.hi)},
            np.outer(op.w, np.full(phi.cells, op.h)), matrices)


def build_spectral_run(case: dict):
    """(output grid, reduction, run) of a spectral solve: Chebyshev in r for the isotropic w
    model, Fourier in φ for planar-teacher circle units, both (polar) for planar w units. The
    initial law must have a density (docs/case-file.md)."""
    pde, training = case["pde"], case["training"]
    grid = CartesianGrid.from_dict(pde["grid"])
    out = output_grid(grid)
    reduction = build_reduction(case, grid)
    op, nodes, weights, matrices = _spectral_operator(case, grid, out, reduction)

    def to_cells(p):
        for axis, matrix in enumerate(matrices):
            p = np.moveaxis(np.tensordot(matrix, p, axes=(1, axis)), 0, axis)
        return p
    density = InitialLaw(case["init"], case["data"].get("dim")).nodal_density(
        nodes, outside_tol=pde["boundary_mass"])
    density = density / float(np.sum(weights * density))
    # the circle operator's F omits the constant R_#/(2α²) of F = R/(2α²) + …
    shift = (reduction.problem.label_second_moment / (2 * case["network"]["scale"]**2)
             if grid.names == ("phi",) else 0.0)
    run = SpectralRun(op, density, Schedule.from_dict(training["schedule"]), to_cells,
                      tol=pde["tol"], negative_tol=pde["negative_tol"], free_energy_shift=shift)
    return out, reduction, run


def build_run(case: dict):
    """The grid and a ready-to-advance run (finite volumes, Lagrangian or spectral) for a
    normalised case."""
    pde = case["pde"]
    beta = case["training"]["beta"]
    if pde["scheme"] == "spectral":
        return build_spectral_run(case)
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
             "integrator": integrator(case),
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
