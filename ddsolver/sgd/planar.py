"""Particle SGD of the planar teacher model (docs/theory.md §2–3, :mod:`ddsolver.problem.planar`).

Samples: x ~ N(0, I₂), y = Σ_j c_j σ(⟨u_j, x⟩). Units:

- units w: θ = w ∈ R², σ*(x; w) = σ(⟨w, x⟩), ∇_w σ* = σ'(⟨w, x⟩) x; state W (N, 2);
- circle units: θ = φ, σ*(x; φ) = σ(⟨e(φ), x⟩) with e(φ) = (cos φ, sin φ),
  ∂_φ σ* = σ'(⟨e(φ), x⟩) ⟨e(φ)^⊥, x⟩, e^⊥ = (−sin φ, cos φ); state φ (N,), kept in [−π, π).

One step on a batch of B samples (B = 1: online SGD), every gradient at the old parameters:

    θ_i ← (1 − 2λs) θ_i + (2s/(αB)) Σ_b (y_b − ŷ(x_b)) ∇_θ σ*(x_b; θ_i) + sqrt(4s/β) g_i,

g_i ~ N(0, I_D) (none when β = ∞), s = εB ξ(kεB) at step k, time t = kεB (s = ε ξ(kε) online).
Circle units have λ = 0 (the case checker enforces it) and are wrapped back to [−π, π) after each
step (σ* is 2π-periodic in φ).

Compiled kernels: :func:`draw_planar` (one sample), :func:`w_step` and :func:`circle_step` (one
step on a given batch and noise; numpy twins :func:`w_step_numpy`, :func:`circle_step_numpy`),
and :func:`planar_w_units`, :func:`planar_circle_units`, which run steps k_start … k_end − 1 with
numba's generator seeded with ``seed`` at entry: per step the B samples (x₁, x₂ each), then, when
β < ∞, the noises unit by unit (D each). A run split into chunks with one seed per chunk is
therefore reproducible bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import CaseError
from ..problem.initial import ScalarLaw
from ..problem.planar import PlanarTeacher
from ..problem.pointwise import pointwise_args, sigma_pair
from ..problem.schedule import Schedule, schedule_value

TWO_PI = 2.0 * math.pi


# -- compiled kernels -----------------------------------------------------------------------------

@njit(cache=True)
def draw_planar(teacher, teacher_weights, code, params, x):
    """Fill x (2,) with a draw of N(0, I₂) and return y = Σ_j c_j σ(⟨u_j, x⟩)."""
    x[0] = np.random.standard_normal()
    x[1] = np.random.standard_normal()
    y = 0.0
    for j in range(teacher.shape[0]):
        y += teacher_weights[j] * sigma_pair(code, params,
                                             teacher[j, 0] * x[0] + teacher[j, 1] * x[1])[0]
    return y


@njit(cache=True)
def wrap_angle(phi):
    """φ mod 2π in [−π, π)."""
    if -math.pi <= phi < math.pi:
        return phi
    phi -= TWO_PI * math.floor((phi + math.pi) / TWO_PI)
    if phi >= math.pi or phi < -math.pi:          # rounding at the ends: −π and π are one point
        return -math.pi
    return phi


@njit(cache=True)
def sample_error(W, x0, x1, y, code, params, scale, slope):
    """y − ŷ(x) for the units with first-layer vectors W (N, 2) at x = (x0, x1), and
    slope[i] = σ'(⟨w_i, x⟩) (the shared half of :func:`w_step` and :func:`circle_step`)."""
    n = W.shape[0]
    total = 0.0
    for i in range(n):
        value, derivative = sigma_pair(code, params, W[i, 0] * x0 + W[i, 1] * x1)
        slope[i] = derivative
        total += value
    return y - scale * total / n


@njit(cache=True)
def w_step(W, X, y, noise, code, params, scale, lam, step, inv_beta, slope, grad):
    """One step (module docstring) of units w on the batch X (B, 2), y (B,), in place; ``noise``
    (N, 2) is read when inv_beta > 0; ``slope`` (N,) and ``grad`` (N, 2) are scratch."""
    n = W.shape[0]
    grad[:, :] = 0.0
    for b in range(X.shape[0]):
        x0, x1 = X[b, 0], X[b, 1]
        err = sample_error(W, x0, x1, y[b], code, params, scale, slope)
        for i in range(n):
            g = err * slope[i]
            grad[i, 0] += g * x0
            grad[i, 1] += g * x1
    shrink = 1.0 - 2.0 * lam * step
    gain = 2.0 * step / (scale * X.shape[0])
    noise_scale = math.sqrt(4.0 * step * inv_beta)
    for i in range(n):
        for k in range(2):
            W[i, k] = shrink * W[i, k] + gain * grad[i, k]
            if inv_beta > 0.0:
                W[i, k] += noise_scale * noise[i, k]


@njit(cache=True)
def circle_step(phi, X, y, noise, code, params, scale, step, inv_beta, slope, grad, cs):
    """One step of circle units φ (N,) on the batch X (B, 2), y (B,), in place, then φ wrapped
    to [−π, π); ``noise`` (N,) is read when inv_beta > 0; ``slope``, ``grad`` (N,) and ``cs``
    (N, 2) are scratch."""
    n = phi.size
    for i in range(n):
        cs[i, 0] = math.cos(phi[i])
        cs[i, 1] = math.sin(phi[i])
        grad[i] = 0.0
    for b in range(X.shape[0]):
        x0, x1 = X[b, 0], X[b, 1]
        err = sample_error(cs, x0, x1, y[b], code, params, scale, slope)
        for i in range(n):
            grad[i] += err * slope[i] * (cs[i, 0] * x1 - cs[i, 1] * x0)
    gain = 2.0 * step / (scale * X.shape[0])
    noise_scale = math.sqrt(4.0 * step * inv_beta)
    for i in range(n):
        value = phi[i] + gain * grad[i]
        if inv_beta > 0.0:
            value += noise_scale * noise[i]
        phi[i] = wrap_angle(value)


@njit(cache=True)
def planar_w_units(W, teacher, teacher_weights, code, params, scale, lam, inv_beta, step_time,
                   schedule, k_start, k_end, batch, seed):
    """Steps k_start … k_end − 1 of units w (N, 2), in place, s = step_time · ξ(k step_time)
    with step_time = εB (module docstring for the draws)."""
    np.random.seed(seed)
    n = W.shape[0]
    code_s, value, offset, exponent = schedule
    X = np.empty((batch, 2))
    y = np.empty(batch)
    noise = np.zeros((n, 2))
    slope = np.empty(n)
    grad = np.empty((n, 2))
    for k in range(k_start, k_end):
        for b in range(batch):
            y[b] = draw_planar(teacher, teacher_weights, code, params, X[b])
        if inv_beta > 0.0:
            for i in range(n):
                noise[i, 0] = np.random.standard_normal()
                noise[i, 1] = np.random.standard_normal()
        step = step_time * schedule_value(code_s, value, offset, exponent, k * step_time)
        w_step(W, X, y, noise, code, params, scale, lam, step, inv_beta, slope, grad)


@njit(cache=True)
def planar_circle_units(phi, teacher, teacher_weights, code, params, scale, inv_beta, step_time,
                        schedule, k_start, k_end, batch, seed):
    """Steps k_start … k_end − 1 of circle units φ (N,), in place (as :func:`planar_w_units`)."""
    np.random.seed(seed)
    n = phi.size
    code_s, value, offset, exponent = schedule
    X = np.empty((batch, 2))
    y = np.empty(batch)
    noise = np.zeros(n)
    slope = np.empty(n)
    grad = np.empty(n)
    cs = np.empty((n, 2))
    for k in range(k_start, k_end):
        for b in range(batch):
            y[b] = draw_planar(teacher, teacher_weights, code, params, X[b])
        if inv_beta > 0.0:
            for i in range(n):
                noise[i] = np.random.standard_normal()
        step = step_time * schedule_value(code_s, value, offset, exponent, k * step_time)
        circle_step(phi, X, y, noise, code, params, scale, step, inv_beta, slope, grad, cs)


# -- numpy twins ----------------------------------------------------------------------------------

def wrap_angle_numpy(phi):
    """Twin of :func:`wrap_angle` for arrays."""
    phi = np.asarray(phi, dtype=float)
    inside = (phi >= -math.pi) & (phi < math.pi)
    out = phi - TWO_PI * np.floor((phi + math.pi) / TWO_PI)
    out = np.where((out >= math.pi) | (out < -math.pi), -math.pi, out)
    return np.where(inside, phi, out)


def w_step_numpy(W, X, y, noise, activation, scale, lam, step, inv_beta):
    """Plain-numpy twin of :func:`w_step`: the new W (a copy)."""
    Z = X @ W.T                                                    # (B, N)
    err = y - scale * activation.sigma(Z).mean(axis=1)
    grad = (err[:, None] * activation.dsigma(Z)).T @ X             # (N, 2)
    new = (1.0 - 2.0 * lam * step) * W + 2.0 * step / (scale * len(X)) * grad
    if inv_beta > 0:
        new = new + math.sqrt(4.0 * step * inv_beta) * noise
    return new


def circle_step_numpy(phi, X, y, noise, activation, scale, step, inv_beta):
    """Plain-numpy twin of :func:`circle_step`: the new φ (a copy)."""
    e = np.stack([np.cos(phi), np.sin(phi)], axis=1)              # (N, 2)
    perp = np.stack([-np.sin(phi), np.cos(phi)], axis=1)
    Z = X @ e.T
    err = y - scale * activation.sigma(Z).mean(axis=1)
    grad = np.sum(err[:, None] * activation.dsigma(Z) * (X @ perp.T), axis=0)
    new = phi + 2.0 * step / (scale * len(X)) * grad
    if inv_beta > 0:
        new = new + math.sqrt(4.0 * step * inv_beta) * noise
    return wrap_angle_numpy(new)


# -- the model ------------------------------------------------------------------------------------

class PlanarSgdModel:
    """The SGD model (:mod:`ddsolver.sgd.run`) of a normalised planar-teacher case with the
    teacher ``problem``: state W (N, 2) for units w ∈ R², φ (N,) for ``circle`` units."""

    def __init__(self, case: dict, problem: PlanarTeacher, *, circle: bool):
        net, training, sgd = case["network"], case["training"], case["sgd"]
        self.case = case
        self.circle = circle
        self.coords = ("phi",) if circle else ("r", "phi")
        self.problem = problem
        self.activation = self.problem.activation
        self.scale = float(net["scale"])
        self.lam = float(training["lambda"])
        self.inv_beta = 0.0 if math.isinf(training["beta"]) else 1.0 / training["beta"]
        self.batch, self.eps = int(sgd["batch"]), float(sgd["eps"])
        self.init = case["init"]
        self._schedule = Schedule.from_dict(training["schedule"]).args()
        self._teacher = (np.ascontiguousarray(self.problem.teacher, dtype=float),
                         np.ascontiguousarray(self.problem.teacher_weights, dtype=float),
                         *pointwise_args(self.activation))

    def initial(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n units from ``[init]``. Unit w: ``gaussian``: W = κ/√2 · N(0, I₂); ``product``: r
        and then φ from their scalar laws, W = r (cos φ, sin φ) (a negative draw of r puts the
        unit at |r| in the direction φ + π). Circle units: φ from its law, wrapped to [−π, π)."""
        kind = self.init["kind"]
        if kind == "density":
            raise CaseError("init.kind: 'density' is not supported by particle SGD of "
                            "planar_teacher models; use 'product' (or 'gaussian' for unit w)")
        if self.circle:
            return wrap_angle_numpy(ScalarLaw(self.init["phi"]).sample(n, rng))
        if kind == "gaussian":
            return self.init["kappa"] / math.sqrt(2.0) * rng.standard_normal((n, 2))
        r = ScalarLaw(self.init["r"]).sample(n, rng)
        phi = ScalarLaw(self.init["phi"]).sample(n, rng)
        return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)

    def advance(self, state: np.ndarray, k_start: int, k_end: int, seed: int) -> None:
        """SGD steps k_start … k_end − 1 in place (online for batch 1, mini-batch otherwise)."""
        step_time = self.eps * self.batch
        if not self.circle:
            planar_w_units(state, *self._teacher, self.scale, self.lam, self.inv_beta,
                           step_time, self._schedule, k_start, k_end, self.batch, seed)
        else:
            planar_circle_units(state, *self._teacher, self.scale, self.inv_beta, step_time,
                                self._schedule, k_start, k_end, self.batch, seed)

    def _polar(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(r, φ) of every unit, φ in [−π, π) (r ≡ 1 for circle units)."""
        if self.circle:
            return np.ones(state.size), wrap_angle_numpy(state)
        return np.hypot(state[:, 0], state[:, 1]), wrap_angle_numpy(np.arctan2(state[:, 1],
                                                                                state[:, 0]))

    def exact_risk(self, state: np.ndarray) -> float:
        """R_N = R_# + (2α/N) Σ_i V(θ_i) + (α²/N²) Σ_{i,j} U(θ_i, θ_j) (diagonal included), with
        the kernel's closed form where there is one and the Mehler series otherwise
        (:meth:`~ddsolver.problem.planar.PlanarTeacher.risk`)."""
        return self.problem.risk(*self._polar(state), self.scale, method="auto")

    def reduced(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """{"r": |w|, "phi": atan2(w₂, w₁)} for units w, {"phi": φ} for circle units; φ in
        [−π, π)."""
        r, phi = self._polar(state)
        return {"phi": phi} if self.circle else {"r": r, "phi": phi}

    def weights(self, state: np.ndarray) -> np.ndarray:
        """W (N, 2), or φ as (N, 1) (views of the state)."""
        return state[:, None] if self.circle else state

    def arrays(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """The state itself: W (N, 2) or φ (N,)."""
        return {"theta": state}
