"""Lagrangian scheme for the noiseless DD: particles moved along the exact characteristics.

Without noise the DD is a transport, ∂_t ρ = 2ξ ∇·(ρ ∇ψ), so particles θ_i of fixed masses w_i
follow θ̇_i = −2ξ(t) ∇ψ(θ_i; ρ_t), ρ_t = Σ_j w_j δ_{θ_j}. In the reduced coordinates θ = (a, ϑ)
of units a σ*(x; ϑ) (or θ = ϑ with a ≡ 1, no second-layer weight)

    ψ(θ) = a [v(ϑ)/α + Σ_k c_k g_k(ϑ)] + (λ/2)|θ − θ₀|²,    c_k = Σ_j w_j a_j g_k(ϑ_j),

    ȧ_i = −2ξ [v(ϑ_i)/α + Σ_k c_k g_k(ϑ_i) + λ (a_i − a_i⁰)],
    ϑ̇_i = −2ξ [a_i (∇v(ϑ_i)/α + Σ_k c_k ∇g_k(ϑ_i)) + λ (ϑ_i − ϑ_i⁰)],

with g = Q f the features compressed to the kernel's numerical rank at ``pde.kernel_tol``
(:func:`~ddsolver.operator.lowrank.compression_basis`). The anchor θ⁰ is 0 for
``training.penalty = "origin"`` and each particle's start for ``"anchored"``. On a radial
coordinate r = |w| (or r1, r2 of a block of w) the anchored penalty (λ/2)|w − w₀|² is a function
of r because w stays on its ray: ψ depends on w through |w| only, so ∇_w ψ = ∂_r ψ w/|w| and
λ(w − w₀) are both along w₀ when w = r w₀/|w₀|; this ansatz therefore solves the flow of w,
w(t) = r(t) w₀/|w₀| with r(t) signed, |w − w₀| = |r − r₀| and ṙ = −2ξ[∂_r ψ + λ(r − r₀)]
(per block for (r1, r2)). Where ψ has a kink at r = 0 (homogeneous σ such as ReLU without bias:
v, g ∝ |r|) a unit pulled towards w = 0 from both sides stays there (the flow's sliding mode: a
dead unit, σ* = 0). The velocity enforces it: within the dead radius of r = 0 a particle pulled
inwards stops (pulled outwards, it leaves), instead of chattering across r = 0 with steps of the
size of the error norm's tolerance. The dead radius is ``DEAD_FACTOR`` times the largest error
of one component that the error norm (a root mean square over n·D components) accepts,
√(nD)·atol, beyond any such chatter, capped at ``DEAD_CAP``: where ψ is smooth and even in r the
flow reaches r = 0 only asymptotically and the rule stops a particle at most that close to it,
and where the cap is below the chatter's amplitude the tolerance is loose enough for the
chatter to cost few steps (the slowdown it prevents comes from strict tolerances).
The risk is R = R_# + 2α Σ_i w_i a_i v(ϑ_i) + α² Σ_k c_k². Radial
coordinates (r, r1, r2) enter v and g through |·| (they are even in them). No grid enters the
dynamics; the stored density is :func:`~ddsolver.problem.initial.quantile_density` of the
particles in 1-D, their multilinear :func:`~ddsolver.problem.initial.deposit` otherwise.

Two integrators (``pde.integrator``):

- ``dopri5`` (``auto``): v and g_k tabulated once on uniform nodes over the grid's box widened by
  ``MARGIN`` of its width on each side (from 0 on radial axes) and interpolated by the cubic
  splines of :mod:`ddsolver.stepper.spline` (the table widens when particles pass half its
  margin, which only ``on_boundary = "warn"`` allows); the ODE is then the exact gradient flow of
  the tabulated risk. A compiled adaptive Dormand–Prince 5(4) (:func:`dopri5_advance`, scipy's
  RK45 tableau and dense output) keeps its step across stops and reads the state at a stop from
  its dense output.
- ``dop853`` (1-D only): the reduction's point values and derivatives (no table), scipy's DOP853
  restarted at each stop (:class:`ScipyLagrangianRun`): the plain-numpy twin.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from scipy.integrate import RK45, solve_ivp

from ..errors import CaseError, NumericalError
from ..grid import CartesianGrid
from ..operator.lowrank import compression_basis
from ..problem.initial import deposit, quantile_density
from ..problem.schedule import Schedule, schedule_value
from .boundary import EdgeGuard
from .guard import StepCollapse
from .spline import SplineTable, spline_contract, spline_moments, spline_numpy

# Table nodes per grid width of an axis, by the number of tabulated coordinates. 1-D (9.1, 2561
# nodes on [0, 1.25 r_max]): relative error 1.5e-10 in g and 1.1e-7 in g' where the particles
# are (r > 0.5), 3.6e-9 and 2e-6 at r ≈ 0.1; risk to t = 200 within 1e-7 of a quintic-Hermite
# table with exact derivatives. 2-D (validation/awb_relu.toml): the risk moves by 1.2e-6 when
# 48 nodes per width become 192.
# 3-D ((b, r1, r2) of awb units on anisotropic data, custom problems): at most 32 per width,
# fewer (down to MIN_TABLE_CELLS) while the table would exceed TABLE_BUDGET bytes
# (LagrangianRun.table_cells).
TABLE_CELLS = {1: 2048, 2: 48, 3: 32, 4: 16}
MIN_TABLE_CELLS = 12
TABLE_BUDGET = 2**30
MARGIN = 0.25
MAX_STEPS = 10**7
DEAD_FACTOR = 10.0   # dead radius / the largest one-component error the error norm lets through
DEAD_CAP = 1e-4      # … but at most this: a smooth even ψ moves r to 0 itself, unhindered
OK, STEP_UNDERFLOW, TOO_MANY_STEPS = 0, 1, 2
FRESH_STATE = (0.0, 0.0, 0.0, 0.0, 0.0, 1e-4)   # t, t_old, Δt, accepted, rejected, last error
PI_ALPHA, PI_BETA = 0.14, 0.08   # PI control, α = 1/5 − 0.75β (9.1: 43 rejections; 149 at β = 0.04)
RK_A, RK_B, RK_C, RK_E, RK_P = RK45.A, RK45.B, RK45.C, RK45.E, RK45.P
# fast-math without assuming finite values: the integrator checks its error norm for NaN, and
# code compiled into it (the inlined velocity) keeps its vectorised reductions
SAFE_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=True)
def particle_moments(y, args, scratch):
    """From the flat state y (n × D): points[i] = ϑ_i (radial axes at |ϑ|), masses[i] = w_i a_i
    and moments[f] = Σ_i w_i a_i F_f(ϑ_i) for the tabulated rows F = [v, g_1 … g_k].
    ``args`` = (D, has_a, mirror, table, (schedule code, value, offset, exponent), α, λ, θ⁰,
    dead radius) with the anchors θ⁰ flat like y;
    ``scratch`` = (weights w, masses, points, values, grads, moments). Loops run axis by axis
    over the particles, so that each is a plain strided copy."""
    dim, has_a, mirror, table = args[0], args[1], args[2], args[3]
    weights, masses, points, _, _, moments = scratch
    first = 1 if has_a else 0
    n = weights.size
    for i in range(n):
        masses[i] = weights[i] * y[i * dim] if has_a else weights[i]
    for a in range(points.shape[1]):
        if mirror[a]:
            for i in range(n):
                points[i, a] = abs(y[i * dim + first + a])
        else:
            for i in range(n):
                points[i, a] = y[i * dim + first + a]
    spline_moments(points, masses, *table, moments)


@njit(cache=True, fastmath=True)
def lagrangian_velocity(t, y, args, scratch, out):
    """out = the velocity of the module docstring at the flat state y (:func:`particle_moments`
    for ``args`` and ``scratch``): with the moments c and m_0 = 1/α, one contraction gives
    ψ_a = Σ_f m_f F_f(ϑ_i) and ∇_ϑ of it at every particle."""
    dim, has_a, mirror, table, schedule, scale, lam, anchor, dead = args
    particle_moments(y, args, scratch)
    weights, _, points, values, grads, moments = scratch
    moments[0] = 1.0 / scale
    spline_contract(points, moments, *table, values, grads)
    speed = -2.0 * schedule_value(schedule[0], schedule[1], schedule[2], schedule[3], t)
    first = 1 if has_a else 0
    n = weights.size
    if has_a:
        for i in range(n):
            out[i * dim] = speed * (values[i] + lam * (y[i * dim] - anchor[i * dim]))
    for a in range(dim - first):
        for i in range(n):
            k = i * dim + first + a
            a_i = y[i * dim] if has_a else 1.0
            grad = -grads[i, a] if mirror[a] and y[k] < 0.0 else grads[i, a]
            out[k] = speed * (a_i * grad + lam * (y[k] - anchor[k]))
            if mirror[a] and abs(y[k]) < dead and out[k] * y[k] < 0.0:
                out[k] = 0.0                                  # a dead unit stays at w = 0


def stop_dead_units(velocity, inner, mirror, dead):
    """Zero, in place, the radial velocities that pull a particle within ``dead`` of r = 0
    towards it (module docstring); ``velocity`` and ``inner`` are (particles, radial or not)."""
    velocity[mirror & (np.abs(inner) < dead) & (velocity * inner < 0)] = 0.0


def lagrangian_velocity_numpy(t, y, weights, has_a, mirror, table: SplineTable,
                              schedule: Schedule, scale, lam, anchor, dead):
    """Plain-numpy twin of :func:`lagrangian_velocity` (flat state y and anchors θ⁰, particles
    × dim)."""
    x = y.reshape(weights.size, -1)
    pull = lam * (x - anchor.reshape(x.shape))
    a = x[:, 0] if has_a else np.ones(weights.size)
    inner = x[:, 1:] if has_a else x
    sign = np.where(mirror & (inner < 0), -1.0, 1.0)
    values, grads = spline_numpy(np.where(mirror, np.abs(inner), inner), *table.args)
    grads = grads * sign[:, :, None]
    moments = (weights * a) @ values
    moments[0] = 1.0 / scale
    velocity = -2.0 * float(schedule(t)) * (a[:, None] * (grads @ moments)
                                            + (pull[:, 1:] if has_a else pull))
    stop_dead_units(velocity, inner, mirror, dead)
    if has_a:
        velocity = np.column_stack([-2.0 * float(schedule(t)) * (values @ moments + pull[:, 0]),
                                    velocity])
    return velocity.ravel()


@njit(cache=True)
def _scaled_rms(x, y, y_new, rtol, atol):
    """sqrt(mean (x_i / (atol + rtol max(|y_i|, |y_new_i|)))²): scipy's error norm."""
    total = 0.0
    for i in range(x.size):
        e = x[i] / (atol + rtol * max(abs(y[i]), abs(y_new[i])))
        total += e * e
    return np.sqrt(total / x.size)


@njit(cache=True, fastmath=SAFE_FASTMATH)
def dopri5_advance(t_end, state, y, y_old, stages, args, scratch, rtol, atol, out):
    """Adaptive Dormand–Prince 5(4) (scipy RK45's tableau and error norm) for the velocity of
    :func:`lagrangian_velocity` (``args``, ``scratch``), stepping until the step covers
    ``t_end``; ``out`` is the 4th-order dense output there, y(t_old + θΔt) = y_old + Δt Σ_s K_s
    (P θ⃗)_s.

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
        lagrangian_velocity(t, y, args, scratch, stages[0])
        d0 = _scaled_rms(y, y, y, rtol, atol)
        d1 = _scaled_rms(stages[0], y, y, rtol, atol)
        dt = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        for i in range(n):
            stage[i] = y[i] + dt * stages[0, i]
        lagrangian_velocity(t + dt, stage, args, scratch, stages[1])
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
                lagrangian_velocity(t + RK_C[s] * dt, stage, args, scratch, stages[s])
            for i in range(n):
                acc = 0.0
                for m in range(6):
                    acc += RK_B[m] * stages[m, i]
                y_new[i] = y[i] + dt * acc
            lagrangian_velocity(t + dt, y_new, args, scratch, stages[6])
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
    """What both integrators share: particles (n, D), weights, anchors θ⁰ (the start with
    ``anchored``, else 0), the compressed kernel, the run protocol's risk, free energy, density,
    diagnostics and the grid check. Subclasses give ``moments`` (Σ w a v and c at the current
    particles) and ``advance``."""

    def __init__(self, reduction, positions, weights, schedule: Schedule, grid: CartesianGrid,
                 *, radial=("r",), rtol=1e-10, kernel_tol=1e-10, on_boundary="error",
                 anchored=False):
        self.reduction = reduction
        self.has_a = reduction.coords[0] == "a" and hasattr(reduction, "inner")
        self.inner = reduction.inner if self.has_a else reduction
        self.x = np.asarray(positions, float).reshape(len(weights), grid.ndim).copy()
        self.weights = np.asarray(weights, float)
        self.anchor = self.x.copy() if anchored else np.zeros_like(self.x)
        self.schedule = schedule
        self.grid = grid
        self.axes = grid.axes[1:] if self.has_a else grid.axes
        self.mirror = np.array([axis.name in radial for axis in self.axes])
        self.rtol = rtol
        self.atol = rtol * max(np.abs(self.x).max(), 1.0)
        self.dead_radius = min(DEAD_FACTOR * np.sqrt(self.x.size) * self.atol, DEAD_CAP)
        self.edges = EdgeGuard(on_boundary)
        self.kernel_tol = kernel_tol
        self.reach = 1.0
        self._compress()
        self.t, self.steps, self.rejected = 0.0, 0, 0

    def _box(self, axis, reach):
        """[lo, hi] of ``axis`` widened by reach × MARGIN of its width (from 0 if radial)."""
        margin = reach * MARGIN * (axis.hi - axis.lo)
        lo = max(axis.lo - margin, 0.0) if axis.name in self.mirror_names else axis.lo - margin
        return lo, axis.hi + margin

    @property
    def mirror_names(self):
        return {axis.name for axis, m in zip(self.axes, self.mirror) if m}

    def _nodes(self, cells):
        """Uniform nodes on every tabulated axis, ``cells`` per grid width, over its box."""
        nodes = []
        for axis in self.axes:
            lo, hi = self._box(axis, self.reach)
            spacing = (axis.hi - axis.lo) / cells
            nodes.append(lo + spacing * np.arange(int(np.ceil((hi - lo) / spacing)) + 1))
        return nodes

    def table_bytes(self, cells) -> int:
        """Peak bytes of the table at ``cells`` per grid width: the K = ``inner.rank`` features
        at the N nodes, then the values and the spline coefficients (with the solve's copy) of
        at most K + 1 functions: 8 [N K + 3 (K + 1) Π (n_a + 3)]."""
        sizes = np.array([x.size for x in self._nodes(cells)])
        rank = self.inner.rank
        return int(8 * (np.prod(sizes) * rank + 3 * (rank + 1) * np.prod(sizes + 3)))

    def table_cells(self) -> int:
        """Table cells per grid width: TABLE_CELLS of the tabulated dimension, or in 3-D the most
        (≥ MIN_TABLE_CELLS) whose table fits in TABLE_BUDGET; CaseError if none does."""
        dim = len(self.axes)
        if dim < 3:
            return TABLE_CELLS[dim]
        for cells in range(TABLE_CELLS[dim], MIN_TABLE_CELLS - 1, -4):
            if self.table_bytes(cells) <= TABLE_BUDGET:
                return cells
        names = ", ".join(axis.name for axis in self.axes)
        raise CaseError(
            f"pde.kernel_tol: the Lagrangian kernel table of ({names}) needs "
            f"{self.table_bytes(MIN_TABLE_CELLS) / 2**20:.0f} MiB for {self.inner.rank} features "
            f"at {MIN_TABLE_CELLS} nodes per grid width, above {TABLE_BUDGET / 2**20:.0f} MiB; "
            "use pde.kernel_dim = inf, a larger pde.kernel_tol or a narrower pde.grid")

    def _compress(self):
        """Uniform table nodes on every tabulated axis (:meth:`table_cells` per grid width) and
        the compression Q on them (the identity for ``kernel_tol`` None)."""
        self.cells = self.table_cells()
        self.nodes = self._nodes(self.cells)
        mesh = [m.ravel() for m in np.meshgrid(*self.nodes, indexing="ij")]
        self.node_features = self.inner.features(*mesh)
        self.mix = (np.eye(self.node_features.shape[0]) if self.kernel_tol is None
                    else compression_basis(self.node_features, self.kernel_tol))
        self.kernel_rank = self.mix.shape[0]
        rows = np.vstack([self.inner.v(*mesh)[None], self.mix @ self.node_features])
        shape = tuple(x.size for x in self.nodes)
        self.table = SplineTable(self.nodes, rows.T.reshape(shape + (rows.shape[0],)))

    def warm_up(self) -> float:
        return 0.0

    def moments(self, x):
        """(Σ_i w_i a_i v(ϑ_i), c) for the particles x (n, D)."""
        raise NotImplementedError

    def _check_grid(self):
        """Particles must stay on the output grid (0 is a natural boundary of radial axes)."""
        for k, axis in enumerate(self.grid.axes):
            column = self.x[:, k]
            low = column.min() < axis.lo and not (axis.name in self.mirror_names and axis.lo == 0)
            if low or column.max() > axis.hi:
                edge, side = (axis.lo, "min") if low else (axis.hi, "max")
                self.edges.report("particles", axis.name, edge, side, self.t)

    def _widen(self):
        """NumericalError past the table; a wider table past half its margin (the particles
        left the grid, which only ``on_boundary = "warn"`` lets through)."""
        inner = self.x[:, 1:] if self.has_a else self.x
        inner = np.where(self.mirror, np.abs(inner), inner)
        for k, axis in enumerate(self.axes):
            lo, hi = self._box(axis, self.reach)
            if inner[:, k].min() < self.nodes[k][0] or inner[:, k].max() > self.nodes[k][-1]:
                raise NumericalError(
                    f"Lagrangian scheme: particles passed {axis.name} in [{lo:g}, {hi:g}], the "
                    f"tabulated kernel, by t = {self.t:.6g}; widen pde.grid.{axis.name}")
            half_lo, half_hi = self._box(axis, 0.5 * self.reach)
            if inner[:, k].min() < half_lo or inner[:, k].max() > half_hi:
                self.reach *= 2
                self._compress()
                return

    @property
    def density(self) -> np.ndarray:
        if self.grid.ndim == 1:
            return quantile_density(self.x[:, 0], self.weights, self.grid)
        return deposit(self.x, self.weights, self.grid)

    def risk(self) -> float:
        return self.reduction.risk(*self.moments(self.x))

    def free_energy(self) -> float:
        """F = R/(2α²) + (λ/2) Σ w_i |θ_i − θ⁰_i|² (noiseless: no entropy)."""
        red = self.reduction
        shift = np.square(self.x - self.anchor).sum(axis=1)
        return self.risk() / (2 * red.scale**2) + 0.5 * red.lam * float(self.weights @ shift)

    def diagnostics(self) -> dict:
        return {"mass": float(self.weights.sum()), "min_density": 0.0, "steps": self.steps,
                "rejected_steps": self.rejected, "dt": float("nan")}


class CompiledLagrangianRun(LagrangianRun):
    """The ``dopri5`` integrator on the tabulated kernel (module docstring)."""

    def __init__(self, reduction, positions, weights, schedule, grid, **options):
        super().__init__(reduction, positions, weights, schedule, grid, **options)
        self.state = np.array(FRESH_STATE)
        self.y = self.x.ravel().copy()
        self.y_old = self.y.copy()
        self.stages = np.zeros((7, self.y.size))

    def _compress(self):
        super()._compress()
        n, dim = self.weights.size, len(self.axes)
        self.scratch = (self.weights, np.empty(n), np.empty((n, dim)), np.empty(n),
                        np.empty((n, dim)), np.empty(self.table.functions))
        red = self.reduction
        self.args = (self.grid.ndim, self.has_a, self.mirror, self.table.args,
                     self.schedule.args(), red.scale, red.lam, self.anchor.ravel(),
                     self.dead_radius)

    def velocity(self, t, y):
        """The velocity at the flat state y (particles × D)."""
        out = np.empty_like(y)
        lagrangian_velocity(t, y, self.args, self.scratch, out)
        return out

    def moments(self, x):
        particle_moments(np.ascontiguousarray(x).ravel(), self.args, self.scratch)
        moments = self.scratch[5]
        return float(moments[0]), moments[1:].copy()

    def warm_up(self) -> float:
        """Compile (or load) the kernels on a copy of the state."""
        start = time.perf_counter()
        y = self.y.copy()
        dopri5_advance(1e-3, np.array(FRESH_STATE), y, y.copy(), np.zeros_like(self.stages),
                       self.args, self.scratch, self.rtol, self.atol, y.copy())
        self.moments(self.x)
        return time.perf_counter() - start

    def advance(self, t_end: float, limit: float | None = None):
        """Move the particles to ``t_end`` (the dense output there: the steps never depend on
        the stops, so ``limit`` is not needed)."""
        if t_end <= self.t:
            return
        out = np.empty_like(self.y)
        status = dopri5_advance(t_end, self.state, self.y, self.y_old, self.stages, self.args,
                                self.scratch, self.rtol, self.atol, out)
        if status != OK:
            what = "step size underflow" if status == STEP_UNDERFLOW else "too many steps"
            raise StepCollapse(f"Lagrangian scheme failed after t = {self.state[0]:.6g}: "
                               f"{what}")
        self.x = out.reshape(self.x.shape)
        self.t = t_end
        self.steps, self.rejected = int(self.state[3]), int(self.state[4])
        self._check_grid()
        self._widen()

    def resume_state(self) -> dict:
        """What :meth:`restore` needs to continue bit for bit: the integrator's state (t of its
        last step and the one before, Δt, counts, last error), its y, y_old and stages, the
        particles at the run's t and the kernel table's reach."""
        return {"integrator": self.state.copy(), "y": self.y.copy(), "y_old": self.y_old.copy(),
                "stages": self.stages.copy(), "x": self.x.copy(), "t": self.t,
                "reach": self.reach}

    def restore(self, state: dict) -> None:
        """Continue from a :meth:`resume_state` of a run of the same case."""
        for name in ("y", "y_old", "stages"):
            getattr(self, name)[...] = state[name]
        self.state[:] = state["integrator"]
        self.x = np.array(state["x"], dtype=float).reshape(self.x.shape)
        self.t = float(state["t"])
        self.steps, self.rejected = int(self.state[3]), int(self.state[4])
        if float(state["reach"]) != self.reach:
            self.reach = float(state["reach"])
            self._compress()


class ScipyLagrangianRun(LagrangianRun):
    """The ``dop853`` integrator (1-D): exact point values of the reduction, scipy's DOP853."""

    def moments(self, x):
        red, r = self.reduction, x[:, 0]
        return float(self.weights @ red.v(r)), self.mix @ (red.features(r) @ self.weights)

    def velocity(self, t, r):
        red = self.reduction
        moments = self.mix @ (red.features(r) @ self.weights)
        velocity = -2.0 * float(self.schedule(t)) * (
            red.dv(r) / red.scale + red.lam * (r - self.anchor[:, 0])
            + red.dfeatures(r).T @ (self.mix.T @ moments))
        stop_dead_units(velocity[:, None], r[:, None], self.mirror, self.dead_radius)
        return velocity

    def advance(self, t_end: float, limit: float | None = None):
        """Integrate to ``limit`` (default ``t_end``; the next snapshot time) in one call, so
        that the steps do not depend on the pauses before it."""
        t_end = t_end if limit is None else max(limit, t_end)
        if t_end <= self.t:
            return
        sol = solve_ivp(self.velocity, (self.t, t_end), self.x[:, 0], method="DOP853",
                        rtol=self.rtol, atol=self.atol)
        if not sol.success:
            raise NumericalError(f"Lagrangian scheme failed at t = {sol.t[-1]:.6g}: {sol.message}")
        self.x = sol.y[:, -1:].copy()
        self.t = t_end
        self.steps += sol.t.size - 1
        self._check_grid()

    def resume_state(self) -> dict:
        """What :meth:`restore` needs: the particles, t and the step count (every call starts
        scipy's integrator afresh)."""
        return {"x": self.x.copy(), "t": self.t, "steps": self.steps}

    def restore(self, state: dict) -> None:
        """Continue from a :meth:`resume_state` of a run of the same case."""
        self.x = np.array(state["x"], dtype=float).reshape(self.x.shape)
        self.t, self.steps = float(state["t"]), int(state["steps"])
