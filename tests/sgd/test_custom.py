"""Particle SGD of user-defined problems (ddsolver.sgd.custom) on the linear-units problem with an
exact solution (tests/problem/test_user.py): the mean and the spread of the units follow the ODE
of the DD, the exact risk, initial laws and errors."""

import numpy as np
import pytest

from ddsolver.errors import CaseError, DdsolverError
from ddsolver.problem.schedule import Schedule
from ddsolver.problem.user import UserProblem
from ddsolver.sgd.custom import CustomSgdModel

from ..problem.user_linear import B2, C2, EXAMPLE, exact_moments, linear_problems, linear_risk

pytestmark = pytest.mark.usefixtures("one_numba_thread")


def sgd_case(lam, beta, eps, batch=1, schedule=None, noise=0.0, init=None):
    return {"data": {"kind": "custom", "file": str(EXAMPLE),
                     "params": {"C": C2.tolist(), "b_star": B2.tolist(), "noise": noise}},
            "network": {"scale": 1.0},
            "training": {"schedule": schedule or {"kind": "constant", "value": 1.0},
                         "lambda": lam, "beta": beta, "t_final": 1.0},
            "init": init or {"kind": "product",
                             "theta1": {"kind": "normal", "mean": 0.0, "std": 0.25},
                             "theta2": {"kind": "uniform", "low": -0.2, "high": 0.6}},
            "sgd": {"neurons": 400, "eps": eps, "batch": batch, "seeds": [0]},
            "pde": {"grid": {"theta1": {"min": -1.0, "max": 2.0, "cells": 6},
                             "theta2": {"min": -1.0, "max": 1.0, "cells": 4}}}}


@pytest.mark.parametrize("batch", [1, 4])
def test_sgd_mean_follows_the_ode(batch):
    """Noiseless SGD with ξ(t) = (1 + t)^(−1/4). The deviations θ_i − θ̄ shrink exactly by
    Π(1 − 2λs_k), since the drift (2s/α)(y − ŷ)x is common to all units. So is its sampling
    noise: θ̄ does not average it away as N grows, and its error e = θ̄ − m has the covariance
    P_{k+1} = M P_k Mᵀ + (4s²/B)[(uᵀCu)C + Cuuᵀ C], M = I − 2s(λ + C), u = b* − m
    (Isserlis; the quadrature of order 3 has the Gaussian's fourth moments). θ̄ must follow the
    ODE (time ∫ξ, started from the units' own initial mean) within 4√P plus the O(ε) gap
    between the mean recursion and the ODE."""
    lam, eps, t_final = 0.25, 4e-5, 0.5
    schedule = {"kind": "power", "value": 1.0, "exponent": 0.25, "offset": 1.0}
    model = CustomSgdModel(sgd_case(lam, np.inf, eps, batch, schedule))
    theta = model.initial(400, np.random.default_rng(3))
    m0, dev0 = theta.mean(axis=0), theta - theta.mean(axis=0)
    k_end = round(t_final / (eps * batch))
    model.advance(theta, 0, k_end // 2, seed=10 + batch)
    model.advance(theta, k_end // 2, k_end, seed=20 + batch)
    steps = eps * batch * Schedule.from_dict(schedule)(np.arange(k_end) * eps * batch)
    np.testing.assert_allclose(theta - theta.mean(axis=0), np.prod(1 - 2 * lam * steps) * dev0,
                               rtol=0, atol=1e-12)
    b, m, error_cov = C2 @ B2, m0.copy(), np.zeros((2, 2))
    for s in steps:
        shrink = np.eye(2) - 2 * s * (lam * np.eye(2) + C2)
        cu = C2 @ (B2 - m)
        error_cov = (shrink @ error_cov @ shrink.T
                     + 4 * s**2 / batch * ((B2 - m) @ cu * C2 + np.outer(cu, cu)))
        m = shrink @ m + 2 * s * b
    tau = ((1 + t_final) ** 0.75 - 1) / 0.75
    ode = exact_moments(tau, C2, B2, lam, np.inf, m0, [0, 0])[0]
    tol = 4 * np.sqrt(np.diag(error_cov)) + np.abs(ode - m)
    print(f"batch {batch}: |θ̄ − m_ODE| = {np.abs(theta.mean(axis=0) - ode)}, tolerance {tol}")
    assert np.all(np.abs(theta.mean(axis=0) - ode) <= tol)
    assert np.abs(ode - m0).max() > 10 * tol.max()                  # the mean did move


def test_noisy_sgd_covariance_follows_the_ode():
    """The spread of noisy SGD units relaxes as Σ̇ = −4λΣ + (4/β)I, within 4 standard errors of
    an N-sample covariance (relative √(2/N)) plus O(ε)."""
    lam, beta, eps, t_final, n = 0.5, 20.0, 1e-4, 0.5, 2000
    model = CustomSgdModel(sgd_case(lam, beta, eps, noise=0.1))
    theta = model.initial(n, np.random.default_rng(4))
    var0 = np.array([0.25**2, 0.8**2 / 12])
    model.advance(theta, 0, round(t_final / eps), seed=5)
    var = exact_moments(t_final, C2, B2, lam, beta, [0, 0], var0)[1]
    cov = np.cov(theta.T)
    tol = 4 * np.sqrt(2 / n) * var.max() + 10 * eps
    np.testing.assert_allclose(np.diag(cov), var, rtol=0, atol=tol)
    assert abs(cov[0, 1]) < tol


def test_exact_risk_against_monte_carlo_and_closed_form():
    model = CustomSgdModel(sgd_case(0.0, np.inf, 1e-3, noise=0.3))
    rng = np.random.default_rng(6)
    theta = rng.normal(0.3, 0.5, size=(50, 2))
    risk = model.exact_risk(theta)
    np.testing.assert_allclose(risk, linear_risk(theta.mean(axis=0), C2, B2, 0.3), rtol=1e-13)
    problem = model.problem
    np.testing.assert_allclose(risk, problem.label_second_moment + 2 * problem.v(*theta.T).mean()
                               + problem.kernel(theta, theta).mean(), rtol=1e-13)
    x = rng.multivariate_normal(np.zeros(2), C2, size=200_000)
    y = x @ B2 + 0.3 * rng.choice([-1.0, 1.0], size=len(x))
    residual = (y - (theta @ x.T).mean(axis=0)) ** 2
    assert abs(residual.mean() - risk) < 4 * residual.std() / np.sqrt(len(x))
    reduced = model.reduced(theta)
    np.testing.assert_array_equal(reduced["theta2"], theta[:, 1])
    np.testing.assert_array_equal(model.weights(theta), theta)


def test_sgd_initial_density_and_errors():
    values = np.zeros((6, 4))
    values[1, 2], values[4, 0] = 1.0, 3.0
    model = CustomSgdModel(sgd_case(0.0, np.inf, 1e-3, init={"kind": "density",
                                                             "values": values.ravel()}))
    theta = model.initial(40_000, np.random.default_rng(7))
    in_first = (theta[:, 0] >= -0.5) & (theta[:, 0] < 0.0) & (theta[:, 1] >= 0.0) \
        & (theta[:, 1] < 0.5)
    in_second = (theta[:, 0] >= 1.0) & (theta[:, 0] < 1.5) & (theta[:, 1] >= -1.0) \
        & (theta[:, 1] < -0.5)
    assert np.all(in_first | in_second)
    assert abs(in_first.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(theta))
    np.testing.assert_allclose(theta[in_first].mean(axis=0), [-0.25, 0.25], atol=0.01)
    lowrank = linear_problems(C2, B2)["lowrank"]
    with pytest.raises(DdsolverError, match="sgd: a problem given by V and U has no data"):
        CustomSgdModel(sgd_case(0.0, np.inf, 1e-3), problem=lowrank)
    no_grad = UserProblem.from_data(("theta1", "theta2"), lambda x, t: t @ x.T, np.eye(2),
                                    np.ones(2))
    model = CustomSgdModel(sgd_case(0.0, np.inf, 1e-3), problem=no_grad)
    with pytest.raises(DdsolverError, match="pass grad= to UserProblem.from_data"):
        model.advance(np.zeros((3, 2)), 0, 1, seed=0)
    with pytest.raises(CaseError, match="init.theta2: required key is missing"):
        CustomSgdModel(sgd_case(0.0, np.inf, 1e-3, init={
            "kind": "product", "theta1": {"kind": "constant", "value": 0.0}})).initial(
                3, np.random.default_rng(0))
