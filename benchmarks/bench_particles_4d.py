"""Benchmark: particle convergence of the Lagrangian scheme in 4-D, units a ReLU(⟨w, x⟩ + b) on
anisotropic Gaussians, coordinates (a, b, r1, r2) (validation/quick/awb_anisotropic.toml: d = 40,
s₀ = 10, finite-d kernel, to t = 2).

For n = 2^m particles it prints the largest risk gap max_t |R_n(t) − R_ref(t)| over 21 times in
[0, 2] against a reference of 32 768 scrambled-Sobol' particles, for the quasi-Monte Carlo
particles of the scheme (``InitialLaw.particles``: scrambled Sobol', seed 0) and for plain Monte
Carlo particles (independent draws of the same product law, root mean square over 4 seeds),
with the slopes of log gap against log n, and the wall time of one QMC run (set-up + run, numba
cache warm; on a shared 2-core machine, so upper bounds). The kernel table's cells per width
and memory (``LagrangianRun.table_cells``) are printed too.

Usage: python benchmarks/bench_particles_4d.py [--quick]   (--quick: n ≤ 2048, reference 8192)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ddsolver.case import normalize_case, read_case
from ddsolver.model import model_of
from ddsolver.problem.initial import InitialLaw, ScalarLaw
from ddsolver.problem.schedule import Schedule
from ddsolver.solve import build_run
from ddsolver.stepper.lagrangian import CompiledLagrangianRun

CASE = Path(__file__).resolve().parents[1] / "validation" / "quick" / "awb_anisotropic.toml"
TIMES = np.linspace(0.0, 2.0, 21)


def case_with(particles: int) -> dict:
    raw = read_case(CASE)
    raw["pde"]["particles"] = particles
    return normalize_case(raw, base_dir=CASE.parent)


def risks(run) -> np.ndarray:
    out = []
    for t in TIMES:
        run.advance(t)
        out.append(run.risk())
    return np.array(out)


def qmc_run(particles: int):
    grid, reduction, run = build_run(case_with(particles))
    return run


def mc_run(particles: int, seed: int):
    """The same run from independent draws of the initial law (a, b: their scalar laws; r1, r2:
    the block norms of w ~ N(0, κ²/d I))."""
    case = case_with(particles)
    grid, reduction, qmc = build_run(case)
    law, rng = InitialLaw.from_case(case), np.random.default_rng(seed)
    u = rng.random((particles, grid.ndim))
    columns = [ScalarLaw(case["init"][name]).quantile(u[:, k]) if name in ("a", "b")
               else law.axis_law(name).ppf(u[:, k]) for k, name in enumerate(grid.names)]
    pde = case["pde"]
    return CompiledLagrangianRun(reduction, np.column_stack(columns),
                                 np.full(particles, 1.0 / particles),
                                 Schedule.from_dict(case["training"]["schedule"]), grid,
                                 rtol=pde["rtol"], radial=model_of(case).radial,
                                 kernel_tol=pde["kernel_tol"], on_boundary=pde["on_boundary"])


def slopes(counts, gaps):
    return np.diff(np.log(gaps)) / np.diff(np.log(counts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    counts = [256, 512, 1024, 2048] if args.quick else [256, 512, 1024, 2048, 4096, 8192]
    reference_count = 8192 if args.quick else 32768
    reference = qmc_run(reference_count)
    reference.warm_up()
    print(f"kernel table: {reference.cells} cells per grid width, nodes "
          f"{' x '.join(str(x.size) for x in reference.nodes)}, "
          f"{reference.table_bytes(reference.cells) / 2**20:.0f} MiB peak, kernel rank "
          f"{reference.inner.rank} -> {reference.kernel_rank}")
    start = time.perf_counter()
    ref = risks(reference)
    print(f"reference: {reference_count} QMC particles, {time.perf_counter() - start:.1f} s, "
          f"R(2) = {ref[-1]:.6f}")
    qmc_gaps, mc_gaps, seconds = [], [], []
    for n in counts:
        start = time.perf_counter()
        qmc_gaps.append(np.abs(risks(qmc_run(n)) - ref).max())
        seconds.append(time.perf_counter() - start)
        mc_gaps.append(np.sqrt(np.mean([np.abs(risks(mc_run(n, seed)) - ref).max() ** 2
                                        for seed in range(4)])))
    print("\n| particles | QMC max risk gap | MC max risk gap (rms of 4 seeds) | QMC time |")
    print("|---|---|---|---|")
    for n, q, m, s in zip(counts, qmc_gaps, mc_gaps, seconds):
        print(f"| {n} | {q:.2e} | {m:.2e} | {s:.2f} s |")
    print(f"\nslopes (log gap / log n): QMC {np.round(slopes(counts, qmc_gaps), 2).tolist()}, "
          f"MC {np.round(slopes(counts, mc_gaps), 2).tolist()}")
    fit = lambda gaps: np.polyfit(np.log(counts), np.log(gaps), 1)[0]
    print(f"least-squares slope: QMC {fit(qmc_gaps):.2f}, MC {fit(mc_gaps):.2f} (N^-1/2: -0.5)")


if __name__ == "__main__":
    main()
