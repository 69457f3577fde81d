"""Compiled activations (ddsolver.problem.pointwise): the scalar sigma_pair and the array form
sigma_pairs against the numpy twin Activation.sigma / dsigma, kinks included."""

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.pointwise import CODES, pointwise_args, sigma_pair, sigma_pairs

from .units import MMN

ZIGZAG = {"s1": -1.0, "s2": 2.5, "s3": -4.0, "s4": 5.0, "t1": 0.0, "t2": 0.25, "t3": 0.5, "t4": 1.5}


@pytest.mark.parametrize("name", list(CODES))
def test_sigma_pairs_match_numpy(name):
    act = make_activation(name, {"piecewise_linear": MMN, "zigzag": ZIGZAG}.get(name, {}))
    code, params = pointwise_args(act)
    z = np.concatenate([np.random.default_rng(0).normal(0.5, 2.0, 101), [0.0, 0.25, 0.5, 1.5]])
    value, slope = z.copy(), np.empty_like(z)
    sigma_pairs(code, params, value, slope)
    np.testing.assert_allclose(value, act.sigma(z), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(slope, act.dsigma(z), rtol=1e-14, atol=1e-14)
    pairs = np.array([sigma_pair(code, params, t) for t in z])
    np.testing.assert_allclose(pairs, np.column_stack([value, slope]), rtol=1e-14, atol=1e-14)
