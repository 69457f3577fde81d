"""Particle SGD on a user-defined problem (:mod:`ddsolver.problem.user`, docs/theory.md §2–3).

The network is ŷ(x) = (α/N) Σ_i σ*(x; θ_i) with θ_i ∈ R^D. Step k draws B samples (x_b, y_b)
from the problem's data, node q with probability w_q, and sets, with s = εB ξ(kεB),

    θ_i ← (1 − 2λs) θ_i + (2s/(αB)) Σ_b (y_b − ŷ(x_b)) ∇_θ σ*(x_b; θ_i) + sqrt(4s/β) g_i,

g_i ~ N(0, I_D) (no noise when β = ∞); B = 1 is online SGD with s = ε ξ(kε), and t = kεB in
both cases. Only problems built with :meth:`UserProblem.from_data` (with ``grad``) have data to
sample.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CaseError, DdsolverError
from ..grid import CartesianGrid
from ..problem.initial import ScalarLaw
from ..problem.schedule import Schedule
from ..problem.user import UserProblem, load_problem

RISK_BLOCK = 2**22          # unit values σ*(x_q; θ_i) per block of the exact risk


class CustomSgdModel:
    """The SGD model of a custom problem (:mod:`ddsolver.model.custom`): initial units, SGD
    steps, the exact risk and the reduced coordinates (θ itself). ``problem`` defaults to the one
    the case's file defines (:func:`~ddsolver.problem.user.load_problem`)."""

    def __init__(self, case: dict, problem: UserProblem | None = None):
        self.problem = load_problem(case) if problem is None else problem
        if not self.problem.has_data:
            raise DdsolverError("sgd: a problem given by V and U has no data to sample; build "
                                "it with UserProblem.from_data")
        self.coords = self.problem.coords
        training, sgd = case["training"], case["sgd"]
        self.scale = float(case["network"]["scale"])
        self.lam = float(training["lambda"])
        self.inv_beta = 0.0 if math.isinf(training["beta"]) else 1.0 / training["beta"]
        self.batch = int(sgd["batch"])
        self.step_time = float(sgd["eps"]) * self.batch
        self.schedule = Schedule.from_dict(training["schedule"])
        self.init = case["init"]
        self.grid = case.get("pde", {}).get("grid")

    def initial(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """θ (n, D): independent coordinates from their scalar laws (``init[name]``), or, for
        ``init.kind = "density"``, cells drawn by mass and a uniform point inside each."""
        if self.init.get("kind") == "density":
            grid = CartesianGrid.from_dict(self.grid)
            values = np.asarray(self.init["values"], dtype=float).ravel()
            if grid.names != self.coords or values.size != grid.size:
                raise CaseError(f"init.values: expected {grid.size} values on the grid of "
                                f"{self.coords}, got {values.size} on {grid.names}")
            cells = np.unravel_index(rng.choice(grid.size, size=n, p=values / values.sum()),
                                     grid.shape)
            return np.stack([a.lo + (i + rng.random(n)) * a.spacing
                             for a, i in zip(grid.axes, cells)], axis=1)
        missing = [name for name in self.coords if name not in self.init]
        if missing:
            raise CaseError(f"init.{missing[0]}: required key is missing (a law for each "
                            f"coordinate of the custom problem, or kind = 'density')")
        return np.stack([ScalarLaw(self.init[name]).sample(n, rng) for name in self.coords],
                        axis=1)

    def advance(self, theta: np.ndarray, k_start: int, k_end: int, seed: int) -> np.ndarray:
        """Steps k_start … k_end − 1 (module docstring) applied to ``theta`` (N, D) in place,
        with samples and noise from ``numpy.random.default_rng(seed)``; returns ``theta``."""
        problem = self.problem
        if not problem.has_grad:
            raise DdsolverError("sgd: the problem has no unit gradients; pass grad= to "
                                "UserProblem.from_data")
        rng = np.random.default_rng(seed)
        ks = np.arange(k_start, k_end)
        steps = self.step_time * self.schedule(ks * self.step_time)
        draws = rng.choice(problem.weights.size, size=(ks.size, self.batch), p=problem.weights)
        for step, index in zip(steps, draws):
            x, y = problem.x[index], problem.y[index]
            error = y - self.scale * problem.units(x, theta).mean(axis=0)          # (B,)
            drift = np.einsum("b,nbd->nd", error, problem.unit_gradients(x, theta))
            theta *= 1.0 - 2.0 * self.lam * step
            theta += (2.0 * step / (self.scale * self.batch)) * drift
            if self.inv_beta > 0:
                theta += math.sqrt(4.0 * step * self.inv_beta) * rng.standard_normal(theta.shape)
        return theta

    def exact_risk(self, theta: np.ndarray) -> float:
        """R_N = Σ_q w_q (y_q − ŷ(x_q))², which equals R_# + (2α/N) Σ_i V(θ_i)
        + (α²/N²) Σ_ij U(θ_i, θ_j) for V, U and R_# of the problem's data (docs/theory.md §1)."""
        problem = self.problem
        block = max(1, RISK_BLOCK // max(len(theta), 1))
        risk = 0.0
        for lo in range(0, problem.weights.size, block):
            part = slice(lo, lo + block)
            prediction = self.scale * problem.units(problem.x[part], theta).mean(axis=0)
            risk += float(problem.weights[part] @ (problem.y[part] - prediction) ** 2)
        return risk

    def reduced(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The grid coordinates of every unit: the components of θ."""
        return {name: theta[:, k].copy() for k, name in enumerate(self.coords)}

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """The network's parameters θ (N, D) (the state itself, not a copy)."""
        return theta

    def arrays(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The state itself, θ (N, D)."""
        return {"theta": theta}
