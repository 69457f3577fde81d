"""Solution files (format ``ddsolver.solution``): the streaming writer and the reader.

The layout is documented in ``docs/hdf5-format.md``; the streaming (flush per snapshot, SWMR,
final status) is :class:`~ddsolver.storage.stream.StreamWriter`'s. The writer never holds more
than one snapshot in memory.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..case import case_from_json
from ..grid import CartesianGrid
from ..results import Solution
from .stream import StreamWriter, complete_snapshots, diagnostics_of

FORMAT = "ddsolver.solution"
FORMAT_VERSION = 1


class SolutionWriter(StreamWriter):
    """Stream snapshots of a solve to an HDF5 file (a context manager).

    >>> with SolutionWriter("run.h5", grid, case, attrs={"scheme": "fv"}) as w:
    ...     w.append(t, risk, density, free_energy, mass=1.0, steps=10)
    ...     w.close(status="complete", run_time=3.2)

    The diagnostics (keyword arguments of :meth:`append`) must have the same names at every
    snapshot. If the ``with`` block exits on an exception the file is closed with status
    ``"interrupted"`` (KeyboardInterrupt) or ``"failed: <message>"``, keeping every snapshot.
    """

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION

    def __init__(self, path, grid: CartesianGrid, case: dict, *, overwrite: bool = False,
                 attrs: dict | None = None):
        super().__init__(path, case, header={"grid": json.dumps(grid.to_dict())},
                         overwrite=overwrite, attrs=attrs)
        self.grid = grid
        f = self._file
        self._series("risk", (), "population risk R(rho_t)")
        self._series("free_energy", (), "free energy F(rho_t) = R/(2 alpha^2) + (lambda/2) "
                     "int |theta|^2 drho + (1/beta) int rho log rho")
        density = self._series("density", grid.shape,
                               "probability density in the grid coordinates "
                               "(sum of density[k] * cell volume = 1)", labels=grid.names)
        for i, axis in enumerate(grid.axes, start=1):
            centres = f.create_dataset(f"grid/{axis.name}", data=axis.centres)
            f.create_dataset(f"grid/{axis.name}_edges", data=axis.edges)
            centres.make_scale(axis.name)
            density.dims[i].attach_scale(centres)

    def append(self, t: float, risk: float, density: np.ndarray, free_energy: float,
               **diagnostics) -> None:
        """Write one snapshot (t = inf for a stationary state) and flush it to disk."""
        density = np.asarray(density, dtype=float)
        if density.shape != self.grid.shape:
            raise ValueError(f"density has shape {density.shape}, the grid {self.grid.shape}")
        self._write({"t": t, "risk": risk, "density": density, "free_energy": free_energy},
                    diagnostics)


def read_solution(f: h5py.File, attrs: dict) -> Solution:
    """Every complete snapshot of an open solution file whose root ``attrs`` were checked
    (``free_energy`` None for files written before ``/free_energy`` was stored)."""
    grid = CartesianGrid.from_dict(json.loads(attrs.pop("grid")))
    case = case_from_json(attrs.pop("case"))
    series = {"t": f["t"], "risk": f["risk"], "density": f["density"], **diagnostics_of(f)}
    if "free_energy" in f:
        series["free_energy"] = f["free_energy"]
    data = complete_snapshots(series)
    return Solution(t=data.pop("t"), risk=data.pop("risk"), density=data.pop("density"),
                    free_energy=data.pop("free_energy", None), grid=grid, case=case,
                    diagnostics={k.split("/", 1)[1]: v for k, v in data.items()}, attrs=attrs,
                    certificates=read_certificates(f))


def write_certificates(path, certificates) -> None:
    """Store :class:`~ddsolver.landscape.Certificates` of a finished solution file in its group
    ``/landscape`` (datasets ``risk``, ``gap``, ``stationarity``, one value per snapshot;
    attribute ``r_min`` when known), replacing an earlier one. The snapshots are not touched:
    the group is written in one step after everything is computed."""
    with h5py.File(path, "r+") as f:
        if len(f["t"]) != certificates.t.size:
            raise ValueError(f"{path}: {len(f['t'])} snapshots, {certificates.t.size} "
                             "certificates")
        if "landscape" in f:
            del f["landscape"]
        group = f.create_group("landscape")
        for name in ("risk", "gap", "stationarity"):
            group.create_dataset(name, data=getattr(certificates, name))
        if certificates.r_min is not None:
            group.attrs["r_min"] = certificates.r_min


def read_certificates(f: h5py.File) -> dict | None:
    """The ``/landscape`` group of an open solution file as arrays (and ``r_min``), or None."""
    if "landscape" not in f:
        return None
    group = f["landscape"]
    out = {name: group[name][:] for name in ("risk", "gap", "stationarity")}
    out["r_min"] = group.attrs.get("r_min")
    return out
