"""Solutions in HDF5 files: a streaming writer and a loader.

The layout is documented in ``docs/hdf5-format.md``. The writer appends one snapshot at a time
and flushes it, in SWMR mode, so the file can be read while the run goes and survives a killed
process with every snapshot written so far; it never holds more than one snapshot in memory.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..case import case_from_json, case_to_json
from ..environment import package_versions
from ..errors import DdsolverError
from ..grid import CartesianGrid
from ..solution import Solution

FORMAT = "ddsolver.solution"
FORMAT_VERSION = 1
RUNNING = "running"


def check_output_path(path, overwrite: bool = False) -> Path:
    """Refuse an output path whose folder is missing, or that exists unless ``overwrite``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DdsolverError(f"output {str(path)!r}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise DdsolverError(f"output {str(path)!r} is a folder, not a file")
    if path.exists() and not overwrite:
        raise DdsolverError(f"output {str(path)!r} already exists "
                            "(pass overwrite=True, or --overwrite on the command line)")
    return path


class SolutionWriter:
    """Stream snapshots of a solve to an HDF5 file (a context manager).

    >>> with SolutionWriter("run.h5", grid, case, attrs={"scheme": "fv"}) as w:
    ...     w.append(t, risk, density, mass=1.0, steps=10)
    ...     w.close(status="complete", run_time=3.2)

    The diagnostics (keyword arguments of :meth:`append`) must have the same names at every
    snapshot. If the ``with`` block exits on an exception the file is closed with status
    ``"interrupted"`` (KeyboardInterrupt) or ``"failed: <message>"``, keeping every snapshot.
    """

    def __init__(self, path, grid: CartesianGrid, case: dict, *, overwrite: bool = False,
                 attrs: dict | None = None):
        self.path = check_output_path(path, overwrite)
        self.grid = grid
        self.count = 0
        self._diagnostics = None
        self._file = f = h5py.File(self.path, "w", libver="latest")
        f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                        "status": RUNNING, "case": case_to_json(case),
                        "grid": json.dumps(grid.to_dict()),
                        "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        f.attrs.update({f"{name}_version": v for name, v in package_versions().items()})
        _set_attrs(f, attrs or {})
        t = self._series("t", (), "snapshot times")
        t.make_scale("t")
        self._series("risk", (), "population risk R(rho_t)")
        density = self._series("density", grid.shape,
                               "probability density in the grid coordinates "
                               "(sum of density[k] * cell volume = 1)")
        for i, axis in enumerate(grid.axes, start=1):
            centres = f.create_dataset(f"grid/{axis.name}", data=axis.centres)
            f.create_dataset(f"grid/{axis.name}_edges", data=axis.edges)
            centres.make_scale(axis.name)
            density.dims[i].attach_scale(centres)
            density.dims[i].label = axis.name
        f.create_group("diagnostics")

    def _series(self, name: str, shape: tuple, description: str, dtype="f8") -> h5py.Dataset:
        """An empty dataset growing along time, with /t attached to its first axis."""
        ds = self._file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape),
                                       chunks=(1, *shape) if shape else (64,), dtype=dtype)
        ds.attrs["description"] = description
        if name != "t":
            ds.dims[0].attach_scale(self._file["t"])
        ds.dims[0].label = "t"
        return ds

    def append(self, t: float, risk: float, density: np.ndarray, **diagnostics) -> None:
        """Write one snapshot and flush it to disk."""
        density = np.asarray(density, dtype=float)
        if density.shape != self.grid.shape:
            raise ValueError(f"density has shape {density.shape}, the grid {self.grid.shape}")
        if self._diagnostics is None:
            self._start_swmr(diagnostics)
        elif diagnostics.keys() != self._diagnostics:
            raise ValueError(f"diagnostics {sorted(diagnostics)} differ from the first "
                             f"snapshot's {sorted(self._diagnostics)}")
        f, n = self._file, self.count
        values = {"t": t, "risk": risk, "density": density,
                  **{f"diagnostics/{k}": v for k, v in diagnostics.items()}}
        for name, value in values.items():
            f[name].resize(n + 1, axis=0)
            f[name][n] = value
        f.flush()
        self.count += 1

    def _start_swmr(self, diagnostics: dict) -> None:
        """Create the diagnostics datasets (names known at the first snapshot), enter SWMR."""
        for name, value in diagnostics.items():
            integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            self._series(f"diagnostics/{name}", (), name, dtype="i8" if integer else "f8")
        self._diagnostics = frozenset(diagnostics)
        self._file.swmr_mode = True

    def close(self, status: str = "complete", **attrs) -> None:
        """Close the file, then record the final ``status`` and run-level ``attrs``.

        Attributes cannot change in SWMR mode, hence the reopening. Closing twice is a no-op.
        """
        if not self._file:
            return
        self._file.close()
        with h5py.File(self.path, "a", libver="latest") as f:
            _set_attrs(f, {**attrs, "status": status})

    def __enter__(self) -> "SolutionWriter":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is None:
            self.close()
        elif isinstance(exc, KeyboardInterrupt):
            self.close("interrupted")
        else:
            message = " ".join(str(exc).split()) or "no message"
            self.close(f"failed: {type(exc).__name__}: {message}")


def _set_attrs(obj: h5py.HLObject, attrs: dict) -> None:
    """Set HDF5 attributes; dicts are stored as JSON text."""
    for key, value in attrs.items():
        obj.attrs[key] = json.dumps(value) if isinstance(value, dict) else value


def load(path) -> Solution:
    """Read a solution file (complete, or still being written, or left by a killed run)."""
    path = Path(path)
    if not path.is_file():
        raise DdsolverError(f"{str(path)!r}: no such file")
    try:
        # swmr=True also opens files whose writer is still running or was killed
        f = h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise DdsolverError(f"{str(path)!r}: cannot open as HDF5 ({exc})") from None
    with f:
        try:
            return _read(f, path)
        except (KeyError, OSError) as exc:
            raise DdsolverError(f"{str(path)!r}: damaged solution file ({exc})") from None


def _read(f: h5py.File, path: Path) -> Solution:
    """Check the format attributes, then read every complete snapshot."""
    attrs = {k: _python(v) for k, v in f.attrs.items()}
    if attrs.get("format") != FORMAT:
        raise DdsolverError(f"{str(path)!r}: not a ddsolver solution file "
                            f"(no attribute format = {FORMAT!r})")
    version = attrs.get("format_version")
    if not isinstance(version, int):
        raise DdsolverError(f"{str(path)!r}: no valid format_version attribute ({version!r})")
    if version > FORMAT_VERSION:
        raise DdsolverError(f"{str(path)!r}: format version {version} is newer than ddsolver "
                            f"{__version__} can read (up to {FORMAT_VERSION}); upgrade ddsolver")
    grid = CartesianGrid.from_dict(json.loads(attrs.pop("grid")))
    case = case_from_json(attrs.pop("case"))
    series = {"t": f["t"], "risk": f["risk"], "density": f["density"],
              **{f"diagnostics/{k}": v for k, v in f["diagnostics"].items()}}
    # a killed writer may leave some datasets one snapshot longer than the others
    n = min(len(ds) for ds in series.values())
    data = {name: ds[:n] for name, ds in series.items()}
    return Solution(t=data.pop("t"), risk=data.pop("risk"), density=data.pop("density"),
                    grid=grid, case=case,
                    diagnostics={k.split("/", 1)[1]: v for k, v in data.items()}, attrs=attrs)


def _python(value):
    """An HDF5 attribute value as a plain Python object."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
