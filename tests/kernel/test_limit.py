"""The kernel regime (ddsolver.kernel): exact on linear units for every α, the finite-α DD
converging to it, the kernel-ridge-regression limit, and bad input."""

from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.kernel import build
from ddsolver.model import model_of

ROOT = Path(__file__).resolve().parents[2]
COV, B_STAR, NOISE = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([1.0, -0.5]), 0.1
TIMES = [0.0, 0.5, 1.0, 2.0, 3.0]


def linear_case(regime, cells=80, scale=1.0):
    return normalize_case({
        "data": {"kind": "custom", "file": str(ROOT / "examples" / "user_linear.py"),
                 "params": {"C": COV.tolist(), "b_star": B_STAR.tolist(), "noise": NOISE}},
        "network": {"scale": scale},
        "training": {"t_final": 3.0, "regime": regime},
        "init": {"theta1": {"kind": "normal", "mean": 0.0, "std": 0.2},
                 "theta2": {"kind": "normal", "mean": 0.0, "std": 0.2}},
        "pde": {"grid": {"theta1": {"min": -1.5, "max": 2.5, "cells": cells},
                         "theta2": {"min": -2.0, "max": 2.0, "cells": cells}},
                "snapshot_times": TIMES}})


def aw_case(regime="kernel", scale=1.0, lam=0.0, penalty="origin", a=None, t_final=2.0,
            **pde):
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
        "network": {"unit": "aw", "activation": "relu", "scale": scale},
        "training": {"t_final": t_final, "regime": regime, "lambda": lam, "penalty": penalty},
        "init": {"kind": "gaussian", "kappa": 1.0,
                 "a": a or {"kind": "uniform", "low": -1.0, "high": 1.0}},
        "pde": {"grid": {"a": {"min": -1.5, "max": 1.5, "cells": 60},
                         "r": {"min": 0.0, "max": 3.0, "cells": 60}},
                "snapshot_times": [0.0, 0.5, 1.0, 2.0], **pde}})


def test_linear_units_are_their_own_kernel_limit():
    """Units ⟨θ, x⟩ from a law of mean 0: the DD is linear, every α gives the same curve,
    R(t) = noise² + eᵀCe with e = −exp(−2Ct) b*. The kernel regime reaches it to round-off;
    finite volumes at α = 1 and α = 4 converge to it with the grid."""
    kernel = ddsolver.solve(linear_case("kernel"))
    exact = [NOISE**2 + (expm(-2 * COV * t) @ B_STAR) @ COV @ (expm(-2 * COV * t) @ B_STAR)
             for t in TIMES]
    np.testing.assert_allclose(kernel.risk, exact, rtol=0, atol=1e-12)
    assert kernel.attrs["scheme"] == "kernel-limit"
    for scale in (1.0, 4.0):
        gaps = [np.abs(ddsolver.solve(linear_case("mean_field", cells, scale)).risk
                       - kernel.risk).max() for cells in (40, 80)]
        assert gaps[1] < gaps[0] / 20 and gaps[1] < 1e-6, gaps


def test_finite_alpha_converges_to_the_kernel_curve():
    """(a, r) ReLU units, a ~ U[−1, 1]: the Lagrangian DD at α = 4 … 32 (pairs (±a, ϑ), so its
    initial output is exactly 0) approaches the kernel curve like 1/α², not 1/α: with a law of
    a symmetric about 0, α → −α is a ↦ −a, so the risk is even in 1/α (docs/theory.md §6).
    Measured 5.6e-4, 1.4e-4, 3.4e-5, 7.6e-6."""
    kernel = ddsolver.solve(aw_case())
    alphas = np.array([4.0, 8.0, 16.0, 32.0])
    gaps = np.array([np.abs(ddsolver.solve(aw_case("mean_field", alpha, scheme="lagrangian",
                                                   particles=4096, rtol=1e-9)).risk
                            - kernel.risk).max() for alpha in alphas])
    slope = np.polyfit(np.log(alphas), np.log(gaps), 1)[0]
    assert -2.3 < slope < -1.8, (gaps, slope)


def test_long_time_limit_is_kernel_ridge_regression():
    """Anchored penalty λ = 0.5: at t = 200 the moments equal the kernel ridge regression
    c = −(G_cc + λI)⁻¹G_c0 to 1e-8, and the energy R/2 + (λ/2)zᵀGz decreased along the way."""
    case = aw_case(lam=0.5, penalty="anchored", t_final=200.0)
    _, _, run = build(case, model_of(case))
    energies = []
    for t in (0.0, 1.0, 5.0, 20.0, 200.0):
        run.advance(t)
        energies.append(run.free_energy())
    np.testing.assert_allclose(run.moments()[1], run.ridge_limit(), rtol=0, atol=1e-8)
    assert np.all(np.diff(energies) <= 1e-14) and energies[1] < energies[0]
    sol = ddsolver.solve(case)
    assert sol.diagnostics["displacement"][-1] > 0 and np.all(sol.mass == pytest.approx(1.0))


@pytest.mark.parametrize("tables, message", [
    ({"a": {"kind": "uniform", "low": -1.0, "high": 2.0}}, "init.a: the kernel regime"),
    ({"lam": 0.3}, "training.penalty: the kernel regime"),
])
def test_bad_input(tables, message):
    with pytest.raises(CaseError, match=message):
        case = aw_case(**tables)
        build(case, model_of(case))


def test_bad_input_noise_and_scale():
    raw = {"data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
           "network": {"unit": "aw", "activation": "relu"},
           "training": {"t_final": 1.0, "regime": "kernel", "beta": 50.0},
           "init": {"kind": "gaussian", "kappa": 1.0}}
    case = normalize_case(raw)
    with pytest.raises(CaseError, match="noiseless"):
        build(case, model_of(case))
    raw["network"]["scale"] = 0.0
    with pytest.raises(CaseError, match="network.scale"):
        normalize_case(raw)


def test_discrete_law_of_a_with_mean_zero():
    """a ∈ {−3, 1} with weights (¼, ¾): mean 0 but not symmetric, the atoms on cell edges. The
    kernel regime integrates over the atoms where they are; the Lagrangian particles are the
    tensor product of the two atoms with the Sobol' points of r, so their output Σ w a f(r) is
    exactly 0 and the risk at t = 0 is R_# = 1 at any α. ReLU units are bilinear in (a, r), so
    the 1/α term vanishes for any law of a of mean 0 (docs/theory.md §6): measured 5.2e-5 at
    α = 4, 2.1e-6 at α = 16."""
    law = {"kind": "discrete", "values": [-3.0, 1.0], "weights": [0.25, 0.75]}
    grid = {"a": {"min": -4.0, "max": 2.0, "cells": 60}, "r": {"min": 0.0, "max": 3.0,
                                                             "cells": 60}}
    kernel = ddsolver.solve(aw_case(a=law, grid=grid))
    gaps = []
    for alpha in (4.0, 16.0):
        case = aw_case("mean_field", alpha, a=law, scheme="lagrangian", particles=4096,
                       rtol=1e-10, grid=grid)
        solution = ddsolver.solve(case)
        assert solution.risk[0] == pytest.approx(1.0, abs=1e-12)
        gaps.append(np.abs(solution.risk - kernel.risk).max())
    assert gaps[1] < gaps[0] / 10 and gaps[1] < 5e-6, gaps


def skewed_case(regime, scale=1.0):
    """Units a σ(⟨w, x⟩) with the piecewise-linear σ of MMN 9.1 and a ∈ {−3, 1} (¼, ¾)."""
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
        "network": {"unit": "aw", "activation": "piecewise_linear", "scale": scale,
                    "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
        "training": {"t_final": 2.0, "regime": regime},
        "init": {"kind": "gaussian", "kappa": 1.0,
                 "a": {"kind": "discrete", "values": [-3.0, 1.0], "weights": [0.25, 0.75]}},
        "pde": {"scheme": "lagrangian", "particles": 4096, "rtol": 1e-10,
                "grid": {"a": {"min": -4.0, "max": 2.0, "cells": 60},
                         "r": {"min": 0.0, "max": 3.0, "cells": 60}},
                "snapshot_times": np.linspace(0.0, 2.0, 11)}})


def test_generic_rate_is_one_over_alpha():
    """With a curved σ and a skewed law of a, nothing cancels the 1/α term: the gap to the kernel
    curve falls with slope −1 ± 0.2 (measured 0.026, 0.013, 0.0069, 0.0034 at α = 4 … 32, slope
    −0.98). The kernel regime's stored law at α = network.scale (each unit moved by D_t/α)
    has the mean of a of the finite-α DD to O(1/α²) while that mean moves by O(1/α) (at α = 32:
    moved 0.015, mismatch 1.8e-4)."""
    kernel = ddsolver.solve(skewed_case("kernel"))
    alphas = np.array([4.0, 8.0, 16.0, 32.0])
    gaps = []
    for alpha in alphas:
        finite = ddsolver.solve(skewed_case("mean_field", alpha))
        gaps.append(np.abs(finite.risk - kernel.risk).max())
    slope = np.polyfit(np.log(alphas), np.log(gaps), 1)[0]
    assert -1.2 < slope < -0.8, (gaps, slope)
    first_order = ddsolver.solve(skewed_case("kernel", alphas[-1]))
    np.testing.assert_allclose(first_order.risk, kernel.risk, rtol=0, atol=1e-14)
    moved = np.abs(finite.moment("a") - finite.moment("a")[0]).max()
    mismatch = np.abs(first_order.moment("a") - finite.moment("a")).max()
    assert moved > 0.01 and mismatch < moved / 20, (moved, mismatch)


@pytest.mark.parametrize("law, message", [
    ({"kind": "discrete", "values": [1.0, -1.0], "weights": [0.5, 0.5]}, "values: expected"),
    ({"kind": "discrete", "values": [-1.0, 1.0], "weights": [0.5, 0.6]}, "weights: expected"),
])
def test_discrete_law_checks(law, message):
    with pytest.raises(CaseError, match=message):
        aw_case(a=law)


def test_anchored_penalty_finite_alpha_converges_to_the_kernel_ridge_flow():
    """The anchored penalty λ = 0.5 in the finite-α Lagrangian DD (particles carry θ₀) against
    the kernel regime with the same penalty: measured 4.4e-4 at α = 4, 2.6e-5 at α = 16."""
    kernel = ddsolver.solve(aw_case(lam=0.5, penalty="anchored", t_final=4.0))
    gaps = [np.abs(ddsolver.solve(aw_case("mean_field", alpha, lam=0.5, penalty="anchored",
                                          t_final=4.0, scheme="lagrangian", particles=4096,
                                          rtol=1e-10)).risk - kernel.risk).max()
            for alpha in (4.0, 16.0)]
    assert gaps[0] / gaps[1] > 10 and gaps[1] < 5e-5, gaps
