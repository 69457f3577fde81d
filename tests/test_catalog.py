"""The run catalog (``ddsolver ls``, ``ddsolver.catalog``): every row against ``ddsolver.load``
of its file, unreadable files listed without a traceback, the JSON round trip, the case hash, the
command line."""

import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import h5py
import pytest

import ddsolver
from ddsolver.catalog import FIELDS, scan, to_json
from ddsolver.cli import main
from ddsolver.landscape import minimize
from ddsolver.model import model_of
from ddsolver.results import SgdResult
from ddsolver.sgd.run import simulate

DDSOLVER_FILES = ("pde.h5", "sub/again.h5", "sgd.h5", "other.h5", "min.h5", "sub/killed.h5")
UNREADABLE = ("truncated.h5", "foreign.h5", "notes.h5")
# a writer killed in SWMR mode: the file stays flagged open for writing
KILL_IN_SWMR = textwrap.dedent("""
    import os, sys, h5py
    f = h5py.File(sys.argv[1], "a", libver="latest")
    f.attrs["status"] = "running"
    f.swmr_mode = True
    os._exit(0)
""")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, make_case):
    root = tmp_path_factory.mktemp("runs")
    (root / "sub").mkdir()
    case = make_case(data={"dim": 10}, training={"t_final": 0.2},
                     pde={"snapshot_times": [0.0, 0.1, 0.2],
                          "grid": {"r": {"min": 0.0, "max": 8.0, "cells": 100}}},
                     sgd={"neurons": 20, "eps": 1e-3})
    for name in ("pde.h5", "sub/again.h5"):
        ddsolver.solve(case, root / name, progress=False)
    simulate(case, output=root / "sgd.h5", progress=False)
    simulate({**case, "data": {**case["data"], "delta": 0.6}}, output=root / "other.h5",
             progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # mass on the grid's edge: irrelevant here
        minimize(case, root / "min.h5")
    (root / "sub/killed.h5").write_bytes((root / "sgd.h5").read_bytes())
    subprocess.run([sys.executable, "-c", KILL_IN_SWMR, root / "sub/killed.h5"], check=True)
    data = (root / "pde.h5").read_bytes()
    (root / "truncated.h5").write_bytes(data[:len(data) // 2])
    with h5py.File(root / "foreign.h5", "w") as f:
        f["x"] = [1.0, 2.0]
        f.attrs["format"] = "someone.else"
    (root / "notes.h5").write_text("not HDF5\n")
    (root / "readme.txt").write_text("ignored by the default patterns\n")
    return root


@pytest.fixture(scope="module")
def rows(folder):
    return {Path(r["path"]).relative_to(folder).as_posix(): r for r in scan(folder)}


def test_every_row_agrees_with_load(folder, rows):
    assert sorted(rows) == sorted(DDSOLVER_FILES + UNREADABLE)
    paths = [r["path"] for r in rows.values()]
    assert paths == sorted(paths)
    for name in DDSOLVER_FILES:
        row, result = rows[name], ddsolver.load(folder / name)
        assert list(row) == list(FIELDS)
        attrs = result.attrs
        kind = ("sgd" if isinstance(result, SgdResult) else
                "minimize" if attrs.get("method") == "frank-wolfe" else "solution")
        assert row["kind"] == kind, name
        assert row["status"] == attrs["status"]
        assert row["snapshots"] == len(result.t)
        assert row["t"] == result.t[-1] and row["risk"] == result.risk[-1]
        assert row["created"] == attrs["created"]
        assert row["version"] == attrs["ddsolver_version"] == ddsolver.__version__
        assert row["summary"].startswith(model_of(result.case).summary())
    assert rows["sub/killed.h5"]["status"] == "running"
    assert rows["min.h5"]["t"] == math.inf
    assert "seed 0" in rows["sgd.h5"]["summary"]


def test_unreadable_files_are_listed_in_one_line(folder, rows):
    for name in UNREADABLE:
        row = rows[name]
        assert row["status"].startswith("unreadable: ") and "\n" not in row["status"]
        assert all(row[k] is None for k in FIELDS if k not in ("path", "status"))
    assert "not a ddsolver file" in rows["foreign.h5"]["status"]
    assert "truncated" in rows["truncated.h5"]["status"]
    for name in ("foreign.h5", "notes.h5"):     # load refuses them too
        with pytest.raises(ddsolver.DdsolverError):
            ddsolver.load(folder / name)


def test_case_hash_groups_runs_of_one_case(rows):
    same = {rows[name]["case_hash"] for name in ("pde.h5", "sub/again.h5", "sgd.h5", "min.h5")}
    assert len(same) == 1 and len(same.pop()) == 12
    assert rows["other.h5"]["case_hash"] != rows["sgd.h5"]["case_hash"]


def test_json_round_trip(folder, rows, capsys):
    rows = list(rows.values())
    assert main(["ls", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    expected = [{k: "inf" if r[k] == math.inf else r[k] for k in FIELDS} for r in rows]
    assert listed == expected == json.loads(to_json(rows))
    assert all(list(r) == list(FIELDS) for r in listed)


def test_catalog_table(folder, rows, monkeypatch):
    table = ddsolver.catalog(folder / "pde.h5")
    if not isinstance(table, list):
        assert list(table.columns) == list(FIELDS)
        table = table.to_dict("records")
    assert table == [rows["pde.h5"]]
    monkeypatch.setitem(sys.modules, "pandas", None)      # pandas not installed
    assert ddsolver.catalog(folder / "pde.h5") == [rows["pde.h5"]]


def test_command_line(folder, capsys):
    assert main(["ls", str(folder), "--depth", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["path", "kind", "status"]
    top = [name for name in DDSOLVER_FILES + UNREADABLE if "/" not in name]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(str(folder / n) for n in top)
    assert main(["ls", str(folder), "--glob", "*.txt", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["path"].endswith("readme.txt") and row["status"].startswith("unreadable: ")
    assert main(["ls", str(folder / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ddsolver: error: ") and "no such folder" in err
    assert len(err.splitlines()) == 1
