"""Write ``solution_v1.h5``, the format-version-1 fixture of tests/storage/test_hdf5.py.

Kept to show how the fixture was made. Do not rerun it to "fix" a failing test: the fixture
stands for files users already have. A new format version gets a new fixture next to it.
"""

from pathlib import Path

import numpy as np

from ddsolver import normalize_case
from ddsolver.grid import CartesianGrid
from ddsolver.storage import SolutionWriter

CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"activation": "relu"},
        "training": {"t_final": 4},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"grid": {"r": {"min": 0, "max": 8, "cells": 40}},
                "snapshot_times": [0, 0.25, 0.5, 1, 2, 4]}}


def main(path=Path(__file__).with_name("solution_v1.h5")):
    case = normalize_case(CASE)
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    r = grid.axes[0].centres
    with SolutionWriter(path, grid, case, attrs={"scheme": "fv", "limiter": "mc"}) as w:
        for k, t in enumerate(case["pde"]["snapshot_times"]):
            # a bump that splits: part of the mass moves out, part collapses towards 0
            density = (np.exp(-(r - 0.8 - 0.9 * t) ** 2 / 0.1) * 0.6
                       + np.exp(-(r - 0.8 / (1 + t)) ** 2 / 0.05) * 0.4)
            density /= density.sum() * grid.cell_volume
            w.append(t, 0.1 + 1.6 * np.exp(-t), density, mass=1.0, min_density=density.min(),
                     steps=25 * k, rejected_steps=k // 2, wall_time=0.01 * k)
        w.close(status="complete", run_time=0.06, compile_time=0.5)


if __name__ == "__main__":
    main()
