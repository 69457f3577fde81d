"""Chebyshev collocation on a bounded interval [lo, hi] with no-flux ends, for the radial DD

    ∂_t p = 2ξ ∂_r J,   J = p ∂_rΨ + (1/β)(∂_r p − p ∂_r log J_d),   J(lo) = J(hi) = 0,

Ψ = v/α + λr²/2 + ∫U(r, r')p(r')dr' (docs/theory.md §3 and 4.1; J_d = r^{d−1} is the Jacobian of the
law of r = |w|). Nodes are the Chebyshev–Lobatto points r_i = lo + (hi − lo)(1 − cos(iπ/(n−1)))/2
(ascending); D is the collocation derivative, Z zeroes the two boundary values of a flux, and
the weights are Clenshaw–Curtis (exact for polynomials of degree ≤ n − 1), so the mass
Σ w_i p_i is conserved exactly: wᵀD(Zq) = (Zq)(hi) − (Zq)(lo) = 0. The linear part
L = (2/β) D Z (D − diag(∂_r log J_d)) (diffusion and entropic drift) is integrated exactly by
ETDRK4 (:mod:`ddsolver.stepper.imex`), the transport N(p) = 2 D Z (p ∂_rΨ) explicitly; time is
τ = ∫ξ dt (ξ = 1 here). Spectral accuracy needs a smooth solution; positivity is not
guaranteed: monitor :meth:`ChebyshevRadialOperator.min_density`.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev as cheb

from .lowrank import compress_features


def lobatto_nodes(n: int, lo: float, hi: float) -> np.ndarray:
    """The n Chebyshev–Lobatto points of [lo, hi], ascending."""
    return lo + 0.5 * (hi - lo) * (1 - np.cos(np.pi * np.arange(n) / (n - 1)))


def differentiation_matrix(n: int, lo: float, hi: float) -> np.ndarray:
    """Collocation derivative on the Lobatto points (Trefethen, Spectral Methods in MATLAB,
    ch. 6, with the diagonal from the negative row sums)."""
    x = -np.cos(np.pi * np.arange(n) / (n - 1))
    c = np.ones(n)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** np.arange(n)
    D = np.outer(c, 1 / c) / (x[:, None] - x[None, :] + np.eye(n))
    D -= np.diag(D.sum(axis=1))
    return D * 2 / (hi - lo)


def _cardinal_coefficients(n: int) -> np.ndarray:
    """Chebyshev coefficients (n × n, column j) of the Lagrange cardinal polynomials of the
    Lobatto points on [−1, 1]."""
    return np.linalg.inv(cheb.chebvander(-np.cos(np.pi * np.arange(n) / (n - 1)), n - 1))


def clenshaw_curtis_weights(n: int, lo: float, hi: float) -> np.ndarray:
    """Weights w with Σ w_i f(r_i) = ∫_lo^hi (interpolant of f), i.e. Clenshaw–Curtis."""
    k = np.arange(n)
    moments = np.where(k % 2 == 0, 2.0 / (1.0 - k.astype(float) ** 2 + (k == 1)), 0.0)
    return 0.5 * (hi - lo) * moments @ _cardinal_coefficients(n)


def cell_average_matrix(n: int, lo: float, hi: float, edges) -> np.ndarray:
    """Matrix A (cells × n): (A p)_c is the average over [edges_c, edges_{c+1}] ⊂ [lo, hi] of the
    polynomial interpolant of the nodal values p (exact antiderivative of its Chebyshev series)."""
    edges = np.asarray(edges, dtype=float)
    antiderivative = cheb.chebint(_cardinal_coefficients(n), axis=0)
    at_edges = cheb.chebvander(2 * (edges - lo) / (hi - lo) - 1, n) @ antiderivative
    return 0.5 * (hi - lo) * np.diff(at_edges, axis=0) / np.diff(edges)[:, None]


def apply_blocks(blocks: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_j blocks[m, i, j] v[m, j] for blocks (m, n, n) and v (m, n). Real blocks and complex v:
    one batched real matrix product (real and imaginary parts side by side: a complex128 array
    viewed as float64 pairs, no copy)."""
    if np.iscomplexobj(v) and not np.iscomplexobj(blocks):
        pairs = np.ascontiguousarray(v, dtype=np.complex128).view(np.float64)
        out = blocks @ pairs.reshape(v.shape + (2,))
        return np.ascontiguousarray(out).view(np.complex128)[..., 0]
    return (blocks @ v[..., None])[..., 0]


def no_flux_divergence(D: np.ndarray) -> np.ndarray:
    """D Z: the derivative of a flux whose boundary values are set to zero."""
    DZ = D.copy()
    DZ[:, [0, -1]] = 0.0
    return DZ


class ChebyshevRadialOperator:
    """The noisy radial DD (module docstring) on n Lobatto points of [lo, hi] for a reduction
    with ``v``, ``features``, ``log_jacobian``, ``dlog_jacobian``, ``risk``, ``scale``, ``lam``
    (:class:`~ddsolver.reduction.radial.RadialReduction`). With ``kernel_tol`` the features at
    the nodes are compressed to the kernel's numerical rank under the Clenshaw–Curtis weights
    (:func:`~ddsolver.operator.lowrank.compress_features`); ``full_rank`` is the reduction's
    rank, ``rank`` the one used."""

    def __init__(self, reduction, lo: float, hi: float, n: int, beta: float = np.inf,
                 kernel_tol: float | None = None):
        if n < 4:
            raise ValueError(f"n must be >= 4 Chebyshev points, got {n}")
        self.reduction, self.n, self.beta = reduction, n, beta
        self.lo, self.hi = lo, hi
        self.r = lobatto_nodes(n, lo, hi)
        self.weights = clenshaw_curtis_weights(n, lo, hi)
        self.D = differentiation_matrix(n, lo, hi)
        self.DZ = no_flux_divergence(self.D)
        self.v = np.asarray(reduction.v(self.r), dtype=float)
        features = np.asarray(reduction.features(self.r), dtype=float)
        self.full_rank = features.shape[0]
        if kernel_tol is not None:
            features = compress_features(features, kernel_tol, self.weights)
        self.features, self.rank = features, features.shape[0]
        self.base = self.v / reduction.scale + 0.5 * reduction.lam * self.r**2
        interior = self.r > 0                      # the drift at r = 0 meets a zero flux
        self.dlog_jacobian = np.zeros(n)
        self.dlog_jacobian[interior] = reduction.dlog_jacobian(self.r[interior])
        self.log_jacobian = np.full(n, -np.inf)
        self.log_jacobian[interior] = reduction.log_jacobian(self.r[interior])
        noise = 0.0 if np.isinf(beta) else 2.0 / beta
        self.linear = (noise * self.DZ @ (self.D - np.diag(self.dlog_jacobian)))[None]

    def _check(self, p):
        p = np.asarray(p, dtype=float)
        if p.shape != (self.n,):
            raise ValueError(f"p must have shape ({self.n},), got {p.shape}")
        return p

    def to_state(self, p):
        return self._check(p)[None].copy()

    def from_state(self, state):
        return state[0]

    def moments(self, p):
        """c_k = ∫ f_k p dr (Clenshaw–Curtis)."""
        return self.features @ (self.weights * p)

    def psi(self, p):
        """Ψ = v/α + λr²/2 + Σ_k f_k c_k at the nodes."""
        return self.base + self.features.T @ self.moments(p)

    def nonlinear_state(self, state):
        """N(p) = 2 D Z (p ∂_rΨ), the transport part of the right-hand side."""
        p = state[0]
        return (2.0 * self.DZ @ (p * (self.D @ self.psi(p))))[None]

    def mass(self, p):
        return float(self.weights @ self._check(p))

    def risk(self, p):
        """R(p) = R_# + 2α∫v p + α² Σ c_k² (Clenshaw–Curtis)."""
        return self.reduction.risk(float(self.weights @ (self.v * p)), self.moments(p))

    def free_energy(self, p):
        """F = R/(2α²) + ∫λr²/2 p + (1/β)∫p(log p − log J_d); the entropy over nodes with p > 0
        and J_d > 0: at r = 0 (J_d = 0 for d > 1) the exact density vanishes like J_d and
        p log(p/J_d) → 0, so a round-off value of p there contributes nothing."""
        scale = self.reduction.scale
        value = (self.risk(p) / (2 * scale**2)
                 + float(self.weights @ (0.5 * self.reduction.lam * self.r**2 * p)))
        if np.isfinite(self.beta):
            positive = (p > 0) & np.isfinite(self.log_jacobian)
            value += float(self.weights[positive] @ (
                p[positive] * (np.log(p[positive]) - self.log_jacobian[positive]))) / self.beta
        return value

    def min_density(self, p):
        return float(np.min(p))
