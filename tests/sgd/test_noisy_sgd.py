"""Noisy particle SGD (docs/theory.md §3) on linear units: the Ornstein–Uhlenbeck case.

With σ(t) = t the prediction is ŷ = ⟨m, x⟩, m = mean_i w_i, and the gradient term
(2s/α)(y − ŷ) x is the same vector for every unit. So the deviations e_i = w_i − m follow a pure
AR(1) recursion, e ← (1 − 2λs) e + sqrt(4s/β)(g_i − ḡ), whose stationary per-coordinate variance
(sample variance over the N units, 1/(N − 1) normalisation) is exactly

    σ_s² = 4s/β / (1 − (1 − 2λs)²) = 1 / (βλ(1 − λs))          (s = ε, ξ ≡ 1)

with no contribution of the gradient noise. The second moment about 0 adds the variance of the
mean m, which the gradient noise does feed: to first order in s,

    E w_ij² = (1 − 1/N) σ_s² + V_m,   V_m ≈ (1/(βN) + s c)/(λ + c),   c = E x_j² = (τ₊² + τ₋²)/2.

Both tend to 1/(βλ) as N → ∞, s → 0: the PDE's Gibbs variance
(tests/stepper/test_noisy_integrators.py).
"""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.online import online_sgd
from ddsolver.sgd.run import simulate

CONSTANT = (0, 1.0, 1.0, 0.0)
TAUS = np.array([1.8, 0.2])                        # Δ = 0.8
C = float((TAUS**2).mean())


def batch_mean_and_error(series, batches=20):
    """Mean of a stationary time series and its standard error from batch means."""
    series = np.asarray(series, float)
    usable = series[: series.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return series.mean(), usable.std(ddof=1) / math.sqrt(batches)


def test_noisy_sgd_relaxes_to_gibbs_variance():
    """d = 10, N = 50, λ = 0.5, β = 10, ε = 1e-3: after a burn-in of t = 10 (the variance relaxes
    at rate 4λ = 2), 2000 snapshots every Δt = 0.1 over t ∈ [10, 210]. The time-averaged sample
    variance matches 1/(βλ(1 − λs)) within 5 standard errors (batch means), the second moment
    matches (1 − 1/N)σ_s² + V_m within 5 standard errors plus the O(s²) neglected (1e-4), and
    both are 1/(βλ) = 0.2 to within 2 % (finite N and s)."""
    n, d, lam, beta, eps = 50, 10, 0.5, 10.0, 1e-3
    code, params = pointwise_args(make_activation("linear", {}))
    W = np.random.default_rng(0).standard_normal((n, d)) * 0.8 / math.sqrt(d)
    steps_per_snapshot, burn_in, snapshots = 100, 10_000, 2000
    online_sgd(W, code, params, TAUS, 1.0, lam, 1.0 / beta, eps, CONSTANT, 0, burn_in, 1)
    sample_var, second_moment = [], []
    k = burn_in
    for c in range(snapshots):
        online_sgd(W, code, params, TAUS, 1.0, lam, 1.0 / beta, eps, CONSTANT, k,
                   k + steps_per_snapshot, 2 + c)
        k += steps_per_snapshot
        sample_var.append(W.var(axis=0, ddof=1).mean())
        second_moment.append((W**2).mean())
    sigma2 = 1.0 / (beta * lam * (1 - lam * eps))
    v_m = (1.0 / (beta * n) + eps * C) / (lam + C)
    mean_var, err_var = batch_mean_and_error(sample_var)
    mean_m2, err_m2 = batch_mean_and_error(second_moment)
    print(f"sample variance {mean_var:.5f} ± {err_var:.5f} (exact {sigma2:.5f}); second moment "
          f"{mean_m2:.5f} ± {err_m2:.5f} (predicted {(1 - 1 / n) * sigma2 + v_m:.5f}); "
          f"1/(βλ) = {1 / (beta * lam):.5f}")
    assert abs(mean_var - sigma2) <= 5 * err_var, (mean_var, sigma2, err_var)
    assert abs(mean_m2 - ((1 - 1 / n) * sigma2 + v_m)) <= 5 * err_m2 + 1e-4, (mean_m2, err_m2)
    assert err_var < 0.01 * sigma2                         # the test has power
    assert mean_var == pytest.approx(1 / (beta * lam), rel=0.02)
    assert mean_m2 == pytest.approx(1 / (beta * lam), rel=0.02)


def test_noisy_sgd_without_ridge_spreads_like_the_heat_kernel():
    """λ = 0: the deviations from the mean are a random walk, per-coordinate sample variance
    s_0 + (4s/β)·k exactly in expectation (the PDE's heat kernel s_0 + 4ξt/β); 8 seeds,
    t = 2."""
    n, d, beta, eps, steps = 50, 10, 10.0, 1e-3, 2000
    code, params = pointwise_args(make_activation("linear", {}))
    W0 = np.random.default_rng(3).standard_normal((n, d)) * 0.8 / math.sqrt(d)
    growth = []
    for seed in range(8):
        W = W0.copy()
        online_sgd(W, code, params, TAUS, 1.0, 0.0, 1.0 / beta, eps, CONSTANT, 0, steps, seed)
        growth.append(W.var(axis=0, ddof=1).mean() - W0.var(axis=0, ddof=1).mean())
    growth = np.array(growth)
    expected = 4 * eps * steps / beta                     # 0.8
    # each estimate: the sum of per-coordinate χ²-type increments, relative sd ≈ sqrt(2/(N d))
    tol = 5 * expected * math.sqrt(2 / ((n - 1) * d)) / math.sqrt(len(growth)) * 1.5
    print("growth", growth.mean(), "expected", expected, "tol", tol)
    assert abs(growth.mean() - expected) <= tol


@pytest.mark.parametrize("seed", [0, 1])
def test_simulate_noisy_linear_follows_the_ou_law(seed, make_case):
    """Through ``simulate``: the mean of r_i² over N = 200 units follows the PDE's d·s(t) of the
    OU problem (tests/stepper/test_noisy_integrators.py) with the finite-N, finite-s corrections
    of the module docstring, at t = 0.25 … 4 (β = 10, λ = 0.5, d = 10, ε = 1e-3)."""
    n, d, lam, beta, eps, kappa = 200, 10, 0.5, 10.0, 1e-3, 0.8
    times = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
    case = make_case(data={"dim": d}, network={"activation": "linear", "activation_params": {}},
                     training={"t_final": 4.0, "beta": beta, "lambda": lam},
                     init={"kind": "gaussian", "kappa": kappa},
                     pde={"grid": {"r": {"min": 0.0, "max": 4.0, "cells": 400}}},
                     sgd={"neurons": n, "eps": eps, "snapshot_times": times})
    result = simulate(case, seed, progress=False)
    np.testing.assert_allclose(result.t, times)
    mean_r2 = (result.coords["r"] ** 2).mean(axis=1)
    # exact recursion of the within-network variance from the realised start, plus V_m(t)
    r0 = result.coords["r"][0]
    s0 = float((r0**2).mean()) / d
    k = np.rint(times / eps)
    sigma2 = 1.0 / (beta * lam * (1 - lam * eps))
    a_inf = (1 - 1 / n) * sigma2
    a = a_inf + ((1 - 1 / n) * s0 - a_inf) * (1 - 2 * lam * eps) ** (2 * k)
    vm_inf = (1.0 / (beta * n) + eps * C) / (lam + C)
    v_m = vm_inf + (s0 / n - vm_inf) * np.exp(-4 * (lam + C) * times)
    predicted = d * (a + v_m)
    # fluctuation of the mean of n·d squared Gaussians (sd ≈ sqrt(2/(n d)) relative), 5 sd
    tol = 5 * predicted * math.sqrt(2 / (n * d))
    print("mean r²", mean_r2, "predicted", predicted, "PDE d s(t)",
          d * (0.2 + (kappa**2 / d - 0.2) * np.exp(-4 * lam * times)))
    assert np.all(np.abs(mean_r2 - predicted) <= tol), (mean_r2 - predicted) / tol
