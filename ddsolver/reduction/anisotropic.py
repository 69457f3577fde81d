"""Reduction of units σ(⟨w, x⟩ + b) on anisotropic Gaussians to (r₁, r₂), or (b, r₁, r₂) with a
bias (docs/theory.md §4.3, §4.3b).

r₁ = |w_{1:s₀}|, r₂ = |w_{s₀+1:d}|. Given y = ±, ⟨w, x⟩ + b ~ N(b, γ_±²), γ² = τ² r₁² + r₂², so

    v(b, r₁, r₂) = −½ [q(γ₊; b) − q(γ₋; b)],   q(γ; b) = E σ(γG + b).

Kernel: for independent uniform directions of θ and θ' in the two blocks (cosines c₁ in R^{s₀},
c₂ in R^{d−s₀}) the pair (⟨w, x⟩, ⟨w', x⟩) is bivariate Gaussian with correlation
ρ = (τ² r₁ r₁' c₁ + r₂ r₂' c₂)/(γ γ'). Mehler's formula for s ↦ σ(γ s + b),
E σσ' = Σ_n ρ^n h_n(γ; b) h_n(γ'; b'), averaged over c₁, c₂ (odd moments vanish) is the
separable series

    u(θ, θ') = Σ_k f_k(θ) f_k(θ'),   f_{τ,n,k} = sqrt(½ C(n,k) E c₁^k E c₂^(n−k))
                                              · h_n(γ_τ; b) (τ r₁/γ_τ)^k (r₂/γ_τ)^(n−k),

n = 0, 2, …, 2M and k = 0, 2, …, n (ratios 0 at γ = 0, 0⁰ = 1); without a bias b = 0.
kernel_dim = inf keeps n = 0: u_∞ = ½ Σ_τ q(γ_τ; b) q(γ'_τ; b').

Truncation bound (:func:`ddsolver.reduction.radial.truncate_series`): with A = τ² r₁ r₁'/(γγ'),
B = r₂ r₂'/(γγ'), |A| + |B| ≤ 1 (Cauchy–Schwarz) and convexity of x ↦ x^(2m) give

    0 ≤ E ρ^(2m) ≤ E (|A||c₁| + |B||c₂|)^(2m) ≤ μ_m := max(E c₁^(2m), E c₂^(2m)),

non-increasing in m, so the tail after n = 2M is at most μ_{M+1} max_{τ, probe} (E σ_e² −
Σ_{m≤M} h_{2m}(γ; b)²) (Cauchy–Schwarz and Parseval, σ_e(G) = ½[σ(γG + b) + σ(−γG + b)] the
even part), relative to the largest direction-averaged diagonal u(θ, θ) over the probe points
(r₁, r₂) ∈ probe[0] × probe[1] (and b ∈ probe_b with a bias).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import comb, xlogy

from .cosine import even_cosine_moments
from .radial import GaussianSeriesReduction, truncate_series


class AnisotropicReduction(GaussianSeriesReduction):
    """v, the low-rank features of the kernel and the risk for the law of (r₁, r₂) (units
    σ(⟨w, x⟩)); ``probe_b`` (default 17 values in [−4, 4]) is used by the biased subclass only,
    whose methods call the ``_v``, ``_features``, ``_diagonal`` helpers with
    b (None: b = 0)."""

    coords = ("r1", "r2")

    def __init__(self, activation, data, kernel_dim, *, scale=1.0, lam=0.0, tol=1e-10,
                 max_terms=40, probe=None, probe_b=None):
        if not (math.isinf(kernel_dim) or kernel_dim == data.dim):
            raise ValueError(f"kernel_dim: expected inf or data.dim = {data.dim} for anisotropic "
                             f"data, got {kernel_dim!r}")
        super().__init__(activation, data, kernel_dim, scale, lam)
        s0 = data.signal_dim
        self.block_dims = (math.inf, math.inf) if math.isinf(kernel_dim) else (s0, data.dim - s0)
        if probe is None:
            probe = (np.linspace(0.0, 6.0, 61), np.linspace(0.0, 6.0, 61))
        if "b" in self.coords and probe_b is None:
            probe_b = np.linspace(-4.0, 4.0, 17)
        axes = [np.asarray(p, float) for p in probe]
        b = None
        if "b" in self.coords:
            b, *axes = (m.ravel() for m in np.meshgrid(np.asarray(probe_b, float), *axes,
                                                       indexing="ij"))
        r1, r2 = (m.ravel() for m in np.meshgrid(*axes, indexing="ij")) if b is None else axes
        self.terms, self.tail_bound = self._truncate(r1, r2, b, tol, max_terms)
        self.orders, self.weights = self._series(self.terms)

    @property
    def rank(self) -> int:
        return 2 * self.orders.shape[1]

    def _block_moments(self, mmax):
        """(E c₁^(2j), E c₂^(2j)) for j = 0 … mmax."""
        return tuple(even_cosine_moments(dim, mmax) for dim in self.block_dims)

    def _series(self, terms):
        """(2, K) orders (n, k), n = 0, 2, …, 2(terms−1), k = 0, 2, …, n, and the weights
        sqrt(½ C(n,k) E c₁^k E c₂^(n−k))."""
        orders = np.array([(n, k) for n in range(0, 2 * terms, 2) for k in range(0, n + 1, 2)]).T
        m1, m2 = self._block_moments(terms - 1)
        n, k = orders
        return orders, np.sqrt(0.5 * comb(n, k) * m1[k // 2] * m2[(n - k) // 2])

    def _gamma_ratios(self, tau, r1, r2):
        """γ = sqrt(τ² r₁² + r₂²) and the ratios τ r₁/γ, r₂/γ (0 where γ = 0)."""
        gamma = np.hypot(tau * r1, r2)
        safe = np.where(gamma > 0, gamma, 1.0)
        return gamma, np.where(gamma > 0, tau * r1 / safe, 0.0), np.where(gamma > 0, r2 / safe, 0.0)

    def _truncate(self, r1, r2, b, tol, max_terms):
        """:func:`truncate_series` over the probe points (r₁, r₂) or (b, r₁, r₂), flat arrays
        (module docstring)."""
        if math.isinf(self.kernel_dim):
            return 1, 0.0
        gamma, x, y = zip(*(self._gamma_ratios(tau, r1, r2) for tau in self.taus))
        gamma, x2, y2 = np.array(gamma), np.square(x), np.square(y)          # (2, P) each

        def moments(terms):
            m1, m2 = self._block_moments(terms)
            diagonal = np.zeros((terms,) + gamma.shape)
            for m in range(terms):                    # E ρ^(2m) at θ = θ' (radii), averaged
                j = np.arange(m + 1)[:, None, None]
                diagonal[m] = np.sum(comb(2 * m, 2 * j) * m1[j] * m2[m - j]
                                     * x2 ** (2 * j) * y2 ** (2 * (m - j)), axis=0)
            return np.maximum(m1, m2), diagonal

        return truncate_series(self.kernel_dim,
                               lambda nmax: self.activation.hermite(gamma, nmax, b),
                               self.activation.even_moment(gamma, b), moments, tol, max_terms,
                               stacklevel=3)

    def _v(self, r1, r2, b):
        """v = −½ [q(γ₊; b) − q(γ₋; b)]."""
        q = self.activation.q
        return -0.5 * (q(self._gamma_ratios(self.taus[0], r1, r2)[0], b)
                       - q(self._gamma_ratios(self.taus[1], r1, r2)[0], b))

    def _features(self, r1, r2, b):
        """(rank, n) array of f_{τ,n,k}, τ-major, then n, then k (module docstring)."""
        r1, r2 = (np.abs(np.asarray(r, float)).ravel() for r in (r1, r2))
        b = None if b is None else np.asarray(b, float).ravel()
        n, k = self.orders
        powers = np.arange(2 * self.terms - 1)[:, None]
        rows = []
        for tau in self.taus:
            gamma, x, y = self._gamma_ratios(tau, r1, r2)
            h = self.activation.hermite(gamma, 2 * self.terms - 2, b)
            rows.append(self.weights[:, None] * h[n] * (x**powers)[k] * (y**powers)[n - k])
        return np.concatenate(rows)

    def _diagonal(self, r1, r2, b):
        """U(θ, θ) = ½ Σ_τ E σ(γ_τ G + b)² (not direction-averaged)."""
        return 0.5 * sum(self.activation.second_moment(self._gamma_ratios(tau, r1, r2)[0], b)
                         for tau in self.taus)

    def v(self, r1, r2):
        """v(r₁, r₂) = −½ [q(γ₊) − q(γ₋)]."""
        return self._v(r1, r2, None)

    def features(self, r1, r2):
        """(rank, n) array of f_{τ,n,k}(r₁, r₂), τ-major, then n, then k (module docstring)."""
        return self._features(r1, r2, None)

    def kernel(self, *points):
        """u(θ, θ') as a (len θ, len θ') matrix; ``points`` are the coordinates of θ, then
        those of θ'."""
        half = len(points) // 2
        return self.features(*points[:half]).T @ self.features(*points[half:])

    def diagonal(self, r1, r2):
        """U(θ, θ) = ½ Σ_τ E σ(γ_τ G)² (not direction-averaged)."""
        return self._diagonal(r1, r2, None)

    def log_jacobian(self, r1, r2):
        """(s₀ − 1) log r₁ + (d − s₀ − 1) log r₂: the volume factor of the two block norms."""
        s0, d = self.data.signal_dim, self.data.dim
        return xlogy(s0 - 1, np.asarray(r1, float)) + xlogy(d - s0 - 1, np.asarray(r2, float))


class BiasedAnisotropicReduction(AnisotropicReduction):
    """The reduction of units σ(⟨w, x⟩ + b), coordinates (b, r₁, r₂); the truncation bound is
    taken over all probe triples (b, r₁, r₂) ∈ probe_b × probe[0] × probe[1]."""

    coords = ("b", "r1", "r2")

    def v(self, b, r1, r2):
        """v(b, r₁, r₂) = −½ [q(γ₊; b) − q(γ₋; b)]."""
        return self._v(r1, r2, b)

    def features(self, b, r1, r2):
        """(rank, n) array of f_{τ,n,k}(b, r₁, r₂) (module docstring)."""
        return self._features(r1, r2, b)

    def diagonal(self, b, r1, r2):
        """U(θ, θ) = ½ Σ_τ E σ(γ_τ G + b)² (not direction-averaged)."""
        return self._diagonal(r1, r2, b)

    def log_jacobian(self, b, r1, r2):
        """The block norms' log-Jacobian (b is a plain Cartesian coordinate)."""
        return super().log_jacobian(r1, r2)
