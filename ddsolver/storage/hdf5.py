"""Solution files (format ``ddsolver.solution``): the streaming writer and the reader.

The layout (format version 2: netCDF-4 compatible, coordinates as dimension scales at the root;
version 1 had them in ``/grid``) is documented in ``docs/hdf5-format.md``; the streaming (lock,
partial file, flush per snapshot, SWMR, final status) is
:class:`~ddsolver.storage.stream.StreamWriter`'s. The writer never holds more
than one snapshot in memory.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..case import case_from_json
from ..errors import DdsolverError
from ..grid import CartesianGrid
from ..results import Solution
from .stream import (
    CHECKSUM,
    StreamWriter,
    attach,
    case_problem,
    complete_snapshots,
    diagnostics_of,
    nonfinite,
    set_attrs,
)

FORMAT = "ddsolver.solution"
FORMAT_VERSION = 2
# /particles/positions: one chunk per snapshot (a snapshot is written, and usually read, whole);
# byte shuffle + gzip level 1 (float64 positions compress little: see docs/hdf5-format.md)
POSITION_STORAGE = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
# root names a grid coordinate may not take (its centres are /<coord>, its bounds /<coord>_bounds)
RESERVED = {"t", "risk", "free_energy", "density", "diagnostics", "particles", "landscape",
            "bounds", "grid"}
MASS_TOL = 1e-6          # |mass - 1| above this marks a file corrupt


class SolutionWriter(StreamWriter):
    """Stream snapshots of a solve to an HDF5 file (a context manager).

    >>> with SolutionWriter("run.h5", grid, case, attrs={"scheme": "fv"}) as w:
    ...     w.append(t, risk, density, free_energy, mass=1.0, steps=10)
    ...     w.close(status="complete", run_time=3.2)

    The diagnostics (keyword arguments of :meth:`append`) must have the same names at every
    snapshot. If the ``with`` block exits on an exception the partial file is closed with status
    ``"interrupted"`` (KeyboardInterrupt) or ``"failed: <message>"``, keeping every snapshot,
    and the output is left as it was (see :class:`~ddsolver.storage.stream.StreamWriter`).
    """

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION

    def __init__(self, path, grid: CartesianGrid, case: dict, *, overwrite: bool = False,
                 attrs: dict | None = None, particle_weights=None,
                 diagnostics: dict | None = None, state: dict | None = None, resume=None):
        """``particle_weights`` (n,): a particle run, whose weights are stored once in
        ``/particles/weights`` and whose positions (n, grid.ndim) :meth:`append` takes at every
        snapshot into ``/particles/positions``. ``diagnostics``, ``state`` and ``resume``: see
        :class:`~ddsolver.storage.stream.StreamWriter`."""
        clash = [c for c in grid.names if c in RESERVED or c.endswith("_bounds") or "/" in c]
        if clash:
            raise DdsolverError(f"coordinate name {clash[0]!r} cannot be stored: it clashes "
                                f"with a dataset of the file ({sorted(RESERVED)}, *_bounds)")
        self.grid = grid
        self.weights = (None if particle_weights is None
                        else np.asarray(particle_weights, dtype=float))
        self.particles = None if self.weights is None else (self.weights.size, grid.ndim)
        super().__init__(path, case, header={"grid": json.dumps(grid.to_dict())},
                         overwrite=overwrite, attrs=attrs, diagnostics=diagnostics, state=state,
                         resume=resume)

    def _layout(self) -> None:
        f = self._file
        bounds = self._dimension("bounds", 2)
        scales = []
        for axis in self.grid.axes:
            centres = f.create_dataset(axis.name, data=axis.centres, **CHECKSUM)
            centres.make_scale(axis.name)
            set_attrs(centres, {"long_name": f"cell centres of {axis.name}", "units": "1",
                                "bounds": f"{axis.name}_bounds"})
            edges = np.stack([axis.edges[:-1], axis.edges[1:]], axis=1)
            attach(f.create_dataset(f"{axis.name}_bounds", data=edges, **CHECKSUM),
                   (centres, bounds))
            scales.append(centres)
        if self.weights is not None:
            group = f.create_group("particles")
            particle = self._dimension("particles/particle", self.particles[0])
            coordinate = self._dimension("particles/coordinate", self.particles[1])
            weights = group.create_dataset("weights", data=self.weights, **CHECKSUM)
            set_attrs(weights, {"long_name": "mass of every particle (sum 1)", "units": "1"})
            attach(weights, (particle,))
            positions = self._series("particles/positions", self.particles,
                                     "position of every particle in the grid coordinates",
                                     dims=(particle, coordinate), **POSITION_STORAGE)
            positions.attrs["coords"] = list(self.grid.names)
        self._series("risk", (), "population risk R(rho_t)")
        self._series("free_energy", (), "free energy F(rho_t) = R/(2 alpha^2) + (lambda/2) "
                     "int |theta|^2 drho + (1/beta) int rho log rho")
        self._series("density", self.grid.shape, "probability density in the grid coordinates "
                     "(sum of density[k] * cell volume = 1)", dims=tuple(scales))

    def append(self, t: float, risk: float, density: np.ndarray, free_energy: float,
               positions: np.ndarray | None = None, state: dict | None = None,
               **diagnostics) -> None:
        """Write one snapshot (t = inf for a stationary state) and flush it to disk; a particle
        run (``particle_weights`` given) also gives the ``positions`` (n, grid.ndim), a writer
        created with a run ``state`` the run's state."""
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
        self._write(values, diagnostics, state)


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


def solution_problem(f: h5py.File, sol: Solution) -> str | None:
    """Why a read solution cannot be trusted, or None: ``/grid`` (version 1) or the coordinate
    datasets (version 2) against the grid attribute, the data's shapes against the grid,
    non-finite values, a mass other than 1, a stored case the validator rejects."""
    grid = sol.grid
    for axis in grid.axes:
        if sol.attrs["format_version"] == 1:
            centres, edges = f[f"grid/{axis.name}"][:], f[f"grid/{axis.name}_edges"][:]
        else:
            bounds = f[f"{axis.name}_bounds"][:]
            centres, edges = f[axis.name][:], np.append(bounds[:, 0], bounds[-1:, 1])
        for what, stored, expected in (("centres", centres, axis.centres),
                                       ("edges", edges, axis.edges)):
            if stored.shape != expected.shape or not np.allclose(stored, expected, rtol=1e-12,
                                                                   atol=0.0):
                return f"the stored {axis.name} cell {what} differ from the grid attribute"
    if sol.density.shape[1:] != grid.shape:
        return f"/density has cells {sol.density.shape[1:]}, the grid {grid.shape}"
    if sol.particles is not None:
        positions, weights = sol.particles
        if positions.shape[1:] != (weights.size, grid.ndim):
            return (f"/particles/positions has shape {positions.shape[1:]} per snapshot, "
                    f"expected {(weights.size, grid.ndim)}")
    t = sol.t
    if np.isnan(t).any() or not (np.isfinite(t).all() or np.isposinf(t).all()):
        return "/t has a NaN or a mix of finite and infinite times"
    if np.any(np.diff(t) <= 0):
        return "/t is not increasing"
    arrays = {"risk": sol.risk, "density": sol.density}
    if sol.free_energy is not None:
        arrays["free_energy"] = sol.free_energy
    if sol.particles is not None:
        arrays.update({"particles/positions": sol.particles[0], "particles/weights":
                       sol.particles[1]})
    problem = nonfinite(arrays)
    if problem:
        return problem
    off = np.abs(sol.mass - 1.0)
    if off.size and off.max() > MASS_TOL:
        k = int(off.argmax())
        return f"the mass at t = {t[k]:g} is {sol.mass[k]:.6g}, not 1"
    return case_problem(sol.case)


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
            ds = group.create_dataset(name, data=getattr(certificates, name), **CHECKSUM)
            set_attrs(ds, {"long_name": f"certificate: {name}", "units": "1"})
            attach(ds, (f["t"],))
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
