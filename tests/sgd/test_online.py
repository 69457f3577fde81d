"""Particle SGD: the compiled step against its numpy twin, reproducibility, a linear exact case."""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.online import minibatch_sgd, online_sgd, sgd_step, sgd_step_numpy

MMN = dict(s1=-2.5, s2=7.5, t1=0.5, t2=1.5)
CONSTANT = (0, 1.0, 1.0, 0.0)


@pytest.mark.parametrize("name, params", [("piecewise_linear", MMN), ("relu", {}), ("tanh", {}),
                                          ("sigmoid", {}), ("erf", {}), ("linear", {})])
@pytest.mark.parametrize("lam, inv_beta", [(0.0, 0.0), (0.3, 0.5)])
def test_step_matches_numpy(name, params, lam, inv_beta):
    rng = np.random.default_rng(0)
    act = make_activation(name, params)
    W = rng.standard_normal((30, 7))
    x, noise = rng.standard_normal(7), rng.standard_normal((30, 7))
    ref, ref_pred = sgd_step_numpy(W, x, -1.0, noise, act, 1.5, lam, 0.01, inv_beta)
    pred = sgd_step(W, x, -1.0, noise, *pointwise_args(act), 1.5, lam, 0.01, inv_beta,
                    np.empty(30))
    assert pred == pytest.approx(ref_pred, rel=1e-13)
    np.testing.assert_allclose(W, ref, rtol=1e-13, atol=1e-14)


def run(W, seed, steps=2000, eps=1e-3):
    act = make_activation("piecewise_linear", MMN)
    online_sgd(W, *pointwise_args(act), np.array([1.8, 0.2]), 1.0, 0.0, 0.0, eps, CONSTANT,
               0, steps, seed)
    return W


def test_reproducible_bit_for_bit():
    W0 = np.random.default_rng(1).standard_normal((50, 10)) * 0.8 / math.sqrt(10)
    a, b, c = run(W0.copy(), 7), run(W0.copy(), 7), run(W0.copy(), 8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("batch", [1, 8])
def test_linear_units_follow_exact_mean_dynamics(batch):
    """σ(t) = t, isotropic data: E[y x] = 0 and E[x xᵀ] = c I with c = (τ₊² + τ₋²)/2, so the
    expected update is linear: E W_{k+1} = (1 − 2λs) E W_k − 2 s c E m_k, m = mean_i w_i, with s =
    ε (online) or εB (mini-batch of B averaged samples) — docs/theory.md §8, linear units, α = 1.
    The mean over 200 seeds matches that recursion within 5 standard errors."""
    n, d, eps, steps, lam = 20, 5, 1e-3, 1000 // batch, 0.2
    taus = np.array([1.8, 0.2])
    c = (taus**2).mean()
    W0 = np.random.default_rng(2).standard_normal((n, d))
    act = make_activation("linear", {})
    runs = []
    for seed in range(200):
        W = W0.copy()
        if batch == 1:
            online_sgd(W, *pointwise_args(act), taus, 1.0, lam, 0.0, eps, CONSTANT, 0, steps,
                       seed)
        else:
            minibatch_sgd(W, *pointwise_args(act), taus, 1.0, lam, 0.0, eps * batch, CONSTANT,
                          0, steps, batch, seed)
        runs.append(W)
    runs = np.array(runs)
    s = eps * batch
    expected = W0.copy()
    for _ in range(steps):
        expected = (1 - 2 * lam * s) * expected - 2 * s * c * expected.mean(axis=0)
    mean, err = runs.mean(axis=0), runs.std(axis=0) / math.sqrt(len(runs))
    assert np.all(np.abs(mean - expected) <= 5 * err + 1e-12)
