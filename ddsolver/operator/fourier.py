"""Fourier pseudo-spectral operator for the noisy DD on the circle φ ∈ [0, 2π),

    ∂_t ρ = 2ξ ∂_φ(ρ ∂_φ Ψ) + (2ξ/β) ∂²_φ ρ,   Ψ(φ) = V(φ)/α + ∫ U(φ − φ') ρ(φ') dφ'

(docs/theory.md §3 and 5.2 with λ = 0 and U a function of the angle difference only).

Grid φ_j = 2πj/n, h = 2π/n. Normalisation: ρ(φ) = Σ_k ρ̂_k e^{ikφ} with
ρ̂_k = (1/n) Σ_j ρ_j e^{−ikφ_j} (``numpy.fft.fft / n``); likewise Û_k. The convolution is diagonal,

    (U * ρ)^_k = 2π Û_k ρ̂_k,   i.e.   U * ρ = h · ifft(fft(U_j) fft(ρ_j)),

which is the trapezoid rule for ∫ U(φ_i − φ') ρ(φ') dφ' (spectrally accurate for smooth U).
Products are dealiased by the 2/3 rule: both factors and the product keep |k| < n/3 only.
The free energy F(ρ) = ½∫∫U ρρ + ∫Vρ/α + (1/β)∫ρ log ρ has δF/δρ = Ψ + (log ρ + 1)/β, so the
DD is its Wasserstein gradient flow with speed 2ξ and dF/dt = −2ξ ∫ρ |∂_φ(Ψ + log ρ /β)|² ≤ 0;
its stationary points solve the self-consistent Gibbs equation ρ = Z⁻¹ exp(−βΨ(ρ)). For α = 1
this is F = ½R + const of docs/theory.md §3. Spectral methods do not preserve positivity:
monitor :meth:`FourierOperator.min_density`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft


def _check_positive(name, value, allow_inf=False):
    value = float(value)
    if not (value > 0) or (np.isinf(value) and not allow_inf) or np.isnan(value):
        raise ValueError(f"{name} must be a positive{'' if allow_inf else ' finite'} number, "
                         f"got {value!r}")
    return value


class FourierOperator:
    """Right-hand side, potential and free energy of the circle DD on n equispaced points.

    Parameters
    ----------
    n : int ≥ 4, number of grid points φ_j = offset + 2πj/n.
    V : None (V = 0), a callable V(φ) or an array of the n values V(φ_j).
    U : callable U(Δφ) of the angle difference, 2π-periodic (vectorised over numpy arrays).
    alpha, beta : α > 0; β > 0 (``numpy.inf`` for the noiseless DD).
    xi : constant learning-rate scale ξ > 0.
    offset : the first grid angle φ₀.
    label_second_moment : R_# = E y², the constant of the risk.
    """

    rank = None          # U is applied by convolution in φ, not in low-rank form

    def __init__(self, n, V=None, U=None, alpha=1.0, beta=np.inf, xi=1.0, offset=0.0,
                 label_second_moment=0.0):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
            raise ValueError(f"n must be an integer >= 4, got {n!r}")
        self.n = int(n)
        self.alpha = _check_positive("alpha", alpha)
        self.beta = _check_positive("beta", beta, allow_inf=True)
        self.xi = _check_positive("xi", xi)
        self.h = 2 * np.pi / self.n
        self.label_second_moment = float(label_second_moment)
        self.phi = float(offset) + self.h * np.arange(self.n)
        self.k = np.arange(self.n // 2 + 1, dtype=float)        # rfft wavenumbers
        self.ik = 1j * self.k
        self.ik_odd = self.ik.copy()
        if self.n % 2 == 0:
            self.ik_odd[-1] = 0.0                               # first derivative: no Nyquist
        self.mask = (3 * self.k < self.n).astype(float)         # 2/3 rule: keep |k| < n/3
        if V is None:
            v = np.zeros(self.n)
        elif callable(V):
            v = np.asarray(V(self.phi), dtype=float) * np.ones(self.n)
        else:
            v = np.asarray(V, dtype=float)
        if v.shape != (self.n,) or not np.all(np.isfinite(v)):
            raise ValueError(f"V must be None, a callable or {self.n} finite values, "
                             f"got shape {v.shape}")
        self.V = v
        if U is None:
            u = np.zeros(self.n)
        elif callable(U):
            u = np.asarray(U(self.h * np.arange(self.n)), dtype=float) * np.ones(self.n)
        else:
            raise ValueError(f"U must be None or a callable of the angle difference, got {U!r}")
        if not np.all(np.isfinite(u)):
            raise ValueError("U must be finite at the grid points")
        self.U = u
        self.U_hat = sfft.rfft(u)                   # = n Û_k
        self.V_hat = sfft.rfft(v) / self.alpha       # V/α, raw rfft
        self.diffusion = 0.0 if np.isinf(self.beta) else 2 * self.xi / self.beta
        self.linear = -self.diffusion * self.k**2   # symbol of (2ξ/β)∂²_φ, exact in ETDRK4

    def _check(self, rho):
        rho = np.asarray(rho, dtype=float)
        if rho.shape != (self.n,):
            raise ValueError(f"rho must have shape ({self.n},), got {rho.shape}")
        return rho

    def mass(self, rho):
        """∫ρ dφ = h Σ_j ρ_j (exact for trigonometric polynomials of degree < n)."""
        return self.h * float(np.sum(self._check(rho)))

    def psi_hat(self, rho_hat):
        """rfft of Ψ = V/α + U*ρ, with (U*ρ)^_k = 2π Û_k ρ̂_k (raw rfft: h·fft(U)·fft(ρ))."""
        return self.V_hat + self.h * self.U_hat * rho_hat

    def psi(self, rho):
        """Ψ(φ_j) = V(φ_j)/α + ∫U(φ_j − φ')ρ(φ')dφ' by FFT convolution."""
        return sfft.irfft(self.psi_hat(sfft.rfft(self._check(rho))), n=self.n)

    def transport_hat(self, rho_hat):
        """rfft of ∂_φ(ρ ∂_φΨ), the product dealiased by the 2/3 rule; zero mode exactly 0."""
        r = sfft.irfft(self.mask * rho_hat, n=self.n)
        dpsi = sfft.irfft(self.mask * self.ik_odd * self.psi_hat(rho_hat), n=self.n)
        return self.mask * self.ik_odd * sfft.rfft(r * dpsi)

    def transport(self, rho):
        """∂_φ(ρ ∂_φΨ) at the grid points (pseudo-spectral, 2/3-rule dealiased)."""
        return sfft.irfft(self.transport_hat(sfft.rfft(self._check(rho))), n=self.n)

    def to_state(self, rho):
        """The stepper's state: the rfft coefficients of ρ."""
        return sfft.rfft(self._check(rho))

    def from_state(self, rho_hat):
        """ρ at the grid points from its rfft coefficients."""
        return sfft.irfft(rho_hat, n=self.n)

    def nonlinear_state(self, rho_hat):
        """rfft of the explicit part N(ρ) = 2ξ ∂_φ(ρ ∂_φΨ)."""
        return 2 * self.xi * self.transport_hat(rho_hat)

    def rhs(self, rho):
        """∂_tρ = 2ξ ∂_φ(ρ ∂_φΨ) + (2ξ/β) ∂²_φρ at the grid points."""
        rho_hat = sfft.rfft(self._check(rho))
        return sfft.irfft(self.nonlinear_state(rho_hat) + self.linear * rho_hat, n=self.n)

    def free_energy(self, rho):
        """F = ½∫∫U(φ−φ')ρρ' + ∫Vρ/α + (1/β)∫ρ log ρ (trapezoid rule); nan if min ρ ≤ 0
        and β < ∞."""
        rho = self._check(rho)
        conv = sfft.irfft(self.h * self.U_hat * sfft.rfft(rho), n=self.n)
        energy = self.h * np.sum((0.5 * conv + self.V / self.alpha) * rho)
        if np.isinf(self.beta):
            return float(energy)
        if rho.min() <= 0:
            return float("nan")
        return float(energy + self.h * np.sum(rho * np.log(rho)) / self.beta)

    def risk(self, rho):
        """R(ρ) = R_# + 2α∫Vρ + α²∫∫U(φ−φ')ρρ' (docs/theory.md §1; trapezoid rule, FFT
        convolution)."""
        rho = self._check(rho)
        conv = sfft.irfft(self.h * self.U_hat * sfft.rfft(rho), n=self.n)
        return float(self.label_second_moment + self.h * np.sum(
            (2 * self.alpha * self.V + self.alpha**2 * conv) * rho))

    def min_density(self, rho, refine=1):
        """min ρ on the grid, or on a grid ``refine`` times finer by spectral interpolation."""
        rho = self._check(rho)
        if isinstance(refine, bool) or not isinstance(refine, (int, np.integer)) or refine < 1:
            raise ValueError(f"refine must be an integer >= 1, got {refine!r}")
        if refine == 1:
            return float(rho.min())
        return float(self.interpolate(rho, refine * self.n).min())

    def interpolate(self, rho, m):
        """Trigonometric interpolant of ρ evaluated on m ≥ n equispaced points (zero padding)."""
        rho = self._check(rho)
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < self.n:
            raise ValueError(f"m must be an integer >= n = {self.n}, got {m!r}")
        c = sfft.rfft(rho)
        if self.n % 2 == 0 and m > self.n:
            c[-1] *= 0.5                                   # split the Nyquist mode into ±n/2
        out = np.zeros(m // 2 + 1, dtype=complex)
        out[: c.size] = c
        return sfft.irfft(out * (m / self.n), n=m)

    def gibbs(self, rho):
        """The self-consistent Gibbs map G(ρ) = exp(−βΨ(ρ)) / ∫exp(−βΨ(ρ)); ρ is a steady state
        iff G(ρ) = ρ (β < ∞)."""
        if np.isinf(self.beta):
            raise ValueError("beta must be finite for the Gibbs map")
        psi = self.psi(rho)
        w = np.exp(-self.beta * (psi - psi.min()))
        return w / (self.h * w.sum())


def cell_average_matrix(n, offset, edges):
    """Matrix A (cells × n) with (A ρ)_c the average over [edges_c, edges_{c+1}] of the
    trigonometric interpolant of the values ρ_j at φ_j = offset + 2πj/n (the Nyquist mode of even
    n split evenly between ±n/2): exact for trigonometric polynomials of degree < n/2."""
    edges = np.asarray(edges, dtype=float)
    k = np.fft.fftfreq(n, 1.0 / n)
    weight = np.where(np.abs(k) == n / 2, 0.5, 1.0)
    if n % 2 == 0:
        k = np.append(k, n / 2)                       # the Nyquist mode as ±n/2, half each
        weight = np.append(weight, 0.5)
    a, b = edges[:-1, None] - offset, edges[1:, None] - offset
    safe = np.where(k == 0, 1.0, k)
    integral = np.where(k == 0, b - a, (np.exp(1j * safe * b) - np.exp(1j * safe * a))
                        / (1j * safe))                               # ∫ e^{ik(φ−φ₀)} over cells
    j = np.arange(n)
    fourier = np.exp(-2j * np.pi * np.outer(k, j) / n) * weight[:, None]   # mode k of node j
    return np.real(integral @ fourier) / (n * (b - a))
