"""Compression of the low-rank kernel to its numerical rank on the grid (finite volumes).

For each case, the finite-volume solve with the reduction's features (rank = number of series
terms) against the same solve with the features compressed to the kernel's numerical rank at
``pde.kernel_tol`` (``ddsolver.operator.lowrank.compress_features``, what ``ddsolver.solve``
does): rank before and after, solve time (numba warm, excluding set-up), and the largest
differences in risk and in L1 of the density over the snapshots.

    python benchmarks/bench_compression.py [CASE.toml ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ddsolver.case import read_case
from ddsolver.grid import CartesianGrid
from ddsolver.model import model_of
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.scheme.fv import FiniteVolumes

ROOT = Path(__file__).resolve().parents[1]
CASES = ["validation/anisotropic_w.toml", "validation/aw_relu.toml", "validation/awb_relu.toml",
         "validation/noisy.toml", "examples/mmn_9_1.toml"]


def timed_solve(case: dict, tol):
    """(seconds, risks, densities, rank used, grid) of the finite-volume solve of ``case``."""
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    model = model_of(case)
    potential = LowRankPotential(model.reduction(case, grid), grid,
                                 beta=case["training"]["beta"], tol=tol)
    run = FiniteVolumes.run(case, model, potential)
    run.warm_up()
    start = time.perf_counter()
    risks, densities = [], []
    for t in case["pde"]["snapshot_times"]:
        run.advance(t)
        risks.append(run.risk())
        densities.append(run.density.copy())
    return time.perf_counter() - start, np.array(risks), np.array(densities), potential.rank, grid


def main(paths):
    print(f"{'case':<28} {'cells':>7} {'rank':>5} {'used':>5} {'full s':>8} {'compressed s':>13} "
          f"{'speed-up':>9} {'max |dR|':>9} {'max L1':>9}")
    for path in paths:
        case = read_case(ROOT / path if not Path(path).is_absolute() else path)
        full_time, full_risk, full_density, full_rank, grid = timed_solve(case, None)
        time_, risk, density, rank, _ = timed_solve(case, case["pde"]["kernel_tol"])
        l1 = np.abs(full_density - density).reshape(len(risk), -1).sum(axis=1) * grid.cell_volume
        print(f"{Path(path).stem:<28} {grid.size:>7} {full_rank:>5} {rank:>5} {full_time:>8.2f} "
              f"{time_:>13.2f} {full_time / time_:>9.1f} {np.abs(full_risk - risk).max():>9.1e} "
              f"{l1.max():>9.1e}")


if __name__ == "__main__":
    main(sys.argv[1:] or CASES)
