"""Spectral schemes on bounded intervals (Chebyshev) and their time stepping
(ddsolver.stepper.spectral): the noisy radial DD against its exact Gaussian solution (spectral
convergence, ξ(t) by time change) and against finite volumes (docs/theory.md §3, 4.1, 5.2); the
monitors and the case errors of the scheme."""

import logging
import math
from itertools import pairwise

import numpy as np
import pytest
from scipy import integrate, stats

from ddsolver import solve
from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.solve import build_run

BETA, LAM, DIM, KAPPA = 10.0, 0.5, 10, 0.8


# --- the noisy radial DD with linear units: exact Gaussian law of w -------------------------

@pytest.fixture(name="linear_case", scope="module")
def linear_case_fixture(make_case):
    def linear_case(cells, *, rmax=4.5, rmin=0.0, schedule=None, t_final=2.0, tol=1e-10):
        training = {"t_final": t_final, "beta": BETA, "lambda": LAM}
        if schedule is not None:
            training["schedule"] = schedule
        return make_case(data={"dim": DIM},
                         network={"activation": "linear", "activation_params": {}},
                         training=training, init={"kind": "gaussian", "kappa": KAPPA},
                         pde={"scheme": "spectral", "tol": tol, "snapshot_times": [0.0, t_final],
                              "grid": {"r": {"min": rmin, "max": rmax, "cells": cells}}})

    return linear_case


def exact_radial_density(r, tau):
    """Law of r = |w| when w ~ N(0, s I_d), s(τ) = s_∞ + (s₀ − s_∞)e^{−4λτ} (τ = ∫ξ)."""
    s_inf, s0 = 1 / (BETA * LAM), KAPPA**2 / DIM
    s = s_inf + (s0 - s_inf) * math.exp(-4 * LAM * tau)
    return stats.chi(DIM, scale=math.sqrt(s)).pdf(r)


def nodal_error(case, tau):
    _, _, run = build_run(normalize_case(case))
    run.advance(case["training"]["t_final"])
    p = run.nodal
    return np.abs(p - exact_radial_density(run.op.r, tau)).max(), run


def test_chebyshev_converges_spectrally_to_the_exact_solution(linear_case):
    errors = []
    for n in (16, 24, 32, 40, 48, 56):
        error, run = nodal_error(linear_case(n), 2.0)
        errors.append(error)
        assert abs(run.op.mass(run.nodal) - 1) < 1e-12          # mass to round-off
    # exponential: log error falls at least linearly in n (a factor > 5 per 8 points)
    assert errors[-1] < 2e-7, errors
    assert all(b < a / 5 for a, b in pairwise(errors[1:])), errors


def test_time_dependent_step_size_by_time_change(linear_case):
    schedule = {"kind": "power", "value": 1.0, "exponent": 0.5, "offset": 1.0}
    tau = integrate.quad(lambda s: (1 + s) ** -0.5, 0, 3.0)[0]
    error, _ = nodal_error(linear_case(56, schedule=schedule, t_final=3.0), tau)
    assert error < 2e-7


def test_spectral_solve_keeps_its_invariants_and_stores_cell_averages(tmp_path, linear_case):
    sol = solve(linear_case(56), tmp_path / "spec.h5", progress=False)
    np.testing.assert_allclose(sol.mass, 1.0, atol=1e-11)
    assert sol.grid.shape == (8 * 56,) and sol.attrs["integrator"] == "etdrk4"
    edges = sol.grid.axes[0].edges
    exact = np.diff(stats.chi(DIM, scale=math.sqrt(1 / (BETA * LAM) + (KAPPA**2 / DIM - 1 / (
        BETA * LAM)) * math.exp(-8 * LAM))).cdf(edges)) / np.diff(edges)
    assert np.abs(sol.density[-1] - exact).max() < 1e-6
    assert np.all(np.diff(sol.free_energy) <= 1e-12)
    from ddsolver import load
    loaded = load(tmp_path / "spec.h5")
    np.testing.assert_array_equal(loaded.density, sol.density)


# --- against finite volumes on the noisy MMN 9.1 problem ------------------------------------

@pytest.fixture(name="mmn_noisy", scope="module")
def mmn_noisy_fixture(make_case):
    def mmn_noisy(scheme, cells):
        return make_case(training={"t_final": 2.0, "beta": 400.0, "lambda": 0.05},
                         pde={"scheme": scheme, "tol": 1e-9,
                              "snapshot_times": [0.0, 0.5, 1.0, 2.0],
                              "grid": {"r": {"min": 0.0, "max": 4.0, "cells": cells}}})

    return mmn_noisy


def test_finite_volumes_converge_to_the_spectral_solution(mmn_noisy):
    spectral = solve(mmn_noisy("spectral", 96), progress=False)
    finer = solve(mmn_noisy("spectral", 128), progress=False)
    assert np.abs(spectral.risk - finer.risk).max() < 1e-6       # spectral: converged
    gaps = [np.abs(solve(mmn_noisy("fv", cells), progress=False).risk - spectral.risk).max()
            for cells in (200, 400)]
    order = math.log2(gaps[0] / gaps[1])
    assert 1.5 < order < 3.0 and gaps[1] < 3e-3, (gaps, order)


def test_compressed_chebyshev_features_keep_the_operator(mmn_noisy):
    """The radial operator's features compressed at pde.kernel_tol (Clenshaw–Curtis-weighted
    Gram matrix) keep fewer terms than the series and give the uncompressed operator's
    potential, transport and risk to the tolerance on the run's state; a loose tolerance drops more
    terms and its error shows, bounded by the tolerance."""
    from ddsolver.operator.chebyshev import ChebyshevRadialOperator

    case = normalize_case(mmn_noisy("spectral", 96))
    tol = case["pde"]["kernel_tol"]
    _, reduction, run = build_run(case)
    run.advance(2.0)
    p, op = run.nodal, run.op
    beta, axis = case["training"]["beta"], op.r
    full = ChebyshevRadialOperator(reduction, axis[0], axis[-1], axis.size, beta=beta)
    loose = ChebyshevRadialOperator(reduction, axis[0], axis[-1], axis.size, beta=beta,
                                    kernel_tol=1e-4)
    assert loose.rank < run.kernel_rank == op.rank < reduction.rank == full.rank
    scale = np.abs(full.psi(p)).max()
    assert np.abs(op.psi(p) - full.psi(p)).max() < 10 * tol * scale
    transport = full.nonlinear_state(full.to_state(p))
    assert (np.abs(op.nonlinear_state(op.to_state(p)) - transport).max()
            < 1e3 * tol * np.abs(transport).max())            # a derivative: n² amplification
    assert abs(op.risk(p) - full.risk(p)) < 10 * tol * full.risk(p)
    assert 1e-12 < abs(loose.risk(p) - full.risk(p)) < 1e-4 * full.risk(p)


# --- monitors and errors --------------------------------------------------------------------

def test_under_resolved_spectral_solve_warns(caplog, linear_case, mmn_noisy):
    case = mmn_noisy("spectral", 64)            # the r = 0 node undershoots to −0.2 max p
    with caplog.at_level(logging.WARNING, logger="ddsolver"):
        solve(case, progress=False)
    assert any("negative" in r.message for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ddsolver"):
        solve(linear_case(56), progress=False)
    assert not caplog.records


def test_unresolved_spectral_solve_stops_with_one_line(make_case):
    from ddsolver.errors import NumericalError
    case = make_case(training={"t_final": 1.0},                    # noiseless 9.1: sharpens
                     pde={"scheme": "spectral", "snapshot_times": [0.0, 0.5, 1.0],
                          "grid": {"r": {"min": 0.0, "max": 3.0, "cells": 96}}})
    with pytest.raises(NumericalError, match="not resolved"):
        solve(case, progress=False)


@pytest.mark.parametrize("tables, key", [
    ({"network": {"unit": "aw", "activation": "relu", "activation_params": {}}}, "pde.scheme"),
    ({"pde": {"scheme": "fv", "integrator": "etdrk4"}}, "pde.integrator"),
    ({"pde": {"scheme": "spectral", "integrator": "ssprk3"}}, "pde.integrator"),
])
def test_spectral_case_errors(tables, key, make_case):
    case = make_case(**{name: dict(entries) for name, entries in tables.items()})
    case["pde"].setdefault("scheme", "spectral")
    with pytest.raises(CaseError, match=key):
        normalize_case(case)


def test_spectral_needs_a_density(make_case):
    case = make_case(init={"kind": "point", "kappa": 1.0}, pde={"scheme": "spectral"})
    with pytest.raises(CaseError, match="init"):
        build_run(normalize_case(case))
