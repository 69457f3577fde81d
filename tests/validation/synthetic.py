"""Synthetic PDE/SGD pairs of the 2-D and 3-D models whose answer is known (the units are drawn
from the PDE density itself), for the validation and plotting tests."""

import numpy as np

import ddsolver
from ddsolver.grid import CartesianGrid
from ddsolver.results import SgdResult, Solution

NEURONS, SEEDS, TIMES = 400, (0, 1, 2, 3), [0.0, 0.5, 1.0]

MODELS = {
    "aw": ({"kind": "isotropic_gaussians", "delta": 0.5, "dim": 8}, "aw",
           {"a": {"min": -2.0, "max": 2.0, "cells": 40}, "r": {"max": 4.0, "cells": 40}}),
    "awb": ({"kind": "isotropic_gaussians", "delta": 0.5, "dim": 8}, "awb",
            {"a": {"min": -2.0, "max": 2.0, "cells": 12}, "b": {"min": -1.5, "max": 1.5,
                                                                  "cells": 12},
             "r": {"max": 3.0, "cells": 14}}),
    "anisotropic_w": ({"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 20, "signal_dim": 8},
                      "w", {"r1": {"max": 3.0, "cells": 40}, "r2": {"max": 3.0, "cells": 40}}),
}


CUSTOM_PROBLEM = '''
import numpy as np
from ddsolver.problem.user import UserProblem, gaussian_quadrature

def make_problem(params):
    x, w = gaussian_quadrature([[1.0]], 20)
    def sigma(x, theta):
        return np.tanh(theta[:, :1] * x[:, 0] + theta[:, 1:2])
    return UserProblem.from_data(("u", "v"), sigma, x, np.tanh(2 * x[:, 0]), w)
'''


def model_case(model, **tables):
    """A normalised ReLU case of one of MODELS with some tables updated."""
    data, unit, grid = MODELS[model]
    init = {"kind": "gaussian", "kappa": 1.0}
    init.update({c: {"kind": "uniform", "low": -0.5, "high": 0.5} for c in grid if c in "ab"})
    case = {"data": data, "network": {"unit": unit, "activation": "relu"},
            "training": {"t_final": TIMES[-1]}, "init": init,
            "pde": {"grid": grid, "snapshot_times": TIMES, "kernel_tol": 1e-6},
            "sgd": {"neurons": NEURONS, "eps": 1e-4, "seeds": list(SEEDS)}}
    for name, entries in tables.items():
        case.setdefault(name, {}).update(entries)
    return ddsolver.normalize_case(case)


def custom_case(tmp_path):
    path = tmp_path / "problem.py"
    path.write_text(CUSTOM_PROBLEM)
    return ddsolver.normalize_case({
        "data": {"kind": "custom", "file": str(path)}, "training": {"t_final": 1.0},
        "init": {"u": {"kind": "uniform", "low": 0.5, "high": 1.5},
                 "v": {"kind": "uniform", "low": -0.5, "high": 0.5}},
        "pde": {"grid": {"u": {"min": -1.0, "max": 3.0, "cells": 40},
                         "v": {"min": -2.0, "max": 2.0, "cells": 40}}}})


def bump(grid, centre, width, tilt=0.3):
    """A normalised Gaussian-like density on the grid, correlated between the first two axes."""
    mesh = grid.mesh()
    z = [(x - c) / w for x, c, w in zip(mesh, centre, np.broadcast_to(width, len(mesh)))]
    z[1] = z[1] - tilt * z[0]
    density = np.exp(-0.5 * sum(v * v for v in z))
    return density / (density.sum() * grid.cell_volume)


def sample_grid(rng, grid, density, n):
    """n draws from a piecewise-constant density: a cell by its mass, then uniform in it."""
    mass = (density * grid.cell_volume).ravel()
    cells = np.unravel_index(rng.choice(mass.size, size=n, p=mass / mass.sum()), grid.shape)
    return {a.name: a.edges[k] + rng.random(n) * a.spacing for a, k in zip(grid.axes, cells)}


def synthetic_pair(case, seed=0, shift=None, densities=None):
    """A Solution with moving bumps (or ``densities``) at TIMES, and SGD seeds whose units are
    iid draws of it (coordinate ``shift = (name, offset)`` moved by offset)."""
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    centre = np.array([0.5 * (a.lo + a.hi) for a in grid.axes])
    spread = np.array([a.hi - a.lo for a in grid.axes])
    if densities is None:
        densities = np.array([bump(grid, centre + 0.05 * k * spread, 0.12 * spread)
                              for k in range(len(TIMES))])
    risk = np.linspace(1.0, 0.8, len(TIMES))
    sol = Solution(t=np.array(TIMES), risk=risk, density=densities, grid=grid, case=case)
    rng = np.random.default_rng(seed)
    results = []
    for s in SEEDS:
        draws = [sample_grid(rng, grid, p, NEURONS) for p in densities]
        coords = {c: np.array([d[c] for d in draws]) for c in grid.names}
        if shift is not None:
            coords[shift[0]] = coords[shift[0]] + shift[1]
        results.append(SgdResult(t=np.array(TIMES), risk=risk.copy(), coords=coords, case=case,
                                 seed=s))
    return sol, results
