"""SIGTERM handled as Ctrl-C, even where Python cannot pass the exception on.

Within :class:`terminate_as_interrupt` (around every command of the CLI, main thread only),
SIGTERM raises :class:`Terminated`, a KeyboardInterrupt, so that a run closes its file with
status "interrupted". The signal is also remembered (:func:`requested`): when it lands in a
ctypes callback of numba's compiler, Python cannot raise it there and reports it as
"unraisable" (silenced here), and numba may go on or fail with an error of its own. So the
drive loop raises it again at its next stop (:func:`check`), and a writer closed by any
exception after it still records the run as interrupted.
"""

from __future__ import annotations

import signal
import sys
import threading

_requested = False


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C."""

    signum = signal.SIGTERM

    def __str__(self) -> str:
        return "terminated"


def requested() -> bool:
    """Whether SIGTERM arrived within the current :class:`terminate_as_interrupt` block."""
    return _requested


def check() -> None:
    """Raise :class:`Terminated` if SIGTERM arrived (and was perhaps swallowed)."""
    if _requested:
        raise Terminated


class terminate_as_interrupt:
    """Within the block (main thread only), SIGTERM raises :class:`Terminated` and is
    remembered (``received``, :func:`requested`)."""

    def __init__(self):
        self.previous, self.received, self.hook = None, False, None

    def __enter__(self):
        global _requested
        if threading.current_thread() is threading.main_thread():
            _requested = False
            self.previous = signal.signal(signal.SIGTERM, self._raise)
            self.hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        return self

    def _raise(self, signum, frame):
        global _requested
        self.received = _requested = True
        raise Terminated

    def _unraisable(self, unraisable) -> None:
        """Silence a Terminated that Python could not raise (it is remembered)."""
        if not isinstance(unraisable.exc_value, Terminated):
            self.hook(unraisable)

    def __exit__(self, *exc):
        global _requested
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
            sys.unraisablehook = self.hook
            _requested = False
