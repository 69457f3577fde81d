"""Radial reduction of the isotropic-Gaussian model with units σ(⟨w, x⟩) (MATH.md 4.1).

The law p of r = |w| follows ∂_t p = 2ξ ∂_r(p ∂_r ψ) with

    ψ(r; p) = v(r)/α + (λ/2) r² + ∫ u_d(r, r') p(dr'),
    v(r)     = −½ [q(τ₊ r) − q(τ₋ r)],
    u_d(r, r') = Σ_k f_k(r) f_k(r'),   f_{τ,m}(r) = sqrt(½ E[c^(2m)]) h_{2m}(τ r),

k running over τ ∈ {τ₊, τ₋} and m = 0 … M (Mehler's formula averaged over the cosine c).
The risk is R(p) = R_# + 2α ∫ v dp + α² Σ_k (∫ f_k dp)².

Truncation: since E c^(2m) decreases in m, Cauchy–Schwarz and Parseval bound the tail by

    |Σ_{m>M} …| ≤ E[c^(2M+2)] · max_{τ, r} ( E σ_e(τ r G)² − Σ_{m≤M} h_{2m}(τ r)² ),

σ_e the even part of σ. M is the smallest value whose bound is at most ``tol`` times the largest
diagonal value u_d(r, r) over the probe radii; a warning is issued if ``max_terms`` stops it first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..problem.gaussian import gaussian_expectation
from .cosine import even_cosine_moments


class RadialReduction:
    """v, the low-rank features of u_d and the risk for the law of r = |w|."""

    coords = ("r",)

    def __init__(self, activation, data, kernel_dim, *, scale=1.0, lam=0.0, tol=1e-10,
                 max_terms=200, probe_r=None):
        self.activation = activation
        self.data = data
        self.kernel_dim = kernel_dim
        self.scale = float(scale)
        self.lam = float(lam)
        self.taus = np.array(data.taus)
        probe_r = np.linspace(0.0, 10.0, 201) if probe_r is None else np.asarray(probe_r, float)
        self.terms, self.tail_bound = self._truncate(probe_r, tol, max_terms)
        self.moments = even_cosine_moments(kernel_dim, self.terms - 1)
        self.weights = np.sqrt(0.5 * self.moments)

    @property
    def rank(self) -> int:
        return 2 * self.terms

    def _truncate(self, r, tol, max_terms):
        """Number of even Hermite terms M + 1 and the relative tail bound it achieves."""
        if math.isinf(self.kernel_dim):
            return 1, 0.0
        s = np.abs(np.outer(self.taus, r)).ravel()
        act = self.activation
        kinks = tuple(act.kinks) + tuple(-k for k in act.kinks)
        even_energy = gaussian_expectation(lambda t: (0.5 * (act.sigma(t) + act.sigma(-t))) ** 2,
                                           s, kinks)
        for cap in sorted({min(16, max_terms), min(64, max_terms), max_terms}):
            bound = self._tail_bounds(s, even_energy, cap)
            ok = np.flatnonzero(bound <= tol)
            if ok.size:
                return int(ok[0]) + 1, float(bound[ok[0]])
        warnings.warn(f"kernel series for d = {self.kernel_dim} stopped at pde.kernel_max_terms = "
                      f"{max_terms} terms with relative tail bound {bound[-1]:.2e} > "
                      f"pde.kernel_tol = {tol:.1e}", stacklevel=3)
        return max_terms, float(bound[-1])

    def _tail_bounds(self, s, even_energy, terms):
        """Relative tail bounds after m = 0 … M for M < terms (see module docstring)."""
        moments = even_cosine_moments(self.kernel_dim, terms)
        h2 = self.activation.hermite(s, 2 * terms - 2)[::2] ** 2          # h_{2m}(s)², m < terms
        residual = np.maximum(even_energy[None, :] - np.cumsum(h2, axis=0), 0.0)
        diagonal = 0.5 * (moments[:terms, None] * h2).sum(axis=0).reshape(2, -1).sum(axis=0)
        return moments[1:] * residual.max(axis=1) / max(diagonal.max(), np.finfo(float).tiny)

    # -- point values --------------------------------------------------------------------------

    def v(self, r):
        """v(r) = −½ [q(τ₊ r) − q(τ₋ r)]."""
        r = np.abs(np.asarray(r, float))
        return -0.5 * (self.activation.q(self.taus[0] * r) - self.activation.q(self.taus[1] * r))

    def dv(self, r):
        """v'(r) = −½ [τ₊ q'(τ₊ r) − τ₋ q'(τ₋ r)] (odd in r)."""
        r = np.asarray(r, float)
        a, (tp, tm) = np.abs(r), self.taus
        return -0.5 * np.sign(r) * (tp * self.activation.dq(tp * a) - tm * self.activation.dq(tm * a))

    def features(self, r):
        """(rank, n) array of f_{τ,m}(r), τ-major: rows [τ₊ m=0…M, τ₋ m=0…M]."""
        r = np.abs(np.asarray(r, float)).ravel()
        nmax = 2 * self.terms - 2
        return np.concatenate([self.weights[:, None] * self.activation.hermite(tau * r, nmax)[::2]
                               for tau in self.taus])

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

    def log_jacobian(self, r):
        """log of the density of |w| per unit density of w, up to a constant: (d − 1) log r,
        d = data.dim (the Laplacian in R^d gives the radial law the entropic drift of MATH.md
        4.1). Integrable at r = 0, so its cell average is finite."""
        return (self.data.dim - 1) * np.log(np.asarray(r, float))

    def risk(self, mean_v, moments):
        """R = R_# + 2α ∫v dp + α² Σ_k (∫f_k dp)², from ∫v dp and the feature moments ∫f_k dp."""
        return (self.data.label_second_moment + 2 * self.scale * mean_v
                + self.scale**2 * float(np.dot(moments, moments)))
