"""Finite volumes on the 2-D and 3-D reductions of the built-in models: mass, positivity, risk and
free-energy decay, a cross-check of the a-velocity against the 1-D radial model, and the
measured order in 2-D."""

import math

import numpy as np
import pytest

import ddsolver

RELU_ISO = {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10}
RELU_ANISO = {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 24, "signal_dim": 8}
A_LAW = {"kind": "normal", "mean": 0.5, "std": 0.3}


def case(data, unit, grid, t_final=0.5, init=None, **training):
    return {"data": data, "network": {"unit": unit, "activation": "relu"},
            "training": {"t_final": t_final, **training},
            "init": init or {"kind": "gaussian", "kappa": 1.0, "a": A_LAW},
            "pde": {"grid": grid, "threads": 1, "snapshot_times": np.linspace(0, t_final, 6),
                    "kernel_tol": 1e-10 if data is RELU_ISO else 1e-6}}


A = {"min": -2.0, "max": 3.0, "cells": 32}
R = {"min": 0.0, "max": 3.0, "cells": 32}
MODELS = {
    "aw": case(RELU_ISO, "aw", {"a": A, "r": R}),
    "awb": case(RELU_ISO, "awb", {"a": dict(A, cells=16), "b": {"min": -2, "max": 2, "cells": 16},
                                  "r": dict(R, cells=16)},
                init={"kind": "gaussian", "kappa": 1.0, "a": A_LAW,
                      "b": {"kind": "normal", "mean": 0.0, "std": 0.25}}),
    "anisotropic w": case(RELU_ANISO, "w", {"r1": R, "r2": R}, init={"kind": "gaussian",
                                                                    "kappa": 1.5}),
    "anisotropic aw": case(RELU_ANISO, "aw", {"a": dict(A, cells=16), "r1": dict(R, cells=16),
                                              "r2": dict(R, cells=16)},
                           init={"kind": "gaussian", "kappa": 1.5, "a": A_LAW}),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_invariants_of_the_multid_models(name, assert_invariants):
    sol = ddsolver.solve(MODELS[name], progress=False)
    assert sol.density.shape[1:] == sol.grid.shape
    assert sol.grid.names == tuple(MODELS[name]["pde"]["grid"])
    assert_invariants(sol)
    assert sol.risk[-1] < sol.risk[0] - 1e-3                      # it does learn


def test_noisy_aw_dissipates_the_free_energy(assert_invariants):
    noisy = case(RELU_ISO, "aw", {"a": A, "r": R}, beta=200.0, **{"lambda": 0.1})
    sol = ddsolver.solve(noisy, progress=False)
    assert_invariants(sol)
    assert np.isfinite(sol.free_energy).all()


def risk_slope(sol):
    """dR/dt at t = 0 from the first two snapshots (second-order one-sided difference)."""
    t, r = sol.t, sol.risk
    return (-3 * r[0] + 4 * r[1] - r[2]) / (2 * t[1])


def test_a_velocity_against_the_radial_model():
    """ρ₀ = N(1, s²) ⊗ p(r) gives ψ_aw(a, r) = a ψ_w(r) with ψ_w the 1-D potential of p (E a = 1),
    so ∇ψ = (ψ_w, a ψ_w') and dR/dt(0) = (1 + s²) dR_w/dt(0) − 4ξ ∫ ψ_w² dp
    (docs/theory.md §2, α = 1)."""
    from ddsolver.case import as_case
    from ddsolver.solve import build_run
    h, s = 2e-3, 0.1
    times = {"snapshot_times": [0.0, h, 2 * h]}
    r_axis = {"min": 0.0, "max": 6.0, "cells": 300}
    radial = case(RELU_ISO, "w", {"r": r_axis}, t_final=2 * h,
                  init={"kind": "gaussian", "kappa": 2.0})
    radial["pde"].update(times, scheme="fv")
    two_d = case(RELU_ISO, "aw", {"a": {"min": 1 - 7 * s, "max": 1 + 7 * s, "cells": 70},
                                  "r": r_axis}, t_final=2 * h,
                 init={"kind": "gaussian", "kappa": 2.0,
                       "a": {"kind": "normal", "mean": 1.0, "std": s}})
    two_d["pde"].update(times)
    grid, _, run = build_run(as_case(radial))
    p = run.density
    pot = run.potential
    psi = pot.base + pot.features.T @ pot.moments(p)
    extra = -4.0 * float(psi**2 @ p) * grid.cell_volume
    slope_w = risk_slope(ddsolver.solve(radial, progress=False))
    slope_aw = risk_slope(ddsolver.solve(two_d, progress=False))
    assert extra < -0.1
    assert slope_aw == pytest.approx((1 + s**2) * slope_w + extra, rel=2e-3)


def test_measured_order_in_2d():
    """Self-convergence of the risk at t = 0.5 on 16², 32², 64² grids: order > 1.5."""
    risks = []
    for cells in (16, 32, 64):
        c = case(RELU_ISO, "aw", {"a": dict(A, cells=cells), "r": dict(R, cells=cells)})
        c["pde"]["tol"] = 1e-9
        risks.append(ddsolver.solve(c, progress=False).risk[-1])
    order = math.log2(abs(risks[0] - risks[1]) / abs(risks[1] - risks[2]))
    print(f"2-D aw risk at t = 0.5: {risks}, observed order {order:.2f}")
    assert order > 1.5
