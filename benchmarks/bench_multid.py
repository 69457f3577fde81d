"""Benchmark: the multi-dimensional finite-volume right-hand side against cells × rank, threads.

Prints, in one run:
1. the time of one evaluation of the full right-hand side L(p) (``evaluate_rhs``: low-rank
   potential ψ̄ = base + Fᵀ(F p)|cell| plus upwind transport, and the noisy Scharfetter–Gummel
   variant) on 2-D grids 32² … 256² (512² without --quick) and 3-D grids 16³ … 64³, ranks 4, 16,
   64, with 1 and 2 numba threads; the plain-numpy twin (``rhs_numpy``) at the same sizes and the
   speed-up over it; the memory held per cell;
2. the slope of log(time) against log(cells × rank) per dimension, variant and thread count
   (≈ 1: the cost is linear in cells × rank), the slope against log(cells) at each rank, and a
   fit time ≈ a·cells + b·cells·rank (transport cost per cell, potential cost per cell·rank);
3. the thread crossover: transport right-hand side (rank 4) with 2 threads against 1, from 256
   cells up, for ``ddsolver.stepper.fv.PARALLEL_MIN_CELLS``.

The problem is synthetic, so the benchmark depends on no reduction: features are random smooth
Fourier modes cos(k·x + φ) (F of shape (rank, cells)), the density a Gaussian bump. Times are
the minimum over repeats (the machine may be shared). The potential's two matrix-vector products
go to BLAS, whose own thread pool competes with numba's: it is limited to one thread here
(OPENBLAS_NUM_THREADS = 1 unless set), so "threads" counts numba's threads only; the column
"potential" is the share of the 1-thread time spent in ``lowrank_potential``. Memory per cell:
bytes of the arrays held by the FiniteVolumeRun and its LowRankPotential plus the scratch arrays
``ssprk3_advance`` allocates (measured with tracemalloc on its Python function), divided by the
cells.

``time_case(path)`` times a whole case file end to end in fresh processes, one per thread count
(NUMBA_NUM_THREADS = 1, 2): set-up, compile/load, run time and the cost per step and cell. It is
meant for the 2-D (anisotropic) cases once that model is wired; any case file works.

Usage: python benchmarks/bench_multid.py [--quick] [--case PATH]
  (--quick: about a minute; --case: also time that case file end to end)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # before numpy loads BLAS

import numba
import numpy as np

from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential, lowrank_potential
from ddsolver.problem.schedule import Schedule
from ddsolver.reduction.base import Reduction
from ddsolver.stepper.fv import PARALLEL_MIN_CELLS, FiniteVolumeRun, numba_threads
from ddsolver.stepper.ssprk import evaluate_rhs, rhs_numpy, ssprk3_advance

BETA = 50.0          # noisy variant: D = 2ξ/β, drift β∇ψ
THREADS = [1, 2]


class FourierFeatures(Reduction):
    """Synthetic reduction: random smooth features f_k = cos(k·x + φ_k)/√rank, V = Σ x²/2."""

    scale, lam = 1.0, 0.0

    def __init__(self, ndim, rank, seed=0):
        rng = np.random.default_rng(seed)
        self.waves = rng.standard_normal((rank, ndim))
        self.phases = rng.uniform(0.0, 2 * np.pi, rank)

    def v(self, *x):
        return 0.5 * sum(c * c for c in x)

    def features(self, *x):
        return np.cos(self.waves @ np.stack(x) + self.phases[:, None]) / np.sqrt(len(self.phases))

    def log_jacobian(self, *x):
        return np.zeros_like(x[0])


def synthetic_run(shape, rank, beta=np.inf, threads=None):
    """FiniteVolumeRun on the box [−3, 3]^d with ``shape`` cells, a Gaussian bump as density."""
    grid = CartesianGrid.from_dict({name: {"min": -3.0, "max": 3.0, "cells": n}
                                    for name, n in zip("xyz", shape)})
    density = np.exp(-sum((c - 0.3) ** 2 for c in grid.mesh()))
    density /= grid.mass(density)
    potential = LowRankPotential(FourierFeatures(len(shape), rank), grid, beta=beta, nodes=1)
    return FiniteVolumeRun(potential, density, Schedule(), threads=threads)


def memory_per_cell(run) -> float:
    """Bytes per cell of the arrays held by ``run`` and its potential, plus the scratch arrays
    of one ``ssprk3_advance`` call (its Python function under tracemalloc, stopped at once)."""
    held = sum(value.nbytes for obj in (run, run.potential) for value in vars(obj).values()
               if isinstance(value, np.ndarray))
    pot = run.potential
    tracemalloc.start()
    ssprk3_advance.py_func(run.p.copy(), pot.base, pot.features, run.grid.cell_volume,
                           run.spacing, run.reconstruction, run.inv_beta, run.schedule.args(),
                           run.cfl, run.tol, 0.0, 1.0, run.dt, 0)
    scratch = tracemalloc.get_traced_memory()[1] - run.p.nbytes
    tracemalloc.stop()
    return (held + scratch) / run.grid.size


def best_time(fun, budget, min_calls=10):
    """Minimum seconds per call over repeats filling about ``budget`` seconds."""
    fun()
    best, spent, calls = np.inf, 0.0, 0
    while calls < min_calls or spent < budget:
        start = time.perf_counter()
        fun()
        elapsed = time.perf_counter() - start
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
    return best


def rhs_timers(run, noisy):
    """Zero-argument functions evaluating, once, the compiled L(p), its numpy twin and the
    compiled potential alone."""
    pot, p, inv_beta = run.potential, run.p, 1.0 / BETA if noisy else 0.0
    n0, n1, n2 = p.shape
    work = (np.empty_like(p), np.empty_like(p), np.empty(pot.features.shape[0]),
            np.empty((n0 + 1, n1, n2)), np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1)))
    out = np.empty_like(p)
    args = (p, pot.base, pot.features, run.grid.cell_volume, run.spacing, run.reconstruction,
            1.0, inv_beta)
    return (lambda: evaluate_rhs(*args, work, out), lambda: rhs_numpy(*args),
            lambda: lowrank_potential(p.reshape(-1), pot.base, pot.features,
                                      run.grid.cell_volume, work[2], work[0].reshape(-1)))


def measure(shapes, ranks, budget):
    """Rows (ndim, cells, rank, variant, {threads: s}, numpy s, bytes per cell, potential s)."""
    rows = []
    for shape in shapes:
        for rank in ranks:
            run = synthetic_run(shape, rank)
            memory = memory_per_cell(run)
            for variant in ("transport", "noisy SG"):
                compiled, plain, potential = rhs_timers(run, variant != "transport")
                times = {}
                for threads in THREADS:
                    with numba_threads(threads):
                        times[threads] = best_time(compiled, budget)
                rows.append((len(shape), run.grid.size, rank, variant, times,
                             best_time(plain, budget), memory, best_time(potential, budget)))
    return rows


def print_table(rows):
    print(f"{'grid':>9} {'rank':>5} {'variant':>10} {'1 thread ms':>12} {'2 threads ms':>13} "
          f"{'2 vs 1':>7} {'potential':>10} {'ns/(cell·rank)':>15} {'numpy ms':>9} "
          f"{'speed-up':>9} {'bytes/cell':>11}")
    for ndim, cells, rank, variant, times, plain, memory, potential in rows:
        side = round(cells ** (1 / ndim))
        fastest = min(times.values())
        print(f"{f'{side}^{ndim}':>9} {rank:>5} {variant:>10} {times[1] * 1e3:12.3f} "
              f"{times[2] * 1e3:13.3f} {times[1] / times[2]:7.2f} {potential / times[1]:10.0%} "
              f"{fastest / (cells * rank) * 1e9:15.2f} {plain * 1e3:9.2f} "
              f"{plain / fastest:9.1f} {memory:11.0f}")


def print_scaling(rows):
    """Log-log slopes, and the fit time ≈ a·cells + b·cells·rank (least squares in relative
    error): a is the cost of the transport per cell, b that of the potential per cell and rank."""
    print("\nscaling: slope of log(time) against log(cells × rank), and against log(cells) at "
          "fixed rank;\nfit time ≈ a·cells + b·cells·rank")
    ranks = sorted({r[2] for r in rows})
    print(f"{'dim':>4} {'variant':>10} {'threads':>7} {'slope':>6} "
          + " ".join(f"{f'r={rank}':>6}" for rank in ranks) + f" {'a ns':>6} {'b ns':>6}")
    for ndim in sorted({r[0] for r in rows}):
        for variant in ("transport", "noisy SG"):
            sel = [r for r in rows if r[0] == ndim and r[3] == variant]
            cells, rank = np.array([r[1] for r in sel], float), np.array([r[2] for r in sel])
            for label in [*THREADS, "numpy"]:
                t = np.array([r[5] if label == "numpy" else r[4][label] for r in sel])
                slope = np.polyfit(np.log(cells * rank), np.log(t), 1)[0]
                per_rank = [np.polyfit(np.log(cells[rank == k]), np.log(t[rank == k]), 1)[0]
                            for k in ranks]
                design = np.stack([cells, cells * rank], axis=1) / t[:, None]
                a, b = np.linalg.lstsq(design, np.ones_like(t), rcond=None)[0]
                print(f"{ndim:>3}D {variant:>10} {label:>7} {slope:6.2f} "
                      + " ".join(f"{x:6.2f}" for x in per_rank)
                      + f" {a * 1e9:6.1f} {b * 1e9:6.2f}")


def crossover(sides, budget):
    """Transport rhs (rank 4, 2-D) with 2 threads against 1 thread, by cells."""
    print(f"\nthread crossover (2-D transport rhs, rank 4); PARALLEL_MIN_CELLS = "
          f"{PARALLEL_MIN_CELLS}")
    print(f"{'cells':>7} {'1 thread us':>12} {'2 threads us':>13} {'2 vs 1':>7}")
    for side in sides:
        run = synthetic_run((side, side), 4)
        compiled = rhs_timers(run, noisy=False)[0]
        times = {}
        for threads in THREADS:
            with numba_threads(threads):
                times[threads] = best_time(compiled, budget)
        print(f"{side * side:>7} {times[1] * 1e6:12.1f} {times[2] * 1e6:13.1f} "
              f"{times[1] / times[2]:7.2f}")


def time_case(path, threads=THREADS):
    """End-to-end timing of the case file ``path`` (``ddsolver.solve``) in a fresh process per
    thread count, with NUMBA_NUM_THREADS = threads, after an untimed run that warms numba's
    cache. The solver's default picks one thread on 1-D and small grids (``kernel_threads``)."""
    code = ("import ddsolver, json, sys; sol = ddsolver.solve(sys.argv[1], progress=False); "
            "a = sol.attrs; print(json.dumps([a['setup_time'], a['compile_time'], "
            "a['run_time'], int(sol.diagnostics['steps'][-1]), sol.grid.size]))")
    print(f"\nend to end: {path}")
    print(f"{'threads':>7} {'set-up s':>9} {'compile s':>10} {'run s':>8} {'steps':>8} "
          f"{'ns/(step·cell)':>15}")
    for warm_up, count in [(True, threads[0])] + [(False, count) for count in threads]:
        env = dict(os.environ, NUMBA_NUM_THREADS=str(count))
        result = subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True,
                                capture_output=True, text=True)
        if warm_up:
            continue
        setup, compile_time, run_time, steps, cells = json.loads(result.stdout)
        print(f"{count:>7} {setup:9.2f} {compile_time:10.2f} {run_time:8.2f} {steps:8d} "
              f"{run_time / max(steps, 1) / cells * 1e9:15.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a minute")
    parser.add_argument("--case", help="also time this case file end to end")
    args = parser.parse_args()
    if max(THREADS) > numba.config.NUMBA_NUM_THREADS:
        sys.exit(f"needs NUMBA_NUM_THREADS >= {max(THREADS)}")
    if args.quick:
        shapes = [(32, 32), (64, 64), (128, 128), (256, 256), (16, 16, 16), (32, 32, 32)]
        ranks, budget, sides = [4, 16, 64], 0.05, [16, 32, 64, 128]
    else:
        shapes = [(32, 32), (64, 64), (128, 128), (256, 256), (512, 512),
                  (16, 16, 16), (24, 24, 24), (32, 32, 32), (48, 48, 48), (64, 64, 64)]
        ranks, budget, sides = [4, 16, 64], 0.3, [16, 24, 32, 48, 64, 96, 128, 256]
    load = os.getloadavg()[0]
    rows = measure(shapes, ranks, budget)
    print(f"numba {numba.__version__}, threading layer {numba.threading_layer()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average "
          f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} now (other processes make the "
          f"2-thread times unreliable)\n")
    print_table(rows)
    print_scaling(rows)
    crossover(sides, budget)
    if args.case:
        time_case(args.case)


if __name__ == "__main__":
    main()
