"""Write ``sgd_v1.h5``, the format-version-1 fixture of tests/storage/test_sgd.py.

Kept to show how the fixture was made. Do not rerun it to "fix" a failing test: the fixture
stands for files users already have. A new format version gets a new fixture next to it.
"""

from pathlib import Path

from ddsolver.sgd.run import simulate

CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 5},
        "network": {"activation": "relu"},
        "training": {"t_final": 0.5},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"grid": {"r": {"min": 0, "max": 8, "cells": 40}}},
        "sgd": {"neurons": 20, "eps": 1e-3, "seeds": [7],
                "snapshot_times": [0, 0.1, 0.25, 0.5]}}


def main(path=Path(__file__).with_name("sgd_v1.h5")):
    simulate(CASE, output=path, save_weights=True, progress=False)


if __name__ == "__main__":
    main()
