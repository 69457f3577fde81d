"""Particle-count convergence of the Lagrangian scheme on 2 and 3 coordinates.

For the (a, r) ReLU units of validation/aw_relu.toml and the (a, b, r) units of
validation/awb_relu.toml, both to t = T_FINAL: the risk error at T_FINAL of n = 2^8 … 2^14
scrambled-Sobol' particles against a reference run with REFERENCE particles and against a fine
finite-volume solve (a second, independent method, whose own error is O(h²)), the rate fitted to
the errors against the reference (Monte Carlo particles would give n^(-1/2)), and the run times
(numba warm; set-up, then run; best of REPEAT).

    python benchmarks/bench_particles.py [--quick]
"""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import numpy as np

import ddsolver

ROOT = Path(__file__).resolve().parents[1]
T_FINAL = 1.0
COUNTS = [2**k for k in range(8, 15)]
REFERENCE = 2**17
REPEAT = 2
CASES = {"aw (a, r)": ("validation/aw_relu.toml", {"a": 160, "r": 160}),
         "awb (a, b, r)": ("validation/awb_relu.toml", {"a": 68, "b": 52, "r": 50})}


def raw_case(path):
    with open(ROOT / path, "rb") as f:
        return tomllib.load(f)


def case_of(path, **pde):
    """The case file at T_FINAL with two snapshots and the ``pde`` keys given."""
    raw = raw_case(path)
    raw["training"]["t_final"] = T_FINAL
    raw["pde"] = {**raw["pde"], "snapshot_times": [0.0, T_FINAL], **pde}
    return raw


def timed(raw):
    """(risk at T_FINAL, seconds) of the best of REPEAT solves."""
    best, risk = np.inf, None
    for _ in range(REPEAT):
        start = time.perf_counter()
        sol = ddsolver.solve(raw, progress=False)
        best = min(best, time.perf_counter() - start - sol.attrs["compile_time"])
        risk = sol.risk[-1]
    return risk, best


def main(quick=False):
    counts = COUNTS[:4] if quick else COUNTS
    for label, (path, cells) in CASES.items():
        grid = {k: {**v, "cells": cells[k]} for k, v in raw_case(path)["pde"]["grid"].items()}
        reference, ref_time = timed(case_of(path, scheme="lagrangian", particles=REFERENCE,
                                            rtol=1e-9))
        fv, fv_time = timed(case_of(path, scheme="fv", grid=grid))
        print(f"\n{label}, t = {T_FINAL:g}: reference {REFERENCE} particles R = {reference:.10f} "
              f"({ref_time:.2f} s); finite volumes {cells} R = {fv:.10f} ({fv_time:.1f} s), "
              f"gap {abs(fv - reference):.2e}")
        print("| particles | risk error vs reference | vs finite volumes | time (s) |")
        print("|---|---|---|---|")
        errors = []
        for n in counts:
            risk, seconds = timed(case_of(path, scheme="lagrangian", particles=n, rtol=1e-9))
            errors.append(abs(risk - reference))
            print(f"| {n} | {errors[-1]:.2e} | {abs(risk - fv):.2e} | {seconds:.3f} |")
        slope = np.polyfit(np.log(counts), np.log(errors), 1)[0]
        print(f"fitted rate: error ∝ n^{slope:.2f}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
