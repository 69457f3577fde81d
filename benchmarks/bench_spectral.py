"""Benchmark: accuracy per cost of the spectral (Chebyshev + ETDRK4) and finite-volume
(SSPRK3) solvers on a smooth noisy problem, in one run.

Problem: the noisy 9.1-type case (Δ = 0.8, piecewise-linear σ, d = 40, κ = 0.8) with β = 100,
λ = 0.05, r ∈ [0, 6], to t = 2. Reference: the spectral solve with 160 points at tol 1e-12.
For each solver and resolution the table gives the unknowns (collocation points or cells), the
wall time of the solve and the largest |risk error| over the snapshots t = 0, 0.25, …, 2.
The finite-volume rows give the observed order; the unknowns and time it would need for a risk
error of 1e-8 are extrapolated from the two finest rows (time ∝ cells² at a fixed CFL number).

Usage: python benchmarks/bench_spectral.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np

import ddsolver
from ddsolver.errors import NumericalError

TARGET = 1e-8


def case(scheme, cells, tol):
    return {
        "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"unit": "w", "activation": "piecewise_linear",
                    "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
        "training": {"t_final": 2.0, "beta": 100.0, "lambda": 0.05},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"scheme": scheme, "tol": tol, "threads": 1,
                "grid": {"r": {"min": 0.0, "max": 6.0, "cells": cells}},
                "snapshot_times": list(np.linspace(0.0, 2.0, 9))},
    }


def timed(scheme, cells, tol):
    start = time.perf_counter()
    sol = ddsolver.solve(case(scheme, cells, tol), progress=False)
    return sol, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer resolutions")
    args = parser.parse_args()
    logging.getLogger("ddsolver").setLevel(logging.ERROR)   # coarse rows warn of negative p
    timed("fv", 200, 1e-6)                                 # load the compiled kernels
    reference, ref_time = timed("spectral", 160, 1e-12)
    check, _ = timed("spectral", 144, 1e-12)
    print(f"reference: spectral, 160 points, tol 1e-12: {ref_time:.2f} s, final risk "
          f"{reference.risk[-1]:.12f} (144 points differ by "
          f"{np.abs(check.risk - reference.risk).max():.1e})\n")
    spectral = (32, 64, 96) if args.quick else (32, 48, 64, 80, 96, 112, 128)
    fv = (200, 400) if args.quick else (200, 400, 800, 1600)
    rows = []
    print(f"{'solver':<10}{'unknowns':>10}{'time (s)':>11}{'risk error':>13}{'steps':>9}")
    for scheme, sizes, tol in (("spectral", spectral, 1e-10), ("fv", fv, 1e-9)):
        for n in sizes:
            try:
                sol, seconds = timed(scheme, n, tol)
            except NumericalError as exc:                       # too few points: it stops
                print(f"{scheme:<10}{n:>10}   stopped: {str(exc).split(';')[0]}")
                continue
            error = float(np.abs(sol.risk - reference.risk).max())
            rows.append((scheme, n, seconds, error))
            print(f"{scheme:<10}{n:>10}{seconds:>11.3f}{error:>13.2e}"
                  f"{int(sol.diagnostics['steps'][-1]):>9}")
    print()
    hit = [r for r in rows if r[0] == "spectral" and r[3] <= TARGET]
    if hit:
        print(f"spectral reaches {TARGET:.0e} with {hit[0][1]} points in {hit[0][2]:.2f} s")
    (_, n1, _, e1), (_, n2, t2, e2) = [r for r in rows if r[0] == "fv"][-2:]
    order = math.log(e1 / e2) / math.log(n2 / n1)
    cells = n2 * (e2 / TARGET) ** (1 / order)
    seconds = t2 * (cells / n2) ** 2
    print(f"finite volumes: observed order {order:.2f}; {TARGET:.0e} would need about "
          f"{cells:.2e} cells and {seconds:.1e} s (extrapolated, time ∝ cells²)")


if __name__ == "__main__":
    main()
