"""HDF5 solution files: round trip, streaming, SWMR reading, interruptions, refusals, old files."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from ddsolver import DdsolverError, normalize_case
from ddsolver.case import case_to_json
from ddsolver.grid import CartesianGrid
from ddsolver.storage import FORMAT_VERSION, SolutionWriter, check_output_path, load

DATA = Path(__file__).parents[1] / "data"
# subprocesses import this checkout's ddsolver
CHILD_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
        "network": {"activation": "relu"},
        "training": {"t_final": 1},
        "init": {"kind": "gaussian", "kappa": 0.8}}


@pytest.fixture(scope="module")
def case():
    return normalize_case(CASE)


@pytest.fixture(scope="module")
def grid():
    return CartesianGrid.from_dict({"r": {"min": 0, "max": 8, "cells": 50}})


def snapshots(grid, n, seed=0):
    """n random snapshots: (t, risk, normalised density, free energy, diagnostics)."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        density = rng.random(grid.shape)
        density /= density.sum() * grid.cell_volume
        yield k * 0.1, 1.0 / (k + 1), density, 0.4 / (k + 1) - 0.1, {
            "mass": 1.0, "steps": 10 * k, "wall_time": 0.01 * k}


def write(path, grid, case, n, **close_attrs):
    with SolutionWriter(path, grid, case, attrs={"scheme": "fv", "seed": 3}) as w:
        for t, risk, density, free_energy, diag in snapshots(grid, n):
            w.append(t, risk, density, free_energy, **diag)
        w.close(status="complete", **close_attrs)


def test_round_trip(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    write(path, grid, case, 5, run_time=1.5, compile_time=0.25)
    sol = load(path)
    expected = list(snapshots(grid, 5))
    np.testing.assert_array_equal(sol.t, [s[0] for s in expected])
    np.testing.assert_array_equal(sol.risk, [s[1] for s in expected])
    np.testing.assert_array_equal(sol.density, [s[2] for s in expected])
    np.testing.assert_array_equal(sol.free_energy, [s[3] for s in expected])
    np.testing.assert_allclose(sol.mass, 1.0, rtol=1e-12)
    assert sol.grid == grid
    assert case_to_json(sol.case) == case_to_json(case)
    assert set(sol.diagnostics) == {"mass", "steps", "wall_time"}
    assert sol.diagnostics["steps"].dtype == np.int64
    np.testing.assert_array_equal(sol.diagnostics["steps"], [0, 10, 20, 30, 40])
    assert sol.attrs["status"] == "complete"
    assert sol.attrs["format"] == "ddsolver.solution"
    assert sol.attrs["format_version"] == FORMAT_VERSION
    assert sol.attrs["scheme"] == "fv" and sol.attrs["seed"] == 3
    assert sol.attrs["run_time"] == 1.5 and sol.attrs["compile_time"] == 0.25
    for name in ("ddsolver", "numpy", "numba", "scipy", "h5py", "hdf5"):
        assert isinstance(sol.attrs[f"{name}_version"], str)
    assert "created" in sol.attrs


def test_layout_and_dimension_scales(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    write(path, grid, case, 3)
    with h5py.File(path, "r") as f:
        assert f["t"].is_scale and f["r"].is_scale
        for name in ("risk", "density", "free_energy", "diagnostics/mass",
                     "diagnostics/steps"):
            assert f[name].dims[0][0].name == "/t"
            assert f[name].shape[0] == 3 and f[name].maxshape[0] is None
            assert f[name].fletcher32 and f[name].attrs["units"] == "1"
        assert f["density"].dims[1][0].name == "/r"
        assert f["r"].attrs["bounds"] == "r_bounds" and f["r_bounds"].dims[0][0].name == "/r"
        np.testing.assert_allclose(f["r"][:], grid.axes[0].centres)
        np.testing.assert_allclose(f["r_bounds"][:, 0], grid.axes[0].edges[:-1])
        np.testing.assert_allclose(f["r_bounds"][:, 1], grid.axes[0].edges[1:])
        assert isinstance(f.attrs["format_version"], np.integer)


def test_read_while_writing(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    data = snapshots(grid, 3)
    with SolutionWriter(path, grid, case) as w:
        for _ in range(2):
            t, risk, density, free_energy, diag = next(data)
            w.append(t, risk, density, free_energy, **diag)
        with h5py.File(w.partial, "r", swmr=True) as reader:
            assert reader["t"].shape == (2,)
            t, risk, density, free_energy, diag = next(data)
            w.append(t, risk, density, free_energy, **diag)
            reader["t"].refresh()
            reader["density"].refresh()
            np.testing.assert_array_equal(reader["t"][:], [0.0, 0.1, 0.2])
            np.testing.assert_array_equal(reader["density"][2], density)
        running = load(w.partial)
        assert running.attrs["status"] == "running" and len(running.t) == 3
        assert not path.exists()
    assert load(path).attrs["status"] == "complete" and not w.partial.exists()


@pytest.mark.parametrize("error, status", [
    (RuntimeError("negative density\nat t = 0.3"),
     "failed: RuntimeError: negative density at t = 0.3"),
    (KeyboardInterrupt(), "interrupted"),
])
def test_interrupted_writer_keeps_snapshots(tmp_path, grid, case, error, status):
    path = tmp_path / "run.h5"
    with pytest.raises(type(error)) as raised, SolutionWriter(path, grid, case) as w:
        for t, risk, density, free_energy, diag in snapshots(grid, 2):
            w.append(t, risk, density, free_energy, **diag)
        raise error
    assert not path.exists() and "2 snapshots kept in" in raised.value.__notes__[0]
    sol = load(tmp_path / "run.partial.h5")
    assert sol.attrs["status"] == status
    assert len(sol.t) == 2 and sol.density.shape == (2, 50)


def test_killed_writer_leaves_readable_file(tmp_path):
    path = tmp_path / "run.h5"
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from ddsolver import normalize_case
        from ddsolver.grid import CartesianGrid
        from ddsolver.storage import SolutionWriter
        grid = CartesianGrid.from_dict({{"r": {{"min": 0, "max": 8, "cells": 50}}}})
        w = SolutionWriter({str(path)!r}, grid, normalize_case({CASE!r}))
        for k in range(3):
            w.append(0.1 * k, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, env=CHILD_ENV)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    sol = load(tmp_path / "run.partial.h5")
    assert sol.attrs["status"] == "running"
    np.testing.assert_array_equal(sol.t, [0.0, 0.1, 0.2])


def test_existing_output_refused_and_untouched(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    write(path, grid, case, 2)
    before = path.read_bytes()
    with pytest.raises(DdsolverError, match="run.h5.*already exists"):
        check_output_path(path, overwrite=False)
    with pytest.raises(DdsolverError, match="already exists"):
        SolutionWriter(path, grid, case)
    assert path.read_bytes() == before


def test_overwrite_replaces(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    write(path, grid, case, 2)
    with SolutionWriter(path, grid, case, overwrite=True) as w:
        t, risk, density, free_energy, diag = next(snapshots(grid, 1))
        w.append(t, risk, density, free_energy, **diag)
    assert len(load(path).t) == 1


def test_missing_folder_refused(tmp_path):
    with pytest.raises(DdsolverError, match="folder .*nowhere.* does not exist"):
        check_output_path(tmp_path / "nowhere" / "run.h5", overwrite=True)


def test_diagnostics_must_keep_their_names(tmp_path, grid, case):
    with SolutionWriter(tmp_path / "run.h5", grid, case) as w:
        w.append(0.0, 1.0, np.full(50, 1 / 8), 0.5, mass=1.0)
        with pytest.raises(ValueError, match="diagnostics"):
            w.append(0.1, 1.0, np.full(50, 1 / 8), 0.5, steps=3)
        with pytest.raises(ValueError, match="shape"):
            w.append(0.1, 1.0, np.full(49, 1 / 8), 0.5, mass=1.0)


def test_newer_format_refused(tmp_path, grid, case):
    path = tmp_path / "run.h5"
    write(path, grid, case, 1)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(DdsolverError, match="format version 3 is newer.*upgrade ddsolver"):
        load(path)


def test_foreign_files_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(DdsolverError, match="other.h5.*not a ddsolver solution"):
        load(other)
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(DdsolverError, match="text.h5.*cannot open as HDF5"):
        load(text)
    with pytest.raises(DdsolverError, match="missing.h5.*no such file"):
        load(tmp_path / "missing.h5")


def test_case_is_returned_as_stored(tmp_path, grid, case):
    """No defaults of today's schema are added to an old file's case: it says what was run."""
    path = tmp_path / "run.h5"
    write(path, grid, case, 1)
    old = json.loads(case_to_json(case))
    del old["pde"]["cfl"]
    with h5py.File(path, "a") as f:
        f.attrs["case"] = json.dumps(old)
    sol = load(path)
    assert sol.case == old and "cfl" not in sol.case["pde"] and len(sol.t) == 1


def test_version_1_fixture_still_loads():
    """tests/data/solution_v1.h5 was written by the format-1 writer: never regenerate it."""
    sol = load(DATA / "solution_v1.h5")
    assert sol.attrs["format_version"] == 1 and sol.attrs["status"] == "complete"
    np.testing.assert_array_equal(sol.t, [0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
    assert sol.grid == CartesianGrid.from_dict({"r": {"min": 0, "max": 8, "cells": 40}})
    assert sol.density.shape == (6, 40)
    np.testing.assert_allclose(sol.mass, 1.0, rtol=1e-12)
    np.testing.assert_allclose(sol.diagnostics["mass"], 1.0, rtol=1e-12)
    assert sol.risk[0] > sol.risk[-1]
    assert sol.case["data"] == {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40}
    assert sol.attrs["scheme"] == "fv"
    assert sol.free_energy is None                  # /free_energy came later, additively


def test_stationary_snapshot_at_infinite_time(tmp_path, grid, case):
    """A stationary (Gibbs) state is one snapshot at t = inf, as ddsolver.stationary writes."""
    path = tmp_path / "gibbs.h5"
    density = np.full(grid.shape, 1 / 8)
    with SolutionWriter(path, grid, case, attrs={"method": "newton"}) as w:
        w.append(np.inf, 0.3, density, -1.25, mass=1.0)
        w.close(status="complete", iterations=7, residual=1e-14, converged=True)
    sol = load(path)
    np.testing.assert_array_equal(sol.t, [np.inf])
    np.testing.assert_array_equal(sol.free_energy, [-1.25])
    np.testing.assert_array_equal(sol.density, [density])
    assert sol.attrs["converged"] is True and sol.attrs["iterations"] == 7
    assert "t ∈ [inf, inf]" in repr(sol)
