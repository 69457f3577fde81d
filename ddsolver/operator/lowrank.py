"""The nonlocal potential in low-rank form on a grid.

With U(θ, θ') = Σ_k f_k(θ) f_k(θ') and cell averages F̄_kj of f_k over cell j, the cell average
of ψ(θ; p) = base(θ) + ∫ U(θ, θ') p(dθ') for a piecewise-constant density p is exactly

    ψ̄_j = base̅_j + Σ_k F̄_kj c_k,     c_k = ∫ f_k dp = |cell| Σ_j F̄_kj p_j,

which costs O(cells × rank) instead of O(cells²).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..grid import CartesianGrid, cell_average
from ..threads import single_blas_thread


class LowRankPotential:
    """Cell averages of a reduction on a grid: the base potential v/α + λ|θ|²/2, v, the features,
    and for noisy runs (β < ∞) the log-Jacobian of the reduced coordinates.

    ``base`` is what the steppers use: the effective potential Φ̄ = base + F̄ᵀc includes
    −(1/β) log J when β < ∞ (docs/theory.md §4.1), so the Scharfetter–Gummel flux sees the entropic
    drift of the reduction.

    With ``tol`` the features are compressed to the numerical rank of the kernel on the grid
    (:func:`compress_features`); ``full_rank`` is the reduction's rank, ``rank`` the one used.
    """

    def __init__(self, reduction, grid: CartesianGrid, beta: float = np.inf, nodes: int = 4,
                 tol: float | None = None):
        self.reduction = reduction
        self.grid = grid
        self.beta = beta
        self.vbar = np.ascontiguousarray(cell_average(reduction.v, grid, nodes))
        features = reduction.cell_features(grid, nodes)
        self.full_rank = features.shape[0]
        if tol is not None:
            features = compress_features(features, tol)
        self.features = np.ascontiguousarray(features)
        self.rank = self.features.shape[0]
        self.ridge = cell_average(lambda *x: 0.5 * reduction.lam * sum(c * c for c in x), grid,
                                  nodes)
        self.log_jacobian = (cell_average(reduction.log_jacobian, grid, nodes)
                             if np.isfinite(beta) else np.zeros(grid.size))
        self.base = np.ascontiguousarray(self.vbar / reduction.scale + self.ridge
                                         - self.log_jacobian / beta)

    def moments(self, density: np.ndarray) -> np.ndarray:
        """c_k = ∫ f_k dp for a piecewise-constant density."""
        return self.features @ density.ravel() * self.grid.cell_volume

    def risk(self, density: np.ndarray) -> float:
        """R(p) = R_# + 2α ∫ v dp + α² Σ_k c_k² for a piecewise-constant density."""
        mean_v = float(self.vbar @ density.ravel()) * self.grid.cell_volume
        return self.reduction.risk(mean_v, self.moments(density))

    def free_energy(self, density: np.ndarray) -> float:
        """F(p) = R/(2α²) + ∫ λ|θ|²/2 dp + (1/β) ∫ p (log p − log J): the Lyapunov functional of
        the (noisy) DD, whose gradient is the effective potential plus (1/β) log p."""
        p = density.ravel()
        value = (self.risk(density) / (2 * self.reduction.scale**2)
                 + float(self.ridge @ p) * self.grid.cell_volume)
        if np.isfinite(self.beta):
            positive = p > 0
            entropy = p[positive] @ (np.log(p[positive]) - self.log_jacobian[positive])
            value += entropy * self.grid.cell_volume / self.beta
        return value


def compression_basis(features: np.ndarray, tol: float, weights=None) -> np.ndarray:
    """Q_kᵀ (k × rank) such that G = Q_kᵀ F are features of the same kernel K = FᵀF at its
    numerical rank, for features F at n cells (``weights`` None: all of equal volume) or at n
    quadrature nodes of weights w > 0.

    With the Gram matrix F W Fᵀ = Q Λ Qᵀ (rank × rank, W = diag(w), eigenvalues
    λ_1 ≥ λ_2 ≥ …), Q_k keeps the k eigenvectors with λ_i > tol · λ_1. Then GᵀG = Fᵀ Q_k Q_kᵀ F
    differs from K by at most λ_(k+1) ≤ tol · λ_1 = tol · ‖W^½ K W^½‖₂ in the norm of the
    operator p ↦ ∫ K p (so in every entry for equal volumes), and the moments c' = Q_kᵀ c of any
    law keep |c'|² = |c|² up to the same bound: the potential and the risk are those of the
    uncompressed kernel to the tolerance. Q_kᵀ is a fixed recombination of the features, so it
    compresses their derivatives too. Rows are in decreasing λ. A kernel that is identically
    zero gives one zero row.
    """
    weighted = features if weights is None else features * np.asarray(weights)
    with single_blas_thread():       # threads only wait on a busy 2-core machine: 0.16 s → 9 ms
        values, vectors = np.linalg.eigh(weighted @ features.T)
    if values.size == 0 or values[-1] <= 0:
        return np.zeros((1, features.shape[0]))
    keep = values > tol * values[-1]
    return vectors[:, keep][:, ::-1].T


def compress_features(features: np.ndarray, tol: float, weights=None) -> np.ndarray:
    """G = Q_kᵀ F: the features at the kernel's numerical rank (:func:`compression_basis`)."""
    return compression_basis(features, tol, weights) @ features


@njit(cache=True)
def lowrank_potential(p, base, features, volume, moments, psi):
    """ψ̄ = base + Fᵀ c with c = volume · F p, written into ``moments`` and ``psi`` (flat arrays;
    two BLAS matrix-vector products)."""
    moments[:] = np.dot(features, p) * volume
    psi[:] = base + np.dot(features.T, moments)


def lowrank_potential_numpy(p, base, features, volume):
    """Plain-numpy twin of :func:`lowrank_potential`: returns (moments, psi)."""
    moments = features @ p * volume
    return moments, base + features.T @ moments
