"""The DD's energy of the planar teacher on its (r, φ) or (φ) grid (docs/numerics.md §13).

The kernel U(θ, θ') = K(r, r', φ − φ') has no low-rank form; it depends on the angles through
their difference only, so on the uniform φ axis it is circulant. An atom of cell j sits at the
cell's centre θ_j = (r_a, φ_k) (point values, not cell averages; circle units: r ≡ 1). With
cell masses m (Σ m = 1), α the scale and λ the ridge on |w|² = r² (the DD's Ψ = V/α + λr²/2 +
∫U dρ; λ = 0 on the circle):

    b_j   = V(θ_j)/α + λ r_a²/2,
    (Um)_{a,k} = Σ_{b,l} K(r_a, r_b, (k − l)h) m_{b,l}
               = irfft_k(Σ_b K̂_{ab} m̂_b),   K̂_{ab} = rfft(K(r_a, r_b, lh))_l,  m̂_b = rfft(m_{b,·}),
    R(m)  = R_# + 2α Σ_j V(θ_j) m_j + α² mᵀUm,   R_# = E y² (``label_second_moment``),
    E(m)  = R/(2α²) + Σ_j λ r_j²/2 m_j,   ∇E = Ψ = b + Um,

at cost O(n_r² n_φ + n_r n_φ log n_φ) per gradient; the kernel table K(r_a, r_b, lh) (n_r² n_φ
values, the Mehler series of :meth:`~ddsolver.problem.planar.PlanarTeacher.kernel`) also gives
the Hessian blocks U_SS and the diagonal U_jj = K(r_a, r_a, 0), so no cells × cells matrix is
formed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft

from ..grid import CartesianGrid
from .base import Energy


class PlanarEnergy(Energy):
    """E, Ψ, U_SS, U_jj and R of the planar teacher ``problem``
    (:class:`~ddsolver.problem.planar.PlanarTeacher`) on a grid of axes (r, phi) or (phi)
    (circle units) with the scale α = ``scale`` and the ridge ``lam`` (module docstring)."""

    def __init__(self, problem, grid: CartesianGrid, *, scale: float, lam: float = 0.0):
        if grid.names not in (("r", "phi"), ("phi",)):
            raise ValueError(f"planar energy: expected axes (r, phi) or (phi), got {grid.names}")
        phi = grid.axis("phi")
        if not math.isclose(phi.hi - phi.lo, 2 * math.pi, rel_tol=1e-12):
            raise ValueError(f"planar energy: the phi axis must span 2π, got [{phi.lo}, {phi.hi}]")
        circle = grid.names == ("phi",)
        if circle and lam != 0:
            raise ValueError("planar energy: circle units have no ridge (lambda must be 0)")
        self.problem, self.grid, self.scale = problem, grid, float(scale)
        self.radii = np.ones(1) if circle else grid.axis("r").centres
        self.angles = phi.centres
        self.shape = (self.radii.size, phi.cells)
        r = self.radii[:, None]
        self.v = np.asarray(problem.v(r, self.angles[None, :]), float).ravel()
        self.ridge = np.broadcast_to(0.5 * lam * r**2, self.shape).ravel()
        self.linear = self.v / self.scale + self.ridge
        delta = phi.spacing * np.arange(phi.cells)
        self.kernel = problem.kernel(self.radii[:, None, None], self.radii[None, :, None],
                                     delta[None, None, :])               # (n_r, n_r, n_φ)
        # K̂ per mode (modes, n_r, n_r), real as K is even in δ
        self.kernel_modes = np.ascontiguousarray(
            np.moveaxis(sfft.rfft(self.kernel, axis=-1).real, -1, 0))

    def interaction(self, m: np.ndarray) -> np.ndarray:
        """U m by FFT along φ (flat): per mode the real n_r × n_r matrix K̂ on the real and
        imaginary parts of m̂ (one batched matrix product)."""
        n_r, n_phi = self.shape
        modes = sfft.rfft(np.reshape(m, self.shape), axis=1)                 # (n_r, modes)
        parts = modes.view(float).reshape(n_r, -1, 2).transpose(1, 0, 2)     # (modes, n_r, 2)
        product = self.kernel_modes @ parts
        return sfft.irfft(product[..., 0] + 1j * product[..., 1], n=n_phi, axis=0).T.ravel()

    def gradient(self, m: np.ndarray) -> np.ndarray:
        """Ψ = b + U m."""
        return self.linear + self.interaction(m)

    def block(self, cells: np.ndarray) -> np.ndarray:
        """U_SS: K(r_a, r_b, (k − l)h) at the pairs of ``cells`` = (a, k), (b, l)."""
        a, k = np.divmod(np.asarray(cells), self.shape[1])
        return self.kernel[a[:, None], a[None, :], (k[:, None] - k[None, :]) % self.shape[1]]

    def diagonal(self) -> np.ndarray:
        """U_jj = K(r_a, r_a, 0) = E σ(r_a G)²."""
        return np.repeat(np.diagonal(self.kernel[:, :, 0]), self.shape[1])

    def risk(self, m: np.ndarray) -> float:
        """R = R_# + 2α Σ V m + α² mᵀUm."""
        return float(self.problem.label_second_moment + 2 * self.scale * (self.v @ m)
                     + self.scale**2 * (m @ self.interaction(m)))

    def free_energy(self, m: np.ndarray) -> float:
        return self.risk(m) / (2 * self.scale**2) + float(self.ridge @ m)
