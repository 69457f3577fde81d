"""The CLI on the archive: output == input, plot --overwrite, SIGTERM, concurrent writers,
corrupt and truncated files (one line, non-zero exit, no traceback, files unchanged)."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from ddsolver.cli import main
from ddsolver.storage import load

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "tests" / "data" / "solution_v1.h5"
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# an SGD run slow enough to be caught running (about 25 s; stopped by SIGTERM after a few)
SLOW_CASE = """\
[data]
kind = "isotropic_gaussians"
delta = 0.8
dim = 40
[network]
activation = "relu"
[training]
t_final = 200
[init]
kind = "gaussian"
kappa = 0.8
[sgd]
neurons = 400
eps = 1e-4
snapshot_times = [0, 50, 100, 150, 200]
"""


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.startswith("ddsolver: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def ddsolver(*args):
    return subprocess.Popen([sys.executable, "-m", "ddsolver", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=CHILD_ENV)


def test_output_may_not_be_the_case_file(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(SLOW_CASE)
    before = digest(case)
    assert main(["solve", str(case), "-o", str(case), "--overwrite"]) == 2
    assert "is the input file" in one_error_line(capsys)
    assert digest(case) == before


def test_plot_needs_overwrite_and_never_replaces_its_input(tmp_path, capsys):
    figure = tmp_path / "fig.png"
    figure.write_bytes(b"old figure")
    assert main(["plot", str(FIXTURE), "-o", str(figure)]) == 2
    assert "already exists (pass --overwrite)" in one_error_line(capsys)
    assert figure.read_bytes() == b"old figure"
    assert main(["plot", str(figure), "--overwrite"]) == 2        # plot fig.png -> fig.png
    assert "is the input file" in one_error_line(capsys)
    assert main(["plot", str(FIXTURE), "-o", str(tmp_path / "x.xyz")]) == 2
    assert "--output: expected a figure file ending in" in one_error_line(capsys)
    assert main(["plot", str(FIXTURE), "-o", str(figure), "--overwrite"]) == 0
    assert figure.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:2048]), "truncated file: 2048 bytes"),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "truncated file"),
    (lambda p: p.write_text("hello"), "cannot open as HDF5"),
])
@pytest.mark.parametrize("command", ["show", "plot"])
def test_damaged_files_give_one_line(tmp_path, capsys, command, damage, message):
    path = tmp_path / "run.h5"
    path.write_bytes(FIXTURE.read_bytes())
    damage(path)
    before = digest(path)
    start = time.perf_counter()
    assert main([command, str(path)]) == 2
    assert message in one_error_line(capsys) and time.perf_counter() - start < 5
    assert digest(path) == before and not (tmp_path / "run.png").exists()


def test_show_and_plot_of_a_corrupt_file(tmp_path, capsys):
    path = tmp_path / "run.h5"
    path.write_bytes(FIXTURE.read_bytes())
    with h5py.File(path, "a") as f:
        f["density"][2] = np.full(40, np.nan)
    assert main(["show", str(path)]) == 1
    out = capsys.readouterr().out
    assert "CORRUPT (/density has a non-finite value" in out and "'complete'" in out
    assert main(["plot", str(path)]) == 2
    assert "corrupt: /density has a non-finite value" in one_error_line(capsys)


def wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_second_writer_refused_and_sigterm_interrupts(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(SLOW_CASE)
    output = tmp_path / "run.h5"
    first = ddsolver("sgd", case, "-o", output, "--no-progress")
    try:
        wait_for(tmp_path / "run.partial.h5")
        for extra in ((), ("--overwrite",)):
            second = ddsolver("sgd", case, "-o", output, "--no-progress", *extra)
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2 and err.count("\n") == 1, err
            assert "is being written by another run" in err
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    finally:
        first.kill()
    if first.returncode == 0:                       # finished before the signal: nothing to see
        pytest.skip("the run ended before SIGTERM")
    assert first.returncode == 128 + signal.SIGTERM, err
    assert err.startswith("ddsolver: terminated; ") and "run.partial.h5" in err, err
    assert "rerun with --resume to continue" in err
    assert err.count("\n") == 1 and not output.exists()
    assert load(tmp_path / "run.partial.h5").attrs["status"] == "interrupted"
    before = digest(tmp_path / "run.partial.h5")
    changed = tmp_path / "changed.toml"
    changed.write_text(SLOW_CASE.replace("kappa = 0.8", "kappa = 0.7"))
    for argv, message in (([case, "--resume", "--overwrite"], "not with overwrite"),
                          ([changed, "--resume"], "init.kappa (file 0.8, case 0.7)")):
        assert main(["sgd", str(argv[0]), "-o", str(output), *argv[1:]]) == 2
        assert message in one_error_line(capsys)
    assert digest(tmp_path / "run.partial.h5") == before
