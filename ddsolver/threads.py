"""Thread counts of the BLAS behind numpy and scipy during a solve.

Small matrix products gain nothing from BLAS threads, which only wait (next to numba's spinning
OpenMP threads or another busy process they stall every product), so the solvers run them on
one. ``threadpoolctl.threadpool_limits`` scans the process's loaded libraries on every use
(about 3 ms, as much as a whole spectral step on a small grid); the controller here scans once.
"""

from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_blas_thread():
    """A context manager limiting BLAS to one thread, restoring the previous counts on exit."""
    return _controller().limit(limits=1, user_api="blas")
