"""SIGTERM handled as Ctrl-C even when Python swallows the exception (a ctypes callback in
numba's compiler): remembered, raised again at the next stop, the run's file "interrupted"."""

import ctypes
import os
import signal

import numpy as np
import pytest

from ddsolver import normalize_case, signals
from ddsolver.drive import Progress, drive
from ddsolver.grid import CartesianGrid
from ddsolver.storage import SolutionWriter, load, partial_path

CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"activation": "relu"}, "training": {"t_final": 1},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"grid": {"r": {"min": 0, "max": 8, "cells": 50}}}}


def sigterm_in_a_ctypes_callback():
    """SIGTERM delivered while a ctypes callback runs: Python cannot raise it there."""
    ctypes.CFUNCTYPE(None)(lambda: os.kill(os.getpid(), signal.SIGTERM))()


def test_swallowed_sigterm_is_raised_at_the_next_stop(tmp_path, capsys):
    grid = CartesianGrid.from_dict(CASE["pde"]["grid"])
    writer = SolutionWriter(tmp_path / "run.h5", grid, normalize_case(CASE))
    stops = []

    def advance(stop):
        stops.append(stop)
        if stop == 1:
            sigterm_in_a_ctypes_callback()           # swallowed: the run goes on
            assert signals.requested()

    def observe(stop, elapsed):
        return {"t": float(stop), "risk": 1.0, "density": np.full(50, 1 / 8),
                "free_energy": 0.5, "mass": 1.0}

    with pytest.raises(signals.Terminated), signals.terminate_as_interrupt() as guard:
        drive(range(5), set(range(5)), advance, observe, Progress(4, "t", "test", show=False),
              writer=writer)
    assert stops == [0, 1] and guard.received and not signals.requested()
    assert "Terminated" not in capsys.readouterr().err           # the unraisable is silenced
    assert load(partial_path(tmp_path / "run.h5")).attrs["status"] == "interrupted"


def test_error_after_a_swallowed_sigterm_still_closes_as_interrupted(tmp_path):
    grid = CartesianGrid.from_dict(CASE["pde"]["grid"])
    with (pytest.raises(RuntimeError), signals.terminate_as_interrupt(),
          SolutionWriter(tmp_path / "run.h5", grid, normalize_case(CASE)) as writer):
        writer.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0)
        sigterm_in_a_ctypes_callback()
        raise RuntimeError("numba failed after the signal")
    assert load(partial_path(tmp_path / "run.h5")).attrs["status"] == "interrupted"
