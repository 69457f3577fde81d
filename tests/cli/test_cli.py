"""The ddsolver command: every command, and one-line errors with exit code 2 for user mistakes."""

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

import ddsolver.storage
from ddsolver import __version__, validation
from ddsolver.cli import main
from ddsolver.storage import load, load_sgd

DATA = Path(__file__).parents[1] / "data"
FIXTURE = DATA / "solution_v1.h5"
SGD_FIXTURE = DATA / "sgd_v1.h5"
SGD_CASE = """\
[data]
kind = "isotropic_gaussians"
delta = 0.8
dim = 5

[network]
activation = "relu"

[training]
t_final = 0.5

[init]
kind = "gaussian"
kappa = 0.8

[sgd]
neurons = 20
eps = 1e-3
seeds = [4]
snapshot_times = [0, 0.1, 0.2, 0.3, 0.4]
"""
CASE = """\
[data]
kind = "isotropic_gaussians"
delta = 0.8
dim = 40

[network]
activation = "relu"

[training]
t_final = 1

[init]
kind = "gaussian"
kappa = 0.8

[pde.grid.r]
max = 8
cells = 100
"""


NOISY = CASE.replace("t_final = 1", "t_final = 1\nlambda = 0.1\nbeta = 200").replace(
    "cells = 100", "cells = 200")


def case_file(tmp_path, old="", new="", text=CASE):
    """The tiny case above (or ``text``), with ``old`` replaced by ``new``."""
    path = tmp_path / "case.toml"
    path.write_text(text.replace(old, new))
    return path


def error_line(capsys):
    err = capsys.readouterr().err
    assert err.startswith("ddsolver: error: ") and err.count("\n") == 1, err
    return err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ddsolver {__version__}"


def test_console_script_version():
    script = Path(sys.executable).with_name("ddsolver")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"ddsolver {__version__}"


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("ddsolver", "numpy", "numba", "h5py", "hdf5", "platform", "cpu_count",
                "numba_threads", "numba_threading_layer", "NUMBA_CACHE_DIR", "numba_cache_files"):
        assert f"\n{key} " in "\n" + out, key


def test_show(capsys):
    assert main(["show", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    for text in ("status     complete", "snapshots  6, t in [0, 4]", "r: 40 cells on [0, 8]",
                 "data: kind=isotropic_gaussians delta=0.8 dim=40", "steps      125",
                 "ddsolver 0.1.0"):
        assert text in out, text


def test_show_reports_incomplete_file(tmp_path, capsys):
    path = tmp_path / "run.h5"
    shutil.copy(FIXTURE, path)
    with h5py.File(path, "a") as f:
        f.attrs["status"] = "running"
    assert main(["show", str(path)]) == 0
    assert "incomplete (running: still being written, or the run was killed; --resume" in \
        capsys.readouterr().out


def test_warnings_are_one_line(tmp_path, capsys):
    """Mass reaching a too-small grid with on_boundary = "warn": one warning line, exit 0."""
    path = case_file(tmp_path, "max = 8\ncells = 100", 'max = 1.5\ncells = 100\n[pde]\n'
                     'scheme = "fv"\non_boundary = "warn"')
    assert main(["solve", str(path), "-o", str(tmp_path / "out.h5"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("ddsolver: warning: ") and err.count("\n") == 1, err
    assert "widen pde.grid.r" in err


def test_plot(tmp_path, capsys):
    figure = tmp_path / "fig.png"
    assert main(["plot", str(FIXTURE), "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000
    copy = tmp_path / "run.h5"
    shutil.copy(FIXTURE, copy)
    assert main(["plot", str(copy)]) == 0
    assert (tmp_path / "run.png").stat().st_size > 20_000
    assert capsys.readouterr().out.endswith("run.png\n")


def test_solve(tmp_path, capsys, assert_invariants):
    output = tmp_path / "run.h5"
    assert main(["solve", str(case_file(tmp_path)), "-o", str(output), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "snapshots    101, t in [0, 1]" in out and f"output       {output}" in out
    sol = load(output)
    assert f"free energy  {sol.free_energy[0]:.6g} at t = 0  ->  {sol.free_energy[-1]:.6g}" \
        in out
    assert sol.attrs["status"] == "complete" and sol.density.shape == (101, 100)
    assert_invariants(sol)
    assert sol.risk[-1] < sol.risk[0]


@pytest.mark.parametrize("old, new, message", [
    ("kappa = 0.8", "kapa = 0.8", "init.kapa: unknown key"),
    ("kappa = 0.8", 'kappa = "big"', "init.kappa: expected a number, got 'big'"),
    ("delta = 0.8", "delta = 1.5", "data.delta: expected a number > 0 and < 1, got 1.5"),
    ("cells = 100", "cells = 1", "pde.grid.r.cells: expected an integer >= 2, got 1"),
    ("[data]", "[data", "invalid TOML"),
])
def test_bad_case(tmp_path, capsys, old, new, message):
    assert main(["solve", str(case_file(tmp_path, old, new)), "-o", str(tmp_path / "o.h5")]) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "o.h5").exists()


def test_missing_case_file(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "o.h5")]) == 2
    assert "no such file" in error_line(capsys)


def test_existing_output_is_never_touched(tmp_path, capsys):
    output = tmp_path / "run.h5"
    shutil.copy(FIXTURE, output)
    before = output.read_bytes()
    assert main(["solve", str(case_file(tmp_path)), "-o", str(output)]) == 2
    assert f"{str(output)!r} already exists" in error_line(capsys)
    bad = case_file(tmp_path, "delta = 0.8", "delta = 1.5")
    assert main(["solve", str(bad), "-o", str(output), "--overwrite"]) == 2
    assert "data.delta" in error_line(capsys)
    assert output.read_bytes() == before


def test_missing_output_folder(tmp_path, capsys):
    output = tmp_path / "nowhere" / "run.h5"
    assert main(["solve", str(case_file(tmp_path)), "-o", str(output)]) == 2
    assert "nowhere' does not exist" in error_line(capsys)


@pytest.mark.parametrize("command", ["show", "plot"])
def test_unreadable_solution(tmp_path, capsys, command):
    assert main([command, str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5': no such file" in error_line(capsys)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    assert main([command, str(other)]) == 2
    assert "not a ddsolver solution" in error_line(capsys)


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["solve", "case.toml"], ["show"],
                                  ["sgd", "case.toml"], ["validate"], ["sgd", "c.toml", "-o",
                                                                       "o.h5", "--seed", "x"]])
def test_usage_errors(argv, capsys):
    assert main(argv) == 2
    assert "usage: ddsolver" in capsys.readouterr().err


def test_keyboard_interrupt(monkeypatch, capsys):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(ddsolver.storage, "load", interrupted)
    assert main(["show", str(FIXTURE)]) == 130
    assert capsys.readouterr().err == "ddsolver: interrupted\n"


# -- sgd, demo, validate --------------------------------------------------------------------------

def sgd_case(tmp_path, old="", new=""):
    path = tmp_path / "sgd.toml"
    path.write_text(SGD_CASE.replace(old, new))
    return path


def run_sgd(tmp_path, name, *options):
    output = tmp_path / name
    assert main(["sgd", str(sgd_case(tmp_path)), "-o", str(output), "--no-progress",
                 *options]) == 0
    return load_sgd(output)


def test_sgd(tmp_path, capsys):
    result = run_sgd(tmp_path, "a.h5", "--save-weights")
    out = capsys.readouterr().out
    for text in ("network    N = 20 units, d = 5; eps = 0.001, batch 1, seed 4",
                 "snapshots  6, t in [0, 0.5]", "wall time", f"output     {tmp_path / 'a.h5'}"):
        assert text in out, text
    assert result.attrs["status"] == "complete" and result.seed == 4
    np.testing.assert_allclose(result.t, [0, 0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-12)
    assert np.all(np.diff(result.t) > 0)
    assert result.coords["r"].shape == (6, 20) and result.weights.shape == (6, 20, 5)
    assert f"risk       {result.risk[0]:.6g} at t = 0  ->  {result.risk[-1]:.6g}" in out


def test_sgd_is_reproducible_and_seeded(tmp_path):
    first, again = run_sgd(tmp_path, "a.h5"), run_sgd(tmp_path, "b.h5")
    other = run_sgd(tmp_path, "c.h5", "--seed", "5")
    for name in ("t", "risk"):
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes()
    assert first.coords["r"].tobytes() == again.coords["r"].tobytes()
    assert first.weights is None and other.seed == 5
    assert not np.array_equal(first.coords["r"], other.coords["r"])
    assert first.risk[-1] != other.risk[-1]


def test_sgd_errors(tmp_path, capsys):
    bad = sgd_case(tmp_path, "neurons = 20", "neurons = 0")
    assert main(["sgd", str(bad), "-o", str(tmp_path / "o.h5")]) == 2
    assert "sgd.neurons: expected an integer >= 1, got 0" in error_line(capsys)
    assert not (tmp_path / "o.h5").exists()
    output = tmp_path / "run.h5"
    shutil.copy(SGD_FIXTURE, output)
    assert main(["sgd", str(sgd_case(tmp_path)), "-o", str(output)]) == 2
    assert "already exists" in error_line(capsys)


def test_show_sgd(capsys):
    assert main(["show", str(SGD_FIXTURE)]) == 0
    out = capsys.readouterr().out
    for text in ("status     complete", "format     ddsolver.sgd version 1",
                 "network    N = 20 units, d = 5; eps = 0.001, batch 1, seed 7",
                 "snapshots  4, t in [0, 0.5]", "weights    saved", "ddsolver 0.1.0"):
        assert text in out, text


def test_plot_sgd(tmp_path, capsys):
    figure = tmp_path / "sgd.png"
    assert main(["plot", str(SGD_FIXTURE), "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000
    assert capsys.readouterr().out == f"wrote {figure}\n"


def test_demo_quick(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder), "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    sol, sgd = load(folder / "pde.h5"), load(folder / "sgd.h5")
    assert sol.t[-1] == 2 and sgd.t[-1] == pytest.approx(2)
    assert sgd.coords["r"].shape[1] == 200 and sgd.case["sgd"]["eps"] == 1e-3
    assert (folder / "comparison.png").stat().st_size > 20_000
    assert f"final risk R(rho_t) = {sol.risk[-1]:.6g}" in out
    assert f"final risk R_N = {sgd.risk[-1]:.6g}" in out
    assert abs(sol.risk[-1] - sgd.risk[-1]) < 0.1 * sol.risk[-1]
    before = (folder / "pde.h5").read_bytes()
    assert main(["demo", "-o", str(folder), "--quick"]) == 2
    assert "pde.h5' already exists" in error_line(capsys)
    assert (folder / "pde.h5").read_bytes() == before


def test_validate_bad_case(tmp_path, capsys):
    bad = sgd_case(tmp_path, "delta = 0.8", "delta = 1.5")
    assert main(["validate", str(bad), "--no-progress"]) == 2
    assert "data.delta: expected a number > 0 and < 1, got 1.5" in error_line(capsys)


@pytest.mark.parametrize("passed, code", [(True, 0), (False, 1)])
def test_validate_exit_code_and_table(tmp_path, monkeypatch, capsys, passed, code):
    calls = []

    def validate(cases, **options):
        calls.append((cases, options))
        return SimpleNamespace(passed=passed, table="case  metric  value")

    monkeypatch.setattr(validation, "validate", validate)
    argv = ["validate", "a.toml", "b.toml", "--report", "rep", "--workers", "3", "--cache", "c",
            "--resume"]
    assert main(argv) == code
    assert capsys.readouterr().out == "case  metric  value\n"
    assert calls == [(["a.toml", "b.toml"], {"report_dir": "rep", "scheduler": None,
                                              "workers": 3, "cache_dir": "c",
                                              "progress": None, "resume": True,
                                              "max_memory": None})]


# -- noisy cases: stationary, and show / plot of their files --------------------------------------

def test_stationary(tmp_path, capsys):
    output = tmp_path / "gibbs.h5"
    case = case_file(tmp_path, text=NOISY)
    assert main(["stationary", str(case), "-o", str(output), "--no-progress"]) == 0
    out = capsys.readouterr().out
    sol = load(output)
    np.testing.assert_array_equal(sol.t, [np.inf])
    assert sol.attrs["status"] == "complete" and sol.attrs["converged"] is True
    assert sol.density.shape == (1, 200) and sol.free_energy.shape == (1,)
    for text in ("snapshots    1, t = inf: stationary (Gibbs) state", "converged    yes (newton, ",
                 f"risk         {sol.risk[0]:.6g}", f"free energy  {sol.free_energy[0]:.6g}",
                 f"output       {output}"):
        assert text in out, text

    assert main(["show", str(output)]) == 0
    out = capsys.readouterr().out
    assert "stationary (Gibbs) state" in out and "beta=200" in out
    figure = tmp_path / "gibbs.png"
    assert main(["plot", str(output), "-o", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stationary_not_converged_exits_1(tmp_path, capsys):
    output = tmp_path / "gibbs.h5"
    case = case_file(tmp_path, "cells = 200", "cells = 200\n[pde]\nstationary_max_iter = 1",
                     text=NOISY)
    assert main(["stationary", str(case), "-o", str(output), "--no-progress"]) == 1
    assert "converged    NO (newton, 1 iterations" in capsys.readouterr().out
    sol = load(output)
    assert sol.attrs["status"].startswith("failed: not converged")
    assert sol.attrs["converged"] is False and len(sol.t) == 1


@pytest.mark.parametrize("old, new, message", [
    ("beta = 200", "beta = -1", "training.beta: expected a number > 0"),
    ("cells = 200", "cells = 200\n[pde]\nstationary_tol = 0", "pde.stationary_tol"),
])
def test_stationary_bad_case(tmp_path, capsys, old, new, message):
    output = tmp_path / "gibbs.h5"
    case = case_file(tmp_path, old, new, text=NOISY)
    assert main(["stationary", str(case), "-o", str(output)]) == 2
    assert message in error_line(capsys)
    assert not output.exists()
    assert main(["stationary", str(tmp_path / "missing.toml"), "-o", str(output)]) == 2
    assert "no such file" in error_line(capsys)


def test_show_and_plot_noisy_solution(tmp_path, capsys):
    output = tmp_path / "noisy.h5"
    case = case_file(tmp_path, text=NOISY)
    assert main(["solve", str(case), "-o", str(output), "--no-progress"]) == 0
    capsys.readouterr()
    sol = load(output)
    assert np.all(np.diff(sol.free_energy) <= 1e-12)
    assert main(["show", str(output)]) == 0
    assert f"free energy  {sol.free_energy[0]:.6g} at t = 0" in capsys.readouterr().out
    figure = tmp_path / "noisy.png"
    assert main(["plot", str(output), "-o", str(figure)]) == 0
    assert figure.stat().st_size > 20_000


# -- planar teacher: the circle variant (docs/planar-teacher.md) -----------------------------------

def test_circle_through_the_cli(tmp_path):
    path = tmp_path / "circle.toml"
    path.write_text('''
[data]
kind = "planar_teacher"
teacher = [[1.5, 0.0], [0.0, 1.0]]
teacher_weights = [1.0, 0.5]
[network]
unit = "circle"
activation = "erf"
[training]
t_final = 2.0
beta = 50.0
[init]
kind = "product"
phi = { kind = "uniform", low = -3.141592653589793, high = 3.141592653589793 }
[pde]
grid = { phi = { cells = 48 } }
snapshot_times = [0.0, 1.0, 2.0]
''')
    assert main(["solve", str(path), "-o", str(tmp_path / "c.h5")]) == 0
    sol = load(tmp_path / "c.h5")
    assert sol.grid.names == ("phi",) and sol.grid.shape == (8 * 48,)
    np.testing.assert_allclose(sol.mass, 1.0, atol=1e-12)
    assert np.all(np.diff(sol.free_energy) < 0) and sol.risk[-1] < sol.risk[0]
    # the law concentrates between the two teacher directions (0 and π/2)
    mean = np.angle((np.exp(1j * sol.grid.axes[0].centres) * sol.density[-1]).sum())
    assert 0.0 < mean < np.pi / 2
