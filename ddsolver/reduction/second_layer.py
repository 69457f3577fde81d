"""Units with a second-layer weight a (and a bias b) (docs/theory.md §4.2).

:class:`SecondLayerReduction` wraps any reduction of units σ*(x; ϑ) into one of units
a σ*(x; ϑ), θ = (a, ϑ):

    V(a, ϑ) = a V(ϑ),   U(θ, θ') = a a' U(ϑ, ϑ'),   features a f_k(ϑ),   diagonal a² U(ϑ, ϑ),

and the log-Jacobian of ϑ (a is a plain Cartesian coordinate). :class:`BiasedRadialReduction`
reduces units σ(⟨w, x⟩ + b) on isotropic Gaussians to (b, r), r = |w|:

    v(b, r) = −½ [q(τ₊ r; b) − q(τ₋ r; b)],   f_{τ,m}(b, r) = sqrt(½ E c^(2m)) h_{2m}(τ r; b),

Mehler's series of s ↦ σ(τ r s + b) averaged over the cosine c of the two directions (odd terms
vanish), truncated as in :mod:`ddsolver.reduction.radial`. The aw unit on isotropic data is
SecondLayerReduction(RadialReduction(...)), coordinates (a, r); awb is
SecondLayerReduction(BiasedRadialReduction(...)), coordinates (a, b, r).
"""

from __future__ import annotations

import numpy as np

from .base import Reduction
from .radial import IsotropicMehler


class SecondLayerReduction(Reduction):
    """The reduction of units a σ*(x; ϑ), coordinates ("a",) + inner.coords."""

    def __init__(self, inner):
        self.inner = inner
        self.coords = ("a",) + tuple(inner.coords)

    # the series and the problem are the inner reduction's
    scale = property(lambda self: self.inner.scale)
    lam = property(lambda self: self.inner.lam)
    data = property(lambda self: self.inner.data)
    kernel_dim = property(lambda self: self.inner.kernel_dim)
    activation = property(lambda self: self.inner.activation)
    terms = property(lambda self: self.inner.terms)
    tail_bound = property(lambda self: self.inner.tail_bound)
    rank = property(lambda self: self.inner.rank)

    def v(self, a, *rest):
        """V(a, ϑ) = a v(ϑ)."""
        return np.asarray(a, float) * self.inner.v(*rest)

    def features(self, a, *rest):
        """(rank, n) array a f_k(ϑ)."""
        return np.asarray(a, float).ravel() * self.inner.features(*rest)

    def diagonal(self, a, *rest):
        """U(θ, θ) = a² U(ϑ, ϑ)."""
        return np.square(np.asarray(a, float)) * self.inner.diagonal(*rest)

    def log_jacobian(self, a, *rest):
        """The inner log-Jacobian (a has unit volume factor)."""
        return self.inner.log_jacobian(*rest)

    def risk(self, mean_v, moments):
        """R = R_# + 2α ∫V dρ + α² Σ_k (∫a f_k dρ)² (the inner formula)."""
        return self.inner.risk(mean_v, moments)


class BiasedRadialReduction(IsotropicMehler):
    """v, the low-rank features of the kernel and the risk for the law of (b, r), r = |w|, of
    units σ(⟨w, x⟩ + b) on isotropic Gaussians. The truncation bound is taken over all probe
    pairs (b, r) ∈ probe_b × probe_r."""

    coords = ("b", "r")

    def __init__(self, activation, data, kernel_dim, *, scale=1.0, lam=0.0, tol=1e-10,
                 max_terms=200, probe_b=None, probe_r=None):
        probe_b = np.linspace(-4.0, 4.0, 17) if probe_b is None else probe_b
        probe_r = np.linspace(0.0, 10.0, 201) if probe_r is None else probe_r
        super().__init__(activation, data, kernel_dim, scale=scale, lam=lam, tol=tol,
                         max_terms=max_terms, probe_r=probe_r, probe_b=probe_b)

    def v(self, b, r):
        """v(b, r) = −½ [q(τ₊ r; b) − q(τ₋ r; b)]."""
        return self._v(r, b)

    def features(self, b, r):
        """(rank, n) array of f_{τ,m}(b, r), τ-major: rows [τ₊ m=0…M, τ₋ m=0…M]."""
        return self._features(r, b)

    def diagonal(self, b, r):
        """U(θ, θ) = ½ Σ_τ E σ(τ r G + b)² (not direction-averaged)."""
        return self._diagonal(r, b)

    def log_jacobian(self, b, r):
        """(d − 1) log r (b is a plain Cartesian coordinate)."""
        return self._log_jacobian(r)
