"""``simulate``: particle SGD of a case, with snapshots of the exact risk and the reduced coordinates.

The network has ``sgd.neurons`` units, initialised from ``[init]``. Online SGD (``batch = 1``) or
mini-batch SGD runs to each snapshot time t = k ε B; at every snapshot the exact population risk
R_N and the reduced coordinates of every unit (and optionally W) are recorded and, with an output
path, streamed to HDF5 (docs/hdf5-format.md, format ``ddsolver.sgd``).

``simulate`` sees the network only through an SGD model (:func:`make_sgd_model`):

- ``coords``: names of the reduced coordinates, in the documented order;
- ``initial(n, rng)`` → state of n units; ``advance(state, k_start, k_end, seed)`` runs steps
  k_start … k_end − 1 in place, drawing samples from a generator seeded with ``seed``;
- ``exact_risk(state)`` → R_N; ``reduced(state)`` → {name: (N,) array}; ``weights(state)`` →
  W (N, d) for ``save_weights``.

:class:`GaussianSgdModel` is the built-in one (units σ(⟨w, x⟩), a σ(⟨w, x⟩) or a σ(⟨w, x⟩ + b) on
isotropic or anisotropic Gaussian data); custom problems use ``ddsolver.sgd.custom``.
Randomness: one ``numpy.random.SeedSequence(seed)``; its first child draws the initial state, and
chunk c of the run is seeded with child c + 1, so a run is reproducible bit for bit.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..case import coordinates
from ..errors import CaseError
from ..grid import CartesianGrid
from ..problem.activations import make_activation
from ..problem.data import make_data
from ..problem.initial import InitialLaw, ScalarLaw
from ..problem.pointwise import pointwise_args
from ..problem.schedule import Schedule
from .online import minibatch_units, online_units
from .risk import exact_risk

CHUNK_STEPS = 200_000          # progress and seeding granularity (steps)


@dataclass
class SgdResult:
    """Snapshots of one SGD run: times, exact risk R_N, reduced coordinates, optional weights."""

    t: np.ndarray
    risk: np.ndarray
    coords: dict[str, np.ndarray]
    case: dict
    seed: int
    weights: np.ndarray | None = None
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n = next(iter(self.coords.values())).shape[1] if self.coords else "?"
        span = (f"t ∈ [{self.t[0]:g}, {self.t[-1]:g}], final risk {self.risk[-1]:.6g}"
                if len(self.t) else "no snapshots")
        return (f"SgdResult(seed {self.seed}, N = {n}, {len(self.t)} snapshots, "
                f"coords {tuple(self.coords)}, {span})")


@dataclass
class UnitState:
    """Parameters of N units: W (N, d), and A, B (N,) (ones and zeros, never updated, for units
    without second-layer weights or biases)."""

    W: np.ndarray
    A: np.ndarray
    B: np.ndarray


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
    """Particle SGD of the built-in models (see the module docstring) for a normalised case."""

    def __init__(self, case: dict):
        self.case = case
        net, training, sgd = case["network"], case["training"], case["sgd"]
        self.coords = coordinates(case["data"], net)
        self.data = make_data(case["data"])
        self.activation = make_activation(net["activation"], net["activation_params"])
        self.scale = net["scale"]
        self.has_a, self.has_b = "a" in self.coords, "b" in self.coords
        self.batch, self.eps = sgd["batch"], sgd["eps"]
        inv_beta = 0.0 if math.isinf(training["beta"]) else 1.0 / training["beta"]
        self._args = (*pointwise_args(self.activation), np.ascontiguousarray(self.data.scales),
                      self.scale, training["lambda"], inv_beta)
        self._schedule = Schedule.from_dict(training["schedule"]).args()

    def initial(self, n: int, rng: np.random.Generator) -> UnitState:
        """n units from ``[init]``: ``gaussian``: W ~ κ/√d N(0, I); ``point`` / ``samples``
        (isotropic data): radii from the law of r and uniform directions; ``density``: all
        reduced coordinates from the density on the grid, uniform directions (within each
        block for anisotropic data). a and b from their scalar laws unless the density has them."""
        init, d = self.case["init"], self.data.dim
        if init["kind"] in ("point", "samples") and "r" not in self.coords:
            raise CaseError(f"init.kind: expected 'gaussian' or 'density' for "
                            f"{self.case['data']['kind']} data, got {init['kind']!r}")
        if init["kind"] == "gaussian":
            W, values = init["kappa"] / math.sqrt(d) * rng.standard_normal((n, d)), {}
        else:
            if init["kind"] == "density":
                values = _grid_samples(InitialLaw(init, d, self.case["data"].get("signal_dim")),
                                       CartesianGrid.from_dict(self.case["pde"]["grid"]), n, rng)
            elif init["kind"] == "point":
                values = {"r": np.full(n, init["kappa"])}
            else:
                values = {"r": rng.choice(init["values"], size=n)}
            W = self._place(values, n, rng)
        for name in ("a", "b"):
            if name in self.coords and name not in values:
                values[name] = ScalarLaw(init[name]).sample(n, rng)
        return UnitState(W, values["a"] if self.has_a else np.ones(n),
                         values["b"] if self.has_b else np.zeros(n))

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
        units = (state.W, state.A, state.B, self.has_a, self.has_b)
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
        s0 = getattr(self.data, "signal_dim", None)
        values = {"a": lambda: state.A.copy(), "b": lambda: state.B.copy(),
                  "r": lambda: np.linalg.norm(state.W, axis=1),
                  "r1": lambda: np.linalg.norm(state.W[:, :s0], axis=1),
                  "r2": lambda: np.linalg.norm(state.W[:, s0:], axis=1)}
        return {name: values[name]() for name in self.coords}

    def weights(self, state: UnitState) -> np.ndarray:
        """The first-layer weights W (N, d) (a view)."""
        return state.W


def make_sgd_model(case: dict):
    """The SGD model of a normalised case: ``ddsolver.sgd.custom.CustomSgdModel`` for custom
    data, ``ddsolver.sgd.planar.PlanarSgdModel`` for planar_teacher data,
    :class:`GaussianSgdModel` otherwise."""
    if case["data"]["kind"] == "custom":
        from .custom import CustomSgdModel
        return CustomSgdModel(case)
    if case["data"]["kind"] == "planar_teacher":
        from .planar import PlanarSgdModel
        return PlanarSgdModel(case)
    return GaussianSgdModel(case)


def initial_weights(case: dict, rng: np.random.Generator) -> np.ndarray:
    """W (N, d) drawn from the case's initial law (the first draws of
    :meth:`GaussianSgdModel.initial`)."""
    return GaussianSgdModel(case).initial(case["sgd"]["neurons"], rng).W


def simulate(case, seed=None, *, output=None, overwrite=False, save_weights=None,
             progress=None) -> SgdResult:
    """Run particle SGD for a case (path or dict); ``seed`` defaults to the first of
    ``sgd.seeds``. With ``output`` the snapshots are streamed to HDF5 as they come."""
    from ..solve import as_case
    case = as_case(case)
    sgd = case["sgd"]
    seed = sgd["seeds"][0] if seed is None else int(seed)
    if save_weights is not None:
        sgd["save_weights"] = bool(save_weights)          # the stored case says what was run
    save_weights = sgd["save_weights"]
    if output is not None:
        from ..storage import check_output_path
        check_output_path(output, overwrite)
    model = make_sgd_model(case)
    batch, eps = sgd["batch"], sgd["eps"]
    step_time = eps * batch
    steps = np.rint(sgd["snapshot_times"] / step_time).astype(np.int64)
    times = dict(zip(steps.tolist(), np.where(np.isclose(steps * step_time, sgd["snapshot_times"],
                                                         rtol=1e-12, atol=0.0),
                                              sgd["snapshot_times"], steps * step_time)))
    stops = sorted(set(steps.tolist()) | set(range(0, int(steps[-1]), CHUNK_STEPS)))
    snapshot_steps = set(steps.tolist())
    children = np.random.SeedSequence(seed).spawn(len(stops) + 1)
    state = model.initial(sgd["neurons"], np.random.default_rng(children[0]))
    chunk_seeds = (int(child.generate_state(1)[0]) for child in children[1:])
    records = {"t": [], "risk": [], "weights": [], "wall_time": [], "steps": []}
    coord_records = {name: [] for name in model.coords}
    n, d = model.weights(state).shape
    attrs = {"neurons": n, "dim": d, "batch": batch, "eps": eps, "seed": seed}
    show = sys.stderr.isatty() if progress is None else bool(progress)
    start = time.perf_counter()
    with ExitStack() as stack:
        writer = None
        if output is not None:
            from ..storage import SgdWriter
            writer = stack.enter_context(SgdWriter(output, case, seed, overwrite=overwrite,
                                                   save_weights=save_weights, attrs=attrs))
        bar = stack.enter_context(tqdm(total=int(steps[-1]), disable=not show, unit="step",
                                       desc=f"sgd seed {seed}"))
        k = 0
        for stop in stops:
            if stop > k:
                model.advance(state, k, stop, next(chunk_seeds))
                bar.update(stop - k)
                k = stop
            if stop not in snapshot_steps:
                continue
            risk = model.exact_risk(state)
            coords = model.reduced(state)
            weights = model.weights(state) if save_weights else None
            diagnostics = {"wall_time": time.perf_counter() - start, "steps": stop}
            for key, value in (("t", times[stop]), ("risk", risk), *diagnostics.items()):
                records[key].append(value)
            for name, value in coords.items():
                coord_records[name].append(value)
            if save_weights:
                records["weights"].append(weights.copy())
            if writer is not None:
                writer.append(times[stop], risk, coords, weights, **diagnostics)
        attrs["run_time"] = time.perf_counter() - start
        if writer is not None:
            writer.close(status="complete", run_time=attrs["run_time"])
    return SgdResult(t=np.array(records["t"]), risk=np.array(records["risk"]),
                     coords={name: np.array(v) for name, v in coord_records.items()}, case=case,
                     seed=seed, weights=np.array(records["weights"]) if save_weights else None,
                     diagnostics={key: np.array(records[key]) for key in ("wall_time", "steps")},
                     attrs=attrs)
