"""The low-rank potential (ddsolver.operator.lowrank): the compiled kernel against its numpy twin,
and cell averages exact for polynomials."""

import numpy as np

from ddsolver.grid import CartesianGrid, cell_average
from ddsolver.operator.lowrank import lowrank_potential, lowrank_potential_numpy

from ..finite_volumes import random_problem


def test_lowrank_potential_matches_numpy():
    p, features, base, _ = random_problem((50, 1, 1))
    moments, psi = np.empty(4), np.empty(50)
    lowrank_potential(p.ravel(), base, features, 0.1, moments, psi)
    ref_moments, ref_psi = lowrank_potential_numpy(p.ravel(), base, features, 0.1)
    np.testing.assert_allclose(moments, ref_moments, rtol=1e-13)
    np.testing.assert_allclose(psi, ref_psi, rtol=1e-12, atol=1e-12)


def test_cell_average_is_exact_for_polynomials():
    grid = CartesianGrid.from_dict({"x": {"min": 0, "max": 1, "cells": 4},
                                    "y": {"min": -1, "max": 1, "cells": 3}})
    avg = cell_average(lambda x, y: np.stack([x**3 * y**2, x + y]), grid).reshape(2, 4, 3)
    xe, ye = grid.axes[0].edges, grid.axes[1].edges
    exact = np.outer(np.diff(xe**4) / 4, np.diff(ye**3) / 3) / grid.cell_volume
    np.testing.assert_allclose(avg[0], exact, rtol=1e-13)
    np.testing.assert_allclose(avg[1], np.add.outer(grid.axes[0].centres, grid.axes[1].centres),
                               atol=1e-14)
