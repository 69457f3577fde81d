"""Exponential time differencing RK4 (Cox & Matthews 2002, coefficients by the contour integral
of Kassam & Trefethen 2005) for the Fourier circle DD of :mod:`ddsolver.operator.fourier`:

    ∂_t ρ̂ = L ρ̂ + N(ρ̂),   L_k = −(2ξ/β) k²  (diffusion, exact),   N = 2ξ (∂_φ(ρ ∂_φΨ))^  (explicit)

With E = e^{Lh}, E₂ = e^{Lh/2}, a step of size h from v is

    a = E₂v + Q N(v),  b = E₂v + Q N(a),  c = E₂a + Q (2N(b) − N(v)),
    v⁺ = E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(c),

z = Lh, Q = h(e^{z/2} − 1)/z, f₁ = h(−4 − z + e^z(4 − 3z + z²))/z³, f₂ = h(2 + z + e^z(z − 2))/z³,
f₃ = h(−4 − 3z − z² + e^z(4 − z))/z³. Fourth order, the
diffusion is integrated exactly (heat kernel exact for N = 0), fixed points of the PDE are fixed
points of the scheme, and the state is kept in Fourier space so the zero mode (the mass) is
changed only by N̂₀, which is exactly 0: mass is conserved to round-off. Fixed step; the time
step must resolve the transport (explicit) only, not the diffusion.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

CONTOUR_POINTS = 64


def etdrk4_coefficients(L, h, points=CONTOUR_POINTS):
    """(E, E₂, Q, f₁, f₂, f₃) of ETDRK4 for the diagonal real symbol L and step h, by averaging
    over a circle of radius 1 about each z = Lh (Kassam & Trefethen 2005, no cancellation)."""
    L = np.asarray(L, dtype=float)
    z = L[:, None] * h + np.exp(2j * np.pi * (np.arange(points) + 0.5) / points)[None, :]
    ez, ez2 = np.exp(z), np.exp(z / 2)
    Q = h * np.real(np.mean((ez2 - 1) / z, axis=1))
    f1 = h * np.real(np.mean((-4 - z + ez * (4 - 3 * z + z**2)) / z**3, axis=1))
    f2 = h * np.real(np.mean((2 + z + ez * (z - 2)) / z**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, axis=1))
    return np.exp(L * h), np.exp(L * h / 2), Q, f1, f2, f3


class ETDRK4Stepper:
    """Fixed-step ETDRK4 for a :class:`~ddsolver.operator.fourier.FourierOperator`."""

    def __init__(self, operator, dt):
        dt = float(dt)
        if not (dt > 0) or not np.isfinite(dt):
            raise ValueError(f"dt must be a positive finite number, got {dt!r}")
        self.op, self.dt = operator, dt
        self._coef = {}

    def _coefficients(self, h):
        key = float(h)
        if key not in self._coef:
            self._coef[key] = etdrk4_coefficients(self.op.L, h)
        return self._coef[key]

    def step_hat(self, v, h):
        """One ETDRK4 step of size h on the rfft coefficients v."""
        E, E2, Q, f1, f2, f3 = self._coefficients(h)
        N = self.op.nonlinear_hat
        Nv = N(v)
        a = E2 * v + Q * Nv
        Na = N(a)
        b = E2 * v + Q * Na
        Nb = N(b)
        c = E2 * a + Q * (2 * Nb - Nv)
        Nc = N(c)
        return E * v + f1 * Nv + 2 * f2 * (Na + Nb) + f3 * Nc

    def run(self, rho0, t_end, record_every=None):
        """Integrate from ρ₀ at t = 0 to t_end with steps ≤ dt (the last one shortened to land on
        t_end). Returns (ρ(t_end), history); history is a dict of arrays t, free_energy,
        min_density, mass, sampled every ``record_every`` steps (and at the end), or None."""
        rho0 = self.op._check(rho0)
        t_end = float(t_end)
        if not (t_end >= 0) or not np.isfinite(t_end):
            raise ValueError(f"t_end must be a non-negative finite number, got {t_end!r}")
        if record_every is not None and (isinstance(record_every, bool) or not isinstance(
                record_every, (int, np.integer)) or record_every < 1):
            raise ValueError(f"record_every must be None or an integer >= 1, got {record_every!r}")
        nsteps = int(np.ceil(t_end / self.dt - 1e-12)) if t_end > 0 else 0
        h = t_end / nsteps if nsteps else 0.0
        v = sfft.rfft(rho0)
        hist = None if record_every is None else {k: [] for k in
                                                  ("t", "free_energy", "min_density", "mass")}

        def record(t, v):
            rho = sfft.irfft(v, n=self.op.n)
            hist["t"].append(t)
            hist["free_energy"].append(self.op.free_energy(rho))
            hist["min_density"].append(self.op.min_density(rho))
            hist["mass"].append(self.op.h * v[0].real)

        if hist is not None:
            record(0.0, v)
        for i in range(nsteps):
            v = self.step_hat(v, h)
            if not np.all(np.isfinite(v)):
                raise FloatingPointError(f"non-finite density at t = {(i + 1) * h:.6g}; "
                                         f"reduce dt = {h:.3e}")
            if hist is not None and ((i + 1) % record_every == 0 or i + 1 == nsteps):
                record((i + 1) * h, v)
        rho = sfft.irfft(v, n=self.op.n)
        if hist is not None:
            hist = {k: np.asarray(x) for k, x in hist.items()}
        return rho, hist
