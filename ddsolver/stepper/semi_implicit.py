"""Linearly implicit stepping of the noisy DD, dp/dt = ξ(t) A(Φ(p)) p, where A(Φ) is the
Scharfetter–Gummel drift–diffusion matrix of :func:`ddsolver.operator.noise.sg_matrix` at ξ = 1
(D = 2/β; the operator is linear in ξ) and Φ(p) = base + F̄ᵀc(p) the effective potential, whose
dependence on p goes through the K kernel moments c only.

A(Φ) is the generator of a conservative production–destruction system: its off-diagonal entries
are ≥ 0 and its columns sum to zero. Hence for any c ≥ 0 and weights s > 0 the matrix

    M = I − c A(Φ) diag(s)

is an M-matrix whose columns sum to one: M x = b conserves mass (Σ x = Σ b) and keeps x ≥ 0 for
b ≥ 0, whatever the step. Both steppers below are sequences of such solves (the compiled Thomas
solve :func:`ddsolver.operator.noise.solve_mmatrix_banded` on 1-D grids, SuperLU otherwise), with
the potential frozen within a solve.

``semi_implicit`` (:class:`SemiImplicitStepper`): implicit Euler with the potential frozen at the
start of the step,

    (I − Δt ξ(t + Δt) A(Φ(pⁿ))) pⁿ⁺¹ = pⁿ,

first order. A steady state solves A(Φ(p)) p = 0: the discrete Gibbs state of
:mod:`ddsolver.stationary`.

``mprk22`` (:class:`PatankarStepper`): the second-order modified Patankar–Runge–Kutta scheme
MPRK22 (Burchard, Deleersnijder & Meister 2003; Kopecz & Meister 2018), i.e. Heun's method with
Patankar weights on the production and destruction terms:

    (I − Δt A₀) y = pⁿ,                       A₀ = ξ(t) A(Φ(pⁿ))       (Patankar–Euler, order 1)
    (I − ½Δt (A₀ diag(pⁿ/y) + A₁)) pⁿ⁺¹ = pⁿ,  A₁ = ξ(t + Δt) A(Φ(y))   (order 2)

Both matrices are of the form M above, so pⁿ⁺¹ ≥ 0 and mass is conserved for every Δt. The scheme
is nonlinear in p (the weights pⁿ/y), which is how it escapes the Bolley–Crouzeix barrier (no
*linear* method of order > 1 is positive for every step). At a steady state p of A(Φ(p)) both
stages return p, so the Gibbs state is kept. Where y = 0 (underflow far in a tail, where then
pⁿ = 0 too, since y ≥ pⁿ/(1 + Δt|A₀ⱼⱼ|)) the weight is 1.

Step control, both, by step doubling: one step of Δt (result a) against two of Δt/2 (result b),
err = |cell| Σ|b − a| / tol, an estimate of the local error O(Δt^(q+1)) of a scheme of order q.
err > 1 rejects with Δt ← Δt max(0.2, 0.9 err^(−1/(q+1))); otherwise b is kept and
Δt_next = Δt min(4, 0.9 err^(−1/(q+1))). The global error of ``semi_implicit`` is then about
0.2 √tol; that of ``mprk22`` scales like tol^(2/3), about tol to 7 tol in risk on the noisy 9.1
cases (docs/numerics.md §8). (The embedded Patankar–Euler solution y estimates only the
first-order error, O(Δt²): with it, at tol 1e-7 on the strong-diffusion case of
benchmarks/bench_noisy.py, 33 323 steps gave a risk error of 3.5e-9, against 2 768 steps and
1.3e-7 by step doubling; its error is far below tol, so ``tol`` would lose its meaning.)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from ..errors import NumericalError
from ..operator.lowrank import lowrank_potential_numpy
from ..operator.noise import sg_bands_into, sg_matrix, solve_mmatrix_banded
from ..problem.schedule import schedule_value
from .guard import collapsed

MAX_GROWTH, MIN_SHRINK = 4.0, 0.2
NEGATIVE_TOL = 1e-12     # relative size of a negative entry taken as round-off of an M-matrix solve


class FrozenPotentialStepper:
    """The machinery shared by the linearly implicit steppers: the potential, the SG operator at
    ξ = 1 of a frozen potential, M-matrix solves, and the adaptive step loop (step doubling).
    Subclasses define ``step`` and its ``order``."""

    def __init__(self, base, features, volume, spacing, beta, schedule, tol, shape):
        self.base, self.features, self.volume = base, features, volume
        self.banded = shape[1] == shape[2] == 1          # a 1-D grid (padded shape (n, 1, 1))
        self.spacing, self.beta, self.schedule, self.tol = spacing, beta, schedule, tol

    def xi(self, t):
        return float(schedule_value(*self.schedule, t))

    def operator(self, p):
        """A(Φ(p)) at ξ = 1 (D = 2/β): LAPACK bands (3, n) on a 1-D grid, else a CSR matrix."""
        phi = lowrank_potential_numpy(p.ravel(), self.base, self.features, self.volume)[1]
        if self.banded:
            bands = np.empty((3, phi.size))
            sg_bands_into(phi, self.spacing[0], 2.0 / self.beta, self.beta, bands)
            return bands
        return sg_matrix(phi.reshape(p.shape), self.spacing, 2.0 / self.beta, self.beta)

    def solve(self, rhs, t, h, c0, A0, weights=None, c1=0.0, A1=None):
        """x with (I − c₀ A₀ diag(s) − c₁ A₁) x = rhs, s = ``weights`` (1 if None), c₀, c₁ ≥ 0: an
        M-matrix with unit column sums (module docstring). On 1-D grids the compiled Thomas
        solve gives x ≥ 0 exactly; SuperLU's (pivoting) may leave round-off below zero, which is
        clipped, while anything beyond round-off raises NumericalError."""
        shape, rhs = rhs.shape, rhs.ravel()
        if self.banded:
            new = np.empty_like(rhs)
            solve_mmatrix_banded(c0, A0, np.ones_like(rhs) if weights is None else weights, c1,
                                 A0 if A1 is None else A1, rhs, new)
        else:
            matrix = sp.identity(rhs.size, format="csr") - c0 * (
                A0 if weights is None else A0 @ sp.diags(weights))
            if A1 is not None:
                matrix = matrix - c1 * A1
            new = spsolve(matrix.tocsc(), rhs)
        if not new.min() >= -NEGATIVE_TOL * new.max():
            raise NumericalError(f"{type(self).__name__}: density {new.min():.3e} < 0 at "
                                 f"t = {t:.6g} with dt = {h:.3e}")
        return np.maximum(new, 0.0).reshape(shape)

    def step(self, p, op, t, h):
        """One step of size h from p at time t, op = A(Φ(p))."""
        raise NotImplementedError

    def advance(self, p, t, t_end, t_limit, dt, max_steps):
        """Advance ``p`` in place to at least t_end, never past t_limit ≥ t_end, by step
        doubling; returns (t, dt, steps, rejected, status)."""
        steps = rejected = 0
        exponent = -1.0 / (self.order + 1)
        op = self.operator(p)                    # A(Φ(p)), shared by the retries of a step
        while t_end - t > 1e-13 * max(1.0, abs(t_end)):
            if steps >= max_steps:
                return t, dt, steps, rejected, 2
            h = min(dt, t_limit - t)
            if collapsed(t, h, t_limit):
                return t, h, steps, rejected, 3
            full = self.step(p, op, t, h)
            midway = self.step(p, op, t, 0.5 * h)
            half = self.step(midway, self.operator(midway), t + 0.5 * h, 0.5 * h)
            err = self.volume * np.abs(half - full).sum() / self.tol
            if err > 1.0:
                rejected += 1
                dt = h * max(MIN_SHRINK, 0.9 * err**exponent)
                continue
            p[...] = half
            op = self.operator(p)
            t += h
            steps += 1
            dt = h * (MAX_GROWTH if err == 0 else min(MAX_GROWTH, 0.9 * err**exponent))
        return t, dt, steps, rejected, 0


class SemiImplicitStepper(FrozenPotentialStepper):
    """Frozen-potential implicit Euler (first order; module docstring)."""

    order = 1

    def step(self, p, op, t, h):
        return self.solve(p, t, h, h * self.xi(t + h), op)


class PatankarStepper(FrozenPotentialStepper):
    """MPRK22: Heun with Patankar weights, second order, positive and conservative for every
    step (module docstring)."""

    order = 2

    def step(self, p, op, t, h):
        xi0 = self.xi(t)
        y = self.solve(p, t, h, h * xi0, op)
        flat_p, flat_y = p.ravel(), y.ravel()
        weights = np.divide(flat_p, flat_y, out=np.ones_like(flat_y), where=flat_y > 0)
        return self.solve(p, t, h, 0.5 * h * xi0, op, weights, 0.5 * h * self.xi(t + h),
                          self.operator(y))
