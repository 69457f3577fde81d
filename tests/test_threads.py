"""ddsolver.threads: the BLAS limit used during solves holds inside the context and the previous
counts come back after it."""

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from ddsolver.threads import single_blas_thread


def blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_single_blas_thread_limits_and_restores():
    np.ones((4, 4)) @ np.ones(4)                       # BLAS is loaded
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and all(n == 2 for n in before)
        with single_blas_thread():
            assert all(n == 1 for n in blas_threads())
        assert blas_threads() == before
        with single_blas_thread():                     # the cached controller is reusable
            assert all(n == 1 for n in blas_threads())
        assert blas_threads() == before
