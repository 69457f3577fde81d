"""Particle positions and weights in solution files (/particles, docs/hdf5-format.md): written
by the Lagrangian scheme at every snapshot, loaded bit for bit as ``Solution.particles``, absent
(None) for density schemes and older files, and consistent with the binned density."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ddsolver
from ddsolver import normalize_case
from ddsolver.grid import CartesianGrid
from ddsolver.storage import SolutionWriter, load
from tests.scheme.test_lagrangian_custom import COV2, linear_case, linear_risk

DATA = Path(__file__).parents[1] / "data"
CASE = normalize_case({"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
                       "network": {"activation": "relu"}, "training": {"t_final": 1},
                       "init": {"kind": "gaussian", "kappa": 0.8}})
GRIDS = {dim: CartesianGrid.from_dict({name: {"min": -1, "max": 1, "cells": 3}
                                       for name in ("a", "b", "r")[:dim]}) for dim in (1, 2, 3)}


@st.composite
def particle_runs(draw):
    """(dim, weights (n,), positions (snapshots, n, dim)) of any finite float64 values."""
    dim, n, count = draw(st.integers(1, 3)), draw(st.integers(1, 40)), draw(st.integers(1, 4))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    weights = draw(arrays(np.float64, n, elements=st.floats(0, 1)))
    return dim, weights, draw(arrays(np.float64, (count, n, dim), elements=finite))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(particle_runs())
def test_positions_round_trip_bit_for_bit(tmp_path_factory, run):
    dim, weights, positions = run
    grid = GRIDS[dim]
    path = tmp_path_factory.mktemp("p") / "run.h5"
    density = np.full(grid.shape, 1 / (grid.size * grid.cell_volume))
    with SolutionWriter(path, grid, CASE, particle_weights=weights) as w:
        for k, x in enumerate(positions):
            w.append(0.1 * k, 1.0, density, 0.5, positions=x, mass=1.0)
    sol = load(path)
    assert sol.particles[0].tobytes() == positions.tobytes()
    assert sol.particles[1].tobytes() == weights.tobytes()
    assert sol.particles[0].shape == positions.shape and len(sol.t) == len(positions)
    with h5py.File(path, "r", swmr=True) as f:
        ds = f["particles/positions"]
        assert ds.chunks == (1,) + positions.shape[1:] and ds.compression == "gzip"
        assert list(ds.attrs["coords"]) == list(grid.names)
        assert [d.label for d in ds.dims] == ["t", "particle", "coordinate"]


def test_writer_checks_positions(tmp_path):
    grid = GRIDS[2]
    density = np.full(grid.shape, 1 / (grid.size * grid.cell_volume))
    with SolutionWriter(tmp_path / "a.h5", grid, CASE, particle_weights=np.ones(4) / 4) as w:
        with pytest.raises(ValueError, match="positions have shape"):
            w.append(0.0, 1.0, density, 0.5, positions=np.zeros((4, 3)), mass=1.0)
        with pytest.raises(ValueError, match="exactly when"):
            w.append(0.0, 1.0, density, 0.5, mass=1.0)
    with SolutionWriter(tmp_path / "b.h5", grid, CASE) as w, \
            pytest.raises(ValueError, match="exactly when"):
        w.append(0.0, 1.0, density, 0.5, positions=np.zeros((4, 2)), mass=1.0)


def test_files_without_particles_load_with_none(tmp_path):
    assert load(DATA / "solution_v1.h5").particles is None
    sol = ddsolver.solve(linear_case(COV2, np.array([1.0, -0.5]), [0.0, 0.2], [0.2, 0.2],
                                     scheme="fv", cells=24, times=[0.0, 0.1]),
                         output=tmp_path / "fv.h5", progress=False)
    assert sol.particles is None and load(tmp_path / "fv.h5").particles is None
    with pytest.raises(ValueError, match="no particles"):
        sol.particle_moment("theta1")


def test_solve_stores_its_own_particles_and_the_deposit_keeps_their_mean(tmp_path):
    """A 2-D Lagrangian solve: the file holds the run's positions and weights bit for bit; the
    multilinear deposit keeps the mean, so the stored density's mean on the grid equals
    Σ w_i θ_i (to 1e-13), and for linear units, whose risk depends on the mean only
    (R = R_# − 2α⟨Cb*, m⟩ + α² mᵀCm), the risk of that grid mean is the solution's risk."""
    b_star = np.array([1.0, -0.5])
    path = tmp_path / "run.h5"
    sol = ddsolver.solve(linear_case(COV2, b_star, [0.0, 0.2], [0.2, 0.2], particles=512,
                                     times=[0.0, 0.5, 1.0]), output=path, progress=False)
    back = load(path)
    assert back.particles[0].tobytes() == sol.particles[0].tobytes()
    assert back.particles[1].tobytes() == sol.particles[1].tobytes()
    assert back.particles[0].shape == (3, 512, 2)
    for name in back.grid.names:
        np.testing.assert_allclose(back.moment(name), back.particle_moment(name), rtol=0,
                                   atol=1e-13)
    for k in range(3):
        m = np.array([back.moment(name)[k] for name in back.grid.names])
        assert linear_risk(COV2, b_star, 1.0, m) == pytest.approx(back.risk[k], abs=1e-12)
    assert ("particles", "512 (positions at every snapshot)") in back.summary_rows()
