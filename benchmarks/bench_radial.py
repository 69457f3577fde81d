"""Benchmark: MMN example 9.1 (Δ = 0.8, d = 40, piecewise-linear σ) to t = 200.

Prints, in one run:
1. numba compile time in a fresh process with an empty cache, then with the cache warm;
2. the finite-volume solve at several grid sizes: wall time, steps, rejected steps and the
   largest risk error over 401 times in [0, 200] against the finest grid;
3. the scipy baseline: ``solve_ivp`` (RK45) on the same semi-discretisation written in plain
   numpy (the twins of the compiled kernels), on the same grids, so both have the same spatial
   error; the table gives the speed-up and the gap between the two curves.

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


def case_with(cells, t_final=200.0):
    """The example case with ``cells`` radial cells, stopped at ``t_final`` (the [sgd] and
    [validate] times follow it)."""
    case = read_case(CASE)
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
        sol = ddsolver.solve(case_with(cells))
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
        ours = ddsolver.solve(case_with(cells, baseline_t))
        risk, seconds, nfev = baseline(cells, baseline_t)
        gap = np.max(np.abs(risk - ours.risk))
        spatial = np.max(np.abs(ours.risk - reference[: ours.risk.size]))
        print(f"{cells:>6} {ours.attrs['run_time']:11.2f} {seconds:9.2f} "
              f"{seconds / ours.attrs['run_time']:9.1f} {nfev:10d} {gap:22.2e} {spatial:12.2e}")


if __name__ == "__main__":
    main()
