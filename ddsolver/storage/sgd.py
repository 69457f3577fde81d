"""SGD files (format ``ddsolver.sgd``): snapshots of a particle SGD run, streamed.

Per snapshot: the time, the exact risk R_N of the N-unit network, the reduced coordinates of
every unit (``/coords/<name>``, one per coordinate of the model) and, when asked, the weights
W (N, d). The streaming (lock, partial file,
flush per snapshot, SWMR, final status) is :class:`~ddsolver.storage.stream.StreamWriter`'s; the
layout (version 2: netCDF-4 compatible, dimensions ``t``, ``unit``, ``component``) is documented
in ``docs/hdf5-format.md``.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..case import case_from_json
from ..model import model_of
from ..results import SgdResult
from .stream import StreamWriter, case_problem, complete_snapshots, nonfinite

FORMAT = "ddsolver.sgd"
FORMAT_VERSION = 2


class SgdWriter(StreamWriter):
    """Stream snapshots of an SGD run to an HDF5 file (a context manager).

    >>> with SgdWriter("sgd.h5", case, seed=0, save_weights=True) as w:
    ...     w.append(t, risk, {"r": np.linalg.norm(W, axis=1)}, W, steps=1000)
    ...     w.close(status="complete", run_time=3.2)

    ``case`` is a normalised case: it gives the number of units N (``sgd.neurons``), the
    names of the reduced coordinates and the width d of the weights (``data.dim``, unless
    ``attrs["dim"]`` gives it, as for custom problems, whose weights are θ). ``weights`` must be
    given at every snapshot if ``save_weights``, and never otherwise. Diagnostics, exceptions
    and the partial file are handled as by :class:`~ddsolver.storage.SolutionWriter`, the run
    ``state`` and ``resume`` as by :class:`~ddsolver.storage.stream.StreamWriter`.
    """

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION

    def __init__(self, path, case: dict, seed: int, *, overwrite: bool = False,
                 save_weights: bool = False, attrs: dict | None = None,
                 diagnostics: dict | None = None, state: dict | None = None, resume=None):
        n, d = case["sgd"]["neurons"], (attrs or {}).get("dim") or case["data"].get("dim")
        if save_weights and d is None:
            raise ValueError("save_weights needs the width of the weights: attrs['dim']")
        self.shape = (n, d)
        self.coords = model_of(case).coords
        self.save_weights = save_weights
        super().__init__(path, case, header={"seed": int(seed)}, overwrite=overwrite,
                         attrs=attrs, diagnostics=diagnostics, state=state, resume=resume)

    def _layout(self) -> None:
        unit = self._dimension("unit", self.shape[0])
        self._series("risk", (), "exact population risk R_N of the N-unit network")
        self._file.create_group("coords")
        for name in self.coords:
            self._series(f"coords/{name}", self.shape[:1],
                         f"reduced coordinate {name} of every unit", dims=(unit,))
        if self.save_weights:
            self._series("weights", self.shape, "first-layer weights W of every unit",
                         dims=(unit, self._dimension("component", self.shape[1])))

    def append(self, t: float, risk: float, coords: dict[str, np.ndarray],
               weights: np.ndarray | None = None, state: dict | None = None,
               **diagnostics) -> None:
        """Write one snapshot and flush it to disk (and the run ``state``, for a writer created
        with one)."""
        if set(coords) != set(self.coords):
            raise ValueError(f"coords {sorted(coords)} differ from the case's "
                             f"{sorted(self.coords)}")
        values = {"t": t, "risk": risk}
        for name, value in coords.items():
            values[f"coords/{name}"] = self._checked(f"coords[{name!r}]", value, self.shape[:1])
        if (weights is not None) != self.save_weights:
            raise ValueError("weights must be given at every snapshot if and only if the "
                             f"writer saves them (save_weights={self.save_weights})")
        if weights is not None:
            values["weights"] = self._checked("weights", weights, self.shape)
        self._write(values, diagnostics, state)

    @staticmethod
    def _checked(name: str, value, shape: tuple) -> np.ndarray:
        value = np.asarray(value, dtype=float)
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
        return value


def read_sgd(f: h5py.File, attrs: dict):
    """Every complete snapshot of an open SGD file whose root ``attrs`` were checked, as an
    :class:`~ddsolver.results.SgdResult`."""

    case = case_from_json(attrs.pop("case"))
    series = {"t": f["t"], "risk": f["risk"],
              **{f"coords/{k}": v for k, v in f["coords"].items()}}
    if "weights" in f:
        series["weights"] = f["weights"]
    data = complete_snapshots(series)
    return SgdResult(t=data["t"], risk=data["risk"],
                     coords={k.split("/", 1)[1]: v for k, v in data.items()
                             if k.startswith("coords/")},
                     case=case, seed=attrs["seed"], weights=data.get("weights"),
                     diagnostics={k.split("/", 1)[1]: v for k, v in data.items()
                                  if k.startswith("diagnostics/")},
                     attrs=attrs)


def sgd_problem(f: h5py.File, run: SgdResult) -> str | None:
    """Why a read SGD run cannot be trusted, or None: the shapes of the coordinates and
    weights against N (and d), non-finite values, a stored case the validator rejects."""
    n, d = run.case["sgd"]["neurons"], run.attrs.get("dim") or run.case["data"].get("dim")
    for name, values in run.coords.items():
        if values.shape[1:] != (n,):
            return f"/coords/{name} has {values.shape[1:]} values per snapshot, N = {n} units"
    if run.weights is not None and run.weights.shape[1:] != (n, d):
        return f"/weights has shape {run.weights.shape[1:]} per snapshot, expected {(n, d)}"
    if np.isnan(run.t).any() or np.any(np.diff(run.t) <= 0):
        return "/t is not increasing"
    arrays = {"t": run.t, "risk": run.risk, **{f"coords/{k}": v for k, v in run.coords.items()}}
    if run.weights is not None:
        arrays["weights"] = run.weights
    return nonfinite(arrays) or case_problem(run.case)
