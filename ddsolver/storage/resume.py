"""Where a resumed run starts: the last snapshot on disk with a whole run state.

``ddsolver solve CASE -o OUT.h5 --resume`` (and ``sgd``) continues the run in ``OUT.partial.h5``
(left by a killed, interrupted or failed run) or, without one, the finished ``OUT.h5`` (to a
later ``t_final``). :func:`resume_point` reads that file, refuses it with one line when its case
differs from CASE in anything but ``training.t_final`` and the snapshot times after the ones
written (or the ``[validate]`` table, which no run reads), and returns the snapshots to keep and
the run state of the last of them (``/state``, two slots: see docs/hdf5-format.md). The run
restores the state and goes on; its steps and random draws are those of an uninterrupted run,
so the file it ends with is the same, snapshot for snapshot, bit for bit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..case import case_from_json, case_to_json
from ..errors import DdsolverError
from .stream import lock_output, open_file, partial_path, python_value, read_error

log = logging.getLogger("ddsolver")
IGNORED = ("training.t_final", "pde.snapshot_times", "sgd.snapshot_times", "validate")
SHOWN_DIFFERENCES = 3


@dataclass
class ResumePoint:
    """The first ``count`` snapshots of ``source`` and the run ``state`` at the last of them
    (time ``t``); ``count`` = 0: nothing usable (a run killed before its first snapshot), start
    again. ``complete``: ``source`` is a finished run of this very case, nothing to do."""

    source: Path
    count: int
    state: dict | None
    t: float
    created: str
    resumed: str = ""
    complete: bool = False

    def history(self) -> str:
        """The ``resumed`` attribute of the new file: earlier resumptions, then this one."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entry = f"{now} at t = {self.t:.17g} (snapshot {self.count - 1})"
        return f"{self.resumed}; {entry}" if self.resumed else entry


def resume_point(output, case: dict, fmt: str, version: int, times: np.ndarray,
                 header: dict | None = None) -> ResumePoint | None:
    """Where a run of the normalised ``case`` writing ``output`` (format ``fmt`` at ``version``,
    snapshot times ``times``, header attributes ``header`` such as the seed) resumes, or None
    when there is no file to resume (a new run)."""
    source = _source(output)
    if source is None:
        log.info("--resume: no %s or its partial file yet, starting a new run", output)
        return None
    lock_output(output).release()
    name = repr(str(source))
    with open_file(source) as f:
        try:
            attrs = {k: python_value(v) for k, v in f.attrs.items()}
            if attrs.get("format") != fmt:
                raise DdsolverError(f"--resume: {name} is not a {fmt} file "
                                    f"(format {attrs.get('format')!r})")
            if attrs.get("format_version") != version:
                raise DdsolverError(f"--resume: {name} has format version "
                                    f"{attrs.get('format_version')!r}; only version {version} "
                                    "files carry a run state (start again with --overwrite)")
            stored = case_from_json(attrs["case"])
            _refuse_changes(name, stored, case, header or {}, attrs)
            if "state" not in f:
                raise DdsolverError(f"--resume: {name} has no run state (/state): it was not "
                                    "written by solve or sgd; start again with --overwrite")
            count = min(len(f[path]) for path in _series(f))
            snapshot, state = _newest_state(f, count)
            written = f["t"][:snapshot + 1]
        except (KeyError, OSError, ValueError, TypeError, RuntimeError) as exc:
            raise DdsolverError(f"--resume: cannot read {name} ({read_error(exc)}); start "
                                "again with --overwrite") from None
    _refuse_times(name, written, times)
    point = ResumePoint(source, snapshot + 1, state, float(written[-1]) if snapshot >= 0
                        else 0.0, attrs.get("created", ""), attrs.get("resumed", ""))
    # finished, every time of the case written (the times written open the case's: checked)
    point.complete = attrs.get("status") == "complete" and point.count == len(times)
    return point


def _source(output) -> Path | None:
    """The file a resumed run of ``output`` continues: the partial file, else the output."""
    output, partial = Path(output), partial_path(output)
    return partial if partial.is_file() else output if output.is_file() else None


def stored_value(output, key: str, default):
    """The value at dotted ``key`` of the case stored in the file a resumed run of ``output``
    would continue (``default`` without one, or if it cannot be read: :func:`resume_point`
    then says why)."""
    source = _source(output)
    if source is None:
        return default
    try:
        with open_file(source) as f:
            value = case_from_json(python_value(f.attrs["case"]))
        for part in key.split("."):
            value = value[part]
    except (DdsolverError, KeyError, OSError, ValueError, TypeError, RuntimeError):
        return default
    return value


def _series(f) -> list[str]:
    """The datasets growing with the snapshots (their first axis is /t)."""
    out = []

    def visit(path, obj):
        if getattr(obj, "ndim", 0) and obj.ndim >= 1 and not path.startswith("state") and any(
                scale.name == "/t" for scale in obj.dims[0].values()):
            out.append(path)
    f.visititems(visit)
    return ["t", *out]


def _newest_state(f, count: int) -> tuple[int, dict | None]:
    """(snapshot, run state) of the newest whole slot among the first ``count`` snapshots;
    (−1, None) when there is none (a run killed before its first snapshot was complete). A
    slot that fails its checksum (a write torn by a kill) is passed over."""
    fields = {key: ds for key, ds in f["state"].items() if key != "snapshot" and not ds.is_scale}
    marks = f["state/snapshot"][:]
    for slot in np.argsort(marks)[::-1]:
        snapshot = int(marks[slot])
        if not 0 <= snapshot < count:
            continue
        try:
            return snapshot, {key: python_value(ds[slot]) if ds.ndim == 1 else ds[slot]
                              for key, ds in fields.items()}
        except OSError:
            continue
    return -1, None


def _flat(table: dict, prefix: str = "") -> dict:
    """A nested case as {dotted key: JSON text of the value}."""
    out = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{dotted}."))
        else:
            out[dotted] = json.dumps(value, sort_keys=True)
    return out


def case_changes(stored: dict, case: dict) -> list[str]:
    """What differs between a stored case and a new one, other than ``IGNORED`` keys, as
    "key (file X, case Y)" items."""
    old, new = (_flat(json.loads(case_to_json(c))) for c in (stored, case))
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if any(key == k or key.startswith(f"{k}.") for k in IGNORED):
            continue
        if old.get(key) != new.get(key):
            changes.append(f"{key} (file {_short(old.get(key))}, case {_short(new.get(key))})")
    return changes


def _short(text: str | None) -> str:
    if text is None:
        return "absent"
    return text if len(text) <= 40 else f"{text[:37]}..."


def _refuse_changes(name: str, stored: dict, case: dict, header: dict, attrs: dict) -> None:
    changes = case_changes(stored, case)
    changes += [f"{key} (file {attrs.get(key)!r}, run {value!r})" for key, value in header.items()
                if attrs.get(key) != value]
    if changes:
        more = (f" and {len(changes) - SHOWN_DIFFERENCES} more"
                if len(changes) > SHOWN_DIFFERENCES else "")
        raise DdsolverError(f"--resume: the case differs from the one {name} was run with, in "
                            f"{'; '.join(changes[:SHOWN_DIFFERENCES])}{more}; only "
                            "training.t_final and later snapshot times may change (or start "
                            "again with --overwrite)")


def _refuse_times(name: str, written: np.ndarray, times: np.ndarray) -> None:
    """The snapshot times already written must open the case's."""
    k = written.size
    if k and (times.size < k or not np.array_equal(times[:k], written)):
        differ = next((i for i in range(k) if i >= times.size or times[i] != written[i]), k)
        got = f"t = {times[differ]:.17g}" if differ < times.size else "none"
        raise DdsolverError(
            f"--resume: {name} has snapshots at the case's times up to t = {written[-1]:.17g}, "
            f"but snapshot {differ} is at t = {written[differ]:.17g} in the file and {got} in "
            "the case; a resumed run keeps the times written (give snapshot_times explicitly: "
            "the default 101 even times move with t_final)")
