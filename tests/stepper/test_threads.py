"""Threaded finite-volume kernels: equal to their plain-numpy twins on uneven 2-D and 3-D grids,
bitwise independent of the thread count, and a threaded FiniteVolumeRun matches a serial one."""

import numba
import numpy as np
import pytest

from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.operator.noise import sg_rhs, sg_rhs_numpy
from ddsolver.operator.transport import (
    RECONSTRUCTIONS,
    face_velocities,
    face_velocities_numpy,
    transport_rhs,
    transport_rhs_numpy,
)
from ddsolver.problem.schedule import Schedule
from ddsolver.reduction.base import Reduction
from ddsolver.stepper.fv import PARALLEL_MIN_CELLS, FiniteVolumeRun, kernel_threads, numba_threads

# uneven shapes; 37 > LINE_BLOCK lines and not a multiple of it, so blocks are partly filled
SHAPES = [(7, 5, 3), (37, 19, 1), (5, 3, 37), (2, 37, 4)]
THREADS = [1, 2]
needs_two = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                               reason="numba has a single thread (NUMBA_NUM_THREADS)")


def random_fields(shape, seed):
    rng = np.random.default_rng(seed)
    p = rng.random(shape) * (rng.random(shape) > 0.3)           # some empty cells
    return p, rng.standard_normal(shape), rng.uniform(0.05, 0.3, 3)


def threaded(threads, kernel, *args):
    """Run ``kernel(*args)`` with ``threads`` numba threads."""
    with numba_threads(threads):
        return kernel(*args)


def faces(shape):
    n0, n1, n2 = shape
    return np.empty((n0 + 1, n1, n2)), np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1))


@needs_two
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", list(RECONSTRUCTIONS.values()))
def test_threaded_transport_matches_numpy_and_is_bitwise_thread_independent(shape, kind):
    p, psi, spacing = random_fields(shape, seed=kind)
    ref_u = face_velocities_numpy(psi, spacing, 0.7)
    ref_out, ref_rate = transport_rhs_numpy(p, ref_u, spacing, kind)
    results = []
    for threads in THREADS:
        u = faces(shape)
        threaded(threads, face_velocities, psi, spacing, 0.7, *u)
        for a, b in zip(u, ref_u):
            np.testing.assert_allclose(a, b, rtol=1e-14)
        out, outflow = np.empty(shape), np.empty(shape)
        rate = threaded(threads, transport_rhs, p, *u, spacing, kind, out, outflow)
        np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12 * np.abs(ref_out).max())
        assert rate == pytest.approx(ref_rate, rel=1e-12)
        results.append((u, out, outflow, rate))
    (u1, out1, flow1, rate1), (u2, out2, flow2, rate2) = results
    assert all(np.array_equal(a, b) for a, b in zip(u1, u2))
    assert np.array_equal(out1, out2) and np.array_equal(flow1, flow2) and rate1 == rate2


@needs_two
@pytest.mark.parametrize("shape", SHAPES)
def test_threaded_sg_matches_numpy_and_is_bitwise_thread_independent(shape):
    p, phi, spacing = random_fields(shape, seed=11)
    phi *= 4.0                                       # β Δφ up to ~±50: both Bernoulli branches
    ref_out, ref_rate = sg_rhs_numpy(p, phi, spacing, 0.3, 7.0)
    results = []
    for threads in THREADS:
        out, outflow = np.empty(shape), np.empty(shape)
        rate = threaded(threads, sg_rhs, p, phi, spacing, 0.3, 7.0, out, outflow)
        np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12 * np.abs(ref_out).max())
        assert rate == pytest.approx(ref_rate, rel=1e-12)
        assert abs(out.sum()) < 1e-13 * np.abs(out).sum()
        results.append((out, outflow, rate))
    (out1, flow1, rate1), (out2, flow2, rate2) = results
    assert np.array_equal(out1, out2) and np.array_equal(flow1, flow2) and rate1 == rate2


class FourierReduction(Reduction):
    """A synthetic 3-D problem: V and U built from a few random smooth Fourier features, so the
    potential moves mass along every axis; log J = Σ log(1 + x²) for the noisy drift."""

    scale, lam = 1.0, 0.1

    def __init__(self, rank=3, seed=0):
        rng = np.random.default_rng(seed)
        self.waves = rng.standard_normal((rank, 3))
        self.phases = rng.uniform(0, 2 * np.pi, rank)

    def v(self, *x):
        return np.sin(x[0]) * np.cos(x[1]) + 0.5 * x[2]

    def features(self, *x):
        return 0.5 * np.cos(self.waves @ np.stack(x) + self.phases[:, None])

    def log_jacobian(self, *x):
        return sum(np.log1p(c * c) for c in x)


def fourier_run(shape, threads, beta):
    grid = CartesianGrid.from_dict({name: {"min": -2.0, "max": 2.0, "cells": n}
                                    for name, n in zip("xyz", shape)})
    x, y, z = grid.mesh()
    density = np.exp(-2 * ((x - 0.3) ** 2 + y**2 + (z + 0.2) ** 2))
    density /= grid.mass(density)
    potential = LowRankPotential(FourierReduction(), grid, beta=beta, nodes=2)
    return FiniteVolumeRun(potential, density, Schedule(), tol=1e-6, threads=threads)


@needs_two
@pytest.mark.parametrize("beta", [np.inf, 20.0])
def test_threaded_run_matches_serial_and_conserves_mass(beta):
    """A 3-D run (noiseless transport, and noisy Scharfetter–Gummel) with 1 and 2 threads: the
    kernels are bitwise thread-independent, so the runs agree to round-off; mass is conserved
    and the density moved."""
    shape = (13, 9, 7)
    runs = [fourier_run(shape, threads, beta) for threads in THREADS]
    start = runs[0].density.copy()
    for run in runs:
        run.advance(0.05)
        assert run.steps > 3
        assert run.diagnostics()["mass"] == pytest.approx(1.0, abs=1e-13)
        assert run.density.min() >= 0
    serial, parallel = runs
    assert parallel.threads == 2 and serial.threads == 1
    assert serial.steps == parallel.steps
    np.testing.assert_allclose(parallel.density, serial.density, rtol=0,
                               atol=1e-14 * serial.density.max())
    assert np.abs(serial.density - start).max() > 1e-3 * start.max()


def test_threads_default_and_validation():
    pool = numba.config.NUMBA_NUM_THREADS
    assert kernel_threads(None, (PARALLEL_MIN_CELLS // 2 - 1, 2)) == 1
    assert kernel_threads(None, (PARALLEL_MIN_CELLS // 2, 2)) == pool
    assert kernel_threads(None, (PARALLEL_MIN_CELLS,)) == 1            # 1-D: a single line
    assert kernel_threads(1, (1000, 1000)) == 1
    assert kernel_threads(pool + 5, (10,)) == pool
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="threads"):
            kernel_threads(bad, (10, 10))
    previous = numba.get_num_threads()
    run = fourier_run((4, 3, 2), 1, np.inf)
    run.advance(0.01)
    assert numba.get_num_threads() == previous               # restored after the kernels ran
