"""``simulate``: particle SGD of a case, with snapshots of the exact risk and the reduced
coordinates.

The network has ``sgd.neurons`` units, initialised from ``[init]``. Online SGD (``batch = 1``) or
mini-batch SGD runs to each snapshot time t = k ε B; at every snapshot the exact population risk
R_N and the reduced coordinates of every unit (and optionally W) are recorded and, with an output
path, streamed to HDF5 (docs/hdf5-format.md, format ``ddsolver.sgd``).

``simulate`` sees the network only through an SGD model (:func:`make_sgd_model`):

- ``coords``: names of the reduced coordinates, in the documented order;
- ``initial(n, rng)`` → state of n units; ``advance(state, k_start, k_end, seed)`` runs steps
  k_start … k_end − 1 in place, drawing samples from a generator seeded with ``seed``;
- ``exact_risk(state)`` → R_N; ``reduced(state)`` → {name: (N,) array}; ``weights(state)`` →
  W (N, d) for ``save_weights``; ``arrays(state)`` → {name: array}, views of everything the
  steps change, stored with each snapshot so that ``resume`` can restore them in place.

Each model (:mod:`ddsolver.model`) builds its own: ``ddsolver.sgd.gaussian`` for the
labelled-Gaussian models, ``ddsolver.sgd.planar`` and ``ddsolver.sgd.custom`` for the others.
Randomness: one ``numpy.random.SeedSequence(seed)``; its first child draws the initial state, and
chunk c of the run is seeded with child c + 1, so a run is reproducible bit for bit. The chunks
end at the snapshots and at every multiple of ``CHUNK_STEPS``, whatever ``t_final``: a resumed run
(state restored, chunk count from the snapshot's step) draws what an uninterrupted one does.
"""

from __future__ import annotations

import logging

import numpy as np

from .. import checks
from ..case import as_case
from ..drive import Progress, drive
from ..errors import DdsolverError
from ..model import model_of
from ..resources import check_memory
from ..results import SgdResult
from ..storage.formats import load_sgd
from ..storage.resume import stored_value

CHUNK_STEPS = 200_000          # progress and seeding granularity (steps)
log = logging.getLogger("ddsolver")


def make_sgd_model(case: dict):
    """The SGD model of a normalised case, from its model (:mod:`ddsolver.model`)."""
    return model_of(case).sgd_model(case)


def simulate(case, seed=None, *, output=None, overwrite=False, resume=False, save_weights=None,
             progress=None, max_memory=None) -> SgdResult:
    """Run particle SGD for a case (path or dict); ``seed`` (an integer in [0, 2^63 − 1])
    defaults to the first of ``sgd.seeds``. With ``output`` the snapshots are streamed to HDF5
    as they come; ``resume`` continues the run in ``output``'s partial file or the finished
    ``output`` from its last snapshot, bit for bit as an uninterrupted run (as
    :func:`ddsolver.solve` does). A run whose memory estimate exceeds ``max_memory`` (bytes or
    a size such as ``"4GiB"``; default 80 % of the available memory) is refused
    (:mod:`ddsolver.resources`)."""
    case = as_case(case)
    sgd = case["sgd"]
    seed = sgd["seeds"][0] if seed is None else checks.integer("seed", seed, lo=0)
    if resume and (overwrite or output is None):
        raise DdsolverError("resume continues the run in an output file: give one, and not "
                            "with overwrite")
    if save_weights is None and resume:
        save_weights = stored_value(output, "sgd.save_weights", sgd["save_weights"])
    if save_weights is not None:
        sgd["save_weights"] = bool(save_weights)          # the stored case says what was run
    save_weights = sgd["save_weights"]
    check_memory(case, "sgd", max_memory)
    point = None
    if output is not None:
        from ..storage import check_output_path, resume_point
        from ..storage.sgd import FORMAT, FORMAT_VERSION
        if resume:
            point = resume_point(output, case, FORMAT, FORMAT_VERSION, sgd["snapshot_times"],
                                 header={"seed": seed})
            if point is not None and point.complete:
                log.warning("%s is a finished run of this case: nothing to resume", output)
                return load_sgd(output)
        if point is None:
            check_output_path(output, overwrite)
    model = make_sgd_model(case)
    batch, eps = sgd["batch"], sgd["eps"]
    step_time = eps * batch
    steps = np.rint(sgd["snapshot_times"] / step_time).astype(np.int64)
    times = dict(zip(steps.tolist(), np.where(np.isclose(steps * step_time, sgd["snapshot_times"],
                                                         rtol=1e-12, atol=0.0),
                                              sgd["snapshot_times"], steps * step_time)))
    stops = sorted(set(steps.tolist()) | set(range(0, int(steps[-1]), CHUNK_STEPS)))
    children = np.random.SeedSequence(seed).spawn(len(stops) + 1)
    state = model.initial(sgd["neurons"], np.random.default_rng(children[0]))
    n, d = model.weights(state).shape
    attrs = {"neurons": n, "dim": d, "batch": batch, "eps": eps, "seed": seed}
    position = [0]
    resumed = point is not None and point.count > 0
    if resumed:
        for name, values in model.arrays(state).items():
            values[...] = point.state[name]
        position[0] = int(point.state["step"])
    chunk_seeds = (int(child.generate_state(1)[0]) for child in
                   children[1 + sum(0 < stop <= position[0] for stop in stops):])

    def advance(stop):
        if stop > position[0]:
            model.advance(state, position[0], stop, next(chunk_seeds))
            position[0] = stop

    def run_state():
        """The state arrays and the step count (the chunk seeds follow from it)."""
        return {**model.arrays(state), "step": position[0]}

    def observe(stop, elapsed):
        weights = model.weights(state).copy() if save_weights else None
        return {"t": times[stop], "risk": model.exact_risk(state),
                "coords": model.reduced(state), "weights": weights, "wall_time": elapsed,
                "steps": stop}

    writer = None
    if output is not None:
        from ..storage import SgdWriter
        writer = SgdWriter(output, case, seed, overwrite=overwrite, save_weights=save_weights,
                           attrs=attrs, diagnostics={"wall_time": 0.0, "steps": 0},
                           state=run_state(), resume=point)
    done = drive([stop for stop in stops if stop > position[0] or not resumed],
                 set(steps.tolist()), advance, observe,
                 Progress(int(steps[-1]), "step", f"sgd seed {seed}", show=progress),
                 writer=writer, state=run_state, initial=position[0])
    attrs["run_time"] = done.run_time
    if resumed:
        return load_sgd(output)
    records = done.records
    return SgdResult(t=np.array([r["t"] for r in records]),
                     risk=np.array([r["risk"] for r in records]),
                     coords={name: np.array([r["coords"][name] for r in records])
                             for name in model.coords}, case=case, seed=seed,
                     weights=np.array([r["weights"] for r in records]) if save_weights else None,
                     diagnostics={key: np.array([r[key] for r in records])
                                  for key in ("wall_time", "steps")},
                     attrs=attrs)
