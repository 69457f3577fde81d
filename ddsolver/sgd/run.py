"""``simulate``: particle SGD of a case, with snapshots of the exact risk and the reduced coordinates.

The network has ``sgd.neurons`` units in dimension ``data.dim``, initialised from ``[init]``
(``gaussian``: w ~ N(0, κ²/d I); other laws: radii drawn from the law of r, uniform directions).
Online SGD (``batch = 1``) or mini-batch SGD runs to each snapshot time t = k ε B; at every
snapshot the exact population risk R_N and r_i = |w_i| (and optionally W) are recorded and,
with an output path, streamed to HDF5 (docs/hdf5-format.md, format ``ddsolver.sgd``).
Randomness: one ``numpy.random.SeedSequence(seed)``; its first child draws W, and chunk c of
the run is seeded with child c + 1, so a run is reproducible bit for bit.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..problem.activations import make_activation
from ..problem.data import IsotropicGaussians
from ..problem.initial import InitialLaw
from ..problem.pointwise import pointwise_args
from ..problem.schedule import Schedule
from .online import minibatch_sgd, online_sgd
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
        n = self.coords["r"].shape[1] if "r" in self.coords else "?"
        return (f"SgdResult(seed {self.seed}, N = {n}, {len(self.t)} snapshots, t ∈ "
                f"[{self.t[0]:g}, {self.t[-1]:g}], final risk {self.risk[-1]:.6g})")


def initial_weights(case: dict, rng: np.random.Generator) -> np.ndarray:
    """W (N, d) drawn from the case's initial law."""
    n, d = case["sgd"]["neurons"], case["data"]["dim"]
    init = case["init"]
    if init["kind"] == "gaussian":
        return init["kappa"] / math.sqrt(d) * rng.standard_normal((n, d))
    directions = rng.standard_normal((n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    if init["kind"] == "point":
        radii = np.full(n, init["kappa"])
    else:
        from ..grid import CartesianGrid
        positions, _ = InitialLaw(init, d).particles(
            4096, CartesianGrid.from_dict(case["pde"]["grid"]))
        radii = rng.choice(positions, size=n)
    return radii[:, None] * directions


def reduced_coordinates(W: np.ndarray) -> dict[str, np.ndarray]:
    """The reduced coordinates of every unit (here r = |w|)."""
    return {"r": np.linalg.norm(W, axis=1)}


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
    data = IsotropicGaussians(case["data"]["delta"], case["data"]["dim"])
    net, training = case["network"], case["training"]
    activation = make_activation(net["activation"], net["activation_params"])
    batch, eps = sgd["batch"], sgd["eps"]
    step_time = eps * batch
    steps = np.rint(sgd["snapshot_times"] / step_time).astype(np.int64)
    times = dict(zip(steps.tolist(), np.where(np.isclose(steps * step_time, sgd["snapshot_times"],
                                                         rtol=1e-12, atol=0.0),
                                              sgd["snapshot_times"], steps * step_time)))
    stops = sorted(set(steps.tolist()) | set(range(0, int(steps[-1]), CHUNK_STEPS)))
    snapshot_steps = set(steps.tolist())
    children = np.random.SeedSequence(seed).spawn(len(stops) + 1)
    W = initial_weights(case, np.random.default_rng(children[0]))
    chunk_seeds = (int(child.generate_state(1)[0]) for child in children[1:])
    args = (*pointwise_args(activation), np.array(data.taus), net["scale"], training["lambda"],
            0.0 if math.isinf(training["beta"]) else 1.0 / training["beta"])
    schedule = Schedule.from_dict(training["schedule"]).args()
    records = {"t": [], "risk": [], "r": [], "weights": [], "wall_time": [], "steps": []}
    attrs = {"neurons": W.shape[0], "dim": W.shape[1], "batch": batch, "eps": eps,
             "seed": seed}
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
                if batch == 1:
                    online_sgd(W, *args, eps, schedule, k, stop, next(chunk_seeds))
                else:
                    minibatch_sgd(W, *args, step_time, schedule, k, stop, batch,
                                  next(chunk_seeds))
                bar.update(stop - k)
                k = stop
            if stop not in snapshot_steps:
                continue
            risk = exact_risk(W, activation, data, scale=net["scale"])
            coords = reduced_coordinates(W)
            diagnostics = {"wall_time": time.perf_counter() - start, "steps": stop}
            for key, value in (("t", times[stop]), ("risk", risk), ("r", coords["r"]),
                               *diagnostics.items()):
                records[key].append(value)
            if save_weights:
                records["weights"].append(W.copy())
            if writer is not None:
                writer.append(times[stop], risk, coords, W if save_weights else None,
                              **diagnostics)
        attrs["run_time"] = time.perf_counter() - start
        if writer is not None:
            writer.close(status="complete", run_time=attrs["run_time"])
    return SgdResult(t=np.array(records["t"]), risk=np.array(records["risk"]),
                     coords={"r": np.array(records["r"])}, case=case, seed=seed,
                     weights=np.array(records["weights"]) if save_weights else None,
                     diagnostics={key: np.array(records[key]) for key in ("wall_time", "steps")},
                     attrs=attrs)
