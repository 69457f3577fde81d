"""The streaming machinery shared by every ddsolver HDF5 format.

A :class:`StreamWriter` holds an exclusive lock on its output (``.OUT.h5.lock`` beside it),
writes to the partial file ``OUT.partial.h5`` and replaces ``OUT.h5`` with it only when the run
ends normally: a failed, interrupted or killed run leaves an earlier ``OUT.h5`` untouched and its
snapshots in the partial file. The partial file is in SWMR mode from its creation (when the
writer is told the diagnostics up front) or from the first snapshot: it can be read while the run
goes and survives a killed process with every snapshot written so far. Every dataset carries
HDF5's Fletcher-32 checksum. Attributes cannot change in SWMR mode, so
:meth:`~StreamWriter.close` reopens the file to record the final status. The reading helpers
open such a file whatever its state without hanging on a damaged one, check its format and
version, and cut the datasets to the snapshots complete in all of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
from filelock import FileLock, Timeout

from .. import signals
from .._version import __version__
from ..case import case_to_json
from ..environment import package_versions
from ..errors import DdsolverError

RUNNING = "running"
CHECKSUM = {"fletcher32": True}
# a netCDF dimension without coordinate values (as netCDF-4 and h5netcdf write it)
DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable."


def partial_path(path) -> Path:
    """Where a run writing ``path`` (``OUT.h5``) keeps its snapshots until it ends normally:
    ``OUT.partial.h5``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def lock_path(path) -> Path:
    """The lock file of an output ``OUT.h5``: ``.OUT.h5.lock`` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def lock_output(path) -> FileLock:
    """Take the exclusive lock on an output (released by the OS if the process dies), or refuse
    when another process holds it."""
    lock = FileLock(lock_path(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DdsolverError(f"output {str(path)!r} is being written by another run (lock "
                            f"{str(lock_path(path))!r} is held): wait for it to end or choose "
                            "another output") from None
    return lock


def check_output_path(path, overwrite: bool = False, *, locked: bool = False) -> Path:
    """Refuse an output path whose folder is missing, that another run is writing (unless
    ``locked``: the caller holds the lock), or that exists (it or the partial file of an
    unfinished run) unless ``overwrite``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DdsolverError(f"output {str(path)!r}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise DdsolverError(f"output {str(path)!r} is a folder, not a file")
    if not locked:
        lock_output(path).release()
    if path.exists() and not overwrite:
        raise DdsolverError(f"output {str(path)!r} already exists "
                            "(pass overwrite=True, or --overwrite on the command line)")
    partial = partial_path(path)
    if partial.exists() and not overwrite:
        raise DdsolverError(f"output {str(path)!r}: an unfinished run left {str(partial)!r} "
                            "(--resume to continue it, solve and sgd; --overwrite, or "
                            "overwrite=True, to start again)")
    return path


class StreamWriter:
    """Base of the streaming writers (a context manager); subclasses set ``FORMAT`` and
    ``FORMAT_VERSION``, create their datasets with :meth:`_series` and write with :meth:`_write`.

    The diagnostics must have the same names at every snapshot. If the ``with`` block exits on
    an exception the partial file is closed with status ``"interrupted"`` (KeyboardInterrupt) or
    ``"failed: <ErrorType>: <message>"``, keeping every snapshot, and not moved to the output; a
    note on the exception says where it is. :meth:`close` moves it to the output.
    """

    FORMAT: str
    FORMAT_VERSION: int

    def __init__(self, path, case: dict, *, header: dict, overwrite: bool = False,
                 attrs: dict | None = None, diagnostics: dict | None = None,
                 state: dict | None = None, resume=None):
        """Lock the output and create the partial file with the common root attributes, the
        format's ``header`` attributes and the caller's ``attrs``, the time axis ``/t`` (a
        dimension scale), the ``/diagnostics`` group and the format's datasets
        (:meth:`_layout`). ``diagnostics`` (name -> an example value, for the type): the
        diagnostics :meth:`_write` will get, so that the file is in SWMR mode, readable, from its
        creation; otherwise from the first snapshot. ``state`` (name -> an example array or
        number): the run state :meth:`_write` will get with every snapshot, kept in the two
        slots of ``/state`` for ``--resume``. ``resume``: a
        :class:`~ddsolver.storage.resume.ResumePoint`; the new file starts with its snapshots
        and state (built under a temporary name, then moved to the partial file)."""
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self._lock = lock_output(self.path)
        self.count = 0
        self._diagnostics = None
        self._names: list[str] = []
        self._state = None
        resuming = resume is not None and resume.count > 0
        target = self.partial.with_name(f".{self.partial.name}.resume") if resuming else None
        try:
            check_output_path(self.path, overwrite or resume is not None, locked=True)
            self._file = f = h5py.File(target or self.partial, "w", libver="latest")
        except BaseException:
            self._lock.release()
            raise
        f.attrs.update({"format": self.FORMAT, "format_version": self.FORMAT_VERSION,
                        "status": RUNNING, "case": case_to_json(case),
                        "Conventions": "CF-1.10"})
        set_attrs(f, header)
        f.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        f.attrs.update({f"{name}_version": v for name, v in package_versions().items()})
        set_attrs(f, attrs or {})
        if resuming:
            f.attrs.update({"created": resume.created, "resumed": resume.history()})
        self._series("t", (), "time", units="1").make_scale("t")
        f.create_group("diagnostics")
        try:
            self._layout()
            if state is not None:
                self._state_layout(state)
            if resuming:
                self._copy(resume, diagnostics)
                os.replace(target, self.partial)
            elif diagnostics is not None:
                self._start(diagnostics)
        except BaseException:
            f.close()
            (target or self.partial).unlink(missing_ok=True)
            self._lock.release()
            raise

    def _layout(self) -> None:
        """Create the format's datasets (subclasses)."""

    def _series(self, name: str, shape: tuple, long_name: str, dtype="f8", dims: tuple = (),
                units: str = "1", **storage) -> h5py.Dataset:
        """An empty dataset growing along time, with /t attached to its first axis and the
        dimension scales ``dims`` to the others; ``storage``: more h5py filter options."""
        ds = self._file.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape),
                                       chunks=(1, *shape) if shape else (64,), dtype=dtype,
                                       **CHECKSUM, **storage)
        set_attrs(ds, {"long_name": long_name, "units": units})
        if name != "t":
            attach(ds, (self._file["t"], *dims))
        self._names.append(name)
        return ds

    def _dimension(self, name: str, size: int) -> h5py.Dataset:
        """A netCDF dimension without coordinate values (``unit``, ``particle``, …)."""
        ds = self._file.create_dataset(name, shape=(size,), dtype="f4")
        ds.make_scale(f"{DIMENSION_ONLY}{size:10d}")
        return ds

    def _state_layout(self, state: dict) -> None:
        """``/state``: two slots of every run-state field (``state/<name>``, shape (2, …)) and
        ``state/snapshot``, the snapshot each slot holds (−1: none). :meth:`_write` fills the
        slots in turn after the snapshot itself, and writes the slot's snapshot index last, so
        that a run killed at any moment leaves at least one whole slot (or none yet)."""
        group = self._file.create_group("state")
        slot = self._dimension("state/slot", 2)
        marker = group.create_dataset("snapshot", data=np.full(2, -1, dtype=np.int64),
                                      **CHECKSUM)
        set_attrs(marker, {"long_name": "index of the snapshot whose run state each slot holds "
                                        "(-1: none)", "units": "1"})
        attach(marker, (slot,))
        shapes = {}
        for name, value in state.items():
            value = np.asarray(value)
            integer = value.dtype.kind in "iub"
            ds = group.create_dataset(name, shape=(2, *value.shape), chunks=(1, *value.shape),
                                      dtype="i8" if integer else "f8", **CHECKSUM)
            set_attrs(ds, {"long_name": f"run state for resuming: {name}", "units": "1"})
            dims = [slot]
            for size in value.shape:
                if size not in shapes:
                    shapes[size] = self._dimension(f"state/size{size}", size)
                dims.append(shapes[size])
            attach(ds, dims)
        self._state = {name: np.shape(value) for name, value in state.items()}

    def _copy(self, resume, diagnostics: dict) -> None:
        """Start from the first ``resume.count`` snapshots of ``resume.source`` and its state
        (in slot 0), then enter SWMR mode."""
        if diagnostics is None:
            raise ValueError("resuming needs the diagnostics up front")
        self._start(diagnostics, swmr=False)
        n = resume.count
        with open_file(resume.source) as src:
            for name in self._names:
                self._file[name].resize(n, axis=0)
                self._file[name][:] = src[name][:n]
        self.count = n
        self._store_state(resume.state, n - 1)
        self._file.flush()
        self._file.swmr_mode = True

    def _store_state(self, state: dict, snapshot: int) -> None:
        """Write ``state`` into the slot of ``snapshot`` (alternating), flush, then mark it."""
        if state.keys() != self._state.keys():
            raise ValueError(f"run state {sorted(state)} differs from the layout's "
                             f"{sorted(self._state)}")
        f, slot = self._file, snapshot % 2
        for name, value in state.items():
            f[f"state/{name}"][slot] = value
        f.flush()
        f["state/snapshot"][slot] = snapshot
        f.flush()

    def _start(self, diagnostics: dict, swmr: bool = True) -> None:
        """Create the diagnostics datasets (name -> an example value, giving the type), enter
        SWMR mode: from now on readers may open the file at any time."""
        for name, value in diagnostics.items():
            integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            self._series(f"diagnostics/{name}", (), name, dtype="i8" if integer else "f8")
        self._diagnostics = frozenset(diagnostics)
        if swmr:
            self._file.flush()
            self._file.swmr_mode = True

    def _write(self, values: dict, diagnostics: dict, state: dict | None = None) -> None:
        """Append one snapshot (``values`` by dataset path, and the diagnostics), flush it; then
        the run ``state`` (required when the writer was given one) into its slot."""
        if (state is None) != (self._state is None):
            raise ValueError("a run state is given with every snapshot exactly when the writer "
                             "was created with one")
        if self._diagnostics is None:
            self._start(diagnostics)
        elif diagnostics.keys() != self._diagnostics:
            raise ValueError(f"diagnostics {sorted(diagnostics)} differ from the first "
                             f"snapshot's {sorted(self._diagnostics)}")
        f, n = self._file, self.count
        values = {**values, **{f"diagnostics/{k}": v for k, v in diagnostics.items()}}
        for name, value in values.items():
            f[name].resize(n + 1, axis=0)
            f[name][n] = value
        f.flush()
        if state is not None:
            self._store_state(state, n)
        self.count += 1

    def close(self, status: str = "complete", *, commit: bool = True, **attrs) -> None:
        """Close the file, record the final ``status`` and run-level ``attrs`` (attributes cannot
        change in SWMR mode, hence the reopening), replace the output with it (unless not
        ``commit``: it stays the partial file) and release the lock. Closing twice is a no-op."""
        if not self._file:
            return
        try:
            self._file.close()
            with h5py.File(self.partial, "a", libver="latest") as f:
                set_attrs(f, {**attrs, "status": status})
            if commit:
                with open(self.partial, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(self.partial, self.path)
        finally:
            self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is None:
            self.close()
            return
        if interrupted(exc) or signals.requested():
            status = "interrupted"
        else:
            status = f"failed: {type(exc).__name__}: {' '.join(str(exc).split()) or 'no message'}"
        self.close(status, commit=False)
        old = "is untouched" if self.path.exists() else "was not written"
        exc.add_note(f"{self.count} snapshots kept in {str(self.partial)!r} (status "
                     f"{status.split(':')[0]!r}); {str(self.path)!r} {old}")


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a KeyboardInterrupt (Ctrl-C, or
    SIGTERM turned into one; numba, interrupted while compiling, re-raises its own error;
    a SIGTERM it swallowed is :func:`ddsolver.signals.requested`)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def attach(ds: h5py.Dataset, scales) -> None:
    """Attach one dimension scale to each axis of ``ds``, and label the axis with its name."""
    for dim, scale in zip(ds.dims, scales):
        dim.attach_scale(scale)
        dim.label = scale.name.rsplit("/", 1)[-1]


def set_attrs(obj: h5py.HLObject, attrs: Mapping) -> None:
    """Set HDF5 attributes; dicts are stored as JSON text."""
    for key, value in attrs.items():
        obj.attrs[key] = json.dumps(value) if isinstance(value, dict) else value


# -- reading --------------------------------------------------------------------------------------

def open_file(path) -> h5py.File:
    """Open a ddsolver file for reading, complete, still being written or left by a killed run.

    A plain open first, through :func:`~.guard.open_guarded` (a damaged global heap would make
    HDF5 loop forever): it fails at once on a truncated or foreign file, where an SWMR open can
    retry for minutes. Only a file flagged as open for writing (a running or killed writer) is
    opened again in SWMR mode, once a child process has read it so in a few seconds."""
    from .guard import open_guarded, swmr_problem

    path = Path(path)
    if not path.is_file():
        partial = partial_path(path)
        hint = (f" (a run writing it is going on or stopped: see {str(partial)!r})"
                if partial.is_file() else "")
        raise DdsolverError(f"{str(path)!r}: no such file{hint}")
    try:
        return open_guarded(path)
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise DdsolverError(f"{str(path)!r}: {_open_error(exc)}") from None
    if problem := swmr_problem(path):
        raise DdsolverError(f"{str(path)!r}: flagged as open for writing (a run going on or "
                            f"killed) and {problem}")
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise DdsolverError(f"{str(path)!r}: {_open_error(exc)}") from None


def _open_error(exc: OSError) -> str:
    """What is wrong with a file HDF5 cannot open, in a few words."""
    text = str(exc)
    if "truncated file" in text:
        sizes = dict(part.strip().split(" = ") for part in
                     text.split("(", 1)[-1].rstrip(")").split(",") if " = " in part)
        return (f"truncated file: {sizes.get('truncated file: eof', '?')} bytes of "
                f"{sizes.get('stored_eof', '?')} (cut short while copied or written?)")
    return f"cannot open as HDF5 ({text.split('(', 1)[-1].rstrip(')')})"


def read_error(exc: Exception) -> str:
    """What went wrong reading a dataset or attribute, in a few words (a failed Fletcher-32
    check says so)."""
    text = " ".join(str(exc).split())
    if "filter returned failure" in text or "checksum" in text:
        return f"checksum mismatch: bytes changed on disk ({text})"
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, OSError) else text


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
    some datasets one snapshot longer than the others); an unreadable one is named."""
    n = min(len(ds) for ds in series.values())
    out = {}
    for name, ds in series.items():
        try:
            out[name] = ds[:n]
        except OSError as exc:
            raise OSError(f"/{name}: {read_error(exc)}") from None
    return out


def diagnostics_of(f: h5py.File) -> dict[str, h5py.Dataset]:
    """The ``/diagnostics`` datasets by path."""
    return {f"diagnostics/{k}": v for k, v in f["diagnostics"].items()}


def nonfinite(arrays: Mapping[str, np.ndarray]) -> str | None:
    """The first of ``arrays`` (by name) with a NaN or infinite value, as a reason, or None."""
    for name, values in arrays.items():
        values = np.asarray(values, dtype=float)
        if not np.isfinite(values).all():
            k = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
            return f"/{name} has a non-finite value ({values[k]} at index {k})"
    return None


def case_problem(case) -> str | None:
    """Why a stored case cannot be what ddsolver wrote (not a table with a [data] table), or
    None."""
    if not isinstance(case, dict) or not isinstance(case.get("data"), dict):
        return "the stored case is not a table with a [data] table"
    return None


def case_rejection(case: dict) -> str | None:
    """The case validator's objection to a stored case, or None (a later ddsolver may reject
    what an earlier one wrote). Custom problems are not re-checked: that would run their
    Python file."""
    from ..case import normalize_case
    from ..model import model_class

    try:
        if model_class(case).runs_user_code:
            return None
        normalize_case(case)
    except (DdsolverError, ValueError, TypeError) as exc:
        return " ".join(str(exc).split())
    return None


def python_value(value):
    """An HDF5 attribute value as a plain Python object."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
