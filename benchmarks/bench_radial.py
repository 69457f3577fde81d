"""Benchmark: MMN example 9.1 (Δ = 0.8, d = 40, piecewise-linear σ) to t = 200.

Prints, in one run:
1. numba compile time in a fresh process with an empty cache, then with the cache warm;
2. the finite-volume solve at several grid sizes: wall time, steps, rejected steps and the
   largest risk error over 401 times in [0, 200] against the finest grid;
3. the scipy baseline: ``solve_ivp`` (RK45) on the same semi-discretisation written in plain
   numpy (the twins of the compiled kernels), on the same grids, so both have the same spatial
   error; the table gives the speed-up and the gap between the two curves;
4. the Lagrangian scheme (the default for this case): the compiled tabulated Dormand–Prince at
   several particle counts, against a fine Lagrangian reference (16 000 particles, rtol 1e-9)
   whose gap to the finest finite-volume grid is printed, with the finite-volume default in the
   same table; wall time is set-up + run (numba cache warm), best of three; and the scipy
   DOP853 twin on t in [0, 10] against the compiled path on the same horizon.

Usage: python benchmarks/bench_radial.py [--quick]   (--quick: smaller grids, shorter baseline)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

import ddsolver
from ddsolver.case import case_to_json, normalize_case, read_case
from ddsolver.solve import build_run
from ddsolver.stepper.ssprk import rhs_numpy

CASE = Path(__file__).resolve().parents[1] / "examples" / "mmn_9_1.toml"
TIMES = np.linspace(0.0, 200.0, 401)


def case_with(cells, t_final=200.0, **pde):
    """The example case with ``cells`` radial cells, stopped at ``t_final`` (the [sgd] and
    [validate] times follow it); ``pde`` updates the [pde] table."""
    case = read_case(CASE)
    case["pde"].update(pde)
    case["pde"]["grid"]["r"]["cells"] = cells
    case["training"]["t_final"] = t_final
    case["pde"]["snapshot_times"] = TIMES[t_final >= TIMES]
    case["sgd"]["snapshot_times"] = case["pde"]["snapshot_times"]
    case["validate"]["t_max"] = min(case["validate"]["t_max"], t_final)
    return normalize_case(case)


def compile_times():
    """compile_time attribute of a tiny solve in a fresh process: empty cache, then warm."""
    code = ("import ddsolver, json, sys; sol = ddsolver.solve(json.loads(sys.argv[1])); "
            "print(json.dumps(sol.attrs['compile_time']))")
    tiny = case_to_json(case_with(100, t_final=0.5))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        return [json.loads(subprocess.run([sys.executable, "-c", code, tiny], env=env,
                                          check=True, capture_output=True, text=True).stdout)
                for _ in range(2)]


def baseline(cells, t_final):
    """scipy solve_ivp (RK45) on the plain-numpy semi-discretisation; returns (risk, seconds,
    nfev)."""
    case = case_with(cells, t_final)
    grid, _, run = build_run(case)
    pot, shape = run.potential, run.p.shape
    spacing, kind = run.spacing, run.reconstruction

    def rhs(t, y):
        return rhs_numpy(y.reshape(shape), pot.base, pot.features, grid.cell_volume, spacing,
                         kind, 1.0)[0].ravel()

    start = time.perf_counter()
    sol = solve_ivp(rhs, (0.0, t_final), run.p.ravel(), method="RK45", rtol=1e-6, atol=1e-9,
                    t_eval=case["pde"]["snapshot_times"])
    seconds = time.perf_counter() - start
    risk = np.array([pot.risk(y.reshape(grid.shape)) for y in sol.y.T])
    return risk, seconds, sol.nfev


def best_of(case, repeats=3):
    """(solution, fastest set-up + run seconds) of ``repeats`` solves."""
    best, sol = np.inf, None
    for _ in range(repeats):
        sol = ddsolver.solve(case, progress=False)
        best = min(best, sol.attrs["setup_time"] + sol.attrs["run_time"])
    return sol, best


def lagrangian_table(particle_counts, fv_runs, fv_reference):
    """Section 4 of the module docstring."""
    ref = ddsolver.solve(case_with(3200, scheme="lagrangian", particles=16000, rtol=1e-9),
                         progress=False)
    print(f"\nLagrangian reference (16 000 particles, rtol 1e-9): {ref.attrs['run_time']:.1f} s; "
          f"max |risk gap| to the finest finite-volume grid "
          f"{np.max(np.abs(ref.risk - fv_reference)):.1e}")
    print("9.1 to t = 200, error against the Lagrangian reference; time = set-up + run, best of 3")
    print(f"{'method':>34} {'n':>6} {'wall s':>8} {'steps':>7} {'rejected':>9} "
          f"{'max |risk err|':>15}")
    for cells, (sol, seconds) in fv_runs.items():
        print(f"{'finite volumes (ssprk3)':>34} {cells:>6} {seconds:8.2f} "
              f"{sol.diagnostics['steps'][-1]:7d} {sol.diagnostics['rejected_steps'][-1]:9d} "
              f"{np.max(np.abs(sol.risk - ref.risk)):15.2e}")
    for n in particle_counts:
        sol, seconds = best_of(case_with(3200, scheme="lagrangian", particles=n))
        print(f"{'Lagrangian (compiled dopri5)':>34} {n:>6} {seconds:8.2f} "
              f"{sol.diagnostics['steps'][-1]:7d} {sol.diagnostics['rejected_steps'][-1]:9d} "
              f"{np.max(np.abs(sol.risk - ref.risk)):15.2e}")
    n, horizon = 1500, 10.0
    compiled, fast = best_of(case_with(3200, horizon, scheme="lagrangian", particles=n))
    twin, slow = best_of(case_with(3200, horizon, scheme="lagrangian", particles=n,
                                   integrator="dop853"), repeats=1)
    print(f"\nt in [0, {horizon:g}], {n} particles, rtol 1e-5: scipy DOP853 twin {slow:.2f} s "
          f"({twin.diagnostics['steps'][-1]} steps), compiled {fast:.3f} s "
          f"({compiled.diagnostics['steps'][-1]} steps): {slow / fast:.0f}x; "
          f"max |risk gap| {np.max(np.abs(twin.risk - compiled.risk)):.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    grids = [400, 800, 1600] if args.quick else [800, 1200, 1600, 2400, 3200, 6400]
    baseline_grids = [400] if args.quick else [800, 1600]
    baseline_t = 50.0 if args.quick else 200.0

    cold, warm = compile_times()
    print(f"numba compile: {cold:.2f} s in a fresh process with an empty cache, "
          f"{warm:.2f} s with the cache warm\n")

    runs = {}
    for cells in grids:
        sol = ddsolver.solve(case_with(cells, scheme="fv"))
        runs[cells] = sol
    reference = runs[grids[-1]].risk
    print(f"finite volumes, t in [0, 200], error against {grids[-1]} cells")
    print(f"{'cells':>6} {'wall s':>8} {'steps':>8} {'rejected':>9} {'max |risk err|':>15}")
    for cells, sol in runs.items():
        err = np.max(np.abs(sol.risk - reference))
        print(f"{cells:>6} {sol.attrs['run_time']:8.2f} {sol.diagnostics['steps'][-1]:8d} "
              f"{sol.diagnostics['rejected_steps'][-1]:9d} {err:15.2e}")

    print(f"\nscipy baseline (solve_ivp RK45, plain numpy, same grid), t in [0, {baseline_t:g}]")
    print(f"{'cells':>6} {'ddsolver s':>11} {'scipy s':>9} {'speed-up':>9} {'rhs evals':>10} "
          f"{'|gap| between the two':>22} {'spatial err':>12}")
    for cells in baseline_grids:
        ours = ddsolver.solve(case_with(cells, baseline_t, scheme="fv"))
        risk, seconds, nfev = baseline(cells, baseline_t)
        gap = np.max(np.abs(risk - ours.risk))
        spatial = np.max(np.abs(ours.risk - reference[: ours.risk.size]))
        print(f"{cells:>6} {ours.attrs['run_time']:11.2f} {seconds:9.2f} "
              f"{seconds / ours.attrs['run_time']:9.1f} {nfev:10d} {gap:22.2e} {spatial:12.2e}")

    default = 3200 if 3200 in runs else grids[-1]
    fv = {default: (runs[default], runs[default].attrs["setup_time"]
                    + runs[default].attrs["run_time"])}
    lagrangian_table([500, 1000] if args.quick else [1000, 1500, 3000], fv, reference)


if __name__ == "__main__":
    main()
