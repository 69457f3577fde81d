"""The planar DD in polar coordinates: Fourier in φ, Chebyshev in r on an annulus [r₀, r₁].

For units σ(⟨w, x⟩), w = (r cos φ, r sin φ), the law of (r, φ) has density p = r ρ_w and

    ∂_t p = 2ξ [ ∂_r(p ∂_rΨ) + ∂_φ(p ∂_φΨ)/r² ] + (2ξ/β) [ ∂_r(∂_r p − p/r) + ∂²_φ p/r² ],

Ψ(r, φ) = V(r, φ)/α + λr²/2 + ∫∫ K(r, r', φ − φ') p(r', φ') dr' dφ' (docs/theory.md §3, the
Laplacian and divergence of R² written in polar form; −(1/β) log r is the entropic potential of the
Jacobian r). The kernel depends on the angle difference, so per Fourier mode m the convolution
is a dense r × r product: (K * p)^_m(r) = 2π Σ_{r'} K̂_m(r, r') w_{r'} p̂_m(r'). Nodes: Lobatto
points r_i with Clenshaw–Curtis weights, angles φ_j = φ₀ + 2πj/n_φ. The state is the rfft in φ,
one block per mode; the linear part per mode,

    L_m = (2/β) [ D Z (D − diag(1/r)) − m² diag(1/r²) ],

is integrated exactly by ETDRK4, the transport explicitly with the 2/3 rule in φ. No flux
crosses r₀ or r₁ (Z zeroes the boundary fluxes), so the mass Σ_i w_i (2π/n_φ) Σ_j p_ij is
conserved to round-off; the pole r = 0 is outside the grid, so r₀ > 0 is a truncation that is
accurate while the law keeps away from the origin (monitor the density at r₀).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from .chebyshev import (
    apply_blocks,
    clenshaw_curtis_weights,
    differentiation_matrix,
    lobatto_nodes,
    no_flux_divergence,
)


class PolarOperator:
    """Right-hand side, risk and free energy of the planar DD on n_r × n_φ nodes.

    ``problem`` has ``kernel(r, r2, delta)``, ``v(r, phi)`` and ``label_second_moment``
    (:class:`~ddsolver.problem.planar.PlanarTeacher`).
    """

    rank = None          # U is applied by convolution in φ, not in low-rank form

    def __init__(self, problem, r_lo, r_hi, n_r, n_phi, phi0=0.0, *, alpha=1.0, lam=0.0,
                 beta=np.inf):
        if not r_lo > 0:
            raise ValueError(f"r_lo must be > 0 (the pole is not a grid point), got {r_lo}")
        if n_r < 4 or n_phi < 4:
            raise ValueError(f"need at least 4 nodes per axis, got n_r = {n_r}, n_phi = {n_phi}")
        self.problem, self.alpha, self.lam, self.beta = problem, alpha, lam, beta
        self.n_r, self.n_phi = n_r, n_phi
        self.r = lobatto_nodes(n_r, r_lo, r_hi)
        self.w = clenshaw_curtis_weights(n_r, r_lo, r_hi)
        self.h = 2 * np.pi / n_phi
        self.phi = phi0 + self.h * np.arange(n_phi)
        self.D = differentiation_matrix(n_r, r_lo, r_hi)
        self.DZ = no_flux_divergence(self.D)
        k = np.arange(n_phi // 2 + 1, dtype=float)
        self.mask = (3 * k < n_phi).astype(float)           # 2/3 rule
        self.dphi = self.mask * 1j * k * (k < n_phi / 2)    # ∂_φ, dealiased, no Nyquist
        self.inv_r2 = self.r[:, None] ** -2
        R = self.r[:, None]
        self.V = np.asarray(problem.v(R, self.phi[None, :]), dtype=float)
        self.base = self.V / alpha + 0.5 * lam * R**2      # (n_r, n_phi)
        self.base_state = self._forward(self.base)
        delta = self.h * np.arange(n_phi)
        samples = problem.kernel(self.r[:, None, None], self.r[None, :, None],
                                 delta[None, None, :])
        # h · rfft_Δ K · w_{r'}: the convolution of mode m as a matrix acting on p̂_m(r')
        self.kernel_modes = np.ascontiguousarray(np.moveaxis(
            self.h * sfft.rfft(samples, axis=2).real * self.w[None, :, None], 2, 0))
        noise = 0.0 if np.isinf(beta) else 2.0 / beta
        radial = self.DZ @ (self.D - np.diag(1 / self.r))
        self.linear = noise * (radial[None] - (k**2)[:, None, None] * np.diag(self.r**-2)[None])

    def _forward(self, p):
        """State (modes × n_r) of nodal values (n_r × n_φ)."""
        return sfft.rfft(p, axis=1).T

    def _backward(self, state):
        return sfft.irfft(state.T, n=self.n_phi, axis=1)

    def _check(self, p):
        p = np.asarray(p, dtype=float)
        if p.shape != (self.n_r, self.n_phi):
            raise ValueError(f"p must have shape ({self.n_r}, {self.n_phi}), got {p.shape}")
        return p

    def to_state(self, p):
        return self._forward(self._check(p))

    def from_state(self, state):
        return self._backward(state)

    def convolution_state(self, state):
        """Modes of ∫∫K(r, r', φ − φ') p dr' dφ' at the r nodes."""
        return apply_blocks(self.kernel_modes, state)

    def psi(self, p):
        """Ψ at the nodes."""
        return self._backward(self.base_state + self.convolution_state(self.to_state(p)))

    def nonlinear_state(self, state):
        """N = 2[∂_r(p∂_rΨ) + ∂_φ(p∂_φΨ)/r²], pseudo-spectral, no flux at r₀ and r₁."""
        psi = self.base_state + self.convolution_state(state)
        p = self._backward(self.mask[:, None] * state)
        dpsi_r = self._backward(self.mask[:, None] * (psi @ self.D.T))
        dpsi_phi = self._backward(self.dphi[:, None] * psi)
        radial = self._forward(p * dpsi_r) @ self.DZ.T
        angular = self.dphi[:, None] * self._forward(p * dpsi_phi * self.inv_r2)
        return 2.0 * self.mask[:, None] * (radial + angular)

    def integrate(self, values):
        """∫∫ values dr dφ over the nodes (Clenshaw–Curtis × trapezoid)."""
        return float(self.w @ values.sum(axis=1)) * self.h

    def mass(self, p):
        return self.integrate(self._check(p))

    def risk(self, p):
        """R = R_# + 2α∫∫V p + α²∫∫ p (K * p)."""
        p = self._check(p)
        conv = self._backward(self.convolution_state(self.to_state(p)))
        return self.problem.label_second_moment + self.integrate(
            (2 * self.alpha * self.V + self.alpha**2 * conv) * p)

    def free_energy(self, p):
        """F = R/(2α²) + ∫∫λr²/2 p + (1/β)∫∫p(log p − log r) (entropy over nodes with p > 0)."""
        p = self._check(p)
        value = (self.risk(p) / (2 * self.alpha**2)
                 + self.integrate(0.5 * self.lam * self.r[:, None]**2 * p))
        if np.isfinite(self.beta):
            positive = np.where(p > 0, p, 1.0)
            entropy = np.where(p > 0, p * (np.log(positive) - np.log(self.r)[:, None]), 0.0)
            value += self.integrate(entropy) / self.beta
        return value

    def min_density(self, p):
        return float(np.min(p))
