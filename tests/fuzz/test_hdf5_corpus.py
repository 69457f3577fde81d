"""A corpus of damaged and foreign HDF5 files, read in-process through ``ddsolver show``,
``ddsolver.load`` and the catalog (``ddsolver ls``): truncated at many points, bytes flipped at
random offsets, foreign HDF5 and non-HDF5 files, and the archived format-1 fixtures. Each read
ends within seconds, without a traceback, leaves the file as it was, and either reports the
problem (one line and a non-zero exit, or the status ``corrupt``) or returns exactly the
original data (a flip in unused bytes). A damaged global heap, on which HDF5 loops forever, is
also read in a child process, so that a regression fails instead of hanging."""

import hashlib
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.catalog import row
from ddsolver.cli import main
from ddsolver.errors import DdsolverError
from ddsolver.model.isotropic import IsotropicModel
from ddsolver.sgd.run import simulate

from ..storage.test_guard import loop_damage

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "storage" / "fixtures"
SECONDS = 5.0
CUTS = (0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)
FLIPS = 24                   # random offsets per file, 4 bytes inverted at each (a damaged
                             # global heap, on which HDF5 looped: storage.guard, is tested below)


def _case(scheme):
    case = IsotropicModel.examples()["w"]
    case["pde"] = {**case["pde"], "scheme": scheme}
    case["sgd"] = {"neurons": 40, "eps": 1e-3}
    return normalize_case(case)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """{name: (path, loaded result)} of a finite-volume and a Lagrangian solution and an SGD run."""
    folder = tmp_path_factory.mktemp("originals")
    paths = {"fv": folder / "fv.h5", "lagrangian": folder / "lagrangian.h5",
             "sgd": folder / "sgd.h5"}
    ddsolver.solve(_case("fv"), paths["fv"])
    ddsolver.solve(_case("lagrangian"), paths["lagrangian"])
    simulate(_case("fv"), 0, output=paths["sgd"], progress=False)
    return {name: (path, ddsolver.load(path)) for name, path in paths.items()}


def _mutants():
    rng = np.random.default_rng(0)
    out = [(f"{name}-cut{cut}", name, ("cut", cut)) for name in ("fv", "lagrangian", "sgd")
           for cut in CUTS]
    out += [(f"{name}-flip{k}", name, ("flip", float(rng.uniform(0.0, 1.0))))
            for name in ("fv", "lagrangian", "sgd") for k in range(FLIPS)]
    return out


MUTANTS = _mutants()


def _values(result):
    """The arrays a reader relies on: times, risk and the density or the SGD coordinates."""
    data = result.density if hasattr(result, "density") else np.array(
        [result.coords[c] for c in sorted(result.coords)])
    return np.asarray(result.t), np.asarray(result.risk), np.asarray(data)


def _read(path, capsys):
    """``ddsolver show``, the catalog row and ``ddsolver.load`` of ``path``: (exit code, stderr
    lines, loaded result or the DdsolverError)."""
    capsys.readouterr()
    code = main(["show", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "\n" not in str(row(path)["status"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = ddsolver.load(path)
        except DdsolverError as exc:
            assert "\n" not in str(exc).strip()
            result = exc
    return code, [line for line in err.splitlines() if line.startswith("ddsolver: error:")], result


def _check(path, capsys, original=None, blind=False):
    """The corpus's contract for one file (module docstring); returns the outcome. ``blind``:
    the damage only turned bytes 0x00 into 0xFF or back, which Fletcher-32 cannot see (its sums
    are modulo 65535, so the words 0x0000 and 0xFFFF are equal): a changed value is then the
    outcome "blind" rather than a failure."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    start = time.perf_counter()
    code, errors, result = _read(path, capsys)
    assert time.perf_counter() - start < SECONDS
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    if code not in (0, None):
        assert len(errors) <= 1
    if isinstance(result, DdsolverError):
        assert code not in (0, None)
        return "refused"
    status = str(result.attrs.get("status"))
    if status.startswith("corrupt"):
        assert code not in (0, None)
        return "corrupt"
    assert original is not None, status                 # a foreign file must not load
    same = all(np.array_equal(got, want) for got, want in zip(_values(result),
                                                               _values(original)))
    assert same or blind, "a damaged value was read back without notice"
    return "intact" if same else "blind"


@pytest.mark.parametrize("label, name, mutation", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_damaged_file(originals, tmp_path, capsys, label, name, mutation):
    source, original = originals[name]
    data = bytearray(source.read_bytes())
    kind, where = mutation
    if kind == "cut":
        data = data[:max(int(where * len(data)), 1)]
    else:
        offset = min(int(where * len(data)), len(data) - 4)
        blind = set(data[offset:offset + 4]) <= {0x00, 0xFF}
        data[offset:offset + 4] = bytes(255 - b for b in data[offset:offset + 4])
    path = tmp_path / f"{label}.h5"
    path.write_bytes(bytes(data))
    outcome = _check(path, capsys, original, blind=kind == "flip" and blind)
    if kind == "cut":
        assert outcome == "refused"


@pytest.mark.parametrize("label", ["empty", "text", "random", "foreign-hdf5", "no-datasets"])
def test_foreign_file(tmp_path, capsys, label):
    path = tmp_path / f"{label}.h5"
    if label == "empty":
        path.write_bytes(b"")
    elif label == "text":
        path.write_text("t,risk\n0,1\n")
    elif label == "random":
        path.write_bytes(np.random.default_rng(1).bytes(4096))
    else:
        with h5py.File(path, "w") as fh:
            fh.attrs["format"] = "ddsolver-solution" if label == "no-datasets" else "other"
            if label == "foreign-hdf5":
                fh["t"] = np.arange(3.0)
    assert _check(path, capsys) == "refused"


@pytest.mark.parametrize("name", ["solution_v1_lagrangian.h5", "sgd_v1_weights.h5"])
def test_older_format_loads(tmp_path, capsys, name):
    """The format-1 fixtures (written by the code before format 2) load and show as complete."""
    path = tmp_path / name
    path.write_bytes((FIXTURES / name).read_bytes())
    code, errors, result = _read(path, capsys)
    assert code in (0, None) and not errors
    assert str(result.attrs["status"]) == "complete" and np.all(np.isfinite(result.risk))


@pytest.mark.parametrize("which", ["first", "last"])
def test_damaged_global_heap_is_refused_not_looped_on(originals, tmp_path, which):
    """The damage HDF5 looped on forever in C (first found by a flip of the corpus, and 11 of 9000
    random damages of the three files) in the first global heap collection (the case, the
    format, …) or the last (the final status). ``show`` and ``ls`` of it, in a child process
    killed after 30 s, answer in one line."""
    data = bytearray(originals["sgd"][0].read_bytes())
    at = data.find(b"GCOL") if which == "first" else data.rfind(b"GCOL")
    loop_damage(data, at)
    path = tmp_path / "heap.h5"
    path.write_bytes(bytes(data))
    script = ("import sys\nfrom ddsolver.cli import main\n"
              "for command in ('show', 'ls'):\n"
              "    print('exit', main([command, sys.argv[1]]), flush=True)\n")
    child = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                           text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == 0 and "Traceback" not in child.stdout + child.stderr
    errors = child.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("ddsolver: error: ")
    assert f"damaged global heap collection at byte {at}" in errors[0]
    assert "exit 2" in child.stdout and "unreadable: damaged global heap" in child.stdout
