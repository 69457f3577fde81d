"""Resume: a run continued from the state stored with its last snapshot ends with the file an
uninterrupted run writes, bit for bit, for every scheme and for SGD; what may not be resumed is
refused in one line."""

import copy
import importlib

import h5py
import numpy as np
import pytest

import ddsolver.sgd.run as sgd_run
from ddsolver import DdsolverError
from ddsolver.cli import main
from ddsolver.sgd.run import simulate
from ddsolver.solve import solve
from ddsolver.storage import load, partial_path
from tests.fuzz.kill_trials import datasets

solve_module = importlib.import_module("ddsolver.solve")   # ddsolver.solve is also the function

TIMES = [0.0, 0.3, 0.5, 1.0, 1.7, 2.0]
AW = {"network": {"unit": "aw", "activation": "relu", "activation_params": {}},
      "init": {"kind": "gaussian", "kappa": 0.8, "a": {"kind": "uniform", "low": -1, "high": 1}},
      "grid": {"a": {"min": -3, "max": 3, "cells": 20}, "r": {"min": 0, "max": 6, "cells": 20}}}
SCHEMES = {
    "fv": {"pde": {"scheme": "fv", "grid": {"r": {"min": 0, "max": 8, "cells": 200}}}},
    "fv-semi-implicit": {"training": {"beta": 400.0, "lambda": 0.05},
                         "pde": {"scheme": "fv", "integrator": "semi_implicit",
                                 "grid": {"r": {"min": 0, "max": 8, "cells": 200}}}},
    "spectral": {"training": {"beta": 400.0, "lambda": 0.05},
                 "pde": {"scheme": "spectral", "tol": 1e-9,
                         "grid": {"r": {"min": 0, "max": 4, "cells": 96}}}},
    "lagrangian-1d": {"pde": {"scheme": "lagrangian",
                              "grid": {"r": {"min": 0, "max": 8, "cells": 100}}}},
    "lagrangian-dop853": {"pde": {"scheme": "lagrangian", "integrator": "dop853",
                                  "grid": {"r": {"min": 0, "max": 8, "cells": 100}}}},
    "lagrangian-2d": {"network": AW["network"], "init": AW["init"],
                      "pde": {"scheme": "lagrangian", "particles": 512, "grid": AW["grid"]}},
    "kernel": {"network": {**AW["network"], "scale": 8.0}, "init": AW["init"],
               "training": {"regime": "kernel", "penalty": "anchored", "lambda": 0.2},
               "pde": {"grid": AW["grid"]}},
}
SGD = {
    "w": {"sgd": {"neurons": 50, "eps": 1e-4, "save_weights": True}},
    "awb-noisy-batch": {"network": {"unit": "awb", "activation": "relu", "activation_params": {}},
                        "training": {"beta": 1000.0, "lambda": 0.01},
                        "init": {**AW["init"], "b": {"kind": "constant", "value": 0.1}},
                        "sgd": {"neurons": 40, "eps": 1e-4, "batch": 4}},
}


def variant(make_case, tables, t_final=2.0, key="pde"):
    """The 9.1 case with ``tables`` to ``t_final`` with the snapshots of TIMES up to it."""
    tables = copy.deepcopy(tables)
    tables.setdefault("training", {})["t_final"] = t_final
    tables.setdefault(key, {})["snapshot_times"] = [t for t in TIMES if t <= t_final]
    return make_case(**tables)


def assert_same_file(path, reference):
    """Same datasets, equal bit for bit (NaN where NaN)."""
    got, want = datasets(path), datasets(reference)
    assert got.keys() == want.keys()
    differ = [k for k in want if got[k].shape != want[k].shape
              or not np.array_equal(got[k], want[k], equal_nan=True)]
    assert not differ, differ
    assert len(got["t"]) == len(TIMES)


class Interrupt:
    """Replace ``module.attribute`` (an advance factory or the drive loop's advance) so that the
    run is interrupted at its ``after``-th stop, as Ctrl-C would."""

    def __init__(self, monkeypatch, module, name, after):
        original = getattr(module, name)

        def patched(*args, **kwargs):
            advance = original(*args, **kwargs)
            calls = [0]

            def interrupted(stop):
                calls[0] += 1
                if calls[0] == after:
                    raise KeyboardInterrupt
                return advance(stop)
            return interrupted
        monkeypatch.setattr(module, name, patched)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_extended_solve_is_bit_identical(tmp_path, make_case, capsys, scheme):
    """A run to t = 1 resumed to t = 2 writes what a run to t = 2 does."""
    full = variant(make_case, SCHEMES[scheme])
    solve(full, tmp_path / "full.h5", progress=False)
    solve(variant(make_case, SCHEMES[scheme], 1.0), tmp_path / "run.h5", progress=False)
    sol = solve(full, tmp_path / "run.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "run.h5", tmp_path / "full.h5")
    assert sol.t.tolist() == TIMES and sol.attrs["status"] == "complete"
    assert "at t = 1 (snapshot 3)" in sol.attrs["resumed"]
    if scheme == "fv":
        assert main(["show", str(tmp_path / "run.h5")]) == 0
        assert "complete; resumed 20" in capsys.readouterr().out


@pytest.mark.parametrize("scheme", ["fv", "lagrangian-2d"])
def test_interrupted_solve_resumes_bit_identical(tmp_path, make_case, monkeypatch, scheme):
    """Interrupted at its 30th stop (after some snapshots), resumed: the uninterrupted file."""
    case = variant(make_case, SCHEMES[scheme])
    solve(case, tmp_path / "full.h5", progress=False)
    with monkeypatch.context() as patch:
        Interrupt(patch, solve_module, "guarded_advance", after=30)
        with pytest.raises(KeyboardInterrupt):
            solve(case, tmp_path / "run.h5", progress=False)
    partial = load(partial_path(tmp_path / "run.h5"))
    assert partial.attrs["status"] == "interrupted" and 0 < len(partial.t) < len(TIMES)
    solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "run.h5", tmp_path / "full.h5")
    assert not partial_path(tmp_path / "run.h5").exists()


@pytest.mark.parametrize("name", list(SGD))
def test_sgd_extended_and_interrupted_are_bit_identical(tmp_path, make_case, monkeypatch, name):
    """Chunks of 3000 steps (t = 0.3): SGD to t = 1 resumed to 2, and SGD interrupted in its
    fourth chunk and resumed, write the file of an uninterrupted run, weights included."""
    monkeypatch.setattr(sgd_run, "CHUNK_STEPS", 3000)
    full = variant(make_case, SGD[name], key="sgd")
    simulate(full, 5, output=tmp_path / "full.h5", progress=False)
    simulate(variant(make_case, SGD[name], 1.0, key="sgd"), 5, output=tmp_path / "ext.h5",
             progress=False)
    result = simulate(full, 5, output=tmp_path / "ext.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "ext.h5", tmp_path / "full.h5")
    assert result.t.tolist() == TIMES
    with monkeypatch.context() as patch:
        original = sgd_run.drive

        def drive(stops, *args, **kwargs):
            return original(stops[:5] + [None], *args, **kwargs)   # None: not a step
        patch.setattr(sgd_run, "drive", drive)
        with pytest.raises(TypeError):
            simulate(full, 5, output=tmp_path / "cut.h5", progress=False)
    assert 0 < len(load(partial_path(tmp_path / "cut.h5")).t) < len(TIMES)
    simulate(full, 5, output=tmp_path / "cut.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "cut.h5", tmp_path / "full.h5")


def test_torn_state_slot_falls_back_to_the_previous_snapshot(tmp_path, make_case, monkeypatch):
    """A failed checksum in the newest state slot (a write torn by a kill): the run resumes
    from the snapshot before, rewrites the last one, and still ends with the same file."""
    case = variant(make_case, SCHEMES["fv"])
    solve(case, tmp_path / "full.h5", progress=False)
    with monkeypatch.context() as patch:
        Interrupt(patch, solve_module, "guarded_advance", after=40)
        with pytest.raises(KeyboardInterrupt):
            solve(case, tmp_path / "run.h5", progress=False)
    partial = partial_path(tmp_path / "run.h5")
    with h5py.File(partial, "r") as f:
        marks = f["state/snapshot"][:]
        newest = int(marks.argmax())
        offset = f["state/p"].id.get_chunk_info(newest).byte_offset
    with open(partial, "r+b") as fh:
        fh.seek(offset + 64)
        byte = fh.read(1)
        fh.seek(offset + 64)
        fh.write(bytes([byte[0] ^ 0xFF]))
    solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "run.h5", tmp_path / "full.h5")
    assert f"(snapshot {marks.max() - 1})" in load(tmp_path / "run.h5").attrs["resumed"]


def test_killed_before_the_first_snapshot_starts_again(tmp_path, make_case):
    """A partial file without any snapshot: resume is a new run."""
    case = variant(make_case, SCHEMES["fv"])
    solve(case, tmp_path / "full.h5", progress=False)
    with h5py.File(tmp_path / "full.h5", "r") as f, \
            h5py.File(partial_path(tmp_path / "run.h5"), "w") as g:
        for key, value in f.attrs.items():
            g.attrs[key] = value
        g.create_dataset("t", shape=(0,), maxshape=(None,), dtype="f8")
        g.create_group("state").create_dataset("snapshot", data=[-1, -1])
    solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "run.h5", tmp_path / "full.h5")


def test_resume_of_a_finished_run_does_nothing(tmp_path, make_case):
    case = variant(make_case, SCHEMES["fv"])
    solve(case, tmp_path / "run.h5", progress=False)
    before = (tmp_path / "run.h5").read_bytes()
    sol = solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert (tmp_path / "run.h5").read_bytes() == before and len(sol.t) == len(TIMES)


def test_resume_without_a_file_is_a_new_run(tmp_path, make_case):
    case = variant(make_case, SCHEMES["fv"])
    solve(case, tmp_path / "full.h5", progress=False)
    solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert_same_file(tmp_path / "run.h5", tmp_path / "full.h5")


@pytest.mark.parametrize("change, message", [
    ({"training": {"lambda": 0.1}}, r"training.lambda \(file 0.0, case 0.1\)"),
    ({"pde": {"grid": {"r": {"min": 0, "max": 8, "cells": 100}}}},
     r"pde.grid.r.cells \(file 200, case 100\)"),
    ({"pde": {"snapshot_times": [0.0, 0.4, 1.0]}},
     r"snapshot 1 is at t = 0.29999999999999999 in the file and t = 0.4000"),
])
def test_changed_case_is_refused(tmp_path, make_case, change, message):
    short = variant(make_case, SCHEMES["fv"], 1.0)
    solve(short, tmp_path / "run.h5", progress=False)
    before = (tmp_path / "run.h5").read_bytes()
    tables = copy.deepcopy(SCHEMES["fv"])
    for name, entries in change.items():
        tables.setdefault(name, {}).update(entries)
    case = variant(make_case, tables)
    case["pde"]["snapshot_times"] = change.get("pde", {}).get("snapshot_times",
                                                             case["pde"]["snapshot_times"])
    with pytest.raises(DdsolverError, match=message) as raised:
        solve(case, tmp_path / "run.h5", resume=True, progress=False)
    assert "\n" not in str(raised.value)
    assert (tmp_path / "run.h5").read_bytes() == before


def test_other_refusals(tmp_path, make_case):
    """Another seed, another file kind, a file without run state, resume with overwrite."""
    case = variant(make_case, SGD["w"], 1.0, key="sgd")
    simulate(case, 5, output=tmp_path / "sgd.h5", progress=False)
    with pytest.raises(DdsolverError, match=r"seed \(file 5, run 6\)"):
        simulate(case, 6, output=tmp_path / "sgd.h5", resume=True, progress=False)
    with pytest.raises(DdsolverError, match="is not a ddsolver.solution file"):
        solve(case, tmp_path / "sgd.h5", resume=True, progress=False)
    with h5py.File(tmp_path / "sgd.h5", "a") as f:
        del f["state"]
    with pytest.raises(DdsolverError, match=r"has no run state \(/state\)"):
        simulate(case, 5, output=tmp_path / "sgd.h5", resume=True, progress=False)
    with pytest.raises(DdsolverError, match="not with overwrite"):
        solve(case, tmp_path / "x.h5", resume=True, overwrite=True)
