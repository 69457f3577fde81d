"""Lagrangian scheme for the noiseless radial DD: the characteristics of the quantile function.

In one dimension the noiseless DD transports mass along ṙ = −2ξ(t) ∂_r ψ(r; p_t) without
crossing, so equal-mass particles r_i (the quantiles of p_t at levels (i − ½)/n, or the samples
of an empirical initial law) follow the ODE system

    ṙ_i = −2ξ(t) [ v'(r_i)/α + λ r_i + Σ_k g_k'(r_i) c_k ],    c_k = Σ_j w_j g_k(r_j),

with g = Q f the features compressed to the kernel's numerical rank at ``pde.kernel_tol``
(:func:`~ddsolver.operator.lowrank.compression_basis`: u_d = Σ_k g_k g_k to that tolerance).
The risk is R = R_# + 2α Σ_i w_i v(r_i) + α² Σ_k c_k². No grid enters the dynamics; the stored
density is :func:`ddsolver.problem.initial.quantile_density` of the particles.

Two integrators (``pde.integrator``):

- ``dopri5`` (``auto``): v and g_k tabulated once, with their first two derivatives, at
  ``TABLE_INTERVALS`` + 1 uniform nodes on [0, 2 r_max] and interpolated by quintic Hermite
  polynomials (:func:`tabulated_moments`, :func:`lagrangian_velocity`; the range doubles when
  particles pass half of it, which only ``on_boundary = "warn"`` allows); the ODE is then the
  exact gradient flow of the tabulated risk. A compiled adaptive Dormand–Prince 5(4)
  (:func:`dopri5_advance`, scipy's RK45 tableau and dense output) keeps its step across stops
  and reads the state at a stop from its dense output.
- ``dop853``: the reduction's point values (no table), scipy's DOP853 restarted at each stop
  (:class:`ScipyLagrangianRun`): the plain-numpy twin.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from scipy.integrate import RK45, solve_ivp

from ..errors import NumericalError
from ..grid import CartesianGrid
from ..operator.lowrank import compression_basis
from ..problem.initial import quantile_density
from ..problem.schedule import Schedule, schedule_value
from .boundary import EdgeGuard

TABLE_INTERVALS = 4096        # on [0, TABLE_REACH r_max]; 9.1: error 3e-11 in g, 1.4e-8 in g'
TABLE_REACH = 2.0             # table on [0, 2 r_max], doubled when particles pass half of it
SECOND_DERIVATIVE_STEP = 1 / 16   # g'' = [g'(x + δ) − g'(x − δ)]/(2δ), δ = this × node spacing
MAX_STEPS = 10**7
OK, STEP_UNDERFLOW, TOO_MANY_STEPS = 0, 1, 2
FRESH_STATE = (0.0, 0.0, 0.0, 0.0, 0.0, 1e-4)   # t, t_old, Δt, accepted, rejected, last error
PI_ALPHA, PI_BETA = 0.14, 0.08   # PI control, α = 1/5 − 0.75β (9.1: 43 rejections; 149 at β = 0.04)
RK_A, RK_B, RK_C, RK_E, RK_P = RK45.A, RK45.B, RK45.C, RK45.E, RK45.P


def tabulate(reduction, mix: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """(nodes, 3, 1 + k) table of [v, g_1 … g_k] (g = mix · f) at uniform ``nodes`` from 0:
    values, first derivatives (analytic) and second derivatives (central differences of the
    analytic first derivative, step δ = SECOND_DERIVATIVE_STEP × spacing)."""
    delta = SECOND_DERIVATIVE_STEP * (nodes[1] - nodes[0])

    def slopes(x):
        return np.vstack([reduction.dv(x)[None], mix @ reduction.dfeatures(x)])

    values = np.vstack([reduction.v(nodes)[None], mix @ reduction.features(nodes)])
    second = (slopes(nodes + delta) - slopes(nodes - delta)) / (2 * delta)
    return np.ascontiguousarray(np.stack([values, slopes(nodes), second]).transpose(2, 0, 1))


@njit(cache=True)
def interval(s, h, last):
    """(j, t): the interval j = min(⌊s/h⌋, last − 1) of a uniform table with spacing h and
    t = s/h − j (t > 1 past the last node: the last polynomial is extrapolated)."""
    j = min(int(s / h), last - 1)
    return j, s / h - j


@njit(cache=True)
def quintic_values(t, h):
    """Quintic Hermite weights of (F_j, F'_j, F''_j, F_{j+1}, F'_{j+1}, F''_{j+1}) for F at
    s = (j + t)h: F = H₀F_j + hH₁F'_j + h²H₂F''_j + G₀F_{j+1} + hG₁F'_{j+1} + h²G₂F''_{j+1},
    H₀ = 1 − G₀, G₀ = 10t³ − 15t⁴ + 6t⁵, H₁ = t − 6t³ + 8t⁴ − 3t⁵, H₂ = (t² − 3t³ + 3t⁴ − t⁵)/2,
    G₁ = −4t³ + 7t⁴ − 3t⁵, G₂ = (t³ − 2t⁴ + t⁵)/2."""
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    t5 = t4 * t
    g0 = 10 * t3 - 15 * t4 + 6 * t5
    return (1.0 - g0, h * (t - 6 * t3 + 8 * t4 - 3 * t5), h * h * 0.5 * (t2 - 3 * t3 + 3 * t4 - t5),
            g0, h * (-4 * t3 + 7 * t4 - 3 * t5), h * h * 0.5 * (t3 - 2 * t4 + t5))


@njit(cache=True)
def quintic_slopes(t, h):
    """The weights of :func:`quintic_values` differentiated in s = (j + t)h."""
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    dg0 = (30 * t2 - 60 * t3 + 30 * t4) / h
    return (-dg0, 1 - 18 * t2 + 32 * t3 - 15 * t4, h * (t - 4.5 * t2 + 6 * t3 - 2.5 * t4),
            dg0, -12 * t2 + 28 * t3 - 15 * t4, h * (1.5 * t2 - 4 * t3 + 2.5 * t4))


@njit(cache=True, fastmath=True)
def tabulated_moments(r, weights, table, h, out):
    """out_k = Σ_i w_i F_k(|r_i|) for the tabulated rows F = [v, g_1 … g_k] (out_0 = ∫v dp,
    out_k = c_k); ``table`` is (nodes, 3, rows): F, F', F''."""
    last = table.shape[0] - 1
    out[:] = 0.0
    for i in range(r.size):
        j, t = interval(abs(r[i]), h, last)
        w0, w1, w2, w3, w4, w5 = quintic_values(t, h)
        for k in range(out.size):
            out[k] += weights[i] * (w0 * table[j, 0, k] + w1 * table[j, 1, k]
                                    + w2 * table[j, 2, k] + w3 * table[j + 1, 0, k]
                                    + w4 * table[j + 1, 1, k] + w5 * table[j + 1, 2, k])


@njit(cache=True, fastmath=True)
def lagrangian_velocity(t, r, weights, table, h, code, value, offset, exponent, scale, lam,
                        moments, out):
    """out_i = −2ξ(t) [sign(r_i) (v'(|r_i|)/α + Σ_k c_k g_k'(|r_i|)) + λ r_i] from the table
    (``moments``: scratch of length 1 + k)."""
    tabulated_moments(r, weights, table, h, moments)
    moments[0] = 1.0 / scale
    speed = -2.0 * schedule_value(code, value, offset, exponent, t)
    last = table.shape[0] - 1
    for i in range(r.size):
        j, u = interval(abs(r[i]), h, last)
        w0, w1, w2, w3, w4, w5 = quintic_slopes(u, h)
        grad = 0.0
        for k in range(moments.size):
            grad += moments[k] * (w0 * table[j, 0, k] + w1 * table[j, 1, k]
                                  + w2 * table[j, 2, k] + w3 * table[j + 1, 0, k]
                                  + w4 * table[j + 1, 1, k] + w5 * table[j + 1, 2, k])
        out[i] = speed * ((grad if r[i] >= 0 else -grad) + lam * r[i])


def tabulated_numpy(r, table, h):
    """Plain-numpy twin of the table interpolation: (F(|r|), sign(r) F'(|r|)), rows × particles,
    with the weights of :func:`quintic_values` and :func:`quintic_slopes` written out."""
    s = np.abs(r)
    j = np.minimum((s / h).astype(int), table.shape[0] - 2)
    t = s / h - j
    g0 = 10 * t**3 - 15 * t**4 + 6 * t**5
    value = [1 - g0, h * (t - 6 * t**3 + 8 * t**4 - 3 * t**5),
             h * h * 0.5 * (t**2 - 3 * t**3 + 3 * t**4 - t**5), g0,
             h * (-4 * t**3 + 7 * t**4 - 3 * t**5), h * h * 0.5 * (t**3 - 2 * t**4 + t**5)]
    dg0 = (30 * t**2 - 60 * t**3 + 30 * t**4) / h
    slope = [-dg0, 1 - 18 * t**2 + 32 * t**3 - 15 * t**4,
             h * (t - 4.5 * t**2 + 6 * t**3 - 2.5 * t**4), dg0, -12 * t**2 + 28 * t**3 - 15 * t**4,
             h * (1.5 * t**2 - 4 * t**3 + 2.5 * t**4)]
    ends = [table[j, d].T for d in range(3)] + [table[j + 1, d].T for d in range(3)]
    return (sum(w * e for w, e in zip(value, ends)),
            np.sign(r) * sum(w * e for w, e in zip(slope, ends)))


def lagrangian_velocity_numpy(t, r, weights, table, h, schedule: Schedule, scale, lam):
    """Plain-numpy twin of :func:`lagrangian_velocity`."""
    values, slopes = tabulated_numpy(r, table, h)
    coefficients = values @ weights
    coefficients[0] = 1.0 / scale
    return -2.0 * float(schedule(t)) * (coefficients @ slopes + lam * r)


@njit(cache=True)
def _scaled_rms(x, y, y_new, rtol, atol):
    """sqrt(mean (x_i / (atol + rtol max(|y_i|, |y_new_i|)))²): scipy's error norm."""
    total = 0.0
    for i in range(x.size):
        e = x[i] / (atol + rtol * max(abs(y[i]), abs(y_new[i])))
        total += e * e
    return np.sqrt(total / x.size)


@njit(cache=True)
def dopri5_advance(t_end, state, y, y_old, stages, weights, table, h, code, value, offset,
                   exponent, scale, lam, rtol, atol, moments, out):
    """Adaptive Dormand–Prince 5(4) (scipy RK45's tableau and error norm) for the velocity of
    :func:`lagrangian_velocity`, stepping until the step covers ``t_end``; ``out`` is the
    4th-order dense output there, y(t_old + θΔt) = y_old + Δt Σ_s K_s (P θ⃗)_s.

    ``state`` = [t, t_old, Δt, accepted, rejected, last error] (FRESH_STATE), with y at t and
    y_old at t_old, persists across calls; ``stages`` (7 × n) holds the last step's K_s
    (K_7 = f(t, y): FSAL). Δt ≤ 0 starts: K_1 = f(t, y) and Hairer's initial step. The step
    factor is Hairer's PI control 0.9 err^(−α) err_last^β clipped to [0.2, 10] (after a
    rejection 0.9 err^(−1/5), at least 0.2; no growth right after one). Returns OK,
    STEP_UNDERFLOW or TOO_MANY_STEPS."""
    n = y.size
    stage = np.empty(n)
    y_new = np.empty(n)
    t, dt = state[0], state[2]
    if dt <= 0.0:
        lagrangian_velocity(t, y, weights, table, h, code, value, offset, exponent, scale, lam,
                            moments, stages[0])
        d0 = _scaled_rms(y, y, y, rtol, atol)
        d1 = _scaled_rms(stages[0], y, y, rtol, atol)
        dt = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        for i in range(n):
            stage[i] = y[i] + dt * stages[0, i]
        lagrangian_velocity(t + dt, stage, weights, table, h, code, value, offset, exponent,
                            scale, lam, moments, stages[1])
        for i in range(n):
            stage[i] = stages[1, i] - stages[0, i]
        d2 = _scaled_rms(stage, y, y, rtol, atol) / dt
        growth = max(d1, d2)
        dt = min(100 * dt, max(1e-6 * dt, (0.01 / growth) ** 0.2) if growth > 1e-15
                 else max(1e-6, 1e-3 * dt))
        stages[6, :] = stages[0, :]
    while t < t_end:
        stages[0, :] = stages[6, :]
        rejected = False
        while True:
            if dt < 1e-12 * max(abs(t), 1.0):
                return STEP_UNDERFLOW
            for s in range(1, 6):
                for i in range(n):
                    acc = 0.0
                    for m in range(s):
                        acc += RK_A[s, m] * stages[m, i]
                    stage[i] = y[i] + dt * acc
                lagrangian_velocity(t + RK_C[s] * dt, stage, weights, table, h, code, value,
                                    offset, exponent, scale, lam, moments, stages[s])
            for i in range(n):
                acc = 0.0
                for m in range(6):
                    acc += RK_B[m] * stages[m, i]
                y_new[i] = y[i] + dt * acc
            lagrangian_velocity(t + dt, y_new, weights, table, h, code, value, offset, exponent,
                                scale, lam, moments, stages[6])
            for i in range(n):
                acc = 0.0
                for m in range(7):
                    acc += RK_E[m] * stages[m, i]
                stage[i] = dt * acc
            err = _scaled_rms(stage, y, y_new, rtol, atol)
            if err < 1.0:
                factor = 10.0 if err == 0.0 else min(10.0, max(
                    0.2, 0.9 * err ** -PI_ALPHA * state[5] ** PI_BETA))
                state[5] = max(err, 1e-4)
                if rejected:
                    factor = min(1.0, factor)
                break
            dt *= max(0.2, 0.9 * err ** -0.2) if err == err else 0.2
            rejected = True
            state[4] += 1
        y_old[:] = y
        y[:] = y_new
        state[1] = t
        t += dt
        state[2] = dt * factor
        state[3] += 1
        if state[3] > MAX_STEPS:
            return TOO_MANY_STEPS
        dt = state[2]
    state[0] = t
    last = t - state[1]
    theta = (t_end - state[1]) / last
    powers = np.array([theta, theta**2, theta**3, theta**4])
    mix = RK_P @ powers
    for i in range(n):
        acc = 0.0
        for s in range(7):
            acc += mix[s] * stages[s, i]
        out[i] = y_old[i] + last * acc
    return OK


class LagrangianRun:
    """What both integrators share: particles, weights, compressed kernel, the run protocol's
    risk, free energy, density, diagnostics and the grid check. Subclasses give ``moments``
    (∫v dp and c at the current particles) and ``advance``."""

    def __init__(self, reduction, positions, weights, schedule: Schedule, grid: CartesianGrid,
                 *, rtol=1e-10, kernel_tol=1e-10, on_boundary="error"):
        self.reduction = reduction
        self.r = np.asarray(positions, float).copy()
        self.weights = np.asarray(weights, float)
        self.schedule = schedule
        self.grid = grid
        self.rtol = rtol
        self.atol = rtol * max(np.abs(self.r).max(), 1.0)
        self.edges = EdgeGuard(on_boundary)
        self.kernel_tol = kernel_tol
        self._compress(TABLE_REACH * grid.axes[0].hi)
        self.t, self.steps, self.rejected = 0.0, 0, 0

    def _compress(self, reach):
        """Nodes on [0, reach] (TABLE_INTERVALS per r_max) and the compression Q on them (the
        identity for ``kernel_tol`` None)."""
        intervals = int(np.ceil(TABLE_INTERVALS * reach / (TABLE_REACH * self.grid.axes[0].hi)))
        self.nodes = np.linspace(0.0, reach, intervals + 1)
        features = self.reduction.features(self.nodes)
        self.mix = (np.eye(features.shape[0]) if self.kernel_tol is None
                    else compression_basis(features, self.kernel_tol))
        self.kernel_rank = self.mix.shape[0]

    def warm_up(self) -> float:
        return 0.0

    def moments(self, r):
        """(∫v dp, c) for the particles at r."""
        raise NotImplementedError

    def _check_grid(self):
        """Particles must stay on the output grid (r = 0 is a natural boundary)."""
        axis = self.grid.axes[0]
        lo_bad = axis.lo > 0 and self.r.min() < axis.lo
        if not (lo_bad or self.r.max() > axis.hi):
            return
        edge, side = (axis.lo, "min") if lo_bad else (axis.hi, "max")
        self.edges.report("particles", axis.name, edge, side, self.t)

    @property
    def density(self) -> np.ndarray:
        return quantile_density(self.r, self.weights, self.grid)

    def risk(self) -> float:
        return self.reduction.risk(*self.moments(self.r))

    def free_energy(self) -> float:
        """F = R/(2α²) + (λ/2) Σ w_i r_i² (noiseless: no entropy)."""
        red = self.reduction
        return self.risk() / (2 * red.scale**2) + 0.5 * red.lam * float(self.weights @ self.r**2)

    def diagnostics(self) -> dict:
        return {"mass": float(self.weights.sum()), "min_density": 0.0, "steps": self.steps,
                "rejected_steps": self.rejected, "dt": float("nan")}


class CompiledLagrangianRun(LagrangianRun):
    """The ``dopri5`` integrator on the tabulated kernel (module docstring)."""

    def __init__(self, reduction, positions, weights, schedule, grid, **options):
        super().__init__(reduction, positions, weights, schedule, grid, **options)
        self.state = np.array(FRESH_STATE)
        self.y, self.y_old = self.r.copy(), self.r.copy()
        self.stages = np.zeros((7, self.r.size))

    def _compress(self, reach):
        """The compression and the table on [0, reach]."""
        super()._compress(reach)
        self.table = tabulate(self.reduction, self.mix, self.nodes)
        self.spacing = self.nodes[1]
        self.work = np.empty(self.table.shape[2])

    def _args(self):
        red = self.reduction
        return (self.weights, self.table, self.spacing, *self.schedule.args(), red.scale, red.lam)

    def velocity(self, t, r):
        out = np.empty_like(r)
        lagrangian_velocity(t, r, *self._args(), self.work, out)
        return out

    def moments(self, r):
        out = np.empty(self.table.shape[2])
        tabulated_moments(r, self.weights, self.table, self.spacing, out)
        return out[0], out[1:]

    def warm_up(self) -> float:
        """Compile (or load) the kernels on a copy of the state."""
        start = time.perf_counter()
        state, y = np.array(FRESH_STATE), self.r[:1].copy()
        dopri5_advance(1e-3, state, y, y.copy(), np.zeros((7, 1)), np.ones(1), self.table,
                       self.spacing, *self.schedule.args(), self.reduction.scale,
                       self.reduction.lam, self.rtol, self.atol, self.work, y.copy())
        self.moments(self.r)
        return time.perf_counter() - start

    def advance(self, t_end: float):
        if t_end <= self.t:
            return
        status = dopri5_advance(t_end, self.state, self.y, self.y_old, self.stages, *self._args(),
                                self.rtol, self.atol, self.work, self.r)
        if status != OK:
            what = "step size underflow" if status == STEP_UNDERFLOW else "too many steps"
            raise NumericalError(f"Lagrangian scheme failed after t = {self.state[0]:.6g}: "
                                 f"{what}")
        reach = np.abs(self.y).max()
        if reach > self.nodes[-1]:
            raise NumericalError(f"Lagrangian scheme: particles passed r = {self.nodes[-1]:g}, "
                                 f"the end of the tabulated kernel, by t = {self.state[0]:.6g}; "
                                 "widen pde.grid.r")
        self.t = t_end
        self.steps, self.rejected = int(self.state[3]), int(self.state[4])
        self._check_grid()
        if reach > 0.5 * self.nodes[-1]:            # on_boundary = "warn": extend the table
            self._compress(2 * self.nodes[-1])


class ScipyLagrangianRun(LagrangianRun):
    """The ``dop853`` integrator: exact point values of the reduction, scipy's DOP853."""

    def moments(self, r):
        red = self.reduction
        return float(self.weights @ red.v(r)), self.mix @ (red.features(r) @ self.weights)

    def velocity(self, t, r):
        red = self.reduction
        moments = self.mix @ (red.features(r) @ self.weights)
        grad = red.dv(r) / red.scale + red.lam * r + red.dfeatures(r).T @ (self.mix.T @ moments)
        return -2.0 * float(self.schedule(t)) * grad

    def advance(self, t_end: float):
        if t_end <= self.t:
            return
        sol = solve_ivp(self.velocity, (self.t, t_end), self.r, method="DOP853",
                        rtol=self.rtol, atol=self.atol)
        if not sol.success:
            raise NumericalError(f"Lagrangian scheme failed at t = {sol.t[-1]:.6g}: {sol.message}")
        self.r = sol.y[:, -1]
        self.t = t_end
        self.steps += sol.t.size - 1
        self._check_grid()
