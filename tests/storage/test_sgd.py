"""HDF5 SGD files: round trip, layout, SWMR reading, interruptions, the fixture, load dispatch."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from ddsolver import DdsolverError, Solution, normalize_case
from ddsolver.case import case_to_json
from ddsolver.results import SgdResult
from ddsolver.storage import SgdWriter, load, load_sgd

DATA = Path(__file__).parents[1] / "data"
N, D = 20, 5
CASE = {"data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": D},
        "network": {"activation": "relu"},
        "training": {"t_final": 1},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "sgd": {"neurons": N, "eps": 1e-3}}


@pytest.fixture(scope="module")
def case():
    return normalize_case(CASE)


def snapshots(n, seed=0):
    """n random snapshots: (t, risk, coords, weights, diagnostics)."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        W = rng.standard_normal((N, D))
        yield 0.1 * k, 1.0 / (k + 1), {"r": np.linalg.norm(W, axis=1)}, W, \
            {"steps": 100 * k, "wall_time": 0.01 * k}


def write(path, case, n, save_weights=True, **close_attrs):
    with SgdWriter(path, case, 3, save_weights=save_weights, attrs={"eps": 1e-3}) as w:
        for t, risk, coords, W, diag in snapshots(n):
            w.append(t, risk, coords, W if save_weights else None, **diag)
        w.close(status="complete", **close_attrs)


def test_round_trip(tmp_path, case):
    path = tmp_path / "sgd.h5"
    write(path, case, 4, run_time=1.5)
    result = load(path)
    assert isinstance(result, SgdResult)
    expected = list(snapshots(4))
    np.testing.assert_array_equal(result.t, [s[0] for s in expected])
    np.testing.assert_array_equal(result.risk, [s[1] for s in expected])
    np.testing.assert_array_equal(result.coords["r"], [s[2]["r"] for s in expected])
    np.testing.assert_array_equal(result.weights, [s[3] for s in expected])
    assert set(result.coords) == {"r"}
    assert result.seed == 3 and case_to_json(result.case) == case_to_json(case)
    attrs = result.attrs
    assert attrs["format"] == "ddsolver.sgd" and attrs["format_version"] == 2
    assert attrs["status"] == "complete" and attrs["run_time"] == 1.5 and attrs["eps"] == 1e-3
    for name in ("ddsolver", "numpy", "numba", "h5py", "hdf5"):
        assert isinstance(attrs[f"{name}_version"], str)
    assert "created" in attrs


def test_layout_and_dimension_scales(tmp_path, case):
    path = tmp_path / "sgd.h5"
    write(path, case, 3)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "ddsolver.sgd" and f.attrs["seed"] == 3
        assert isinstance(f.attrs["format_version"], np.integer)
        assert f["t"].is_scale
        shapes = {"risk": (3,), "coords/r": (3, N), "weights": (3, N, D),
                  "diagnostics/steps": (3,), "diagnostics/wall_time": (3,)}
        for name, shape in shapes.items():
            assert f[name].shape == shape and f[name].maxshape[0] is None
            assert f[name].dims[0][0].name == "/t" and f[name].dims[0].label == "t"
        assert f["diagnostics/steps"].dtype == np.int64
        assert [d.label for d in f["weights"].dims] == ["t", "unit", "component"]
        assert f["weights"].dims[1][0].name == "/unit" and f["weights"].fletcher32


def test_weights_only_when_asked(tmp_path, case):
    path = tmp_path / "sgd.h5"
    write(path, case, 2, save_weights=False)
    with h5py.File(path, "r") as f:
        assert "weights" not in f
    result = load(path)
    assert result.weights is None and result.coords["r"].shape == (2, N)


def test_append_checks_its_arguments(tmp_path, case):
    W = np.ones((N, D))
    r = {"r": np.ones(N)}
    with SgdWriter(tmp_path / "a.h5", case, 0) as w:
        with pytest.raises(ValueError, match="save_weights=False"):
            w.append(0.0, 1.0, r, W)
        with pytest.raises(ValueError, match="coords"):
            w.append(0.0, 1.0, {"x": np.ones(N)}, None)
        with pytest.raises(ValueError, match=r"coords\['r'\] has shape \(19,\)"):
            w.append(0.0, 1.0, {"r": np.ones(N - 1)}, None)
        w.append(0.0, 1.0, r, None, steps=0)
        with pytest.raises(ValueError, match="diagnostics"):
            w.append(0.1, 1.0, r, None, wall_time=0.1)
    with SgdWriter(tmp_path / "b.h5", case, 0, save_weights=True) as w:
        with pytest.raises(ValueError, match="save_weights=True"):
            w.append(0.0, 1.0, r, None)
        with pytest.raises(ValueError, match=r"weights has shape \(20, 4\)"):
            w.append(0.0, 1.0, r, W[:, :4])


def test_read_while_writing(tmp_path, case):
    path = tmp_path / "sgd.h5"
    data = snapshots(3)
    with SgdWriter(path, case, 0, save_weights=True) as w:
        for _ in range(2):
            t, risk, coords, W, diag = next(data)
            w.append(t, risk, coords, W, **diag)
        with h5py.File(w.partial, "r", swmr=True) as reader:
            assert reader["t"].shape == (2,)
            t, risk, coords, W, diag = next(data)
            w.append(t, risk, coords, W, **diag)
            for name in ("t", "coords/r", "weights"):
                reader[name].refresh()
            np.testing.assert_array_equal(reader["t"][:], [0.0, 0.1, 0.2])
            np.testing.assert_array_equal(reader["coords/r"][2], coords["r"])
            np.testing.assert_array_equal(reader["weights"][2], W)
        running = load(w.partial)
        assert running.attrs["status"] == "running" and len(running.t) == 3
    assert load(path).attrs["status"] == "complete"


@pytest.mark.parametrize("error, status", [
    (FloatingPointError("overflow\nat step 7"), "failed: FloatingPointError: overflow at step 7"),
    (KeyboardInterrupt(), "interrupted"),
])
def test_interrupted_writer_keeps_snapshots(tmp_path, case, error, status):
    path = tmp_path / "sgd.h5"
    with pytest.raises(type(error)), SgdWriter(path, case, 0) as w:
        for t, risk, coords, _, diag in snapshots(2):
            w.append(t, risk, coords, None, **diag)
        raise error
    assert not path.exists()
    result = load(w.partial)
    assert result.attrs["status"] == status
    assert len(result.t) == 2 and result.coords["r"].shape == (2, N)


def test_killed_writer_leaves_readable_file(tmp_path):
    path = tmp_path / "sgd.h5"
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from ddsolver import normalize_case
        from ddsolver.storage import SgdWriter
        w = SgdWriter({str(path)!r}, normalize_case({CASE!r}), 5, save_weights=True)
        for k in range(3):
            w.append(0.1 * k, 1.0, {{"r": np.ones({N})}}, np.ones(({N}, {D})), steps=k)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    sgd = load_sgd(tmp_path / "sgd.partial.h5")
    assert sgd.attrs["status"] == "running" and sgd.seed == 5
    np.testing.assert_array_equal(sgd.t, [0.0, 0.1, 0.2])
    assert sgd.weights.shape == (3, N, D)


def test_existing_output_refused_and_untouched(tmp_path, case):
    path = tmp_path / "sgd.h5"
    write(path, case, 1)
    before = path.read_bytes()
    with pytest.raises(DdsolverError, match="already exists"):
        SgdWriter(path, case, 0)
    assert path.read_bytes() == before
    with SgdWriter(path, case, 1, overwrite=True):
        pass
    assert load(path).seed == 1 and len(load(path).t) == 0


def test_newer_format_refused(tmp_path, case):
    path = tmp_path / "sgd.h5"
    write(path, case, 1)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 3
    with pytest.raises(DdsolverError, match="format version 3 is newer.*upgrade ddsolver"):
        load(path)


def test_load_dispatches_on_format():
    assert isinstance(load(DATA / "solution_v1.h5"), Solution)
    assert isinstance(load(DATA / "sgd_v1.h5"), SgdResult)
    assert isinstance(load_sgd(DATA / "sgd_v1.h5"), SgdResult)
    with pytest.raises(DdsolverError, match="solution_v1.h5.*not a ddsolver SGD file"):
        load_sgd(DATA / "solution_v1.h5")


def test_version_1_fixture_still_loads():
    """tests/data/sgd_v1.h5 was written by the format-1 writer: never regenerate it."""
    result = load(DATA / "sgd_v1.h5")
    assert result.attrs["format_version"] == 1 and result.attrs["status"] == "complete"
    np.testing.assert_array_equal(result.t, [0.0, 0.1, 0.25, 0.5])
    assert result.seed == 7 and result.attrs["neurons"] == N and result.attrs["dim"] == D
    assert result.coords["r"].shape == (4, N) and result.weights.shape == (4, N, D)
    np.testing.assert_allclose(np.linalg.norm(result.weights, axis=2), result.coords["r"],
                               rtol=1e-14)
    assert np.all(np.diff(result.risk) < 0)
    assert result.case["sgd"]["neurons"] == N and result.case["data"]["dim"] == D
