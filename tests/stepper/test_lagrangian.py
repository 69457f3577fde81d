"""The Lagrangian scheme (ddsolver.stepper.lagrangian): the compiled velocity against its numpy
twin and the reduction's point values, the compression of the features, the compiled
Dormand–Prince against scipy's, the order in the number of particles, finite volumes converging
to it in 2-D, the invariants of the particle flow, the stored density, the initial particles and
the default scheme of a case, and the anchored penalty (λ/2)|θ − θ₀|²."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import solve_ivp

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.grid import CartesianGrid
from ddsolver.model.anisotropic import AnisotropicModel
from ddsolver.model.isotropic import IsotropicModel
from ddsolver.problem.initial import InitialLaw, deposit, quantile_density
from ddsolver.solve import build_run
from ddsolver.stepper import lagrangian
from ddsolver.stepper.lagrangian import (
    CompiledLagrangianRun,
    lagrangian_velocity,
    lagrangian_velocity_numpy,
)
from ddsolver.stepper.spline import spline_numpy

from ..mmn_reference import mmn_initial_risk

POWER = {"kind": "power", "value": 1.5, "exponent": 0.5, "offset": 1.0}


def lagrangian_case(make_case, t_final=5.0, schedule=None, **pde):
    training = {"t_final": t_final, **({"schedule": schedule} if schedule else {})}
    return normalize_case(make_case(training=training, pde={"scheme": "lagrangian", **pde}))


def example_case(model, unit, t_final=0.5, training=None, **pde):
    """A model's registry example with the Lagrangian scheme (noiseless)."""
    case = model.examples()[unit]
    case["training"] = {**case["training"], "t_final": t_final, **(training or {})}
    case["pde"] = {**case["pde"], "scheme": "lagrangian", "snapshot_times": [0.0, t_final],
                   **pde}
    return normalize_case(case)


MULTI_D = [(IsotropicModel, "aw"), (IsotropicModel, "awb"), (AnisotropicModel, "w"),
           (AnisotropicModel, "aw"), (AnisotropicModel, "awb")]
ANCHORED = {"lambda": 0.3, "penalty": "anchored"}


def twin_velocity(run, t, y):
    red = run.reduction
    return lagrangian_velocity_numpy(t, y, run.weights, run.has_a, run.mirror, run.table,
                                     run.schedule, red.scale, red.lam, run.anchor.ravel(),
                                     run.dead_radius)


@pytest.mark.parametrize("penalty", ["origin", "anchored"])
@pytest.mark.parametrize("model, unit", [(None, "w")] + MULTI_D)
def test_compiled_velocity_and_moments_match_numpy_twin(make_case, model, unit, penalty):
    training = {"lambda": 0.3, "penalty": penalty}
    case = (normalize_case(make_case(training={"t_final": 5.0, "schedule": POWER, **training},
                                     pde={"scheme": "lagrangian", "particles": 300}))
            if model is None else example_case(model, unit, training=training, particles=300))
    _, _, run = build_run(case)
    assert np.any(run.anchor) == (penalty == "anchored")
    rng = np.random.default_rng(1)
    y = run.x + rng.normal(0.0, 0.3, run.x.shape)          # radial coordinates < 0 too (even)
    y = y.ravel()
    out = np.empty_like(y)
    lagrangian_velocity(0.7, y, run.args, run.scratch, out)
    twin = twin_velocity(run, 0.7, y)
    np.testing.assert_allclose(out, twin, rtol=1e-10, atol=1e-12 * np.abs(twin).max())
    x = y.reshape(run.x.shape)
    mean_v, c = run.moments(x)
    inner = x[:, 1:] if run.has_a else x
    a = x[:, 0] if run.has_a else 1.0
    values = spline_numpy(np.where(run.mirror, np.abs(inner), inner), *run.table.args)[0]
    np.testing.assert_allclose(np.append(mean_v, c), (run.weights * a) @ values, rtol=1e-12,
                               atol=1e-15)


def test_table_matches_point_values_1d(make_case):
    """Cubic spline on nodes h = 1/256 apart: errors O(h⁴) in the values and O(h³) in the
    derivatives, worst at r ≈ 0.05–0.5 where the kinks of the piecewise-linear σ make the
    features sharp (measured on 9.1: 3.6e-9 and 2.0e-6 of the largest; below 1.5e-10 and 1.1e-7
    for r > 0.5, where the particles are)."""
    _, red, run = build_run(lagrangian_case(make_case, particles=10))
    r = np.random.default_rng(2).uniform(0.0, 8.0, 3000)
    values, slopes = spline_numpy(r[:, None], *run.table.args)
    exact = np.vstack([red.v(r)[None], run.mix @ red.features(r)]).T
    exact_slopes = np.vstack([red.dv(r)[None], run.mix @ red.dfeatures(r)]).T
    assert np.abs(values - exact).max() <= 1e-8 * np.abs(exact).max()
    assert np.abs(slopes[:, 0] - exact_slopes).max() <= 5e-6 * np.abs(exact_slopes).max()
    bulk = r > 0.5
    assert np.abs(values - exact)[bulk].max() <= 5e-10 * np.abs(exact).max()
    assert (np.abs(slopes[:, 0] - exact_slopes)[bulk].max()
            <= 3e-7 * np.abs(exact_slopes).max())


def test_table_matches_point_values_2d():
    """(b, r) of awb units, 48 nodes per grid width: values against the reduction, gradients
    against central differences of it; the risk of a run moves by 1e-6 when the table is
    refined (measured on validation/awb_relu.toml: 1.2e-6 at 48, 7e-8 at 96, against 192)."""
    _, red, run = build_run(example_case(IsotropicModel, "awb", particles=10))
    rng = np.random.default_rng(3)
    inner = rng.uniform([-2.0, 0.2], [2.0, 3.0], (2000, 2))
    values, grads = spline_numpy(inner, *run.table.args)

    def exact(points):
        return np.vstack([red.inner.v(*points.T)[None],
                          run.mix @ red.inner.features(*points.T)]).T

    scale = np.abs(exact(inner)).max()
    assert np.abs(values - exact(inner)).max() <= 2e-4 * scale
    step = 1e-5
    for k in range(2):
        shift = np.eye(2)[k] * step
        slope = (exact(inner + shift) - exact(inner - shift)) / (2 * step)
        assert np.abs(grads[:, k] - slope).max() <= 5e-3 * np.abs(slope).max()


def test_table_matches_point_values_3d():
    """(b, r1, r2) of awb units on anisotropic data (d = ∞ kernel), 32 nodes per grid width:
    values against the reduction, gradients against central differences of it."""
    case = example_case(AnisotropicModel, "awb", particles=10)
    _, red, run = build_run(case)
    assert run.cells == lagrangian.TABLE_CELLS[3] and run.nodes[0][0] < -2.0
    inner = np.random.default_rng(4).uniform([-2.0, 0.2, 0.2], [2.0, 3.0, 3.0], (2000, 3))
    values, grads = spline_numpy(inner, *run.table.args)

    def exact(points):
        return np.vstack([red.inner.v(*points.T)[None],
                          run.mix @ red.inner.features(*points.T)]).T

    scale = np.abs(exact(inner)).max()
    assert np.abs(values - exact(inner)).max() <= 5e-4 * scale
    step = 1e-5
    for k in range(3):
        shift = np.eye(3)[k] * step
        slope = (exact(inner + shift) - exact(inner - shift)) / (2 * step)
        assert np.abs(grads[:, k] - slope).max() <= 1e-2 * np.abs(slope).max()


def test_table_shrinks_to_its_budget_and_is_refused_beyond(monkeypatch):
    """In 3-D the table takes the most cells per width whose peak memory fits TABLE_BUDGET, and a
    case whose table fits at no allowed width is refused before any step."""
    case = example_case(AnisotropicModel, "awb", particles=10, kernel_dim=10, kernel_tol=1e-3)
    _, _, run = build_run(case)
    need = run.table_bytes(20)
    assert run.table_bytes(16) < need < run.table_bytes(24)
    monkeypatch.setattr(lagrangian, "TABLE_BUDGET", need)
    _, _, run = build_run(case)
    assert run.cells == 20
    monkeypatch.setattr(lagrangian, "TABLE_BUDGET", run.table_bytes(lagrangian.MIN_TABLE_CELLS)
                        - 1)
    with pytest.raises(CaseError, match=r"pde.kernel_tol: the Lagrangian kernel table of \(b, "
                                        r"r1, r2\) needs .* MiB for \d+ features at 12 nodes"):
        build_run(case)


def test_finite_volumes_refuse_four_axes():
    case = AnisotropicModel.examples()["awb"]
    case["pde"]["scheme"] = "fv"
    with pytest.raises(CaseError, match=r"pde.scheme: 'fv' solves grids of at most 3 axes, not "
                                        r"the 4 of \('a', 'b', 'r1', 'r2'\)"):
        normalize_case(case)
    assert normalize_case(AnisotropicModel.examples()["awb"])["pde"]["scheme"] == "lagrangian"


def test_compression_keeps_the_kernel_to_kernel_tol(make_case):
    """On the Gram nodes, K = FᵀF and the compressed K̃ = Fᵀ QᵀQ F differ by λ_(k+1) ≤ tol · λ₁
    = tol ‖K‖₂ in the spectral norm (computed with F = U S Vᵀ: ‖K − K̃‖₂ = ‖S Uᵀ(I − QᵀQ)U S‖₂);
    a run's risk moves by about that much (t ≤ 2; the plateau before the split at t ≈ 5
    amplifies it 100-fold) against the uncompressed features (``kernel_tol=None``)."""
    case = lagrangian_case(make_case, t_final=2.0, particles=400, rtol=1e-10)
    _, red, run = build_run(case)
    u, singular, _ = np.linalg.svd(run.node_features, full_matrices=False)
    gap = (singular[:, None] * (u.T @ (np.eye(red.rank) - run.mix.T @ run.mix) @ u)
           * singular[None, :])
    assert run.kernel_rank < red.rank
    assert np.linalg.norm(gap, 2) <= 1e-10 * singular[0] ** 2
    full = CompiledLagrangianRun(red, run.x, run.weights, run.schedule, run.grid, rtol=1e-10,
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
    table), and the scipy DOP853 run on exact point values; stops do not change the steps. The
    tabulated velocity is C¹ with a Lipschitz derivative (the spline's gradient), so the local
    error estimates are not asymptotically exact: the runs at rtol 1e-10 and 1e-11 agree to
    1.3e-8, not to the tolerance."""
    times = np.array([0.0, 0.5, 1.7, 3.0, 5.0])
    case = lagrangian_case(make_case, schedule=POWER, particles=60, rtol=1e-10,
                           snapshot_times=times)
    _, red, run = build_run(case)
    twin = solve_ivp(lambda t, y: twin_velocity(run, t, y), (0.0, 5.0), run.x.ravel(),
                     method="RK45", rtol=1e-11, atol=1e-11, t_eval=times)
    compiled = []
    for t in times[1:]:
        run.advance(t)
        compiled.append(run.x[:, 0].copy())
    np.testing.assert_allclose(np.array(compiled), twin.y[:, 1:].T, rtol=0, atol=5e-8)
    _, _, one_stop = build_run(case)
    one_stop.advance(5.0)
    np.testing.assert_array_equal(one_stop.x, run.x)
    case["pde"]["integrator"] = "dop853"
    _, _, scipy_run = build_run(case)
    scipy_run.advance(5.0)
    np.testing.assert_allclose(scipy_run.x, run.x, rtol=0, atol=1e-7)
    assert scipy_run.kernel_rank == run.kernel_rank


def test_compiled_dopri5_matches_scipy_3d():
    """(a, b, r): the compiled run against scipy's RK45 on the numpy twin."""
    case = example_case(IsotropicModel, "awb", t_final=1.0, particles=64, rtol=1e-10)
    _, _, run = build_run(case)
    twin = solve_ivp(lambda t, y: twin_velocity(run, t, y), (0.0, 1.0), run.x.ravel(),
                     method="RK45", rtol=1e-11, atol=1e-11)
    run.advance(1.0)
    np.testing.assert_allclose(run.x.ravel(), twin.y[:, -1], rtol=0, atol=1e-8)


def test_finite_volumes_converge_to_the_2d_lagrangian_solution():
    """(a, r) units: the finite-volume risk approaches the Lagrangian one (4096 quasi-Monte Carlo
    particles; against 16384 they differ by ≤ 1e-5) at the finite volumes' second order: the
    largest gap over the snapshots falls ≥ 2.5-fold from 40 × 40 to 80 × 80 cells (measured
    2e-4 → 7e-5) and the Lagrangian risk is non-increasing."""
    def case(scheme, cells=40, particles=4096):
        return normalize_case({
            "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
            "network": {"unit": "aw", "activation": "relu"}, "training": {"t_final": 1.0},
            "init": {"kind": "gaussian", "kappa": 1.0,
                     "a": {"kind": "uniform", "low": -1.0, "high": 1.0}},
            "pde": {"scheme": scheme, "particles": particles, "rtol": 1e-8,
                    "grid": {"a": {"min": -2.5, "max": 2.5, "cells": cells},
                             "r": {"min": 0.0, "max": 3.0, "cells": cells}},
                    "snapshot_times": [0.0, 0.25, 0.5, 1.0]}})

    lagrangian = ddsolver.solve(case("lagrangian"))
    gaps = [np.abs(ddsolver.solve(case("fv", cells)).risk - lagrangian.risk).max()
            for cells in (40, 80)]
    assert gaps[1] < 1.5e-4 and gaps[0] / gaps[1] > 2.5, gaps
    assert np.all(np.diff(lagrangian.risk) <= 0)


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
        assert np.all(np.diff(run.x[:, 0]) > 0), t
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


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_deposit_keeps_mass_and_means(ndim, count, seed):
    """The multilinear deposit keeps the mass and, for points between the first and last cell
    centres of every axis, the mean of every coordinate."""
    axes = {name: {"min": -1.0 + k, "max": 2.0 + 2 * k, "cells": 3 + 4 * k}
            for k, name in enumerate(("a", "b", "r")[:ndim])}
    grid = CartesianGrid.from_dict(axes)
    rng = np.random.default_rng(seed)
    lo = np.array([axis.centres[0] for axis in grid.axes])
    hi = np.array([axis.centres[-1] for axis in grid.axes])
    points = rng.uniform(lo, hi, (count, ndim))
    weights = rng.dirichlet(np.ones(count))
    density = deposit(points, weights, grid)
    assert density.min() >= 0.0
    assert density.sum() * grid.cell_volume == pytest.approx(1.0, abs=1e-13)
    mesh = np.meshgrid(*[axis.centres for axis in grid.axes], indexing="ij")
    for k in range(ndim):
        mean = (density * mesh[k]).sum() * grid.cell_volume
        assert mean == pytest.approx(weights @ points[:, k], abs=1e-12)


def test_sobol_particles_stratify_every_coordinate():
    """(a, b, r) with a ~ U[−1, 1] (symmetric: pairs (±a, ϑ)) and b = 0.25: 1000 requested
    give 1024 particles, 512 Sobol' points and their mirror images in a, so each coordinate
    alone has two particles in each of 512 equal-mass levels, a constant law is its value, and
    the output Σ w a f(r) is exactly 0; a discrete law of a is tensored with the points."""
    grid = CartesianGrid.from_dict({"a": {"min": -3, "max": 3, "cells": 4},
                                    "b": {"min": -1, "max": 1, "cells": 4},
                                    "r": {"min": 0, "max": 3, "cells": 4}})
    law = InitialLaw({"kind": "gaussian", "kappa": 1.0,
                      "a": {"kind": "uniform", "low": -1.0, "high": 1.0},
                      "b": {"kind": "constant", "value": 0.25}}, dim=10)
    positions, weights = law.particles(1000, grid)
    assert positions.shape == (1024, 3) and np.all(weights == 1 / 1024)
    for column, cdf in ((0, stats.uniform(-1, 2).cdf), (2, law.axis_law("r").cdf)):
        levels = np.floor(cdf(positions[:, column]) * 512).astype(int)
        np.testing.assert_array_equal(np.bincount(levels, minlength=512), np.full(512, 2))
    assert np.all(positions[:, 1] == 0.25)
    assert abs(weights @ (positions[:, 0] * np.sin(positions[:, 2]))) < 1e-15
    discrete = InitialLaw({"kind": "gaussian", "kappa": 1.0,
                           "a": {"kind": "discrete", "values": [-3.0, 1.0],
                                 "weights": [0.25, 0.75]},
                           "b": {"kind": "constant", "value": 0.0}}, dim=10)
    positions, weights = discrete.particles(1000, grid)
    assert positions.shape == (1024, 3) and weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert abs(weights @ (positions[:, 0] * np.cos(positions[:, 2]))) < 1e-15
    with pytest.raises(CaseError, match="init.kind: 'point' on a 3-D grid"):
        InitialLaw({"kind": "point", "kappa": 1.0}, dim=10).particles(8, grid)


def test_dop853_is_one_dimensional():
    case = IsotropicModel.examples()["aw"]
    case["pde"] = {**case["pde"], "scheme": "lagrangian", "integrator": "dop853"}
    with pytest.raises(CaseError, match="pde.integrator: 'dop853' solves 1-D grids only"):
        normalize_case(case)


@pytest.mark.parametrize("tables, scheme", [
    ({}, "lagrangian"),                                          # noiseless radial: Lagrangian
    ({"training": {"beta": 100.0}}, "fv"),                       # noisy: finite volumes
    ({"network": {"unit": "aw"}, "init": {"kind": "gaussian", "kappa": 0.8}}, "fv"),
    ({"pde": {"scheme": "fv"}}, "fv"),                           # a named scheme is kept
])
def test_default_scheme(make_case, tables, scheme):
    assert normalize_case(make_case(**tables))["pde"]["scheme"] == scheme


def anchored_case(lam, penalty="anchored", t_final=2.0, unit="aw"):
    return example_case(IsotropicModel, unit, t_final=t_final, particles=256, rtol=1e-10,
                        training={"lambda": lam, "penalty": penalty},
                        snapshot_times=np.linspace(0.0, t_final, 11))


def test_anchored_penalty_at_lambda_zero_is_the_origin_penalty():
    """With λ = 0 the anchors do not enter: the two runs are equal bit for bit."""
    runs = [build_run(anchored_case(0.0, penalty))[2] for penalty in ("origin", "anchored")]
    for run in runs:
        run.advance(2.0)
    np.testing.assert_array_equal(runs[0].x, runs[1].x)


@pytest.mark.parametrize("unit", ["w", "aw", "awb"])
def test_anchored_flow_decreases_its_free_energy(unit, assert_invariants):
    """F = R/(2α²) + (λ/2) Σ w_i |θ_i − θ₀_i|² is the flow's Lyapunov functional (the risk
    alone need not decrease); F(0) = R(0)/(2α²)."""
    sol = ddsolver.solve(anchored_case(0.5, unit=unit))
    assert_invariants(sol, monotone_risk=False)
    assert sol.free_energy[0] == pytest.approx(sol.risk[0] / 2, rel=1e-12)
    assert sol.free_energy[-1] < sol.free_energy[0]


def test_large_anchored_penalty_keeps_particles_at_their_start():
    """For λ → ∞ the particles settle, within a time O(1/λ), at θ₀ − ∇ψ_R(θ₀)/λ + O(1/λ²),
    ψ_R the loss part of ψ at the initial law: the displacement times λ tends to −∇ψ_R(θ₀) =
    v₀/(2ξ), v₀ the λ = 0 velocity at the start, with an error O(1/λ)."""
    _, _, free = build_run(anchored_case(0.0))
    drift = free.velocity(0.0, free.y).reshape(free.x.shape) / 2.0
    errors = []
    for lam in (100.0, 200.0):
        _, _, run = build_run(anchored_case(lam))
        run.advance(0.2)                                  # 40/λ relaxation times
        errors.append(np.abs(lam * (run.x - run.anchor) - drift).max())
    assert errors[0] < 0.05 * np.abs(drift).max(), errors
    assert 1.7 < errors[0] / errors[1] < 2.3, errors


def test_anchored_dop853_twin_matches_dopri5():
    """1-D anchored flow: the scipy DOP853 run on exact point values against the compiled one."""
    case = anchored_case(0.5, unit="w", t_final=1.0)
    _, _, run = build_run(case)
    case["pde"]["integrator"] = "dop853"
    _, _, twin = build_run(case)
    for r in (run, twin):
        r.advance(1.0)
    assert np.abs(run.x - run.anchor).max() > 1e-3
    np.testing.assert_allclose(twin.x, run.x, rtol=0, atol=1e-7)


def test_dead_units_stop_at_w_zero():
    """ReLU units a σ(⟨w, x⟩) at α = 1: ψ is bilinear in (a, r), so a² − r² is conserved along
    every path (d/dt(a² − r²) = 0 for λ = 0), also through a unit's death at w = 0, where
    ȧ = 0 (a_death² = a₀² − r₀²). Where v, g ∝ |r| have their kink, a particle pulled inwards
    from both sides must stop instead of chattering across r = 0: 16384 particles to t = 2 at
    rtol 1e-10 take 60 steps, 2 units die, a² − r² moves by 3e-8 (202 s and 79 000 steps
    without the rule)."""
    case = normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
        "network": {"unit": "aw", "activation": "relu"},
        "training": {"t_final": 2.0},
        "init": {"kind": "gaussian", "kappa": 1.0,
                 "a": {"kind": "uniform", "low": -1.0, "high": 1.0}},
        "pde": {"scheme": "lagrangian", "particles": 16384, "rtol": 1e-10,
                "grid": {"a": {"min": -3.0, "max": 3.0, "cells": 60},
                         "r": {"min": 0.0, "max": 3.0, "cells": 60}},
                "snapshot_times": [0.0, 2.0]}})
    _, _, run = build_run(case)
    start = run.x.copy()
    run.advance(2.0)
    assert run.steps < 500, run.steps
    dead = np.abs(run.x[:, 1]) < run.dead_radius
    assert dead.sum() >= 1                              # the rule was exercised
    np.testing.assert_allclose(run.x[:, 0] ** 2 - run.x[:, 1] ** 2,
                               start[:, 0] ** 2 - start[:, 1] ** 2, rtol=0, atol=1e-7)
