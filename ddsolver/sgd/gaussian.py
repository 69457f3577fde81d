"""Particle SGD of the labelled-Gaussian models: units σ(⟨w, x⟩), a σ(⟨w, x⟩) or a σ(⟨w, x⟩ + b)
on isotropic or anisotropic Gaussian data (docs/theory.md §2–3), for :func:`ddsolver.sgd.simulate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import CaseError
from ..grid import CartesianGrid
from ..problem.initial import InitialLaw, ScalarLaw
from ..problem.pointwise import pointwise_args
from ..problem.schedule import Schedule
from .online import minibatch_units, online_units
from .risk import exact_risk


@dataclass
class UnitState:
    """Parameters of N units: W (N, d), and A, B (N,) (ones and zeros, never updated, for units
    without second-layer weights or biases); ``anchor``: copies of the starting (W, A, B) for
    ``training.penalty = "anchored"``, None for the origin penalty."""

    W: np.ndarray
    A: np.ndarray
    B: np.ndarray
    anchor: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def _directions(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """n independent uniform unit vectors in R^dim."""
    u = rng.standard_normal((n, dim))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _grid_samples(law: InitialLaw, grid: CartesianGrid, n: int, rng) -> dict[str, np.ndarray]:
    """n draws of the reduced coordinates from a piecewise-constant density on ``grid``: a cell
    with probability its mass, then a uniform point in the cell."""
    mass = (law.cell_density(grid) * grid.cell_volume).ravel()
    cells = np.unravel_index(rng.choice(mass.size, size=n, p=mass / mass.sum()), grid.shape)
    return {axis.name: axis.lo + (index + rng.random(n)) * axis.spacing
            for axis, index in zip(grid.axes, cells)}


class GaussianSgdModel:
    """Particle SGD of a normalised case of a labelled-Gaussian model with reduced coordinates
    ``coords``, data law ``data`` and activation ``activation`` (built by the model,
    :mod:`ddsolver.model.isotropic`)."""

    def __init__(self, case: dict, coords: tuple[str, ...], data, activation):
        self.case = case
        net, training, sgd = case["network"], case["training"], case["sgd"]
        self.coords = coords
        self.data = data
        self.activation = activation
        self.scale = net["scale"]
        self.has_a, self.has_b = "a" in self.coords, "b" in self.coords
        self.batch, self.eps = sgd["batch"], sgd["eps"]
        inv_beta = 0.0 if math.isinf(training["beta"]) else 1.0 / training["beta"]
        self._args = (*pointwise_args(self.activation), np.ascontiguousarray(self.data.scales),
                      self.scale, training["lambda"], inv_beta)
        self._schedule = Schedule.from_dict(training["schedule"]).args()
        self.anchored = training["penalty"] == "anchored"

    def initial(self, n: int, rng: np.random.Generator) -> UnitState:
        """n units from ``[init]``: ``gaussian``: W ~ κ/√d N(0, I); ``point`` / ``samples``
        (isotropic data): radii from the law of r and uniform directions; ``density``: all
        reduced coordinates from the density on the grid, uniform directions (within each
        block for anisotropic data). a and b from their scalar laws unless the density has them.
        With the anchored penalty the state keeps a copy of its start."""
        init, d = self.case["init"], self.data.dim
        if init["kind"] in ("point", "samples") and "r" not in self.coords:
            raise CaseError(f"init.kind: expected 'gaussian' or 'density' for "
                            f"{self.case['data']['kind']} data, got {init['kind']!r}")
        if init["kind"] == "gaussian":
            W, values = init["kappa"] / math.sqrt(d) * rng.standard_normal((n, d)), {}
        else:
            if init["kind"] == "density":
                values = _grid_samples(InitialLaw.from_case(self.case),
                                       CartesianGrid.from_dict(self.case["pde"]["grid"]), n, rng)
            elif init["kind"] == "point":
                values = {"r": np.full(n, init["kappa"])}
            else:
                values = {"r": rng.choice(init["values"], size=n)}
            W = self._place(values, n, rng)
        for name in ("a", "b"):
            if name in self.coords and name not in values:
                values[name] = ScalarLaw(init[name]).sample(n, rng)
        state = UnitState(W, values["a"] if self.has_a else np.ones(n),
                          values["b"] if self.has_b else np.zeros(n))
        if self.anchored:
            state.anchor = (state.W.copy(), state.A.copy(), state.B.copy())
        return state

    def _place(self, values: dict, n: int, rng) -> np.ndarray:
        """W with the given radii r (or block radii r1, r2) and uniform directions."""
        d = self.data.dim
        if "r" in values:
            return values["r"][:, None] * _directions(rng, n, d)
        s0 = self.data.signal_dim
        return np.hstack([values["r1"][:, None] * _directions(rng, n, s0),
                          values["r2"][:, None] * _directions(rng, n, d - s0)])

    def advance(self, state: UnitState, k_start: int, k_end: int, seed: int) -> None:
        """SGD steps k_start … k_end − 1 in place (online, or mini-batch when batch > 1)."""
        units = (state.W, state.A, state.B, self.has_a, self.has_b, state.anchor)
        if self.batch == 1:
            online_units(*units, *self._args, self.eps, self._schedule, k_start, k_end, seed)
        else:
            minibatch_units(*units, *self._args, self.eps * self.batch, self._schedule,
                            k_start, k_end, self.batch, seed)

    def exact_risk(self, state: UnitState) -> float:
        """Exact population risk R_N of the network (:func:`ddsolver.sgd.risk.exact_risk`)."""
        return exact_risk(state.W, self.activation, self.data, scale=self.scale,
                          a=state.A if self.has_a else None, b=state.B if self.has_b else None)

    def reduced(self, state: UnitState) -> dict[str, np.ndarray]:
        """{name: (N,) array} for the coordinates r = |w|, r1 = |w[:s₀]|, r2 = |w[s₀:]|, a, b."""
        values = {"a": lambda: state.A.copy(), "b": lambda: state.B.copy(),
                  "r": lambda: np.linalg.norm(state.W, axis=1),
                  "r1": lambda: np.linalg.norm(state.W[:, :self.data.signal_dim], axis=1),
                  "r2": lambda: np.linalg.norm(state.W[:, self.data.signal_dim:], axis=1)}
        return {name: values[name]() for name in self.coords}

    def weights(self, state: UnitState) -> np.ndarray:
        """The first-layer weights W (N, d) (a view)."""
        return state.W

    def arrays(self, state: UnitState) -> dict[str, np.ndarray]:
        """W, A and B (the arrays the steps change; the anchors do not)."""
        return {"W": state.W, "A": state.A, "B": state.B}
