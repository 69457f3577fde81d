"""The reduction protocol: the model's V, U and Jacobian in its reduced coordinates.

A reduction of a model on reduced coordinates θ provides the point functions ``v(*θ)`` (V),
``diagonal(*θ)`` (U(θ, θ)) and ``log_jacobian(*θ)`` (of the reduced coordinates, for the entropic
drift of noisy runs), the output scale ``scale`` (α) and ridge ``lam`` (λ), the risk from the
moments, and the kernel U in low-rank form U(θ, θ') = Σ_k f_k(θ) f_k(θ') through its cell
averages F̄ (:meth:`Reduction.cell_features`) with ``rank`` K, the number of series ``terms``
and their ``tail_bound`` (None where U has no low-rank form).
"""

from __future__ import annotations

import numpy as np

from ..grid import CartesianGrid, cell_average
from ..operator.lowrank import compress_features


class Reduction:
    """Defaults shared by the reductions: features averaged over cells, ∫∫U p p from them."""

    def cell_features(self, grid: CartesianGrid, nodes: int = 4) -> np.ndarray:
        """F̄ (rank, cells): cell averages of the features f_k by ``nodes`` Gauss–Legendre
        points per axis."""
        return cell_average(self.features, grid, nodes)

    def interaction(self, grid: CartesianGrid, masses, nodes: int = 2,
                    tol: float | None = None) -> np.ndarray:
        """∫∫ U p p = Σ_k (Σ_j F̄_kj m_j)² for cell masses m (n, cells) of piecewise-constant
        densities, one value per row; with ``tol`` from the features compressed to the kernel's
        numerical rank (:func:`~ddsolver.operator.lowrank.compress_features`), as the solver
        evaluates it."""
        features = self.cell_features(grid, nodes)
        if tol is not None:
            features = compress_features(features, tol)
        masses = np.reshape(masses, (-1, grid.size))
        return np.sum((masses @ features.T)**2, axis=1)
