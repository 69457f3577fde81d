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
# /particles/positions: one chunk per snapshot (a snapshot is written, and usually read, whole);
# byte shuffle + gzip level 1 (float64 positions compress little: see docs/hdf5-format.md)
POSITION_STORAGE = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


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
                 attrs: dict | None = None, particle_weights=None):
        """``particle_weights`` (n,): a particle run, whose weights are stored once in
        ``/particles/weights`` and whose positions (n, grid.ndim) :meth:`append` takes at every
        snapshot into ``/particles/positions``."""
        super().__init__(path, case, header={"grid": json.dumps(grid.to_dict())},
                         overwrite=overwrite, attrs=attrs)
        self.grid = grid
        f = self._file
        self.particles = None
        if particle_weights is not None:
            weights = np.asarray(particle_weights, dtype=float)
            f.create_dataset("particles/weights", data=weights).attrs["description"] = (
                "mass of every particle (sum 1)")
            self.particles = (weights.size, grid.ndim)
            positions = self._series("particles/positions", self.particles,
                                     "position of every particle in the grid coordinates",
                                     labels=("particle", "coordinate"), **POSITION_STORAGE)
            positions.attrs["coords"] = list(grid.names)
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
               positions: np.ndarray | None = None, **diagnostics) -> None:
        """Write one snapshot (t = inf for a stationary state) and flush it to disk; a particle
        run (``particle_weights`` given) also gives the ``positions`` (n, grid.ndim)."""
        density = np.asarray(density, dtype=float)
        if density.shape != self.grid.shape:
            raise ValueError(f"density has shape {density.shape}, the grid {self.grid.shape}")
        values = {"t": t, "risk": risk, "density": density, "free_energy": free_energy}
        if (positions is None) != (self.particles is None):
            raise ValueError("positions are written exactly when the writer was given "
                             "particle_weights")
        if positions is not None:
            positions = np.asarray(positions, dtype=float)
            if positions.shape != self.particles:
                raise ValueError(f"positions have shape {positions.shape}, the particles "
                                 f"{self.particles}")
            values["particles/positions"] = positions
        self._write(values, diagnostics)


def read_solution(f: h5py.File, attrs: dict) -> Solution:
    """Every complete snapshot of an open solution file whose root ``attrs`` were checked
    (``free_energy`` None for files written before ``/free_energy`` was stored; ``particles``
    None for files without ``/particles``: other schemes, older files)."""
    grid = CartesianGrid.from_dict(json.loads(attrs.pop("grid")))
    case = case_from_json(attrs.pop("case"))
    series = {"t": f["t"], "risk": f["risk"], "density": f["density"], **diagnostics_of(f)}
    if "free_energy" in f:
        series["free_energy"] = f["free_energy"]
    if "particles" in f:
        series["particles/positions"] = f["particles/positions"]
    data = complete_snapshots(series)
    particles = None
    if "particles" in f:
        particles = (data.pop("particles/positions"), f["particles/weights"][:])
    return Solution(t=data.pop("t"), risk=data.pop("risk"), density=data.pop("density"),
                    free_energy=data.pop("free_energy", None), particles=particles,
                    grid=grid, case=case,
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
