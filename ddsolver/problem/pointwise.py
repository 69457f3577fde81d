"""Activations evaluated pointwise inside compiled loops (particle SGD).

An activation is passed to compiled code as an integer code and a parameter array;
:func:`sigma_pair` returns (σ(t), σ'(t)) with σ' the right limit at kinks, matching
:meth:`ddsolver.problem.activations.Activation.sigma` / ``dsigma`` (its plain-numpy twin).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CODES = {"piecewise_linear": 0, "relu": 1, "linear": 2, "erf": 3, "tanh": 4, "sigmoid": 5}
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def pointwise_args(activation) -> tuple[int, np.ndarray]:
    """(code, parameters) of an activation for :func:`sigma_pair`."""
    names = activation.param_names
    return CODES[activation.name], np.array([activation.params[n] for n in names], dtype=float)


@njit(cache=True)
def sigma_pair(code, params, t):
    """(σ(t), σ'(t)) for the activation with the given code (see :data:`CODES`)."""
    if code == 0:                                   # s1 below t1, s2 above t2, linear between
        s1, s2, t1, t2 = params[0], params[1], params[2], params[3]
        if t < t1:
            return s1, 0.0
        if t >= t2:
            return s2, 0.0
        slope = (s2 - s1) / (t2 - t1)
        return s1 + slope * (t - t1), slope
    if code == 1:
        return (t, 1.0) if t >= 0.0 else (0.0, 0.0)
    if code == 2:
        return t, 1.0
    if code == 3:
        return math.erf(t), TWO_OVER_SQRT_PI * math.exp(-t * t)
    if code == 4:
        th = math.tanh(t)
        return th, 1.0 - th * th
    e = 1.0 / (1.0 + math.exp(-t))
    return e, e * (1.0 - e)
