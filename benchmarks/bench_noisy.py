"""Benchmark: the noisy 9.1-type case (Δ = 0.8, piecewise-linear σ, d = 40, κ = 0.8, grid [0, 8])
with every finite-volume integrator, in two regimes, and a scipy baseline:

- ``mild``: β = 400, λ = 0.05, 400 cells, t ≤ 200 (cell Péclet number βh/2 = 4);
- ``strong``: strong diffusion, β = 80 (β/d = 2), λ = 0.1, 800 cells, t ≤ 20 (βh/2 = 0.4).

Prints, in one run:
1. per case a reference: ssprk3 at pde.tol = 1e-12 on the same grid (its error is below 1e-9 in
   risk), and what ``auto`` resolves to (FiniteVolumes.integrator);
2. one table: for each case, integrator (ssprk3, semi_implicit, mprk22, auto) and several
   ``pde.tol``: wall time, accepted/rejected steps and the largest |risk error| and L1 density
   error over the snapshots against the reference, so the integrators can be compared at equal
   accuracy (read off the rows with similar errors);
3. on the mild case the scipy baseline: ``solve_ivp`` with method BDF (implicit, the problem is
   stiff: the SG operator has eigenvalues ~ D/h²) given as Jacobian the sparse frozen-potential
   SG matrix ``sg_matrix(Φ(p))`` (exact except the rank-K nonlocal coupling, which Newton's
   iteration absorbs), and RK45 (explicit) on a shorter horizon, both on the same
   semi-discretisation written in plain numpy (the twins of the compiled kernels:
   ``lowrank_potential_numpy`` and ``sg_rhs_numpy``), rtol 1e-8, atol 1e-10.

Usage: python benchmarks/bench_noisy.py [--quick] [--case mild|strong|both] [--no-scipy]
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
from ddsolver.scheme.fv import FiniteVolumes
from ddsolver.solve import build_run

CASES = {"mild": {"beta": 400.0, "lam": 0.05, "cells": 400, "t_final": 200.0},
         "strong": {"beta": 80.0, "lam": 0.1, "cells": 800, "t_final": 20.0}}
TOLS = {"ssprk3": [1e-7, 1e-8], "semi_implicit": [1e-5, 1e-6, 1e-7],
        "mprk22": [1e-6, 1e-7, 1e-8, 1e-9], "auto": [1e-7]}


def noisy_case(cells, t_final, integrator="auto", tol=1e-7, snapshots=201, beta=400.0, lam=0.05):
    return {
        "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"unit": "w", "activation": "piecewise_linear",
                    "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
        "training": {"t_final": t_final, "beta": beta, "lambda": lam},
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
    beta = pot.beta
    diffusion = 2.0 / beta

    def rhs(t, y):
        _, phi = lowrank_potential_numpy(y, pot.base, pot.features, grid.cell_volume)
        return sg_rhs_numpy(y.reshape(shape), phi.reshape(shape), spacing, diffusion,
                            beta)[0].ravel()

    def jac(t, y):
        _, phi = lowrank_potential_numpy(y, pot.base, pot.features, grid.cell_volume)
        return sg_matrix(phi.reshape(shape), spacing, diffusion, beta).tocsc()

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
    parser.add_argument("--quick", action="store_true",
                        help="mild case to t = 50, one tol per integrator (plus auto)")
    parser.add_argument("--case", choices=["mild", "strong", "both"], default="both")
    parser.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    args = parser.parse_args()
    names = list(CASES) if args.case == "both" else [args.case]
    cases = {name: dict(CASES[name]) for name in names}
    if args.quick and "mild" in cases:
        cases["mild"]["t_final"] = 50.0
    tols = {name: tols[-2:] if args.quick else tols for name, tols in TOLS.items()}

    def case_of(spec, integrator, tol, **options):
        options = {"snapshots": 201, **options}
        return noisy_case(spec["cells"], options.pop("t_final", spec["t_final"]), integrator,
                          tol, beta=spec["beta"], lam=spec["lam"], **options)

    ddsolver.solve(noisy_case(400, 1.0, "ssprk3"))                 # compile / load the cache
    ddsolver.solve(noisy_case(400, 1.0, "mprk22"))
    refs = {}
    for name, spec in cases.items():
        refs[name] = ref = ddsolver.solve(case_of(spec, "ssprk3", 1e-12))
        cells, beta = spec["cells"], spec["beta"]
        auto = FiniteVolumes.integrator(as_case(case_of(spec, "auto", 1e-7)))
        print(f"{name}: beta = {beta:g}, lambda = {spec['lam']:g}, d = 40, {cells} cells on "
              f"[0, 8] (beta h / 2 = {beta * 8 / cells / 2:g}, auto -> {auto}), t in "
              f"[0, {spec['t_final']:g}], {ref.t.size} snapshots; reference ssprk3 tol 1e-12: "
              f"{ref.attrs['run_time']:.1f} s, {ref.diagnostics['steps'][-1]} steps, "
              f"risk(t_final) = {ref.risk[-1]:.8f}")
    if "mild" in cases:
        gibbs = ddsolver.stationary(case_of(cases["mild"], "auto", 1e-7))
        print(f"mild: stationary (Gibbs) risk = {gibbs.risk[0]:.8f} "
              f"({gibbs.attrs.get('iterations')} Newton iterations, "
              f"{gibbs.attrs.get('run_time', 0):.3f} s)")

    print(f"\n{'case':<7} {'integrator':<14} {'tol':>7} {'wall s':>8} {'steps':>8} "
          f"{'rejected':>9} {'max |risk err|':>15} {'max L1 err':>11}")
    for name, spec in cases.items():
        for integrator, integrator_tols in tols.items():
            for tol in integrator_tols:
                sol = ddsolver.solve(case_of(spec, integrator, tol))
                risk_err, l1_err = errors(sol, refs[name])
                label = (integrator if integrator != "auto"
                         else f"auto={sol.attrs['integrator']}")
                print(f"{name:<7} {label:<14} {tol:7.0e} {sol.attrs['run_time']:8.2f} "
                      f"{sol.diagnostics['steps'][-1]:8d} "
                      f"{sol.diagnostics['rejected_steps'][-1]:9d} "
                      f"{risk_err:15.2e} {l1_err:11.2e}", flush=True)

    if args.no_scipy or "mild" not in cases:
        return
    spec, ref = cases["mild"], refs["mild"]
    t_final = spec["t_final"]
    for method, horizon in [("BDF", t_final), ("RK45", min(t_final, 10.0))]:
        snapshots = round(horizon / t_final * 200) + 1
        risk, seconds, nfev, njev, min_p = scipy_baseline(
            case_of(spec, "auto", 1e-7, t_final=horizon, snapshots=snapshots), method)
        reference = ref.risk[: risk.size]
        ours = ddsolver.solve(case_of(spec, "ssprk3", 1e-8, t_final=horizon,
                                      snapshots=risk.size))
        print(f"scipy solve_ivp {method:<5} (numpy twins, rtol 1e-8, atol 1e-10), t in "
              f"[0, {horizon:g}]: {seconds:8.2f} s, {nfev} rhs evaluations, {njev} Jacobians, "
              f"min density {min_p:.1e} (no positivity guarantee); "
              f"max |risk err| {np.max(np.abs(risk - reference)):.2e}; "
              f"ssprk3 tol 1e-8 on the same horizon {ours.attrs['run_time']:.2f} s "
              f"(err {np.max(np.abs(ours.risk - reference)):.2e})", flush=True)


if __name__ == "__main__":
    main()
