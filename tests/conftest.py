"""Shared fixtures: small cases and the invariants every solve must satisfy.

Tests take them as arguments (``def test_x(make_case, assert_invariants)``); no test module
imports from this file."""

import copy

import numba
import numpy as np
import pytest

MMN_CASE = {
    "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
    "network": {"unit": "w", "activation": "piecewise_linear",
                "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
    "training": {"t_final": 10.0},
    "init": {"kind": "gaussian", "kappa": 0.8},
    "pde": {"grid": {"r": {"min": 0.0, "max": 8.0, "cells": 800}}},
}


def make_case(**tables):
    """The MMN 9.1 case with some tables updated, e.g. make_case(pde={"scheme": "lagrangian"});
    the ``init`` table is replaced, not updated."""
    case = copy.deepcopy(MMN_CASE)
    for name, entries in tables.items():
        if name == "init":
            case[name] = {}
        case.setdefault(name, {}).update(entries)
    return case


def assert_invariants(sol, mass_tol=1e-11, monotone_risk=None):
    """Mass conserved, density non-negative, free energy non-increasing (ξ > 0) when stored.

    The risk is checked non-increasing by default for noiseless runs (β = ∞, as before the noisy
    solver existed); with noise only F is a Lyapunov functional, so there the risk is checked
    only on request (``monotone_risk=True``). F may be negative (entropy), so its tolerance is
    relative to max |F| over the run, like the risk's relative one."""
    np.testing.assert_allclose(sol.mass, 1.0, atol=mass_tol, rtol=0)
    assert sol.density.min() >= 0.0
    training = sol.case.get("training", {}) if isinstance(sol.case, dict) else {}
    noiseless = float(training.get("beta", np.inf)) == np.inf
    if monotone_risk is None:
        monotone_risk = noiseless
    if monotone_risk:
        assert np.all(np.diff(sol.risk) <= 1e-12 * np.abs(sol.risk[:-1])), np.diff(sol.risk).max()
    free_energy = getattr(sol, "free_energy", None)
    if free_energy is not None:
        free_energy = np.asarray(free_energy, float)
        assert np.all(np.isfinite(free_energy)), free_energy
        scale = np.abs(free_energy).max()
        assert np.all(np.diff(free_energy) <= 1e-12 * scale), np.diff(free_energy).max()


def noisy_mmn_case(*, t_final=10.0, beta=400.0, lam=0.05, cells=400, rmax=8.0,
                   integrator="auto", tol=1e-7, times=None):
    """The 9.1 case (Δ = 0.8, piecewise-linear σ, d = 40, κ = 0.8) with noise and ridge."""
    pde = {"integrator": integrator, "tol": tol,
           "grid": {"r": {"min": 0.0, "max": rmax, "cells": cells}}}
    if times is not None:
        pde["snapshot_times"] = times
    return make_case(training={"t_final": t_final, "beta": beta, "lambda": lam}, pde=pde)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(name="make_case", scope="session")
def make_case_fixture():
    """The factory ``make_case(**tables)`` above."""
    return make_case


@pytest.fixture(name="assert_invariants", scope="session")
def assert_invariants_fixture():
    """The check ``assert_invariants(sol, mass_tol=1e-11, monotone_risk=None)`` above."""
    return assert_invariants


@pytest.fixture(name="noisy_mmn_case", scope="session")
def noisy_mmn_case_fixture():
    """The factory ``noisy_mmn_case(**options)`` above."""
    return noisy_mmn_case


@pytest.fixture
def mmn_case():
    return make_case()


def _fixed_step_run(stepper, rho0, t_end, record_every=None):
    """Fixed-step ETDRK4 from ρ₀ at t = 0 to ``t_end`` with steps ≤ ``stepper.dt`` (the last
    one shortened): (ρ(t_end), history), history the arrays t, free_energy, min_density, mass
    every ``record_every`` steps and at the end (None without ``record_every``)."""
    op = stepper.op
    nsteps = int(np.ceil(t_end / stepper.dt - 1e-12)) if t_end > 0 else 0
    h = t_end / nsteps if nsteps else 0.0
    v = op.to_state(op._check(rho0))
    keys = ("t", "free_energy", "min_density", "mass")
    hist = None if record_every is None else {k: [] for k in keys}

    def record(t):
        rho = op.from_state(v)
        for key, value in zip(keys, (t, op.free_energy(rho), op.min_density(rho), op.mass(rho))):
            hist[key].append(value)

    if hist is not None:
        record(0.0)
    for i in range(nsteps):
        v = stepper.step_state(v, h)
        assert np.all(np.isfinite(v)), f"non-finite density at t = {(i + 1) * h:.6g}"
        if hist is not None and ((i + 1) % record_every == 0 or i + 1 == nsteps):
            record((i + 1) * h)
    return op.from_state(v), None if hist is None else {k: np.asarray(x) for k, x in hist.items()}


@pytest.fixture(name="fixed_step_run", scope="session")
def fixed_step_run_fixture():
    """The fixed-step ETDRK4 driver of the spectral tests (the package's runs are adaptive)."""
    return _fixed_step_run


@pytest.fixture(scope="module")
def one_numba_thread():
    """numba's kernels on one thread for a module: on shared cores parallel kernels of small
    problems only add synchronisation."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)
