"""Crash and concurrency safety, defensive reading, and files that netCDF tools read."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from ddsolver import DdsolverError, normalize_case
from ddsolver.grid import CartesianGrid
from ddsolver.storage import CorruptFileWarning, SolutionWriter, load, partial_path

ROOT = Path(__file__).parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"activation": "relu"}, "training": {"t_final": 1},
        "init": {"kind": "gaussian", "kappa": 0.8}}
GRID = {"r": {"min": 0, "max": 8, "cells": 50}}


@pytest.fixture(scope="module")
def case():
    return normalize_case(CASE)


def write(path, case, n=3, overwrite=False):
    grid = CartesianGrid.from_dict(GRID)
    with SolutionWriter(path, grid, case, overwrite=overwrite) as w:
        for k in range(n):
            w.append(0.1 * k, 1.0 / (k + 1), np.full(50, 1 / 8), 0.5, mass=1.0, steps=k)
    return path


def test_failed_run_leaves_old_file_untouched(tmp_path, case):
    path = write(tmp_path / "run.h5", case)
    before = path.read_bytes()
    grid = CartesianGrid.from_dict(GRID)
    with pytest.raises(RuntimeError) as raised, SolutionWriter(path, grid, case,
                                                               overwrite=True) as w:
        w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0, steps=0)
        raise RuntimeError("grid edge reached")
    assert path.read_bytes() == before
    assert "1 snapshots kept in" in raised.value.__notes__[0] and "is untouched" in \
        raised.value.__notes__[0]
    assert load(partial_path(path)).attrs["status"].startswith("failed: RuntimeError")
    path.unlink()
    with pytest.raises(DdsolverError, match="unfinished run left .*run.partial.h5"):
        write(path, case)


def test_second_writer_is_refused(tmp_path, case):
    path = tmp_path / "run.h5"
    grid = CartesianGrid.from_dict(GRID)
    with SolutionWriter(path, grid, case) as w:
        w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0, steps=0)
        script = (f"from ddsolver.storage import check_output_path\n"
                  f"check_output_path({str(path)!r}, overwrite=True)")
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=CHILD_ENV)
        assert other.returncode != 0 and "is being written by another run" in other.stderr
    assert len(load(path).t) == 1


def test_file_is_readable_from_its_creation(tmp_path, case):
    grid = CartesianGrid.from_dict(GRID)
    with SolutionWriter(tmp_path / "run.h5", grid, case,
                        diagnostics={"mass": 1.0, "steps": 0}) as w:
        empty = load(w.partial)
        assert len(empty.t) == 0 and empty.attrs["status"] == "running"
        w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0, steps=0)


@pytest.mark.parametrize("after_snapshot", [False, True])
def test_killed_writer_leaves_old_file_and_a_readable_partial(tmp_path, case, after_snapshot):
    path = write(tmp_path / "run.h5", case)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, numpy as np
        from ddsolver import normalize_case
        from ddsolver.grid import CartesianGrid
        from ddsolver.storage import SolutionWriter
        w = SolutionWriter({str(path)!r}, CartesianGrid.from_dict({GRID!r}),
                           normalize_case({CASE!r}), overwrite=True,
                           diagnostics={{"mass": 1.0}})
        if {after_snapshot}:
            w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0)
        os.kill(os.getpid(), 9)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=CHILD_ENV)
    assert result.returncode == -9, result.stderr.decode()
    assert path.read_bytes() == before
    assert len(load(partial_path(path)).t) == int(after_snapshot)


def test_truncated_file_gives_one_line_at_once(tmp_path, case):
    path = write(tmp_path / "run.h5", case)
    for size in (2048, path.stat().st_size // 2):
        cut = tmp_path / f"cut{size}.h5"
        cut.write_bytes(path.read_bytes()[:size])
        start = time.perf_counter()
        with pytest.raises(DdsolverError, match=rf"cut{size}.h5.*truncated file: {size} bytes"):
            load(cut)
        assert time.perf_counter() - start < 2


def test_truncated_partial_file_of_a_killed_run_does_not_hang(tmp_path, case):
    grid = CartesianGrid.from_dict(GRID)
    w = SolutionWriter(tmp_path / "run.h5", grid, case, diagnostics={"mass": 1.0})
    w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(w.partial.read_bytes()[:2048])        # still flagged as open for writing
    with pytest.raises(DdsolverError, match="truncated"):
        load(cut)
    w.close()


def test_flipped_bytes_are_detected(tmp_path, case):
    path = write(tmp_path / "run.h5", case)
    raw = bytearray(path.read_bytes())
    with h5py.File(path, "r") as f:
        offset = f["density"].id.get_chunk_info(1).byte_offset
    raw[offset + 100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DdsolverError, match="corrupt ddsolver.solution file.*/density.*checksum"):
        load(path)


@pytest.mark.parametrize("damage, reason", [
    (lambda f: f["density"].__setitem__(1, np.full(50, np.nan)), "/density has a non-finite"),
    (lambda f: f["density"].__setitem__(1, np.full(50, 1.0)), "mass at t = 0.1 is 8"),
    (lambda f: f["r"].__setitem__(3, 9.0), "stored r cell centres differ"),
    (lambda f: f["t"].__setitem__(2, 0.0), "/t is not increasing"),
])
def test_inconsistent_file_is_reported_corrupt(tmp_path, case, damage, reason):
    path = write(tmp_path / "run.h5", case)
    with h5py.File(path, "a") as f:
        damage(f)
    with pytest.warns(CorruptFileWarning, match=reason):
        sol = load(path)
    assert sol.attrs["status"].startswith("corrupt: ") and reason in sol.attrs["status"]
    assert sol.attrs["stored_status"] == "complete"


@pytest.mark.parametrize("case_text, message", [
    ("{not json", "corrupt ddsolver.solution file"),
    ("[1, 2]", "corrupt: the stored case is not a table"),
])
def test_bad_stored_case(tmp_path, case, case_text, message):
    path = write(tmp_path / "run.h5", case)
    with h5py.File(path, "a") as f:
        f.attrs["case"] = case_text
    if message.startswith("corrupt:"):
        with pytest.warns(CorruptFileWarning):
            assert load(path).attrs["status"].startswith(message)
    else:
        with pytest.raises(DdsolverError, match=message):
            load(path)


def test_foreign_and_non_hdf5_files(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "ddsolver.solution"
        f.attrs["format_version"] = 2
        f["t"] = np.arange(3.0)
    with pytest.raises(DdsolverError, match="foreign.h5.*corrupt ddsolver.solution file"):
        load(foreign)
    text = tmp_path / "text.h5"
    text.write_bytes(b"\x89HDF\r\n" + bytes(3000))
    with pytest.raises(DdsolverError, match="text.h5.*cannot open as HDF5"):
        load(text)


def test_missing_file_points_to_the_partial_file(tmp_path, case):
    grid = CartesianGrid.from_dict(GRID)
    with (SolutionWriter(tmp_path / "run.h5", grid, case, diagnostics={"mass": 1.0}),
          pytest.raises(DdsolverError, match="no such file.*see .*run.partial.h5")):
        load(tmp_path / "run.h5")


@pytest.mark.parametrize("name", ["solution_v1_lagrangian.h5", "sgd_v1_weights.h5"])
def test_version_1_fixtures_load(name):
    """Written by the version-1 writer (fixtures/make_v1.py): never regenerate them."""
    result = load(FIXTURES / name)
    assert result.attrs["format_version"] == 1 and result.attrs["status"] == "complete"
    np.testing.assert_array_equal(result.t, [0.0, 0.25, 0.5])
    if name.startswith("solution"):
        positions, weights = result.particles
        assert positions.shape == (3, 32, 1) and weights.size == 32
        np.testing.assert_allclose(result.mass, 1.0, rtol=1e-12)
        assert result.free_energy is not None and result.attrs["scheme"] == "lagrangian"
    else:
        assert result.weights.shape == (3, 12, 5) and result.seed == 3
        np.testing.assert_allclose(np.linalg.norm(result.weights, axis=2), result.coords["r"],
                                   rtol=1e-14)


def test_xarray_reads_solution_and_sgd_files(tmp_path):
    """Both file kinds, written by solve and simulate, open with xarray's h5netcdf engine."""
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    from ddsolver.sgd.run import simulate
    from ddsolver.solve import solve

    sys.path.insert(0, str(FIXTURES))
    try:
        from make_v1 import CASE as SMALL
    finally:
        sys.path.remove(str(FIXTURES))
    with pytest.warns(UserWarning, match="kernel series"):
        solve(SMALL, tmp_path / "pde.h5", progress=False)
    simulate(SMALL, output=tmp_path / "sgd.h5", save_weights=True, progress=False)
    sol, run = load(tmp_path / "pde.h5"), load(tmp_path / "sgd.h5")
    with xr.open_dataset(tmp_path / "pde.h5", engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["t"], sol.t)
        np.testing.assert_array_equal(ds["density"].transpose("t", "r"), sol.density)
        np.testing.assert_array_equal(ds["r"], sol.grid.axes[0].centres)
        np.testing.assert_array_equal(ds["risk"], sol.risk)
        assert ds["density"].dims == ("t", "r") and ds["r"].attrs["bounds"] == "r_bounds"
        assert ds.attrs["format_version"] == 2 and ds["risk"].attrs["units"] == "1"
    with xr.open_dataset(tmp_path / "pde.h5", engine="h5netcdf", group="particles") as ds:
        np.testing.assert_array_equal(ds["positions"], sol.particles[0])
    with xr.open_dataset(tmp_path / "pde.h5", engine="h5netcdf", group="diagnostics") as ds:
        np.testing.assert_array_equal(ds["mass"], sol.diagnostics["mass"])
    with xr.open_dataset(tmp_path / "sgd.h5", engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["weights"], run.weights)
        np.testing.assert_array_equal(ds["risk"], run.risk)
        assert ds["weights"].dims == ("t", "unit", "component")
    with xr.open_dataset(tmp_path / "sgd.h5", engine="h5netcdf", group="coords") as ds:
        np.testing.assert_array_equal(ds["r"], run.coords["r"])
    with xr.open_dataset(tmp_path / "sgd.h5", engine="h5netcdf", group="state") as ds:
        newest = int(ds["snapshot"].argmax())                  # the run state of the last snapshot
        assert int(ds["snapshot"][newest]) == len(run.t) - 1 and ds["W"].dims[0] == "slot"
        np.testing.assert_array_equal(ds["W"][newest], run.weights[-1])


def test_error_raised_while_handling_an_interrupt_is_interrupted(tmp_path, case):
    """numba, interrupted while compiling, re-raises its own error: still "interrupted"."""
    grid = CartesianGrid.from_dict(GRID)
    with pytest.raises(RuntimeError), SolutionWriter(tmp_path / "run.h5", grid, case) as w:
        w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0, steps=0)
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("compilation interrupted") from None
    assert load(partial_path(tmp_path / "run.h5")).attrs["status"] == "interrupted"
