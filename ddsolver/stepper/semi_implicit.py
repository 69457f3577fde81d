"""Semi-implicit stepping of the noisy DD: the potential frozen over a step, the linear
Scharfetter–Gummel operator implicit,

    (I − Δt A(Φ(pⁿ), ξ(t + Δt))) pⁿ⁺¹ = pⁿ,

A from :func:`ddsolver.operator.noise.sg_matrix` (a banded LAPACK solve on 1-D grids). I − Δt A is
an M-matrix whose columns sum to one, so every step conserves mass and keeps the density non-
negative for any Δt. The scheme is first order in time; Δt is chosen by step doubling: one step of
Δt against two of Δt/2, the L1 difference |cell| Σ|p₂ − p₁| must be ≤ tol, the two-half-step result
is kept, and the next Δt is 0.9 Δt (tol/err)^(1/2), at most 4 Δt. A steady state of the iteration
solves A(Φ(p)) p = 0, i.e. it is exactly the discrete Gibbs state of :mod:`ddsolver.stationary`.
First order is the price of positivity for every Δt (no linear method of higher order is
unconditionally positive, Bolley & Crouzeix 1978); ``tol`` bounds the error per step, so the global
error is larger (about 0.2 √tol measured on the OU problem). Use it for long runs to a steady state
on fine grids, where the explicit bound Δt ≲ h²/(2D) of SSPRK3 is prohibitive.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded
from scipy.sparse import identity
from scipy.sparse.linalg import spsolve

from ..errors import NumericalError
from ..operator.lowrank import lowrank_potential_numpy
from ..operator.noise import sg_bands, sg_matrix
from ..problem.schedule import schedule_value

MAX_GROWTH, MIN_SHRINK = 4.0, 0.2


class SemiImplicitStepper:
    """Adaptive frozen-potential implicit Euler for the noisy finite-volume DD."""

    def __init__(self, base, features, volume, spacing, beta, schedule, tol):
        self.base, self.features, self.volume = base, features, volume
        self.spacing, self.beta, self.schedule, self.tol = spacing, beta, schedule, tol

    def _potential(self, p):
        """Φ̄(p) = base + F̄ᵀc(p), the effective potential frozen over a step from p."""
        return lowrank_potential_numpy(p.ravel(), self.base, self.features, self.volume)[1]

    def _step(self, p, phi, t, h):
        """One implicit step of size h from p with the frozen potential phi = Φ̄(p)."""
        xi = float(schedule_value(*self.schedule, t + h))
        diffusion = 2 * xi / self.beta
        if p.shape[1] == p.shape[2] == 1:              # 1-D: a tridiagonal LAPACK solve
            bands = sg_bands(phi, self.spacing[0], diffusion, self.beta)
            bands *= -h
            bands[1] += 1.0
            new = solve_banded((1, 1), bands, p.ravel())
        else:
            A = sg_matrix(phi.reshape(p.shape), self.spacing, diffusion, self.beta)
            new = spsolve((identity(p.size, format="csc") - h * A).tocsc(), p.ravel())
        if new.min() < -1e-12 * new.max():
            raise NumericalError(f"semi-implicit step gave density {new.min():.3e} < 0 at "
                                 f"t = {t:.6g} with dt = {h:.3e}")
        return np.maximum(new, 0.0).reshape(p.shape)     # an M-matrix solve: only round-off

    def advance(self, p, t, t_end, dt, max_steps):
        """Advance ``p`` in place to t_end; returns (t, dt, steps, rejected, status)."""
        steps = rejected = 0
        phi = self._potential(p)                 # Φ̄(p), shared by both first steps and retries
        while t_end - t > 1e-13 * max(1.0, abs(t_end)):
            if steps >= max_steps:
                return t, dt, steps, rejected, 2
            h = min(dt, t_end - t)
            full = self._step(p, phi, t, h)
            midway = self._step(p, phi, t, 0.5 * h)
            half = self._step(midway, self._potential(midway), t + 0.5 * h, 0.5 * h)
            err = self.volume * np.abs(half - full).sum() / self.tol
            if err > 1.0:
                rejected += 1
                dt = h * max(MIN_SHRINK, 0.9 / np.sqrt(err))
                continue
            p[...] = half
            phi = self._potential(p)
            t += h
            steps += 1
            dt = h * (MAX_GROWTH if err == 0 else min(MAX_GROWTH, 0.9 / np.sqrt(err)))
        return t, dt, steps, rejected, 0
