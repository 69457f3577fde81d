"""Activations σ and their normalised Hermite coefficients (docs/theory.md §4.1, 4.2 and 7).

With G ~ N(0, 1), He_n the probabilists' Hermite polynomials, a scale s ≥ 0 and a shift b
(the bias; b = None means b = 0 and takes the same code path):

    h_n(s; b) = E[σ(sG + b) He_n(G)] / √(n!)          (h_0 = q(s; b) = E σ(sG + b))
    g_n(s; b) = E[σ'(sG + b) He_n(G)] / √(n!)
    ∂_s h_n(s; b) = E[σ'(sG + b) G He_n(G)] / √(n!) = √(n+1) g_{n+1} + √n g_{n−1}   (g_{−1} = 0)
    ∂_b h_n(s; b) = g_n(s; b)

from G He_n = He_{n+1} + n He_{n−1}. s and b broadcast together; every result has shape
(nmax+1, *broadcast shape). Negative s is refused: E[σ(sG + b) He_n(G)] = (−1)^n
E[σ(|s|G + b) He_n(G)]. At s = 0 all coefficients are the s → 0+ limits: h_n(0; b) =
σ(b)·[n = 0], and g_n(0; b) = σ'(b)·[n = 0] where σ is differentiable at b. At a kink of σ at b
(ReLU, b = 0) the limit sees σ'(b−) for G < 0 and σ'(b+) for G > 0, e.g. g_0(0; 0) = ½ for
ReLU, so that ∂_s h_n stays the right derivative at s = 0. Pointwise, :meth:`Activation.dsigma`
takes the right limit σ'(t+) at kinks.

Closed forms are used where docs/theory.md §7 gives them (piecewise linear, zigzag and ReLU,
including their second moments and even-part energies, linear, erf); the rest uses the panel
quadrature of :mod:`ddsolver.problem.gaussian`.

Pair kernels (:meth:`Activation.pair_kernel`): for standard normals Z₁, Z₂ of correlation c
and radii r, r' ≥ 0,

    K(r, r', c) = E σ(r Z₁) σ(r' Z₂),

in closed form for linear (r r' c), ReLU (arc-cosine kernel), erf (arcsine kernel) and sums of
ramps (truncated bivariate normal moments, :func:`ddsolver.problem.bivariate.ramp_pair`);
``has_closed_pair_kernel`` says whether an activation has one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import erf, expit, ndtr

from ..errors import CaseError
from .bivariate import ramp_mean, ramp_pair
from .gaussian import (
    check_scale_shift,
    gaussian_expectation,
    hermite_quadrature,
    phi_times_hermite,
    std_normal_pdf,
)


class Activation:
    """An activation σ with its Gaussian Hermite coefficients; subclasses set σ and σ'."""

    name: str = ""
    param_names: tuple[str, ...] = ()
    kinks: tuple[float, ...] = ()     # t where σ is not smooth (or steep), for the quadrature
    exact_hermite: bool = False       # hermite / hermite_prime in closed form (else quadrature)
    has_closed_pair_kernel: bool = False    # pair_kernel in closed form (else it raises)

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

    def hermite(self, s, nmax: int, b=None) -> np.ndarray:
        """(nmax+1, *shape) array of h_n(s; b) = E[σ(sG + b) He_n(G)]/√(n!) (quadrature)."""
        return hermite_quadrature(self.sigma, s, nmax, self.kinks, b)

    def hermite_prime(self, s, nmax: int, b=None) -> np.ndarray:
        """(nmax+1, *shape) array of g_n(s; b) = E[σ'(sG + b) He_n(G)]/√(n!) (quadrature)."""
        return hermite_quadrature(self.dsigma, s, nmax, self.kinks, b)

    def dhermite(self, s, nmax: int, b=None) -> np.ndarray:
        """(nmax+1, *shape) array of ∂_s h_n(s; b) = √(n+1) g_{n+1}(s; b) + √n g_{n−1}(s; b)."""
        g = self.hermite_prime(s, nmax + 1, b)
        n = np.arange(nmax + 1).reshape((-1,) + (1,) * (g.ndim - 1))
        out = np.sqrt(n + 1) * g[1:]
        out[1:] += np.sqrt(n[1:]) * g[:-2]
        return out

    def q(self, s, b=None) -> np.ndarray:
        """q(s; b) = E σ(sG + b) = h_0(s; b)."""
        return self.hermite(s, 0, b)[0]

    def dq(self, s, b=None) -> np.ndarray:
        """∂_s q(s; b) = E[σ'(sG + b) G] = g_1(s; b)."""
        return self.hermite_prime(s, 1, b)[1]

    def second_moment(self, s, b=None) -> np.ndarray:
        """E σ(sG + b)² (quadrature of σ², with the kinks of σ)."""
        return gaussian_expectation(lambda t: self.sigma(t) ** 2, s, self.kinks, b)

    def even_moment(self, s, b=None) -> np.ndarray:
        """E σ_e(G)² = Σ_m h_{2m}(s; b)², σ_e(G) = ½[σ(sG + b) + σ(−sG + b)] the part even in G.

        Quadrature, one shift value at a time: with t = sG + b the reflected argument is 2b − t,
        whose kinks are 2b − t_j.
        """
        s, b = check_scale_shift(s, b)
        out = np.empty(s.shape)
        for value in np.unique(b):
            at = b == value
            kinks = tuple(self.kinks) + tuple(2 * value - k for k in self.kinks)
            def even(t, c=value):
                return (0.5 * (self.sigma(t) + self.sigma(2 * c - t))) ** 2
            out[at] = gaussian_expectation(even, s[at], kinks, value)
        return out

    # -- two correlated arguments ----------------------------------------------------------------

    @property
    def bends(self) -> tuple[tuple[float, ...], float]:
        """(points, width): where σ bends, for grading quadrature panels around them — its kinks
        (width 0) or, for σ without kinks, its transition at t = 0 over a width ~1."""
        return (tuple(self.kinks), 0.0) if self.kinks else ((0.0,), 1.0)

    def pair_kernel(self, r, r2, c) -> np.ndarray:
        """K(r, r', c) = E σ(r Z₁) σ(r' Z₂) for standard normals of correlation c (clipped to
        [−1, 1]) and radii r, r' ≥ 0, arrays broadcast, in closed form. Only activations with
        ``has_closed_pair_kernel`` have one; the others raise NotImplementedError."""
        raise NotImplementedError(f"no closed-form pair kernel for activation {self.name!r}")


def _finite_float(key, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CaseError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise CaseError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def _pair_args(r, r2, c):
    """(r, r', c) of :meth:`Activation.pair_kernel` as float arrays, c clipped to [−1, 1]."""
    return (np.asarray(r, dtype=float), np.asarray(r2, dtype=float),
            np.clip(np.asarray(c, dtype=float), -1.0, 1.0))


def _ratio(t, s):
    """c = t/s with the s → 0+ limits t/0 = sign(t)·∞ and 0/0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = t / s
    return np.where(t == 0, 0.0, c)


def _ramp_hermite(s, t, nmax):
    """E[(sG − t)₊ He_n(G)]/√(n!) for arrays s, t of one shape, c = t/s:

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


def _ramp_product(s, u, v):
    """E[(sG − u)₊ (sG − v)₊] = (s² + uv) Φ̄(c) − s min(u, v) φ(c),  c = max(u, v)/s."""
    c = _ratio(np.maximum(u, v), s)
    return (s**2 + u * v) * ndtr(-c) - s * np.minimum(u, v) * phi_times_hermite(c, 0)[0]


def _reflected_ramp_product(s, u, v):
    """E[(sG − u)₊ (−sG − v)₊] = (uv − s²)(Φ(β) − Φ(α)) − s v φ(α) − s u φ(β) for
    α = u/s < β = −v/s (the product vanishes outside u < sG < −v), else 0."""
    lo, hi = _ratio(u, s), _ratio(-v, s)
    value = ((u * v - s**2) * (ndtr(hi) - ndtr(lo))
             - s * (v * phi_times_hermite(lo, 0)[0] + u * phi_times_hermite(hi, 0)[0]))
    return np.where(lo < hi, value, 0.0)


def _step_hermite(s, t, nmax):
    """E[1{sG > t} He_n(G)]/√(n!) for arrays s, t of one shape, c = t/s:

    Φ̄(c) (n = 0),  φ(c) He_{n−1}(c)/√(n!) (n ≥ 1).
    """
    c = _ratio(t, s)
    out = np.empty((nmax + 1,) + s.shape)
    out[0] = ndtr(-c)
    n = np.arange(1, nmax + 1).reshape((-1,) + (1,) * s.ndim)
    np.divide(phi_times_hermite(c, nmax - 1), np.sqrt(n), out=out[1:])
    return out


class _RampSum(Activation):
    """σ(t) = a + Σ_j k_j (t − t_j)₊, a constant plus ramps: closed-form coefficients.

    The shift moves the kinks: (sG + b − t_j)₊ = (sG − (t_j − b))₊.
    """

    exact_hermite = True
    has_closed_pair_kernel = True

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

    def hermite(self, s, nmax, b=None):
        """h_n = a·[n = 0] + Σ_j k_j E[(sG − (t_j − b))₊ He_n(G)]/√(n!)."""
        s, b = check_scale_shift(s, b)
        offset, ramps = self._ramps()
        out = sum(k * _ramp_hermite(s, tj - b, nmax) for k, tj in ramps)
        out[0] += offset
        return out

    def hermite_prime(self, s, nmax, b=None):
        """g_n = Σ_j k_j E[1{sG > t_j − b} He_n(G)]/√(n!)."""
        s, b = check_scale_shift(s, b)
        _, ramps = self._ramps()
        return sum(k * _step_hermite(s, tj - b, nmax) for k, tj in ramps)

    def smoothed(self, m, sd):
        """E σ(m + sd·G) = offset + Σ_k k (sd φ(u) + (m − t) Φ(u)), u = (m − t)/sd, for sd > 0
        (the Gaussian smoothing of each ramp k·max(t' − t, 0))."""
        offset, ramps = self._ramps()
        m = np.asarray(m, dtype=float)
        out = np.full_like(m, offset)
        for k, t in ramps:
            u = (m - t) / sd
            out += k * (sd * std_normal_pdf(u) + (m - t) * ndtr(u))
        return out

    def _product_moment(self, s, b, product):
        """a² + 2a E σ₀ + Σ_ij k_i k_j product(s, t_i − b, t_j − b), σ₀ = σ − a: E σ(sG + b)²
        for the ramp product, E σ(sG + b)σ(−sG + b) for the reflected one (E(−sG − u)₊ =
        E(sG − u)₊)."""
        s, b = check_scale_shift(s, b)
        offset, ramps = self._ramps()
        out = offset**2 + 2 * offset * (self.hermite(s, 0, b)[0] - offset)
        for ki, ti in ramps:
            for kj, tj in ramps:
                out = out + ki * kj * product(s, ti - b, tj - b)
        return out

    def pair_kernel(self, r, r2, c):
        """K = a² + a Σ_j k_j [E(rG − t_j)₊ + E(r'G − t_j)₊] + Σ_ij k_i k_j E[(rZ₁ − t_i)₊
        (r'Z₂ − t_j)₊] (:func:`~ddsolver.problem.bivariate.ramp_mean`,
        :func:`~ddsolver.problem.bivariate.ramp_pair`)."""
        r, r2, c = _pair_args(r, r2, c)
        offset, ramps = self._ramps()
        out = np.full(np.broadcast_shapes(r.shape, r2.shape, c.shape), offset**2)
        for k, t in ramps:
            out = out + offset * k * (ramp_mean(r, t) + ramp_mean(r2, t))
        for k1, t1 in ramps:
            for k2, t2 in ramps:
                out = out + k1 * k2 * ramp_pair(r, r2, c, t1, t2)
        return out

    def second_moment(self, s, b=None):
        """E σ(sG + b)² in closed form (products of ramps)."""
        return self._product_moment(s, b, _ramp_product)

    def even_moment(self, s, b=None):
        """E σ_e² = ½ [E σ(sG + b)² + E σ(sG + b) σ(−sG + b)] in closed form."""
        return 0.5 * (self._product_moment(s, b, _ramp_product)
                      + self._product_moment(s, b, _reflected_ramp_product))


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


class Zigzag(_RampSum):
    """σ(t) = s1 for t ≤ t1, s4 for t ≥ t4, linear between consecutive points (t_j, s_j),
    j = 1…4: s1 + k1 (t−t1)₊ + (k2−k1)(t−t2)₊ + (k3−k2)(t−t3)₊ − k3 (t−t4)₊,
    k_j = (s_{j+1} − s_j)/(t_{j+1} − t_j). Non-monotone when the k_j change sign (a zigzag)."""

    name = "zigzag"
    param_names = ("s1", "s2", "s3", "s4", "t1", "t2", "t3", "t4")

    @classmethod
    def _check_values(cls, values, key):
        for j in (2, 3, 4):
            low = values[f"t{j - 1}"]
            if not low < values[f"t{j}"]:
                raise CaseError(f"{key}.t{j}: expected a number > t{j - 1} = {low:g}, "
                                f"got {values[f't{j}']!r}")

    def _ramps(self):
        p = self.params
        t = [p[f"t{j}"] for j in (1, 2, 3, 4)]
        s = [p[f"s{j}"] for j in (1, 2, 3, 4)]
        k = [(s[j + 1] - s[j]) / (t[j + 1] - t[j]) for j in range(3)]
        return s[0], ((k[0], t[0]), (k[1] - k[0], t[1]), (k[2] - k[1], t[2]), (-k[2], t[3]))


class Relu(_RampSum):
    """σ(t) = max(t, 0)."""

    name = "relu"

    def _ramps(self):
        return 0.0, ((1.0, 0.0),)

    def pair_kernel(self, r, r2, c):
        """The arc-cosine kernel K = (r r'/(2π)) (sin θ + (π − θ) cos θ), θ = arccos c."""
        r, r2, c = _pair_args(r, r2, c)
        theta = np.arccos(c)
        return r * r2 / (2.0 * math.pi) * (np.sin(theta) + (math.pi - theta) * c)


class Linear(Activation):
    """σ(t) = t: h_0 = b, h_1 = s, g_0 = 1, all other coefficients 0."""

    name = "linear"
    exact_hermite = True
    has_closed_pair_kernel = True
    bends = ((), 0.0)

    def sigma(self, t):
        return np.asarray(t, dtype=float)

    def dsigma(self, t):
        return np.ones_like(np.asarray(t, dtype=float))

    def hermite(self, s, nmax, b=None):
        s, b = check_scale_shift(s, b)
        out = np.zeros((nmax + 1,) + s.shape)
        out[0] = b
        out[1:2] = s
        return out

    def hermite_prime(self, s, nmax, b=None):
        s, b = check_scale_shift(s, b)
        out = np.zeros((nmax + 1,) + s.shape)
        out[0] = 1.0
        return out

    def pair_kernel(self, r, r2, c):
        """K = r r' c."""
        r, r2, c = _pair_args(r, r2, c)
        return r * r2 * c


class Erf(Activation):
    """σ(t) = erf(t), σ'(t) = (2/√π) e^(−t²)."""

    name = "erf"
    exact_hermite = True
    has_closed_pair_kernel = True

    def sigma(self, t):
        return erf(t)

    def dsigma(self, t):
        return 2.0 / math.sqrt(math.pi) * np.exp(-np.square(t))

    def hermite(self, s, nmax, b=None):
        """h_0 = erf(b/√(1+2s²)); h_n = s g_{n−1}/√n (Gaussian integration by parts), n ≥ 1."""
        s, b = check_scale_shift(s, b)
        out = np.zeros((nmax + 1,) + s.shape)
        out[0] = erf(b / np.sqrt(1.0 + 2.0 * s**2))
        n = np.arange(1, nmax + 1).reshape((-1,) + (1,) * s.ndim)
        out[1:] = s * self.hermite_prime(s, nmax - 1, b) / np.sqrt(n)
        return out

    def hermite_prime(self, s, nmax, b=None):
        """With A = 1 + 2s², κ = 2s²/A, μ = −2sb/A: g_n = (2/√π) A^(−½) e^(−b²/A) p_n, where

            p_0 = 1,  p_n = μ p_{n−1}/√n − κ √((n−1)/n) p_{n−2}.

        Completing the square, e^(−(sg+b)²) φ(g) = A^(−½) e^(−b²/A) × the N(μ, 1/A) density, and
        E He_n(μ + Z/√A) = n! [t^n] e^(μt − κt²/2), whose coefficients obey that recurrence
        (for b = 0 the odd p_n vanish and p_2k = (−κ)^k (2k−1)!!/√((2k)!)).
        """
        s, b = check_scale_shift(s, b)
        big = 1.0 + 2.0 * s**2
        ratio = -2.0 * s**2 / big                                   # −κ
        mu = -2.0 * s * b / big
        out = np.zeros((nmax + 1,) + s.shape)
        out[0:1] = 2.0 / np.sqrt(math.pi * big) * np.exp(-(b**2) / big)
        for n in range(1, nmax + 1):
            out[n] = mu * out[n - 1] / math.sqrt(n)
            if n >= 2:
                out[n] += out[n - 2] * ratio * math.sqrt((n - 1) / n)
        return out

    def pair_kernel(self, r, r2, c):
        """K = (2/π) arcsin(2 r r' c / √((1 + 2r²)(1 + 2r'²)))."""
        r, r2, c = _pair_args(r, r2, c)
        arg = 2.0 * r * r2 * c / np.sqrt((1.0 + 2.0 * r**2) * (1.0 + 2.0 * r2**2))
        return 2.0 / math.pi * np.arcsin(np.clip(arg, -1.0, 1.0))


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


ACTIVATIONS = {cls.name: cls for cls in (PiecewiseLinear, Zigzag, Relu, Linear, Erf, Tanh,
                                         Sigmoid)}


def make_activation(name: str, params: dict | None = None) -> Activation:
    """The activation ``name`` with parameters ``params`` (checked as network.activation_params)."""
    if name not in ACTIVATIONS:
        options = ", ".join(repr(k) for k in ACTIVATIONS)
        raise CaseError(f"network.activation: expected one of {options}, got {name!r}")
    cls = ACTIVATIONS[name]
    return cls(**cls.check_params({} if params is None else params, "network.activation_params"))
