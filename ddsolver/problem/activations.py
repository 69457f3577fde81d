"""Activations σ and their normalised Hermite coefficients (MATH.md 4.1 and 7).

With G ~ N(0, 1), He_n the probabilists' Hermite polynomials and a scale s ≥ 0:

    h_n(s) = E[σ(sG) He_n(G)] / √(n!)          (h_0 = q(s) = E σ(sG))
    g_n(s) = E[σ'(sG) He_n(G)] / √(n!)
    h_n'(s) = E[σ'(sG) G He_n(G)] / √(n!) = √(n+1) g_{n+1}(s) + √n g_{n−1}(s)   (g_{−1} = 0)

from G He_n = He_{n+1} + n He_{n−1}. Negative s is refused: E[σ(sG) He_n(G)] = (−1)^n
E[σ(|s|G) He_n(G)]. At s = 0 all coefficients are the s → 0+ limits: h_n(0) = σ(0)·[n = 0],
and g_n(0) = σ'(0)·[n = 0] where σ is differentiable at 0. At a kink of σ at 0 (ReLU) the limit
sees σ'(0−) for G < 0 and σ'(0+) for G > 0, e.g. g_0(0) = ½ for ReLU, so that h_n' stays the
right derivative at s = 0. Pointwise, :meth:`Activation.dsigma` takes the right limit σ'(t+) at
kinks.

Closed forms are used where MATH.md 7 gives them (piecewise linear, ReLU, linear, erf); the
other activations use the panel quadrature of :mod:`ddsolver.problem.gaussian`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import erf, expit, ndtr

from ..errors import CaseError
from .gaussian import check_scale, gaussian_expectation, hermite_quadrature, phi_times_hermite


class Activation:
    """An activation σ with its Gaussian Hermite coefficients; subclasses set σ and σ'."""

    name: str = ""
    param_names: tuple[str, ...] = ()
    kinks: tuple[float, ...] = ()     # t where σ is not smooth (or steep), for the quadrature

    def __init__(self, **params):
        self.params = self.check_params(params, "activation_params")

    # -- parameters -------------------------------------------------------------------------------

    @classmethod
    def check_params(cls, params: dict, key: str) -> dict:
        """Validate a parameter table; return it as {name: float}. Errors name ``key.name``."""
        if not isinstance(params, Mapping):
            raise CaseError(f"{key}: expected a table, got {params!r}")
        for name in params:
            if name not in cls.param_names:
                allowed = ", ".join(cls.param_names) or "none"
                raise CaseError(f"{key}.{name}: unknown key (allowed: {allowed})")
        values = {}
        for name in cls.param_names:
            if name not in params:
                raise CaseError(f"{key}.{name}: required key is missing")
            values[name] = _finite_float(f"{key}.{name}", params[name])
        cls._check_values(values, key)
        return values

    @classmethod
    def _check_values(cls, values: dict, key: str) -> None:
        """Check relations between parameters (none by default)."""

    def to_dict(self) -> dict:
        return {"activation": self.name, "activation_params": dict(self.params)}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # -- σ ---------------------------------------------------------------------------------------

    def sigma(self, t):
        raise NotImplementedError

    def dsigma(self, t):
        raise NotImplementedError

    # -- Hermite coefficients --------------------------------------------------------------------

    def hermite(self, s, nmax: int) -> np.ndarray:
        """(nmax+1, *s.shape) array of h_n(s) = E[σ(sG) He_n(G)]/√(n!) (quadrature)."""
        return hermite_quadrature(self.sigma, s, nmax, self.kinks)

    def hermite_prime(self, s, nmax: int) -> np.ndarray:
        """(nmax+1, *s.shape) array of g_n(s) = E[σ'(sG) He_n(G)]/√(n!) (quadrature)."""
        return hermite_quadrature(self.dsigma, s, nmax, self.kinks)

    def dhermite(self, s, nmax: int) -> np.ndarray:
        """(nmax+1, *s.shape) array of d/ds h_n(s) = √(n+1) g_{n+1}(s) + √n g_{n−1}(s)."""
        g = self.hermite_prime(s, nmax + 1)
        n = np.arange(nmax + 1).reshape((-1,) + (1,) * (g.ndim - 1))
        out = np.sqrt(n + 1) * g[1:]
        out[1:] += np.sqrt(n[1:]) * g[:-2]
        return out

    def q(self, s) -> np.ndarray:
        """q(s) = E σ(sG) = h_0(s)."""
        return self.hermite(s, 0)[0]

    def dq(self, s) -> np.ndarray:
        """q'(s) = E[σ'(sG) G] = g_1(s)."""
        return self.hermite_prime(s, 1)[1]

    def second_moment(self, s) -> np.ndarray:
        """E σ(sG)² (quadrature of σ², with the kinks of σ)."""
        return gaussian_expectation(lambda t: self.sigma(t) ** 2, s, self.kinks)


def _finite_float(key, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CaseError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise CaseError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def _ratio(t, s):
    """c = t/s with the s → 0+ limits t/0 = sign(t)·∞ and 0/0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = t / s
    return np.where(t == 0, 0.0, c)


def _ramp_hermite(s, t, nmax):
    """E[(sG − t)₊ He_n(G)]/√(n!), c = t/s:

    s φ(c) − t Φ̄(c) (n = 0),  s Φ̄(c) (n = 1),  s φ(c) He_{n−2}(c)/√(n!) (n ≥ 2).
    """
    c = _ratio(t, s)
    tail = ndtr(-c)
    p = phi_times_hermite(c, max(nmax - 2, 0))
    out = np.empty((nmax + 1,) + s.shape)
    out[0] = s * p[0] - t * tail
    out[1:2] = s * tail
    n = np.arange(2, nmax + 1).reshape((-1,) + (1,) * s.ndim)
    np.multiply(s / np.sqrt(n * (n - 1)), p[: nmax - 1], out=out[2:])
    return out


def _step_hermite(s, t, nmax):
    """E[1{sG > t} He_n(G)]/√(n!), c = t/s: Φ̄(c) (n = 0), φ(c) He_{n−1}(c)/√(n!) (n ≥ 1)."""
    c = _ratio(t, s)
    out = np.empty((nmax + 1,) + s.shape)
    out[0] = ndtr(-c)
    n = np.arange(1, nmax + 1).reshape((-1,) + (1,) * s.ndim)
    np.divide(phi_times_hermite(c, nmax - 1), np.sqrt(n), out=out[1:])
    return out


class _RampSum(Activation):
    """σ(t) = a + Σ_j k_j (t − t_j)₊, a constant plus ramps: closed-form coefficients."""

    def _ramps(self) -> tuple[float, tuple[tuple[float, float], ...]]:
        """(a, ((k_j, t_j), ...))."""
        raise NotImplementedError

    @property
    def kinks(self):
        return tuple(t for _, t in self._ramps()[1])

    def sigma(self, t):
        offset, ramps = self._ramps()
        t = np.asarray(t, dtype=float)
        return offset + sum(k * np.maximum(t - tj, 0.0) for k, tj in ramps)

    def dsigma(self, t):
        """σ'(t) = Σ_j k_j 1{t ≥ t_j} (right limit at the kinks)."""
        _, ramps = self._ramps()
        t = np.asarray(t, dtype=float)
        return sum(k * (t >= tj) for k, tj in ramps)

    def hermite(self, s, nmax):
        """h_n = a·[n = 0] + Σ_j k_j E[(sG − t_j)₊ He_n(G)]/√(n!)."""
        s = check_scale(s)
        offset, ramps = self._ramps()
        out = sum(k * _ramp_hermite(s, tj, nmax) for k, tj in ramps)
        out[0] += offset
        return out

    def hermite_prime(self, s, nmax):
        """g_n = Σ_j k_j E[1{sG > t_j} He_n(G)]/√(n!)."""
        s = check_scale(s)
        _, ramps = self._ramps()
        return sum(k * _step_hermite(s, tj, nmax) for k, tj in ramps)


class PiecewiseLinear(_RampSum):
    """σ(t) = s1 for t ≤ t1, s2 for t ≥ t2, linear in between: s1 + k[(t−t1)₊ − (t−t2)₊],
    k = (s2 − s1)/(t2 − t1)."""

    name = "piecewise_linear"
    param_names = ("s1", "s2", "t1", "t2")

    @classmethod
    def _check_values(cls, values, key):
        if not values["t1"] < values["t2"]:
            raise CaseError(f"{key}.t2: expected a number > t1 = {values['t1']:g}, "
                            f"got {values['t2']!r}")

    def _ramps(self):
        p = self.params
        k = (p["s2"] - p["s1"]) / (p["t2"] - p["t1"])
        return p["s1"], ((k, p["t1"]), (-k, p["t2"]))


class Relu(_RampSum):
    """σ(t) = max(t, 0)."""

    name = "relu"

    def _ramps(self):
        return 0.0, ((1.0, 0.0),)


class Linear(Activation):
    """σ(t) = t: h_1 = s, g_0 = 1, all other coefficients 0."""

    name = "linear"

    def sigma(self, t):
        return np.asarray(t, dtype=float)

    def dsigma(self, t):
        return np.ones_like(np.asarray(t, dtype=float))

    def hermite(self, s, nmax):
        s = check_scale(s)
        out = np.zeros((nmax + 1,) + s.shape)
        out[1:2] = s
        return out

    def hermite_prime(self, s, nmax):
        s = check_scale(s)
        out = np.zeros((nmax + 1,) + s.shape)
        out[0] = 1.0
        return out


class Erf(Activation):
    """σ(t) = erf(t), σ'(t) = (2/√π) e^(−t²)."""

    name = "erf"

    def sigma(self, t):
        return erf(t)

    def dsigma(self, t):
        return 2.0 / math.sqrt(math.pi) * np.exp(-np.square(t))

    def hermite(self, s, nmax):
        """h_0 = 0 (σ odd); h_n = s g_{n−1}/√n (Gaussian integration by parts) for n ≥ 1."""
        s = check_scale(s)
        out = np.zeros((nmax + 1,) + s.shape)
        n = np.arange(1, nmax + 1).reshape((-1,) + (1,) * s.ndim)
        out[1:] = s * self.hermite_prime(s, nmax - 1) / np.sqrt(n)
        return out

    def hermite_prime(self, s, nmax):
        """With a = s²: g_2k = (2/√π) (1+2a)^(−½) (−2a/(1+2a))^k (2k−1)!!/√((2k)!), g_odd = 0.

        From E[e^(−aG²) He_2k(G)] = (1+2a)^(−½) (−2a/(1+2a))^k (2k−1)!!; the ratio of
        consecutive terms is (−2a/(1+2a)) √((2k−1)/(2k)).
        """
        s = check_scale(s)
        a = s**2
        ratio = -2.0 * a / (1.0 + 2.0 * a)
        out = np.zeros((nmax + 1,) + s.shape)
        out[0:1] = 2.0 / np.sqrt(math.pi * (1.0 + 2.0 * a))
        for n in range(2, nmax + 1, 2):
            out[n] = out[n - 2] * ratio * math.sqrt((n - 1) / n)
        return out


class Tanh(Activation):
    """σ(t) = tanh(t), σ'(t) = sech²(t) = 4e^(−2|t|)/(1 + e^(−2|t|))²."""

    name = "tanh"

    def sigma(self, t):
        return np.tanh(t)

    def dsigma(self, t):
        e = np.exp(-2.0 * np.abs(t))
        return 4.0 * e / (1.0 + e) ** 2


class Sigmoid(Activation):
    """σ(t) = 1/(1 + e^(−t)), σ'(t) = σ(t) σ(−t)."""

    name = "sigmoid"

    def sigma(self, t):
        return expit(t)

    def dsigma(self, t):
        return expit(t) * expit(np.negative(t))


ACTIVATIONS = {cls.name: cls for cls in (PiecewiseLinear, Relu, Linear, Erf, Tanh, Sigmoid)}


def make_activation(name: str, params: dict | None = None) -> Activation:
    """The activation ``name`` with parameters ``params`` (checked as network.activation_params)."""
    if name not in ACTIVATIONS:
        options = ", ".join(repr(k) for k in ACTIVATIONS)
        raise CaseError(f"network.activation: expected one of {options}, got {name!r}")
    cls = ACTIVATIONS[name]
    return cls(**cls.check_params({} if params is None else params, "network.activation_params"))
