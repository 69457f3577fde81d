"""Adaptive strong-stability-preserving Runge–Kutta (Shu–Osher SSPRK3 with an embedded Heun
estimate) for the finite-volume semi-discretisation dp/dt = L(p, t) of the DD.

One step of size Δt:

    y₁ = p + Δt L(p, t)
    w  = y₁ + Δt L(y₁, t + Δt);   y₂ = ¾ p + ¼ w;   ŷ = ½ (p + w)   (Heun, order 2)
    y₃ = ⅓ p + ⅔ (y₂ + Δt L(y₂, t + Δt/2))                            (order 3)

Each stage is a forward-Euler step, positive when Δt · rate ≤ 1 for that stage's positivity rate
(see :mod:`ddsolver.operator.transport`); Δt starts at ``cfl``/rate and a stage that would break
the bound is rejected and retried. The step is accepted when the L1 error estimate
|cell| Σ|y₃ − ŷ| ≤ tol, and the next Δt is 0.9 Δt (tol/err)^(1/3), at most 5 Δt.
Mass is conserved to round-off because every flux leaves one cell and enters its neighbour.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..operator.lowrank import lowrank_potential, lowrank_potential_numpy
from ..operator.noise import sg_rhs, sg_rhs_numpy
from ..operator.transport import (
    face_velocities,
    face_velocities_numpy,
    transport_rhs,
    transport_rhs_numpy,
)
from ..problem.schedule import schedule_value
from .guard import collapsed

OK, NEGATIVE, MAX_STEPS, UNDERFLOW = 0, 1, 2, 3
STAGE_BOUND = 1.0 - 1e-9     # rate·Δt allowed in later stages (leaves room for round-off)
MAX_GROWTH, MIN_SHRINK = 5.0, 0.2


@njit(cache=True)
def evaluate_rhs(p, base, features, volume, spacing, kind, xi, inv_beta, work, out):
    """out = L(p) for speed factor ξ; returns the positivity rate. Noiseless (inv_beta = 0):
    upwind transport with velocity −2ξ∇ψ̄; noisy: Scharfetter–Gummel with D = 2ξ/β and the
    effective potential ψ̄. ``work`` = (psi, outflow, moments, u0, u1, u2) scratch arrays;
    psi, outflow and p are 3-D C-contiguous."""
    psi, outflow, moments, u0, u1, u2 = work
    lowrank_potential(p.reshape(-1), base, features, volume, moments, psi.reshape(-1))
    if inv_beta > 0.0:
        return sg_rhs(p, psi, spacing, 2.0 * xi * inv_beta, 1.0 / inv_beta, out, outflow)
    face_velocities(psi, spacing, xi, u0, u1, u2)
    return transport_rhs(p, u0, u1, u2, spacing, kind, out, outflow)


@njit(cache=True)
def euler_stage(out, p, h, rate):
    """out = p + h·rate on flat arrays (an explicit loop: numba's array expressions on the
    (n, 1, 1) arrays of 1-D grids cost ~20× more)."""
    for i in range(p.size):
        out[i] = p[i] + h * rate[i]


@njit(cache=True)
def heun_stage(y2, heun, p, y1, h, rate):
    """w = y₁ + h·rate; y₂ = ¾ p + ¼ w and the Heun solution ŷ = ½ (p + w) (flat arrays)."""
    for i in range(p.size):
        w = y1[i] + h * rate[i]
        y2[i] = 0.75 * p[i] + 0.25 * w
        heun[i] = 0.5 * (p[i] + w)


@njit(cache=True)
def third_stage(y3, p, y2, h, rate, heun):
    """y₃ = ⅓ p + ⅔ (y₂ + h·rate) (flat arrays); returns (Σ|y₃ − ŷ|, whether y₃ ≥ 0 everywhere,
    False for NaN)."""
    err = 0.0
    nonnegative = True
    for i in range(p.size):
        y = p[i] / 3.0 + (2.0 / 3.0) * (y2[i] + h * rate[i])
        y3[i] = y
        err += abs(y - heun[i])
        if not y >= 0.0:
            nonnegative = False
    return err, nonnegative


@njit(cache=True)
def ssprk3_advance(p, base, features, volume, spacing, kind, inv_beta, schedule, cfl, tol,
                   t, t_end, t_limit, dt, max_steps):
    """Advance ``p`` in place from t to at least t_end, never past t_limit ≥ t_end (steps are
    shortened only to land on t_limit, so that the steps taken do not depend on t_end); returns
    (t, dt, steps, rejected, status)."""
    code, value, offset, exponent = schedule
    n0, n1, n2 = p.shape
    psi = np.empty_like(p)
    work = (psi, np.empty_like(p), np.empty(features.shape[0]), np.empty((n0 + 1, n1, n2)),
            np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1)))
    l0, l1, l2 = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    y1, y2, heun = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    flat = p.reshape(-1)
    steps = rejected = 0
    fresh = True
    rate0 = 0.0
    while t_end - t > 1e-13 * max(1.0, abs(t_end)):
        if steps >= max_steps:
            return t, dt, steps, rejected, MAX_STEPS
        if fresh:
            rate0 = evaluate_rhs(p, base, features, volume, spacing, kind,
                                 schedule_value(code, value, offset, exponent, t), inv_beta,
                                 work, l0)
            fresh = False
        h = min(dt, t_limit - t)
        if rate0 * h > cfl:
            h = cfl / rate0
        if collapsed(t, h, t_limit):
            return t, h, steps, rejected, UNDERFLOW
        euler_stage(y1.reshape(-1), flat, h, l0.reshape(-1))
        rate = evaluate_rhs(y1, base, features, volume, spacing, kind,
                            schedule_value(code, value, offset, exponent, t + h), inv_beta,
                            work, l1)
        if rate * h > STAGE_BOUND:
            rejected += 1
            dt = cfl / rate
            continue
        heun_stage(y2.reshape(-1), heun.reshape(-1), flat, y1.reshape(-1), h, l1.reshape(-1))
        rate = evaluate_rhs(y2, base, features, volume, spacing, kind,
                            schedule_value(code, value, offset, exponent, t + 0.5 * h),
                            inv_beta, work, l2)
        if rate * h > STAGE_BOUND:
            rejected += 1
            dt = cfl / rate
            continue
        err, nonnegative = third_stage(y1.reshape(-1), flat, y2.reshape(-1), h, l2.reshape(-1),
                                       heun.reshape(-1))            # y₃, in y1's storage
        err *= volume / tol
        if err > 1.0:
            rejected += 1
            dt = h * max(MIN_SHRINK, 0.9 * err ** (-1.0 / 3.0))
            continue
        if not nonnegative:                                    # also catches NaN
            return t, h, steps, rejected, NEGATIVE
        flat[:] = y1.reshape(-1)
        t += h
        steps += 1
        fresh = True
        dt = h * (MAX_GROWTH if err == 0.0 else min(MAX_GROWTH, 0.9 * err ** (-1.0 / 3.0)))
    return t, dt, steps, rejected, OK


def rhs_numpy(p, base, features, volume, spacing, kind, xi, inv_beta=0.0):
    """Plain-numpy twin of :func:`evaluate_rhs`: returns (L(p), positivity rate)."""
    _, psi = lowrank_potential_numpy(p.ravel(), base, features, volume)
    if inv_beta > 0:
        return sg_rhs_numpy(p, psi.reshape(p.shape), spacing, 2 * xi * inv_beta, 1 / inv_beta)
    faces = face_velocities_numpy(psi.reshape(p.shape), spacing, xi)
    return transport_rhs_numpy(p, faces, spacing, kind)


def ssprk3_step_numpy(p, h, t, base, features, volume, spacing, kind, schedule, inv_beta=0.0):
    """One SSPRK3 step of size h in plain numpy (no adaptivity): the twin used in tests."""
    def rhs(y, s):
        return rhs_numpy(y, base, features, volume, spacing, kind,
                         float(schedule_value(*schedule, s)), inv_beta)[0]
    y1 = p + h * rhs(p, t)
    y2 = 0.75 * p + 0.25 * (y1 + h * rhs(y1, t + h))
    return p / 3.0 + (2.0 / 3.0) * (y2 + h * rhs(y2, t + 0.5 * h))
