"""The planar-teacher model on its stored grids: what validation needs beyond the solver.

The finite-N correction (docs/theory.md §1) needs U(θ, θ) and ∫∫U p p for cell densities on the
uniform output grid of (r, φ) or of φ alone. U depends on the angles through φ − φ' only, so on a
uniform φ grid the double sum is a circulant quadratic form, computed by FFT:

    Σ_{a,b} P_a K(φ_a − φ_b) P'_b = (1/n) Σ_m conj(P̂_m) K̂_m P̂'_m,   K̂ = fft(K(jh)), P̂ = fft(P),

for every pair of radii (cell centres); the radial pairs are summed directly.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from .base import Reduction


class PlanarReduction(Reduction):
    """U(θ, θ), ∫∫U p p and α of a planar-teacher model (coordinates (r, phi), or phi alone for
    ``circle`` units) built on a :class:`~ddsolver.problem.planar.PlanarTeacher`.

    The kernel is not in low-rank form (the spectral operators use U(r, r', φ − φ') directly), so
    ``rank`` and ``terms`` are None and are not stored.
    """

    terms = rank = tail_bound = None

    def __init__(self, problem, *, circle: bool, scale: float):
        self.problem, self.circle, self.scale = problem, circle, float(scale)

    def diagonal(self, *coords):
        """U(θ, θ) = E σ(r G)², r = |w| (1 on the circle)."""
        r = np.ones_like(np.asarray(coords[0], float)) if self.circle else coords[0]
        return np.asarray(self.problem.diagonal(np.asarray(r, float)), float)

    def interaction(self, grid, masses, nodes=2, tol=None) -> np.ndarray:
        """∫∫ U p p for cell masses (n, grid.size) of piecewise-constant densities (cell
        centres as nodes, whatever ``nodes``; U has no low-rank form to compress, whatever
        ``tol``), one value per row."""
        masses = np.reshape(masses, (-1,) + grid.shape)
        phi = grid.axis("phi")
        delta = phi.spacing * np.arange(phi.cells)
        radii = np.ones(1) if self.circle else grid.axis("r").centres
        if self.circle:
            masses = masses[:, None, :]
        kernel = self.problem.kernel(radii[:, None, None], radii[None, :, None],
                                     delta[None, None, :])
        kernel_hat = sfft.fft(kernel, axis=-1)                         # (r, r', m)
        mass_hat = sfft.fft(masses, axis=-1)                           # (n, r, m)
        return np.real(np.einsum("nim,ijm,njm->n", np.conj(mass_hat), kernel_hat,
                                 mass_hat)) / phi.cells
