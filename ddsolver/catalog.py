"""The run catalog: one row per ddsolver file under a folder (``ddsolver ls``, :func:`catalog`).

Each file is read defensively and cheaply: root attributes, dataset shapes and the last complete
element of ``/t`` and ``/risk``, never the snapshots. A file that cannot be read as a ddsolver
file (not HDF5, truncated, damaged, another program's HDF5) is listed with status
``unreadable: <reason>`` rather than stopping the listing. Rows are sorted by path.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
from pathlib import Path

import h5py

from .errors import DdsolverError
from .model import model_of
from .storage import hdf5, sgd
from .storage.guard import hdf5_reason, open_guarded, swmr_problem
from .storage.stream import python_value

#: the keys of every row, in table order (``--json`` writes them all, always)
FIELDS = ("path", "kind", "status", "snapshots", "t", "risk", "created", "version", "case_hash",
          "summary")
PATTERNS = ("*.h5", "*.hdf5")
HASH_LENGTH = 12
UNREADABLE = "unreadable"
# solution-format files written by another command carry its ``method`` attribute
METHOD_KINDS = {"frank-wolfe": "minimize", "newton": "stationary"}
FORMAT_KINDS = {hdf5.FORMAT: "solution", sgd.FORMAT: "sgd"}
# HDF5 refuses a plain read of a file whose writer runs or was killed; SWMR reads it, but can
# retry for minutes on damaged metadata, so a child process tries first (storage.guard)
WRITING = "already open for write"


def catalog(folder=".", *, depth: int | None = None, patterns=PATTERNS):
    """The ddsolver files under ``folder`` (recursively; ``depth`` 0 = the folder itself only)
    whose names match one of ``patterns``, one row per file with the keys :data:`FIELDS`: a
    pandas DataFrame when pandas is installed, else a list of dicts.

    ``kind``: solution, stationary, minimize or sgd (None if unreadable); ``status``: the file's
    (complete, running, interrupted, failed: …) or ``unreadable: <reason>``; ``snapshots``, ``t``,
    ``risk``: the number of complete snapshots and the last one's time and risk; ``created``
    (ISO 8601, UTC) and ``version`` (of ddsolver) as written; ``case_hash``: the first 12 hex
    digits of the SHA-256 of the stored normalised case (equal for runs of the same case);
    ``summary``: the model's one-line summary (with N, ε and the seed for SGD)."""
    rows = scan(folder, depth=depth, patterns=patterns)
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=list(FIELDS))


def scan(folder=".", *, depth: int | None = None, patterns=PATTERNS) -> list[dict]:
    """The rows of :func:`catalog` as a list of dicts, sorted by path; ``folder`` may also be
    one file."""
    folder = Path(folder)
    if folder.is_file():
        return [row(folder)]
    if not folder.is_dir():
        raise DdsolverError(f"{str(folder)!r}: no such folder")
    return [row(path) for path in sorted(_files(folder, depth, patterns))]


def _files(folder: Path, depth: int | None, patterns):
    """Files under ``folder`` matching ``patterns``, at most ``depth`` folders down."""
    for top, dirs, names in os.walk(folder):
        if depth is not None and len(Path(top).relative_to(folder).parts) >= depth:
            dirs.clear()
        for name in names:
            if any(fnmatch.fnmatch(name, p) for p in patterns):
                yield Path(top) / name


def row(path) -> dict:
    """The catalog row of one file; never raises on a bad file."""
    out = dict.fromkeys(FIELDS)
    out["path"] = str(path)
    try:
        with _open(path) as f:
            out.update(_read(f))
    except Exception as exc:   # any damage becomes one line, never a traceback
        out["status"] = f"{UNREADABLE}: {_one_line(exc)}"
    return out


def _open(path) -> h5py.File:
    """Open read-only: plainly, its global heap checked (:func:`~.storage.guard.open_guarded`),
    or with SWMR (a run going on or killed) once a child process has read the file that way
    within :data:`~.storage.guard.SWMR_SECONDS`."""
    try:
        return open_guarded(path)
    except OSError as exc:
        if WRITING not in str(exc):
            raise OSError(f"not an HDF5 file, or damaged ({hdf5_reason(str(exc))})") from None
    if problem := swmr_problem(path):
        raise OSError(f"open for writing (a run going on or killed) and {problem}")
    return h5py.File(path, "r", swmr=True)


# -- what is read from a file (attribute and dataset names of docs/hdf5-format.md) ---------------

def _attr(f: h5py.File, name: str):
    return python_value(f.attrs.get(name))


def _snapshots(f: h5py.File) -> int:
    """Snapshots complete in every time series (datasets with an unlimited first axis), as
    ``ddsolver.load`` counts them."""
    lengths = []
    f.visititems(lambda _, obj: lengths.append(len(obj)) if isinstance(obj, h5py.Dataset)
                 and obj.maxshape and obj.maxshape[0] is None else None)
    return min(lengths, default=0)


def _read(f: h5py.File) -> dict:
    kind = FORMAT_KINDS.get(_attr(f, "format"))
    if kind is None:
        raise DdsolverError("not a ddsolver file (no format attribute "
                            f"{' or '.join(map(repr, FORMAT_KINDS))})")
    kind = METHOD_KINDS.get(_attr(f, "method"), kind)
    case_text = _attr(f, "case")
    try:
        case = json.loads(case_text)
        summary = model_of(case).summary()
    except Exception as exc:   # a case this ddsolver cannot summarise
        raise DdsolverError(f"bad case attribute ({_one_line(exc)})") from None
    if kind == "sgd":
        summary += (f", N = {case['sgd']['neurons']}, ε = {case['sgd']['eps']:g}, "
                    f"seed {_attr(f, 'seed')}")
    n = _snapshots(f)
    return {"kind": kind, "status": _attr(f, "status"), "snapshots": n,
            "t": float(f["t"][n - 1]) if n else None,
            "risk": float(f["risk"][n - 1]) if n else None,
            "created": _attr(f, "created"), "version": _attr(f, "ddsolver_version"),
            "case_hash": case_hash(case), "summary": summary}


def case_hash(case: dict) -> str:
    """A short hash of a normalised case as stored (key order does not matter)."""
    text = json.dumps(case, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- output ----------------------------------------------------------------------------------------

def to_json(rows: list[dict]) -> str:
    """JSON text of catalog rows: a list of objects with the keys :data:`FIELDS`; infinite or
    NaN floats (t = inf of a stationary state or minimum) written as "inf", "nan" as in the
    stored case."""
    def plain(value):
        return str(value) if isinstance(value, float) and not math.isfinite(value) else value

    return json.dumps([{k: plain(r[k]) for k in FIELDS} for r in rows], indent=1)


def to_table(rows: list[dict], status_width: int = 56) -> str:
    """A fixed-width text table of catalog rows (status cut to ``status_width`` characters,
    ``created`` to the minute, UTC)."""
    def cell(key, value):
        if value is None:
            return "-"
        if key == "status" and len(value) > status_width:
            return value[:status_width - 1] + "…"
        if key == "created":
            return value[:16].replace("T", " ")
        if key == "t":
            return f"{value:g}"
        if key == "risk":
            return f"{value:.6g}"
        return str(value)

    header = {k: k.replace("case_hash", "case") for k in FIELDS}
    cells = [header] + [{k: cell(k, r[k]) for k in FIELDS} for r in rows]
    widths = {k: max(len(c[k]) for c in cells) for k in FIELDS}
    right = {"snapshots", "t", "risk"}
    return "\n".join("  ".join(c[k].rjust(widths[k]) if k in right else c[k].ljust(widths[k])
                               for k in FIELDS).rstrip() for c in cells)
