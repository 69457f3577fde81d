"""Activations evaluated pointwise inside compiled loops (particle SGD).

An activation is passed to compiled code as an integer code and a parameter array;
:func:`sigma_pair` returns (σ(t), σ'(t)) with σ' the right limit at kinks, matching
:meth:`ddsolver.problem.activations.Activation.sigma` / ``dsigma`` (its plain-numpy twin, also
that of the array form :func:`sigma_pairs`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CODES = {"piecewise_linear": 0, "relu": 1, "linear": 2, "erf": 3, "tanh": 4, "sigmoid": 5,
         "zigzag": 6}
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def pointwise_args(activation) -> tuple[int, np.ndarray]:
    """(code, parameters) of an activation for :func:`sigma_pair`."""
    names = activation.param_names
    return CODES[activation.name], np.array([activation.params[n] for n in names], dtype=float)


@njit(cache=True, error_model="numpy")
def piecewise_linear_pair(s1, s2, t1, t2, t):
    """(σ(t), σ'(t)) of the piecewise-linear σ, without branches: σ = s1 + k (max(t, t1) − t1)
    below t2 and s2 from t2 on, σ' = k on [t1, t2) and 0 elsewhere, k = (s2 − s1)/(t2 − t1)
    (numpy error model: no zero-division check, t1 < t2 being checked by the activation)."""
    k = (s2 - s1) / (t2 - t1)
    value = s2 if t >= t2 else s1 + k * (max(t, t1) - t1)
    return value, k if (t >= t1) & (t < t2) else 0.0


@njit(cache=True)
def zigzag_ramps(params):
    """(c1, c2, c3, c4) with σ = s1 + Σ_j c_j (t − t_j)₊ for the zigzag through (t_j, s_j),
    params = (s1, s2, s3, s4, t1, t2, t3, t4): c = (k1, k2 − k1, k3 − k2, −k3), k_j =
    (s_{j+1} − s_j)/(t_{j+1} − t_j)."""
    k1 = (params[1] - params[0]) / (params[5] - params[4])
    k2 = (params[2] - params[1]) / (params[6] - params[5])
    k3 = (params[3] - params[2]) / (params[7] - params[6])
    return k1, k2 - k1, k3 - k2, -k3


@njit(cache=True)
def zigzag_pair(s1, c, knots, t):
    """(σ(t), σ'(t)) = (s1 + Σ_j c_j (max(t, t_j) − t_j), Σ_j c_j 1{t ≥ t_j}) for ramp
    coefficients c and kinks ``knots`` (:func:`zigzag_ramps`): the ramp form of
    :class:`~ddsolver.problem.activations.Zigzag`, σ' the right limit at kinks."""
    value, slope = s1, 0.0
    for j in range(4):
        value += c[j] * (max(t, knots[j]) - knots[j])
        slope += c[j] if t >= knots[j] else 0.0
    return value, slope


@njit(cache=True)
def sigma_pair(code, params, t):
    """(σ(t), σ'(t)) for the activation with the given code (see :data:`CODES`)."""
    if code == 0:                                   # s1 below t1, s2 above t2, linear between
        return piecewise_linear_pair(params[0], params[1], params[2], params[3], t)
    if code == 1:
        return (t, 1.0) if t >= 0.0 else (0.0, 0.0)
    if code == 2:
        return t, 1.0
    if code == 3:
        return math.erf(t), TWO_OVER_SQRT_PI * math.exp(-t * t)
    if code == 4:
        th = math.tanh(t)
        return th, 1.0 - th * th
    if code == 6:
        return zigzag_pair(params[0], zigzag_ramps(params), params[4:], t)
    e = 1.0 / (1.0 + math.exp(-t))
    return e, e * (1.0 - e)


@njit(cache=True, fastmath=True)
def sigma_pairs(code, params, z, slope):
    """z_i ← σ(z_i) and slope_i ← σ'(z_i) for every i (:func:`sigma_pair` elementwise). The code
    is dispatched once, outside the loop, so that the piecewise-linear loop has no branches and
    vectorises; the other activations go through :func:`sigma_pair` unit by unit."""
    if code == 0:
        s1, s2, t1, t2 = params[0], params[1], params[2], params[3]
        for i in range(z.size):
            z[i], slope[i] = piecewise_linear_pair(s1, s2, t1, t2, z[i])
    else:
        for i in range(z.size):
            z[i], slope[i] = sigma_pair(code, params, z[i])
