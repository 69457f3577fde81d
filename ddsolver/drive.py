"""The drive loop shared by ``solve``, ``stationary`` and SGD ``simulate``.

A run is advanced from stop to stop; at each stop that is a snapshot the caller's ``observe``
returns one record (a dict of the writer's ``append`` arguments), which is kept and streamed to
the writer. A progress bar follows the stops (on a terminal by default), and the writer is closed
with the run's status and wall time, or, when the run raises, left marked as failed by its context
manager.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from . import signals

TIME_BAR = "{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]{postfix}"


@dataclass
class Progress:
    """What the progress bar shows: ``total`` in ``unit`` (None: no total), a description and,
    optionally, a ``bar_format`` and a function of a record giving the postfix text."""

    total: float | None
    unit: str
    desc: str
    bar_format: str | None = None
    postfix: Callable[[dict], dict] | None = None
    show: bool | None = None

    def visible(self) -> bool:
        """Shown when asked, or by default only on a terminal."""
        return sys.stderr.isatty() if self.show is None else bool(self.show)


@dataclass
class Drive:
    """The records of a finished drive and its wall time from the first stop."""

    records: list[dict] = field(default_factory=list)
    run_time: float = 0.0


def drive(stops: Iterable, snapshots: set, advance: Callable, observe: Callable,
          progress: Progress, *, writer=None, finish: Callable[[], dict] = dict,
          position: Callable = lambda stop: stop, state: Callable | None = None,
          initial: float = 0.0) -> Drive:
    """Advance to each stop, record the snapshots, stream them, close with a status.

    ``advance(stop)`` moves the run to ``stop``; for a stop in ``snapshots``,
    ``observe(stop, elapsed)`` returns the record (``elapsed``: seconds since the loop started),
    which is kept and passed to ``writer.append(**record)``. ``writer`` is a context manager or
    None; it is closed with the run time and the attributes ``finish()`` returns (``status``
    defaults to "complete"). ``position(stop)`` is the bar's value at a stop, ``initial`` its
    value before the first. ``state()``: the run state written with each snapshot (for
    ``--resume``; not kept in the records).
    """
    out = Drive()
    start = time.perf_counter()
    with ExitStack() as stack:
        if writer is not None:
            writer = stack.enter_context(writer)
        bar = stack.enter_context(tqdm(total=progress.total, disable=not progress.visible(),
                                       unit=progress.unit, desc=progress.desc,
                                       bar_format=progress.bar_format, initial=initial))
        for stop in stops:
            advance(stop)
            signals.check()                 # a SIGTERM that numba's compiler swallowed
            bar.update(position(stop) - bar.n)
            if stop not in snapshots:
                continue
            record = observe(stop, time.perf_counter() - start)
            out.records.append(record)
            if progress.postfix is not None:
                bar.set_postfix(progress.postfix(record))
            if writer is not None:
                writer.append(**record, **({} if state is None else {"state": state()}))
        out.run_time = time.perf_counter() - start
        if writer is not None:
            writer.close(**{"status": "complete", "run_time": out.run_time, **finish()})
    return out
