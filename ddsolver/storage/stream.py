"""The streaming machinery shared by every ddsolver HDF5 format.

A :class:`StreamWriter` writes the common root attributes (format, version, status, case,
creation time, versions), grows every dataset by one snapshot per :meth:`~StreamWriter._write`
and flushes it, in SWMR mode, so the file can be read while the run goes and survives a killed
process with every snapshot written so far. Attributes cannot change in SWMR mode, so
:meth:`~StreamWriter.close` reopens the file to record the final status. The reading helpers
open such a file whatever its state, check its format and version, and cut the datasets to the
snapshots complete in all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..case import case_to_json
from ..environment import package_versions
from ..errors import DdsolverError

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


class StreamWriter:
    """Base of the streaming writers (a context manager); subclasses set ``FORMAT`` and
    ``FORMAT_VERSION``, create their datasets with :meth:`_series` and write with :meth:`_write`.

    The diagnostics must have the same names at every snapshot. If the ``with`` block exits on
    an exception the file is closed with status ``"interrupted"`` (KeyboardInterrupt) or
    ``"failed: <ErrorType>: <message>"``, keeping every snapshot.
    """

    FORMAT: str
    FORMAT_VERSION: int

    def __init__(self, path, case: dict, *, header: dict, overwrite: bool = False,
                 attrs: dict | None = None):
        """Create the file with the common root attributes, the format's ``header`` attributes
        and the caller's ``attrs``, the time axis ``/t`` (a dimension scale) and the
        ``/diagnostics`` group."""
        self.path = check_output_path(path, overwrite)
        self.count = 0
        self._diagnostics = None
        self._file = f = h5py.File(self.path, "w", libver="latest")
        f.attrs.update({"format": self.FORMAT, "format_version": self.FORMAT_VERSION,
                        "status": RUNNING, "case": case_to_json(case)})
        set_attrs(f, header)
        f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        f.attrs.update({f"{name}_version": v for name, v in package_versions().items()})
        set_attrs(f, attrs or {})
        self._series("t", (), "snapshot times").make_scale("t")
        f.create_group("diagnostics")

    def _series(self, name: str, shape: tuple, description: str, dtype="f8",
                labels: tuple = (), **storage) -> h5py.Dataset:
        """An empty dataset growing along time, with /t attached to its first axis and
        ``labels`` on the others; ``storage``: h5py filter options (compression, shuffle)."""
        ds = self._file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape),
                                       chunks=(1, *shape) if shape else (64,), dtype=dtype,
                                       **storage)
        ds.attrs["description"] = description
        if name != "t":
            ds.dims[0].attach_scale(self._file["t"])
        for dim, label in zip(ds.dims, ("t", *labels)):
            dim.label = label
        return ds

    def _write(self, values: dict, diagnostics: dict) -> None:
        """Append one snapshot (``values`` by dataset path, and the diagnostics), flush it."""
        if self._diagnostics is None:
            self._start_swmr(diagnostics)
        elif diagnostics.keys() != self._diagnostics:
            raise ValueError(f"diagnostics {sorted(diagnostics)} differ from the first "
                             f"snapshot's {sorted(self._diagnostics)}")
        f, n = self._file, self.count
        values = {**values, **{f"diagnostics/{k}": v for k, v in diagnostics.items()}}
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
            set_attrs(f, {**attrs, "status": status})

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is None:
            self.close()
        elif isinstance(exc, KeyboardInterrupt):
            self.close("interrupted")
        else:
            message = " ".join(str(exc).split()) or "no message"
            self.close(f"failed: {type(exc).__name__}: {message}")


def set_attrs(obj: h5py.HLObject, attrs: Mapping) -> None:
    """Set HDF5 attributes; dicts are stored as JSON text."""
    for key, value in attrs.items():
        obj.attrs[key] = json.dumps(value) if isinstance(value, dict) else value


# -- reading --------------------------------------------------------------------------------------

def open_file(path) -> h5py.File:
    """Open a ddsolver file for reading, complete, still being written or left by a killed run."""
    path = Path(path)
    if not path.is_file():
        raise DdsolverError(f"{str(path)!r}: no such file")
    try:
        # swmr=True also opens files whose writer is still running or was killed
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise DdsolverError(f"{str(path)!r}: cannot open as HDF5 ({exc})") from None


def root_attrs(f: h5py.File, path, newest: int) -> dict:
    """The root attributes as plain Python values, after checking that ``format_version`` is an
    integer this ddsolver can read (at most ``newest``)."""
    attrs = {k: python_value(v) for k, v in f.attrs.items()}
    version = attrs.get("format_version")
    if not isinstance(version, int):
        raise DdsolverError(f"{str(path)!r}: no valid format_version attribute ({version!r})")
    if version > newest:
        raise DdsolverError(f"{str(path)!r}: format version {version} is newer than ddsolver "
                            f"{__version__} can read (up to {newest}); upgrade ddsolver")
    return attrs


def complete_snapshots(series: dict[str, h5py.Dataset]) -> dict[str, np.ndarray]:
    """Every dataset cut to the snapshots written in all of them (a killed writer may leave
    some datasets one snapshot longer than the others)."""
    n = min(len(ds) for ds in series.values())
    return {name: ds[:n] for name, ds in series.items()}


def diagnostics_of(f: h5py.File) -> dict[str, h5py.Dataset]:
    """The ``/diagnostics`` datasets by path."""
    return {f"diagnostics/{k}": v for k, v in f["diagnostics"].items()}


def python_value(value):
    """An HDF5 attribute value as a plain Python object."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
