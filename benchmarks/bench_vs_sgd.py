"""Benchmark: the N → ∞ prediction against the SGD run it predicts, for every validation case.

For each case in ``validation/`` (full size; every point of a sweep, then each sweep as one
case) prints, in one run:

1. the PDE solve on the case's own grid (the *fine* solve);
2. refinement downwards: the grid coarsened by 2, 4, 8, … per axis (for the Lagrangian scheme,
   the particle count) while the largest risk difference to the fine solve over the snapshot
   times stays ≤ ``--risk-tol`` (default 1e-3); the fastest of these grids (usually the
   coarsest) is printed with its error;
3. the wall time of ``ddsolver.solve`` on that grid (best of two; build, advance and
   snapshots; numba warm: the fine solve has loaded every kernel), against the wall time of one
   SGD seed of the same case (``ddsolver.sgd.run.simulate``, seed ``sgd.seeds[0]``, its own
   kernels warmed by a 10-step run), and the ratio PDE/SGD (target ≤ 1/10).

Then the same for MMN example 9.1 to t = 200 (``examples/mmn_9_1.toml``) at risk error ≤ 1e-4
against a reference on twice the example's resolution, with SGD at N = 800, ε = 1e-5 timed over
the first ``--sgd-steps`` steps and scaled to the 2·10⁷ steps of the run (target ≥ 500×).

    python benchmarks/bench_vs_sgd.py [--risk-tol 1e-3] [--sgd-steps 1000000] [CASE.toml ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

import ddsolver
from ddsolver.case import case_to_json, read_case
from ddsolver.environment import environment
from ddsolver.errors import DomainError, NumericalError
from ddsolver.sgd.run import simulate
from ddsolver.validation.runner import sweep_points

ROOT = Path(__file__).resolve().parents[1]
MIN_CELLS = 6              # per axis; the refinement stops before
MIN_PARTICLES = 25


def resolution(case: dict) -> dict:
    """What refinement changes: {axis: cells} of the grid, or the particle count."""
    pde = case["pde"]
    if pde["scheme"] == "lagrangian":
        return {"particles": pde["particles"]}
    return {name: axis["cells"] for name, axis in pde["grid"].items()}


def coarsened(case: dict, factor: int, risk_tol: float) -> dict | None:
    """The case with its resolution divided by ``factor`` (None once below the minimum). Wider
    cells put more mass in the outer layer that ``pde.boundary_mass`` guards (the validation
    cases set 1e-9); it is raised to 1e-3 · ``risk_tol``, a mass whose effect on the risk is
    far below the tolerance."""
    out = copy.deepcopy(case)
    pde = out["pde"]
    pde["boundary_mass"] = max(pde["boundary_mass"], 1e-3 * risk_tol)
    if pde["scheme"] == "lagrangian":
        particles = pde["particles"] // factor
        if particles < MIN_PARTICLES:
            return None
        pde["particles"] = particles
        return out
    for axis in pde["grid"].values():
        cells = axis["cells"] // factor
        if cells < MIN_CELLS:
            return None
        axis["cells"] = cells
    return out


def timed_solve(case: dict):
    start = time.perf_counter()
    solution = ddsolver.solve(case, progress=False)
    return solution, time.perf_counter() - start


def coarsest(case: dict, risk_tol: float, reference=None):
    """(case, seconds, max risk error, fine seconds) of the fastest grid within ``risk_tol`` of
    the reference (by default the case's own grid) among the case's and its coarsenings by 2,
    4, 8, …; the refinement stops at the first grid out of tolerance or on which the solve
    stops (mass at an edge of the grid, an unresolved solution). The fastest is usually the
    coarsest; not always: an under-resolved spectral solve takes smaller adaptive steps. Each
    grid is timed as it is tried (warm: the fine solve has loaded every kernel); the fine solve
    and the chosen grid are timed once more, and the smaller time counts."""
    fine, fine_seconds = timed_solve(case)
    if reference is None:
        reference = fine.risk
    error = float(np.max(np.abs(fine.risk - reference)))
    passing = [(timed_solve(case)[1], case, error)] if error <= risk_tol else []
    factor = 2
    while (trial := coarsened(case, factor, risk_tol)) is not None:
        try:
            solution, seconds = timed_solve(trial)
        except (DomainError, NumericalError):
            break
        error = float(np.max(np.abs(solution.risk - reference)))
        if not error <= risk_tol:
            break
        passing.append((seconds, trial, error))
        factor *= 2
    if not passing:
        raise SystemExit(f"no grid within {risk_tol:g} of the reference (the case's own: "
                         f"{float(np.max(np.abs(fine.risk - reference))):.1e})")
    seconds, best, error = min(passing, key=lambda item: item[0])
    return best, min(seconds, timed_solve(best)[1]), error, fine_seconds


def shortened(case: dict, t_stop: float) -> dict:
    """The case stopped at ``t_stop`` (SGD runs to training.t_final), snapshots up to it."""
    out = copy.deepcopy(case)
    times = np.asarray(out["sgd"]["snapshot_times"], float)
    out["training"]["t_final"] = t_stop
    out["sgd"]["snapshot_times"] = np.append(times[times < t_stop], t_stop)
    out["pde"]["snapshot_times"] = out["sgd"]["snapshot_times"]
    out["validate"]["t_max"] = t_stop
    return out


def sgd_seconds(case: dict, max_steps: int) -> tuple[float, int]:
    """(wall time of one SGD seed, scaled to the full run if it was cut; total steps)."""
    sgd = case["sgd"]
    step_time = sgd["eps"] * sgd["batch"]
    times = np.asarray(sgd["snapshot_times"], float)
    total = int(round(times[-1] / step_time))
    simulate(shortened(case, 10 * step_time), progress=False, save_weights=False)
    run = shortened(case, max_steps * step_time) if total > max_steps else case
    steps = int(round(run["sgd"]["snapshot_times"][-1] / step_time))
    start = time.perf_counter()
    simulate(run, progress=False, save_weights=False)
    return (time.perf_counter() - start) * total / steps, total


def describe(case: dict) -> str:
    return "×".join(f"{v}" for v in resolution(case).values())


def pde_key(case: dict) -> str:
    """What the PDE depends on (not the [sgd] table of a sweep's point)."""
    return case_to_json({name: case[name] for name in ("data", "network", "training", "init",
                                                        "pde")})


def row(name, case, pde, sgd_time, steps, target):
    """Print one comparison; returns PDE/SGD."""
    chosen, seconds, error, fine_seconds = pde
    ratio = seconds / sgd_time
    print(f"{name:<24} {case['pde']['scheme']:<10} {describe(case):>12} {describe(chosen):>10} "
          f"{error:>8.1e} {fine_seconds:>8.2f} {seconds:>7.2f} {steps:>10.2e} {sgd_time:>8.1f} "
          f"{ratio:>7.4f} {'yes' if ratio <= target else 'NO':>4}", flush=True)
    return ratio


def header():
    print(f"{'case':<24} {'scheme':<10} {'fine':>12} {'used':>10} {'max|dR|':>8} "
          f"{'fine s':>8} {'PDE s':>7} {'SGD steps':>10} {'SGD s':>8} {'PDE/SGD':>7} {'ok':>4}")


def validation_cases(paths, risk_tol, max_steps):
    """One row per case and sweep point, then one per case: a sweep is one case, whose PDE
    solves (one per distinct PDE: N and ε sweeps share theirs) predict every point, against one
    seed at every point."""
    header()
    totals = {}
    for path in paths:
        case = read_case(path)
        solved = {}
        sgd_total = 0.0
        for value, point in sweep_points(case):
            name = Path(path).stem + ("" if value is None else f" {value:g}")
            key = pde_key(point)
            if key not in solved:
                solved[key] = coarsest(point, risk_tol)
            sgd_time, steps = sgd_seconds(point, max_steps)
            sgd_total += sgd_time
            row(name, point, solved[key], sgd_time, steps, 0.1)
        totals[Path(path).stem] = (sum(pde[1] for pde in solved.values()), sgd_total)
    print(f"\n{'case':<24} {'PDE s':>8} {'SGD s':>8} {'PDE/SGD':>8} {'ok':>4}")
    for name, (pde, sgd) in totals.items():
        print(f"{name:<24} {pde:>8.2f} {sgd:>8.1f} {pde / sgd:>8.4f} "
              f"{'yes' if pde / sgd <= 0.1 else 'NO':>4}")
    worst = max(pde / sgd for pde, sgd in totals.values())
    print(f"worst PDE/SGD over the validation cases: {worst:.4f} (target ≤ 0.1)\n")


def long_run(max_steps):
    """MMN 9.1 to t = 200 at risk error ≤ 1e-4 against twice the example's resolution."""
    case = read_case(ROOT / "examples" / "mmn_9_1.toml")
    case["sgd"].update(neurons=800, eps=1e-5)
    reference_case = copy.deepcopy(case)
    for axis in reference_case["pde"]["grid"].values():
        axis["cells"] *= 2
    if reference_case["pde"]["scheme"] == "lagrangian":
        reference_case["pde"]["particles"] *= 2
    reference, _ = timed_solve(reference_case)
    header()
    sgd_time, steps = sgd_seconds(case, max_steps)
    ratio = row("mmn_9_1 to t = 200", case, coarsest(case, 1e-4, reference.risk), sgd_time,
                steps, 1 / 500)
    print(f"SGD/PDE = {1 / ratio:.0f}× (target ≥ 500×; SGD timed over {max_steps:.0e} steps "
          "and scaled)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=Path)
    parser.add_argument("--risk-tol", type=float, default=1e-3)
    parser.add_argument("--sgd-steps", type=int, default=1_000_000,
                        help="SGD runs longer than this are timed over this many steps, scaled")
    parser.add_argument("--skip-long", action="store_true", help="skip the 9.1 to t = 200 row")
    args = parser.parse_args()
    paths = args.cases or sorted((ROOT / "validation").glob("*.toml"))
    print(json.dumps(environment()))
    validation_cases(paths, args.risk_tol, args.sgd_steps)
    if not args.skip_long:
        long_run(args.sgd_steps)


if __name__ == "__main__":
    main()
