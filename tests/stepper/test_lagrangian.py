"""The Lagrangian scheme (ddsolver.stepper.lagrangian): the compiled velocity against its numpy
twin and the reduction's point values, the compression of the features, the compiled
Dormand–Prince against scipy's, the order in the number of particles, the invariants of the
particle flow, the stored density and the default scheme of a case."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.grid import CartesianGrid
from ddsolver.problem.initial import InitialLaw, deposit, quantile_density
from ddsolver.solve import build_run
from ddsolver.stepper.lagrangian import (
    CompiledLagrangianRun,
    lagrangian_velocity,
    lagrangian_velocity_numpy,
    tabulated_moments,
    tabulated_numpy,
)

from ..mmn_reference import mmn_initial_risk

POWER = {"kind": "power", "value": 1.5, "exponent": 0.5, "offset": 1.0}


def lagrangian_case(make_case, t_final=5.0, schedule=None, **pde):
    training = {"t_final": t_final, **({"schedule": schedule} if schedule else {})}
    return normalize_case(make_case(training=training, pde={"scheme": "lagrangian", **pde}))


def test_compiled_velocity_and_moments_match_numpy_twin(make_case):
    _, _, run = build_run(lagrangian_case(make_case, schedule=POWER, particles=300))
    r = np.random.default_rng(1).uniform(-1.0, 6.0, 300)       # negative r: the even extension
    out = np.empty_like(r)
    lagrangian_velocity(0.7, r, *run._args(), run.work, out)
    red = run.reduction
    twin = lagrangian_velocity_numpy(0.7, r, run.weights, run.table, run.spacing, run.schedule,
                                     red.scale, red.lam)
    np.testing.assert_allclose(out, twin, rtol=1e-10, atol=1e-12 * np.abs(twin).max())
    moments = np.empty(run.table.shape[2])
    tabulated_moments(r, run.weights, run.table, run.spacing, moments)
    np.testing.assert_allclose(moments, tabulated_numpy(r, run.table, run.spacing)[0]
                               @ run.weights, rtol=1e-12, atol=1e-15)


def test_table_matches_point_values(make_case):
    """Quintic Hermite interpolation on nodes h = 0.004 apart: error O(h⁶) in the values and O(h⁵)
    in the derivatives (measured 3e-11 and 1.4e-8 of the largest value on 9.1)."""
    _, red, run = build_run(lagrangian_case(make_case, particles=10))
    r = np.random.default_rng(2).uniform(0.0, 8.0, 3000)
    values, slopes = tabulated_numpy(r, run.table, run.spacing)
    exact = np.vstack([red.v(r)[None], run.mix @ red.features(r)])
    exact_slopes = np.vstack([red.dv(r)[None], run.mix @ red.dfeatures(r)])
    assert np.abs(values - exact).max() <= 1e-9 * np.abs(exact).max()
    assert np.abs(slopes - exact_slopes).max() <= 1e-7 * np.abs(exact_slopes).max()


def test_compression_keeps_the_kernel_to_kernel_tol(make_case):
    """On the Gram nodes, K = FᵀF and the compressed K̃ = Fᵀ QᵀQ F differ by λ_(k+1) ≤ tol · λ₁
    = tol ‖K‖₂ in the spectral norm (computed with F = U S Vᵀ: ‖K − K̃‖₂ = ‖S Uᵀ(I − QᵀQ)U S‖₂);
    a run's risk moves by about that much (t ≤ 2; the plateau before the split at t ≈ 5
    amplifies it 100-fold) against the uncompressed features (``kernel_tol=None``)."""
    case = lagrangian_case(make_case, t_final=2.0, particles=400, rtol=1e-10)
    _, red, run = build_run(case)
    u, singular, _ = np.linalg.svd(red.features(run.nodes), full_matrices=False)
    gap = (singular[:, None] * (u.T @ (np.eye(red.rank) - run.mix.T @ run.mix) @ u)
           * singular[None, :])
    assert run.kernel_rank < red.rank
    assert np.linalg.norm(gap, 2) <= 1e-10 * singular[0] ** 2
    full = CompiledLagrangianRun(red, run.r, run.weights, run.schedule, run.grid, rtol=1e-10,
                                 kernel_tol=None)
    assert full.kernel_rank == red.rank
    for t in (0.0, 1.0, 2.0):
        run.advance(t)
        full.advance(t)
        assert abs(run.risk() - full.risk()) < 1e-9
    sol = ddsolver.solve(case)
    assert (sol.attrs["kernel_rank"], sol.attrs["kernel_rank_used"]) == (red.rank,
                                                                         run.kernel_rank)


def test_compiled_dopri5_matches_scipy(make_case):
    """The compiled Dormand–Prince 5(4) against scipy's RK45 on the numpy twin (same tableau and
    table), and the scipy DOP853 run on exact point values; stops do not change the steps."""
    times = np.array([0.0, 0.5, 1.7, 3.0, 5.0])
    case = lagrangian_case(make_case, schedule=POWER, particles=60, rtol=1e-10,
                           snapshot_times=times)
    _, red, run = build_run(case)
    twin = solve_ivp(lagrangian_velocity_numpy, (0.0, 5.0), run.r, method="RK45", rtol=1e-11,
                     atol=1e-11, t_eval=times,
                     args=(run.weights, run.table, run.spacing, run.schedule, red.scale,
                           red.lam))
    compiled = []
    for t in times[1:]:
        run.advance(t)
        compiled.append(run.r.copy())
    np.testing.assert_allclose(np.array(compiled), twin.y[:, 1:].T, rtol=0, atol=1e-8)
    _, _, one_stop = build_run(case)
    one_stop.advance(5.0)
    np.testing.assert_array_equal(one_stop.r, run.r)
    case["pde"]["integrator"] = "dop853"
    _, _, scipy_run = build_run(case)
    scipy_run.advance(5.0)
    np.testing.assert_allclose(scipy_run.r, run.r, rtol=0, atol=1e-7)
    assert scipy_run.kernel_rank == run.kernel_rank


def test_first_order_in_particles_from_the_tail(make_case):
    """Equal-mass quantile particles are the midpoint rule in the quantile level u. The last
    particle, at u = 1 − 1/(2n), stands for the whole upper tail, where r(u) → ∞ and the features
    have not saturated: an error ∝ 1/n (up to logarithms) that dominates at moderate n. Measured
    before the law splits (t ≤ 3) against 3200 particles, and at t = 0 against the independent
    quadrature of tests/mmn_reference.py."""
    times = np.linspace(0.0, 3.0, 7)

    def risk(n):
        return ddsolver.solve(lagrangian_case(make_case, t_final=3.0, particles=n, rtol=1e-11,
                                              snapshot_times=times)).risk

    reference = risk(3200)
    runs = [risk(n) for n in (50, 100, 200)]
    errors = np.array([np.abs(r - reference).max() for r in runs])
    initial = np.array([abs(r[0] - mmn_initial_risk()) for r in runs])
    for e in (errors, initial):
        orders = np.log2(e[:-1] / e[1:])
        assert np.all((orders > 0.9) & (orders < 1.2)), (e, orders)


def test_particles_keep_their_order_and_the_risk_decreases(make_case, assert_invariants):
    """Characteristics of a 1-D transport do not cross; the noiseless flow decreases R."""
    case = lagrangian_case(make_case, t_final=30.0, particles=800)
    _, _, run = build_run(case)
    for t in np.linspace(1.0, 30.0, 30):
        run.advance(t)
        assert np.all(np.diff(run.r) > 0), t
    assert_invariants(ddsolver.solve(case))


def test_quantile_density():
    """Mass one exactly; chi quantiles give the chi density up to O(1/n) in L1; one particle is
    the linear deposit; negative radii stand for |r|."""
    grid = CartesianGrid.from_dict({"r": {"min": 0.0, "max": 4.0, "cells": 400}})
    law = InitialLaw({"kind": "gaussian", "kappa": 0.8}, dim=40)
    exact = law.cell_density(grid)
    l1 = []
    for n in (500, 2000):
        r, w = law.particles(n)
        density = quantile_density(r, w, grid)
        assert density.sum() * grid.cell_volume == pytest.approx(1.0, abs=1e-14)
        l1.append(np.abs(density - exact).sum() * grid.cell_volume)
    assert l1[1] < l1[0] / 3 and l1[1] < 0.02, l1
    np.testing.assert_array_equal(quantile_density(-r, w, grid), quantile_density(r, w, grid))
    np.testing.assert_array_equal(quantile_density(np.array([1.234]), np.ones(1), grid),
                                  deposit(np.array([1.234]), np.ones(1), grid))


@pytest.mark.parametrize("tables, scheme", [
    ({}, "lagrangian"),                                          # noiseless radial: Lagrangian
    ({"training": {"beta": 100.0}}, "fv"),                       # noisy: finite volumes
    ({"network": {"unit": "aw"}, "init": {"kind": "gaussian", "kappa": 0.8}}, "fv"),
    ({"pde": {"scheme": "fv"}}, "fv"),                           # a named scheme is kept
])
def test_default_scheme(make_case, tables, scheme):
    assert normalize_case(make_case(**tables))["pde"]["scheme"] == scheme
