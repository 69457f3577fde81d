"""Radial reduction of the isotropic-Gaussian model with units σ(⟨w, x⟩ + b)
(docs/theory.md §4.1, §4.2).

The law p of r = |w| follows ∂_t p = 2ξ ∂_r(p ∂_r ψ) with

    ψ(r; p) = v(r)/α + (λ/2) r² + ∫ u_d(r, r') p(dr'),
    v(r)     = −½ [q(τ₊ r) − q(τ₋ r)],
    u_d(r, r') = Σ_k f_k(r) f_k(r'),   f_{τ,m}(r) = sqrt(½ E[c^(2m)]) h_{2m}(τ r),

k running over τ ∈ {τ₊, τ₋} and m = 0 … M (Mehler's formula averaged over the cosine c).
The risk is R(p) = R_# + 2α ∫ v dp + α² Σ_k (∫ f_k dp)². With a bias b (coordinates (b, r),
:class:`ddsolver.reduction.second_layer.BiasedRadialReduction`) q and h_n become q(τ r; b) and
h_n(τ r; b), the coefficients of s ↦ σ(τ r s + b); Mehler's formula is unchanged.

Truncation (:func:`truncate_series`): with μ_m ≥ |E ρ^(2m)| non-increasing bounds on the averaged
powers of the correlation ρ (here μ_m = E c^(2m)), Cauchy–Schwarz and Parseval bound the tail by

    |Σ_{m>M} …| ≤ μ_{M+1} · max_{τ, probe} ( E σ_e(τ r G)² − Σ_{m≤M} h_{2m}(τ r)² ),

σ_e(G) = ½[σ(τ r G + b) + σ(−τ r G + b)] the even part in G. M is the smallest value whose bound
is at most ``tol`` times the largest direction-averaged diagonal value u_d(θ, θ) over the probe
points; a warning is issued if ``max_terms`` stops it first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .base import Reduction
from .cosine import even_cosine_moments


def truncate_series(kernel_dim, coefficients, energy, moments, tol, max_terms, stacklevel=2):
    """(M + 1, relative tail bound): the even Hermite orders 0, 2, …, 2M to keep (module doc).

    coefficients(nmax) -> (nmax+1, 2, P): h_n at the P probe points for τ₊ (row 0) and τ₋;
    energy (2, P): E σ_e² there; moments(terms) -> (μ, w): μ of shape (terms+1,) the bounds
    μ_m ≥ |E ρ^(2m)|, non-increasing in m, and w broadcastable to (terms, 2, P) the weights
    E ρ^(2m) of the direction-averaged diagonal ½ Σ_τ Σ_m w_m h_{2m}². kernel_dim (finite;
    d = ∞ keeps m = 0 only, exactly, and needs no bound) is quoted in the warning, which
    ``stacklevel`` locates as in warnings.warn, counted from the caller of this function.
    """
    for cap in sorted({min(16, max_terms), min(64, max_terms), max_terms}):
        bound_mu, weights = moments(cap)
        h2 = coefficients(2 * cap - 2)[::2] ** 2                         # h_{2m}², m < cap
        residual = np.maximum(energy[None] - np.cumsum(h2, axis=0), 0.0)
        diagonal = 0.5 * (weights * h2).sum(axis=0).sum(axis=0)
        bound = (bound_mu[1:] * residual.reshape(cap, -1).max(axis=1)
                 / max(diagonal.max(), np.finfo(float).tiny))
        ok = np.flatnonzero(bound <= tol)
        if ok.size:
            return int(ok[0]) + 1, float(bound[ok[0]])
    warnings.warn(f"kernel series for d = {kernel_dim} stopped at pde.kernel_max_terms = "
                  f"{max_terms} terms with relative tail bound {bound[-1]:.2e} > "
                  f"pde.kernel_tol = {tol:.1e}", stacklevel=stacklevel + 1)
    return max_terms, float(bound[-1])


class GaussianSeriesReduction(Reduction):
    """What every reduction of the labelled-Gaussian models holds (activation, data, kernel
    dimension, α, λ, τ_±) and its risk from the feature moments."""

    def __init__(self, activation, data, kernel_dim, scale, lam):
        self.activation = activation
        self.data = data
        self.kernel_dim = kernel_dim
        self.scale = float(scale)
        self.lam = float(lam)
        self.taus = np.array(data.taus)

    def risk(self, mean_v, moments):
        """R = R_# + 2α mean_v + α² Σ_k moments_k², from mean_v = ∫v dp and the feature moments
        ∫f_k dp."""
        return (self.data.label_second_moment + 2 * self.scale * mean_v
                + self.scale**2 * float(np.dot(moments, moments)))


class IsotropicMehler(GaussianSeriesReduction):
    """Shared part of the isotropic reductions: units σ(⟨w, x⟩ + b), b = None for no bias.

    Subclasses name the coordinates and call the ``_v``, ``_features``, ``_diagonal`` helpers.
    """

    coords: tuple[str, ...] = ()

    def __init__(self, activation, data, kernel_dim, *, scale, lam, tol, max_terms, probe_r,
                 probe_b=None):
        super().__init__(activation, data, kernel_dim, scale, lam)
        self.terms, self.tail_bound = self._truncate(probe_b, np.asarray(probe_r, float), tol,
                                                     max_terms)
        self.moments = even_cosine_moments(kernel_dim, self.terms - 1)
        self.weights = np.sqrt(0.5 * self.moments)

    @property
    def rank(self) -> int:
        return 2 * self.terms

    def _truncate(self, b, r, tol, max_terms):
        """:func:`truncate_series` over the probe radii r (and, with a bias, all pairs (b, r))."""
        if math.isinf(self.kernel_dim):
            return 1, 0.0
        act = self.activation
        if b is None:
            s, shift = np.abs(np.outer(self.taus, r)), None
        else:
            s = np.abs(self.taus[:, None, None] * r[None, None, :])          # (2, 1, R)
            shift = np.asarray(b, float)[None, :, None]                        # (1, B, 1)

        def moments(terms):
            mu = even_cosine_moments(self.kernel_dim, terms)
            return mu, mu[:terms, None, None]

        def coefficients(nmax):
            return act.hermite(s, nmax, shift).reshape(nmax + 1, 2, -1)

        return truncate_series(self.kernel_dim, coefficients,
                               act.even_moment(s, shift).reshape(2, -1), moments, tol, max_terms,
                               stacklevel=4)

    def _v(self, r, b):
        """v = −½ [q(τ₊ r; b) − q(τ₋ r; b)]."""
        r = np.abs(np.asarray(r, float))
        q = self.activation.q
        return -0.5 * (q(self.taus[0] * r, b) - q(self.taus[1] * r, b))

    def _features(self, r, b):
        """(rank, n) array of sqrt(½ E c^(2m)) h_{2m}(τ r; b), τ-major: [τ₊ m=0…M, τ₋ m=0…M]."""
        r = np.abs(np.asarray(r, float)).ravel()
        b = None if b is None else np.asarray(b, float).ravel()
        nmax = 2 * self.terms - 2
        hermite = self.activation.hermite
        return np.concatenate([self.weights[:, None] * hermite(tau * r, nmax, b)[::2]
                               for tau in self.taus])

    def _diagonal(self, r, b):
        """U(θ, θ) = ½ Σ_τ E σ(τ r G + b)²."""
        r = np.abs(np.asarray(r, float))
        return 0.5 * sum(self.activation.second_moment(tau * r, b) for tau in self.taus)

    def _log_jacobian(self, r):
        """(d − 1) log r, d = data.dim: the density of |w| per unit density of w, up to a
        constant (the Laplacian in R^d gives the radial law the entropic drift of docs/theory.md
        §4.1).
        Integrable at r = 0, so its cell average is finite."""
        return (self.data.dim - 1) * np.log(np.asarray(r, float))


class RadialReduction(IsotropicMehler):
    """v, the low-rank features of u_d and the risk for the law of r = |w| (units σ(⟨w, x⟩))."""

    coords = ("r",)

    def __init__(self, activation, data, kernel_dim, *, scale=1.0, lam=0.0, tol=1e-10,
                 max_terms=200, probe_r=None):
        probe_r = np.linspace(0.0, 10.0, 201) if probe_r is None else probe_r
        super().__init__(activation, data, kernel_dim, scale=scale, lam=lam, tol=tol,
                         max_terms=max_terms, probe_r=probe_r)

    def v(self, r):
        """v(r) = −½ [q(τ₊ r) − q(τ₋ r)]."""
        return self._v(r, None)

    def dv(self, r):
        """v'(r) = −½ [τ₊ q'(τ₊ r) − τ₋ q'(τ₋ r)] (odd in r)."""
        r = np.asarray(r, float)
        a, (tp, tm) = np.abs(r), self.taus
        dq = self.activation.dq
        return -0.5 * np.sign(r) * (tp * dq(tp * a) - tm * dq(tm * a))

    def features(self, r):
        """(rank, n) array of f_{τ,m}(r), τ-major: rows [τ₊ m=0…M, τ₋ m=0…M]."""
        return self._features(r, None)

    def dfeatures(self, r):
        """(rank, n) array of d/dr f_{τ,m}(r) = sqrt(½ E c^(2m)) τ h'_{2m}(τ r)."""
        r = np.asarray(r, float).ravel()
        nmax = 2 * self.terms - 2
        return np.sign(r) * np.concatenate(
            [tau * self.weights[:, None] * self.activation.dhermite(tau * np.abs(r), nmax)[::2]
             for tau in self.taus])

    def kernel(self, r, r2):
        """u_d(r, r2) as an (len(r), len(r2)) matrix."""
        return self.features(r).T @ self.features(r2)

    def diagonal(self, r):
        """U(θ, θ) = E σ(⟨w, x⟩)² = ½ Σ_τ E σ(τ r G)² at |w| = r (not direction-averaged)."""
        return self._diagonal(r, None)

    def log_jacobian(self, r):
        """(d − 1) log r (see :meth:`IsotropicMehler._log_jacobian`)."""
        return self._log_jacobian(r)

    def dlog_jacobian(self, r):
        """d/dr log J = (d − 1)/r, the entropic drift of the law of r (spectral solver)."""
        return (self.data.dim - 1) / np.asarray(r, float)
