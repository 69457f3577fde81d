"""Benchmark: the noisy 9.1-type case (Δ = 0.8, piecewise-linear σ, d = 40, β = 400, λ = 0.05,
κ = 0.8, grid [0, 8]) to a long time with both integrators, and a scipy baseline.

Prints, in one run:
1. a reference: ssprk3 at pde.tol = 1e-12 on the same grid (its error is below 1e-9 in risk);
2. for each integrator and several ``pde.tol``: wall time, accepted/rejected steps and the
   largest |risk error| and L1 density error over the snapshots against the reference, so the
   two can be compared at equal accuracy (read off the rows with similar errors);
3. the scipy baseline: ``solve_ivp`` with method BDF (implicit, the problem is stiff: the SG
   operator has eigenvalues ~ D/h²) given as Jacobian the sparse frozen-potential SG matrix
   ``sg_matrix(Φ(p))`` (exact except the rank-K nonlocal coupling, which Newton's iteration
   absorbs), and RK45 (explicit) on a shorter horizon, both on the same semi-discretisation
   written in plain numpy (the twins of the compiled kernels: ``lowrank_potential_numpy`` and
   ``sg_rhs_numpy``), rtol 1e-8, atol 1e-10.

Usage: python benchmarks/bench_noisy.py [--quick] [--cells N] [--t-final T]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

import ddsolver
from ddsolver.case import as_case
from ddsolver.operator.lowrank import lowrank_potential_numpy
from ddsolver.operator.noise import sg_matrix, sg_rhs_numpy
from ddsolver.solve import build_run

BETA, LAM = 400.0, 0.05


def noisy_case(cells, t_final, integrator="auto", tol=1e-7, snapshots=201):
    return {
        "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"unit": "w", "activation": "piecewise_linear",
                    "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
        "training": {"t_final": t_final, "beta": BETA, "lambda": LAM},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"grid": {"r": {"min": 0.0, "max": 8.0, "cells": cells}},
                "integrator": integrator, "tol": tol,
                "snapshot_times": np.linspace(0.0, t_final, snapshots)},
    }


def errors(sol, ref):
    risk = float(np.max(np.abs(sol.risk - ref.risk)))
    l1 = float(np.max(np.abs(sol.density - ref.density).sum(axis=1)) * sol.grid.cell_volume)
    return risk, l1


def scipy_baseline(case, method):
    """solve_ivp on dp/dt = SG(p; Φ(p)) in plain numpy; returns (risk, seconds, nfev, njev)."""
    case = as_case(case)
    grid, _, run = build_run(case)
    pot, shape, spacing = run.potential, run.p.shape, run.spacing
    diffusion = 2.0 / BETA

    def rhs(t, y):
        _, phi = lowrank_potential_numpy(y, pot.base, pot.features, grid.cell_volume)
        return sg_rhs_numpy(y.reshape(shape), phi.reshape(shape), spacing, diffusion,
                            BETA)[0].ravel()

    def jac(t, y):
        _, phi = lowrank_potential_numpy(y, pot.base, pot.features, grid.cell_volume)
        return sg_matrix(phi.reshape(shape), spacing, diffusion, BETA).tocsc()

    times = case["pde"]["snapshot_times"]
    kwargs = {"rtol": 1e-8, "atol": 1e-10}
    if method == "BDF":
        kwargs["jac"] = jac
    start = time.perf_counter()
    sol = solve_ivp(rhs, (0.0, times[-1]), run.p.ravel(), method=method, t_eval=times, **kwargs)
    seconds = time.perf_counter() - start
    if not sol.success:
        raise RuntimeError(sol.message)
    risk = np.array([pot.risk(y.reshape(grid.shape)) for y in sol.y.T])
    return risk, seconds, sol.nfev, getattr(sol, "njev", 0), float(sol.y.min())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="t = 50, fewer tolerances")
    parser.add_argument("--cells", type=int, default=400)
    parser.add_argument("--t-final", type=float, default=None)
    args = parser.parse_args()
    t_final = args.t_final or (50.0 if args.quick else 200.0)
    cells = args.cells
    settings = {"ssprk3": [1e-6, 1e-8] if args.quick else [1e-5, 1e-6, 1e-7, 1e-8],
                "semi_implicit": [1e-6, 1e-8] if args.quick else [1e-5, 1e-6, 1e-7, 1e-8]}

    ddsolver.solve(noisy_case(cells, 1.0, "ssprk3"))                 # compile / load the cache
    ref = ddsolver.solve(noisy_case(cells, t_final, "ssprk3", 1e-12))
    gibbs = ddsolver.stationary(noisy_case(cells, t_final))
    print(f"noisy 9.1-type case: beta = {BETA:g}, lambda = {LAM:g}, d = 40, {cells} cells on "
          f"[0, 8], t in [0, {t_final:g}], {ref.t.size} snapshots")
    print(f"reference: ssprk3 tol 1e-12, {ref.attrs['run_time']:.1f} s, "
          f"{ref.diagnostics['steps'][-1]} steps; risk(t_final) = {ref.risk[-1]:.8f}; "
          f"stationary (Gibbs) risk = {gibbs.risk[0]:.8f} "
          f"({gibbs.attrs.get('iterations')} Newton iterations, "
          f"{gibbs.attrs.get('run_time', 0):.3f} s)\n")

    print(f"{'integrator':<15} {'tol':>7} {'wall s':>8} {'steps':>8} {'rejected':>9} "
          f"{'max |risk err|':>15} {'max L1 err':>11}")
    for integrator, tols in settings.items():
        for tol in tols:
            sol = ddsolver.solve(noisy_case(cells, t_final, integrator, tol))
            risk_err, l1_err = errors(sol, ref)
            print(f"{integrator:<15} {tol:7.0e} {sol.attrs['run_time']:8.2f} "
                  f"{sol.diagnostics['steps'][-1]:8d} {sol.diagnostics['rejected_steps'][-1]:9d} "
                  f"{risk_err:15.2e} {l1_err:11.2e}", flush=True)

    baselines = [("BDF", t_final), ("RK45", min(t_final, 10.0))]
    for method, horizon in baselines:
        case = noisy_case(cells, horizon, snapshots=round(horizon / t_final * 200) + 1)
        risk, seconds, nfev, njev, min_p = scipy_baseline(case, method)
        reference = ref.risk[: risk.size]
        ours = ddsolver.solve(noisy_case(cells, horizon, "ssprk3", 1e-8,
                                         snapshots=risk.size))
        print(f"scipy solve_ivp {method:<5} (numpy twins, rtol 1e-8, atol 1e-10), t in "
              f"[0, {horizon:g}]: {seconds:8.2f} s, {nfev} rhs evaluations, {njev} Jacobians, "
              f"min density {min_p:.1e} (no positivity guarantee); "
              f"max |risk err| {np.max(np.abs(risk - reference)):.2e}; "
              f"ssprk3 tol 1e-8 on the same horizon {ours.attrs['run_time']:.2f} s "
              f"(err {np.max(np.abs(ours.risk - reference)):.2e})", flush=True)


if __name__ == "__main__":
    main()
