"""Exponential time differencing RK4 (Cox & Matthews 2002) for spectral discretisations of the DD

    ∂_t v = L v + N(v),   L linear (diffusion and the entropic drift, integrated exactly),
                          N nonlinear (the transport 2∂(ρ∂Ψ), explicit)

With E = e^{Lh}, E₂ = e^{Lh/2}, a step of size h from v is

    a = E₂v + Q N(v),  b = E₂v + Q N(a),  c = E₂a + Q (2N(b) − N(v)),
    v⁺ = E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(c),

Q = (h/2)φ₁(Lh/2), f₁ = h(φ₁ − 3φ₂ + 4φ₃), f₂ = h(φ₂ − 2φ₃), f₃ = h(−φ₂ + 4φ₃) at Lh, with
φ₁(z) = (e^z − 1)/z, φ₂ = (e^z − 1 − z)/z², φ₃ = (e^z − 1 − z − z²/2)/z³. L is either diagonal
(Fourier: an array of symbols, coefficients by the contour average of Kassam & Trefethen 2005) or
a stack of dense blocks (Chebyshev: one block per Fourier mode; φ-functions from the exponential
of the augmented matrix [[hL, I, 0, 0], [0, 0, I, 0], [0, 0, 0, I], [0, 0, 0, 0]], whose first
block row is (e^{hL}, φ₁, φ₂, φ₃)). Fourth order; linear parts are exact (heat kernel exact for
N = 0); fixed points of the PDE are fixed points of the scheme; a linear functional m with
m L = 0 and m N = 0 (the mass) is conserved to round-off.

:class:`ETDRK4Stepper` steps an operator exposing ``linear``, ``nonlinear_state``, ``to_state``
and ``from_state``; ``run`` uses a fixed step, ``advance`` adapts the step by step doubling.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from ..operator.chebyshev import apply_blocks

CONTOUR_POINTS = 64
COEFFICIENT_CACHE = 16        # step sizes whose coefficients are kept
EIGEN_MAX_CONDITION = 1e6     # blocks with worse-conditioned eigenvectors use expm


def etdrk4_coefficients(L, h, points=CONTOUR_POINTS, eigensystem=None):
    """(E, E₂, Q, f₁, f₂, f₃) of ETDRK4 for step h and a linear part L that is either diagonal
    (1-D array of real symbols; contour average over a circle of radius 1 about each z = Lh, no
    cancellation) or a stack of dense blocks (array (m, n, n)): from the blocks' eigensystem
    (S, λ, S⁻¹) when given (f(hL) = S f(hλ) S⁻¹), else by the augmented matrix exponential."""
    L = np.asarray(L, dtype=float)
    if L.ndim == 3 and eigensystem is not None:
        S, lam, S_inv = eigensystem
        diagonal = etdrk4_coefficients(lam.ravel(), h, points)
        return tuple((S * c.reshape(lam.shape)[:, None, :]) @ S_inv for c in diagonal)
    if L.ndim == 3:
        return _block_coefficients(L, h)
    z = L[:, None] * h + np.exp(2j * np.pi * (np.arange(points) + 0.5) / points)[None, :]
    ez, ez2 = np.exp(z), np.exp(z / 2)
    Q = h * np.real(np.mean((ez2 - 1) / z, axis=1))
    f1 = h * np.real(np.mean((-4 - z + ez * (4 - 3 * z + z**2)) / z**3, axis=1))
    f2 = h * np.real(np.mean((2 + z + ez * (z - 2)) / z**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, axis=1))
    return np.exp(L * h), np.exp(L * h / 2), Q, f1, f2, f3


def phi_functions(A):
    """(e^A, φ₁(A), φ₂(A), φ₃(A)) of a square matrix A from one exponential of the augmented
    4n × 4n matrix (Sidje 1998; Al-Mohy & Higham 2011)."""
    n = A.shape[0]
    M = np.zeros((4 * n, 4 * n))
    M[:n, :n] = A
    for k in range(3):
        M[k * n:(k + 1) * n, (k + 1) * n:(k + 2) * n] = np.eye(n)
    top = expm(M)[:n]
    return tuple(top[:, k * n:(k + 1) * n] for k in range(4))


def block_eigensystem(L, max_condition=EIGEN_MAX_CONDITION):
    """(S, λ, S⁻¹) of a stack of blocks (m, n, n) when every block has real eigenvalues and
    eigenvectors with condition number ≤ ``max_condition`` (then φ-functions of any hL cost two
    matrix products), else None (non-normal blocks: use the matrix exponential)."""
    lam, S = np.linalg.eig(L)
    if np.abs(lam.imag).max() > 1e-10 * max(1.0, np.abs(lam).max()):
        return None
    S = S.real
    if np.linalg.cond(S).max() > max_condition:
        return None
    return S, lam.real, np.linalg.inv(S)


def _block_coefficients(L, h):
    out = []
    for block in L:
        E, p1, p2, p3 = phi_functions(h * block)
        E2, q1, _, _ = phi_functions(0.5 * h * block)
        out.append((E, E2, 0.5 * h * q1, h * (p1 - 3 * p2 + 4 * p3), h * (p2 - 2 * p3),
                    h * (4 * p3 - p2)))
    return tuple(np.stack(c) for c in zip(*out))


def apply_linear(coefficient, v):
    """coefficient · v for a diagonal coefficient (elementwise) or a block stack (m, n, n)
    acting on v of shape (m, n)."""
    if coefficient.ndim == 3:
        return apply_blocks(coefficient, v)
    return coefficient * v


class ETDRK4Stepper:
    """ETDRK4 for a spectral operator (``linear``, ``nonlinear_state``, ``to_state``,
    ``from_state``, ``_check``): fixed steps ≤ dt (:meth:`run`) or steps adapted by step
    doubling to a local relative error ``tol`` (:meth:`advance`)."""

    def __init__(self, operator, dt, tol=1e-8, cache_size=COEFFICIENT_CACHE):
        dt = float(dt)
        if not (dt > 0) or not np.isfinite(dt):
            raise ValueError(f"dt must be a positive finite number, got {dt!r}")
        self.op, self.dt, self.tol = operator, dt, float(tol)
        self.cache_size = cache_size
        self._coef = {}
        self.steps = self.rejected = 0
        linear = np.asarray(operator.linear)
        self.eigensystem = block_eigensystem(linear) if linear.ndim == 3 else None

    def _coefficients(self, h):
        key = float(h)
        if key not in self._coef:
            if len(self._coef) >= self.cache_size:
                self._coef.pop(next(iter(self._coef)))      # drop the oldest step size
            self._coef[key] = etdrk4_coefficients(self.op.linear, h,
                                                  eigensystem=self.eigensystem)
        return self._coef[key]

    def step_state(self, v, h):
        """One ETDRK4 step of size h on the state v (module docstring)."""
        E, E2, Q, f1, f2, f3 = self._coefficients(h)
        N = self.op.nonlinear_state
        lin = apply_linear
        Nv = N(v)
        E2v = lin(E2, v)
        a = E2v + lin(Q, Nv)
        Na = N(a)
        b = E2v + lin(Q, Na)
        Nb = N(b)
        c = lin(E2, a) + lin(Q, 2 * Nb - Nv)
        Nc = N(c)
        return lin(E, v) + lin(f1, Nv) + 2 * lin(f2, Na + Nb) + lin(f3, Nc)

    def advance(self, v, t, t_stop):
        """Advance the state v from t to t_stop; returns the new state. Each step of size h is
        compared with two steps of h/2 (kept): the step is accepted when
        max|v_h − v_{h/2}| ≤ tol · max|v_{h/2}|, else halved; after a step with error below
        tol/64 (fifth-order local error: room for 2h) the step is doubled. The last step before
        t_stop is shortened to land on it; step sizes are rounded to 12 digits so that the
        coefficients of repeated sizes (the same remainder at every evenly spaced stop) are
        computed once."""
        span = max(1.0, abs(t_stop))
        while t_stop - t > 1e-12 * span:
            remaining = t_stop - t
            last = remaining <= self.dt * (1 + 1e-9)
            h = float(f"{(remaining if last else self.dt):.12g}")
            whole = self.step_state(v, h)
            half = self.step_state(self.step_state(v, 0.5 * h), 0.5 * h)
            scale = np.max(np.abs(half))
            error = np.max(np.abs(half - whole)) / scale if scale > 0 else 0.0
            if not np.isfinite(error) or error > self.tol:
                self.rejected += 1
                self.dt = 0.5 * h
                if self.dt < 1e-14 * span:
                    raise FloatingPointError(f"step size underflow at t = {t:.6g} (the solution "
                                             "is not resolved: refine the grid or raise pde.tol)")
                continue
            v, t = half, (t_stop if last else t + h)
            self.steps += 1
            if error < self.tol / 64:
                self.dt = max(self.dt, 2 * h)
        return v
