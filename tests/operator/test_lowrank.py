"""The low-rank potential (ddsolver.operator.lowrank): the compiled kernel against its numpy twin,
and cell averages exact for polynomials."""

import numpy as np

from ddsolver.grid import CartesianGrid, cell_average
from ddsolver.operator.lowrank import (
    LowRankPotential,
    compress_features,
    lowrank_potential,
    lowrank_potential_numpy,
)

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


def test_compression_keeps_the_kernel_and_drops_only_what_the_tolerance_allows():
    """Features of inner rank 3 stored as 12 rows compress to 3 rows with GᵀG = F̄ᵀF̄ to
    round-off; with a tolerance between the singular values, the dropped part of the kernel is
    bounded by tol·‖K‖₂ and the bound is nearly attained (docs/numerics.md §3)."""
    rng = np.random.default_rng(3)
    left, _ = np.linalg.qr(rng.standard_normal((12, 3)))
    right, _ = np.linalg.qr(rng.standard_normal((200, 3)))
    features = left @ np.diag([1.0, 1e-2, 1e-4]) @ right.T          # K eigenvalues 1, 1e-4, 1e-8
    kernel = features.T @ features
    kept = compress_features(features, 1e-12)
    assert kept.shape == (3, 200)
    np.testing.assert_allclose(kept.T @ kept, kernel, rtol=0, atol=1e-14)
    dropped = compress_features(features, 1e-6)                       # drops the 1e-8 direction
    assert dropped.shape == (2, 200)
    error = np.linalg.norm(dropped.T @ dropped - kernel, 2)
    assert 0.9e-8 < error <= 1e-6 * np.linalg.norm(kernel, 2)
    p = rng.random(200)
    np.testing.assert_allclose(np.sum((dropped @ p)**2), np.sum((features @ p)**2), rtol=1e-6)


def test_compressed_solve_agrees_with_the_full_rank_solve(make_case):
    """MMN 9.1 at d = 40: the reduction's 26 series terms compress to fewer on the grid, and the
    solve agrees with the full-rank one to about kernel_tol (risk within 1e-8)."""
    from ddsolver.case import normalize_case
    from ddsolver.model import model_of
    from ddsolver.scheme.fv import FiniteVolumes
    from ddsolver.solve import build_run

    case = normalize_case(make_case(training={"t_final": 2.0},
                                    pde={"scheme": "fv", "grid": {"r": {"max": 6.0, "cells": 400}},
                                         "snapshot_times": [0.0, 0.5, 1.0, 2.0]}))
    grid, reduction, compressed = build_run(case)
    full = FiniteVolumes.run(case, model_of(case), LowRankPotential(reduction, grid))
    assert compressed.kernel_rank < full.kernel_rank == reduction.rank
    for t in case["pde"]["snapshot_times"]:
        compressed.advance(t)
        full.advance(t)
        assert abs(compressed.risk() - full.risk()) < 1e-8
    assert np.abs(compressed.density - full.density).sum() * grid.cell_volume < 1e-6
