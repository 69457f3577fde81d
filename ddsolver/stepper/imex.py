"""Exponential time differencing RK4 (Cox & Matthews 2002) for spectral discretisations of the DD

    ∂_t v = L v + N(v),   L linear (diffusion and the entropic drift, integrated exactly),
                          N nonlinear (the transport 2∂(ρ∂Ψ), explicit)

With E = e^{Lh}, E₂ = e^{Lh/2}, a step of size h from v is

    a = E₂v + Q N(v),  b = E₂v + Q N(a),  c = E₂a + Q (2N(b) − N(v)),
    v⁺ = E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(c),

Q = (h/2)φ₁(Lh/2), f₁ = h(φ₁ − 3φ₂ + 4φ₃), f₂ = h(φ₂ − 2φ₃), f₃ = h(−φ₂ + 4φ₃) at Lh, with
φ₁(z) = (e^z − 1)/z, φ₂ = (e^z − 1 − z)/z², φ₃ = (e^z − 1 − z − z²/2)/z³. L is either diagonal
(an array of symbols: the φ-functions elementwise) or a stack of dense blocks, one per Fourier
mode. Blocks with a well-conditioned eigensystem L = S diag(λ) S⁻¹ are stepped in the
eigenbasis u = S⁻¹v, where L is the diagonal λ and the transport is S⁻¹N(Su): any step size
costs only scalar φ-functions. Other blocks take their φ-functions from the exponential of the
augmented matrix [[hL, I, 0, 0], [0, 0, I, 0], [0, 0, 0, I], [0, 0, 0, 0]], whose first block
row is (e^{hL}, φ₁, φ₂, φ₃). Fourth order; linear parts are exact (heat kernel exact for N = 0);
fixed points of the PDE are fixed points of the scheme; a linear functional m with m L = 0 and
m N = 0 (the mass) is conserved to round-off (in the eigenbasis: cond(S)·ε per step).

Error control (:meth:`ETDRK4Stepper.advance`) by an embedded third-order solution that shares
the stages and N(v⁺) (first same as last: N(v⁺) is the next step's N(v)),

    v̂⁺ = E v + f₁ N(v) + 2 f₂ (N(a) + N(b)) + f₃ N(v⁺),   v⁺ − v̂⁺ = f₃ (N(c) − N(v⁺)),

the exponential form of the third-order weights (1/6, 1/3, 1/3, 0, 1/6) embedded in classical RK4
(to which ETDRK4 reduces for L = 0); exact for constant N like ETDRK4. Four evaluations of N per
accepted step.

:class:`ETDRK4Stepper` steps an operator exposing ``linear``, ``nonlinear_state``, ``to_state``
and ``from_state``: :meth:`~ETDRK4Stepper.step_state` one step of a given size,
:meth:`~ETDRK4Stepper.advance` adaptive steps to a stop.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from ..operator.chebyshev import apply_blocks

COEFFICIENT_CACHE = 16        # step sizes whose coefficients are kept
EIGEN_MAX_CONDITION = 1e6     # blocks with worse-conditioned eigenvectors use expm
TAYLOR_TERMS = 17             # φ₃ by its Taylor series for |z| < 1: remainder < 1/20! ≈ 4e-19


def phi_scalars(z):
    """(e^z, φ₁(z), φ₂(z), φ₃(z)) elementwise for real or complex z: for |z| ≥ 1 by
    φ₁ = expm1(z)/z, φ_{k+1} = (φ_k − 1/k!)/z; for |z| < 1 from the Taylor series
    φ₃ = Σ_j z^j/(j + 3)! and φ_k = 1/k! + z φ_{k+1} (no cancellation either way)."""
    z = np.asarray(z)
    small = np.abs(z) < 1
    zs, zl = np.where(small, z, 0), np.where(small, 1, z)
    p3 = np.zeros_like(zs)
    for j in range(TAYLOR_TERMS - 1, -1, -1):
        p3 = p3 * zs + 1 / np.prod(np.arange(1.0, j + 4))
    p2, p1 = 0.5 + zs * p3, 1 + zs * (0.5 + zs * p3)
    l1 = np.expm1(zl) / zl
    l2 = (l1 - 1) / zl
    return (np.exp(z), np.where(small, p1, l1), np.where(small, p2, l2),
            np.where(small, p3, (l2 - 0.5) / zl))


def _combine(h, full, half):
    """(E, E₂, Q, f₁, f₂, f₃) from (e^{hL}, φ₁, φ₂, φ₃)(hL) and (e^{hL/2}, φ₁)(hL/2)."""
    E, p1, p2, p3 = full
    E2, q1 = half[:2]
    return E, E2, 0.5 * h * q1, h * (p1 - 3 * p2 + 4 * p3), h * (p2 - 2 * p3), h * (4 * p3 - p2)


def etdrk4_coefficients(L, h):
    """(E, E₂, Q, f₁, f₂, f₃) of ETDRK4 for step h and a linear part L that is either diagonal
    (an array of real or complex symbols, any shape: :func:`phi_scalars`) or a stack of dense
    blocks (array (m, n, n): :func:`phi_functions` of each block)."""
    L = np.asarray(L)
    if L.ndim == 3:
        out = [_combine(h, phi_functions(h * block), phi_functions(0.5 * h * block))
               for block in L]
        return tuple(np.stack(c) for c in zip(*out))
    return _combine(h, phi_scalars(h * L), phi_scalars(0.5 * h * L))


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
    """(S, λ, S⁻¹) with L = S diag(λ) S⁻¹ for every block of a stack (m, n, n) — real when all
    eigenvalues are real, else complex — when every eigenvector matrix has condition number
    ‖S‖₁‖S⁻¹‖₁ ≤ ``max_condition``; else None (non-normal blocks: use the matrix exponential)."""
    lam, S = np.linalg.eig(L)
    if np.abs(lam.imag).max() <= 1e-10 * max(1.0, np.abs(lam).max()):
        lam, S = lam.real, S.real
    try:
        S_inv = np.linalg.inv(S)
    except np.linalg.LinAlgError:
        return None
    condition = np.abs(S).sum(axis=-2).max(axis=-1) * np.abs(S_inv).sum(axis=-2).max(axis=-1)
    if not np.all(condition <= max_condition):
        return None
    return S, lam, S_inv


def apply_linear(coefficient, v):
    """coefficient · v for a diagonal coefficient (elementwise, same shape as v) or a block
    stack (m, n, n) acting on v of shape (m, n)."""
    if coefficient.ndim == 3:
        return apply_blocks(coefficient, v)
    return coefficient * v


class ETDRK4Stepper:
    """ETDRK4 for a spectral operator (``linear``, ``nonlinear_state``, ``to_state``,
    ``from_state``): one step of a given size (:meth:`step_state`) or steps adapted to a local
    relative error ``tol`` by the embedded estimate (:meth:`advance`), starting from ``dt``.
    Block operators with a well-conditioned eigensystem are stepped in their eigenbasis."""

    def __init__(self, operator, dt, tol=1e-8, cache_size=COEFFICIENT_CACHE):
        dt = float(dt)
        if not (dt > 0) or not np.isfinite(dt):
            raise ValueError(f"dt must be a positive finite number, got {dt!r}")
        self.op, self.dt, self.tol = operator, dt, float(tol)
        self.cache_size = cache_size
        self._coef = {}
        self._last = None          # (state returned by advance, its u, N(u)): first same as last
        self._real = False         # real operator states: drop the round-off imaginary part
        self.steps = self.rejected = 0
        self.linear = np.asarray(operator.linear)
        self.basis = block_eigensystem(self.linear) if self.linear.ndim == 3 else None
        if self.basis is not None:
            self.linear = self.basis[1]

    def _coefficients(self, h):
        key = float(h)
        if key not in self._coef:
            if len(self._coef) >= self.cache_size:
                self._coef.pop(next(iter(self._coef)))      # drop the oldest step size
            self._coef[key] = etdrk4_coefficients(self.linear, h)
        return self._coef[key]

    def to_basis(self, v):
        """The stepper's coordinates u = S⁻¹v of an operator state v (u = v without a basis)."""
        return v if self.basis is None else apply_blocks(self.basis[2], v)

    def from_basis(self, u):
        if self.basis is None:
            return u
        v = apply_blocks(self.basis[0], u)
        return v.real if self._real else v

    def nonlinear(self, u):
        """N in the stepper's coordinates: S⁻¹ N(S u)."""
        return self.to_basis(self.op.nonlinear_state(self.from_basis(u)))

    def step(self, u, Nu, h):
        """One ETDRK4 step of size h from u with Nu = N(u), in the stepper's coordinates
        (module docstring): (u⁺, N(u⁺), the embedded error estimate f₃ (N(c) − N(u⁺)))."""
        E, E2, Q, f1, f2, f3 = self._coefficients(h)
        N, lin = self.nonlinear, apply_linear
        E2u = lin(E2, u)
        a = E2u + lin(Q, Nu)
        Na = N(a)
        b = E2u + lin(Q, Na)
        Nb = N(b)
        c = lin(E2, a) + lin(Q, 2 * Nb - Nu)
        Nc = N(c)
        new = lin(E, u) + lin(f1, Nu) + 2 * lin(f2, Na + Nb) + lin(f3, Nc)
        N_new = N(new)
        return new, N_new, lin(f3, Nc - N_new)

    def step_state(self, v, h):
        """One ETDRK4 step of size h on the operator state v."""
        self._real = np.isrealobj(v)
        u = self.to_basis(v)
        return self.from_basis(self.step(u, self.nonlinear(u), h)[0])

    def advance(self, v, t, t_stop, t_limit=None):
        """Advance the state v from t to at least t_stop, never past t_limit ≥ t_stop (default
        t_stop); returns (new state, its time). A step of size dt is accepted when the embedded
        estimate has max|u⁺ − û⁺| ≤ tol · max|u⁺| (the error of the third-order solution; the
        fourth-order one is kept), else dt is halved; after an error below tol/32 (fourth-order
        local error of the estimate: room for 2h) dt is doubled. Step sizes stay dt₀ · 2^k
        except the last before t_limit, shortened to land on it and rounded to 12 digits, so
        that the coefficients of few step sizes are ever computed (the same remainder recurs at
        evenly spaced stops) and the steps do not depend on t_stop. N of the returned state is
        kept for the next call (first same as last across calls)."""
        t_limit = t_stop if t_limit is None else max(t_limit, t_stop)
        self._real = np.isrealobj(v)
        if self._last is not None and self._last[0] is v:
            u, Nu = self._last[1:]
        else:
            u = self.to_basis(v)
            Nu = self.nonlinear(u)
        span = max(1.0, abs(t_limit))
        while t_stop - t > 1e-12 * max(1.0, abs(t_stop)):
            remaining = t_limit - t
            last = remaining <= self.dt * (1 + 1e-9)
            h = float(f"{(remaining if last else self.dt):.12g}")
            new, N_new, estimate = self.step(u, Nu, h)
            scale = np.max(np.abs(new))
            error = np.max(np.abs(estimate)) / scale if scale > 0 else 0.0
            if not np.isfinite(error) or error > self.tol:
                self.rejected += 1
                self.dt = 0.5 * h
                if self.dt < 1e-14 * span:
                    raise FloatingPointError(f"step size underflow at t = {t:.6g} (the solution "
                                             "is not resolved: refine the grid or raise pde.tol)")
                continue
            u, Nu, t = new, N_new, (t_limit if last else t + h)
            self.steps += 1
            if error < self.tol / 32:
                self.dt = max(self.dt, 2 * h)
        v = self.from_basis(u)
        self._last = (v, u, Nu)
        return v, t

    def coordinates(self, v) -> np.ndarray:
        """The stepper's coordinates of the state v as :meth:`advance` returned it (its kept u,
        not a recomputed S⁻¹v, which differs in round-off)."""
        return self._last[1] if self._last is not None and self._last[0] is v else self.to_basis(v)

    def resume_at(self, u, real: bool) -> np.ndarray:
        """Set the stepper's coordinates to ``u`` (from :meth:`coordinates`; ``real``: whether
        the operator states are real) as if :meth:`advance` had returned there; returns the
        operator state, to pass to the next :meth:`advance`."""
        self._real = real
        v = self.from_basis(u)
        self._last = (v, u, self.nonlinear(u))
        return v
