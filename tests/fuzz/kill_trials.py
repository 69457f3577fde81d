"""Kill -9 trials: ``ddsolver solve`` and ``ddsolver sgd`` killed at random moments, then
continued with ``--resume``; the resumed file is compared with an uninterrupted run's.

    python tests/fuzz/kill_trials.py [--kind solve|sgd|both] [--trials 20] [--seed 0]

prints one row per trial (kill time, what the killed run left, the resumed run's exit code,
whether its file equals the uninterrupted one bit for bit, else the largest difference) and a
summary. ``tests/fuzz/test_kill_resume.py`` runs a few trials of each kind.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TIMES = "[0, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10]"
CASE = f"""\
[data]
kind = "isotropic_gaussians"
delta = 0.8
dim = 40
[network]
unit = "w"
activation = "piecewise_linear"
activation_params = {{ s1 = -2.5, s2 = 7.5, t1 = 0.5, t2 = 1.5 }}
[training]
t_final = 10.0
[init]
kind = "gaussian"
kappa = 0.8
[pde]
scheme = "fv"
grid = {{ r = {{ min = 0.0, max = 8.0, cells = 6400 }} }}
snapshot_times = {TIMES}
[sgd]
neurons = 400
eps = 2e-5
seeds = [0]
snapshot_times = {TIMES}
"""


@dataclass
class Trial:
    kind: str
    kill_at: float
    left: str                # what the killed run left on disk
    resume_code: int
    difference: float        # 0: bit-identical; inf: a dataset missing or shaped differently


def run(kind: str, case: Path, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ddsolver", kind, str(case), "-o",
                             str(output), "--no-progress", *extra], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def datasets(path: Path) -> dict:
    """Every dataset but the wall times and the run state."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) and "wall_time" not in name
                     and not name.startswith("state") else None)
    return out


def difference(path: Path, reference: dict) -> float:
    """The largest |difference| between a file's datasets and the reference's (0: identical
    bit for bit)."""
    got = datasets(path)
    if got.keys() != reference.keys():
        return float("inf")
    worst = 0.0
    for name, want in reference.items():
        if got[name].shape != want.shape:
            return float("inf")
        if not np.array_equal(got[name], want, equal_nan=True):
            worst = max(worst, float(np.nanmax(np.abs(got[name] - want))))
    return worst


def left_behind(output: Path) -> str:
    """What a killed run left: no file, a partial file (readable? how many snapshots?), or the
    finished output."""
    from ddsolver.storage import load, partial_path

    partial = partial_path(output)
    if output.exists() and not partial.exists():
        return "finished"
    if not partial.exists():
        return "nothing"
    try:
        return f"partial, {len(load(partial).t)} snapshots"
    except Exception as exc:
        return f"partial, unreadable ({type(exc).__name__})"


def trials(kind: str, count: int, seed: int = 0, folder: Path | None = None) -> list[Trial]:
    """``count`` kill -9 trials of ``kind`` ("solve" or "sgd") at uniform random moments
    within the uninterrupted run's wall time (start-up included, so that some kills come before
    the first snapshot), each followed by ``--resume``."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        tmp = Path(tmp)
        case = tmp / "case.toml"
        case.write_text(CASE)
        for name in ("warm-up", "reference"):            # the first may compile the kernels
            start = time.perf_counter()
            reference = run(kind, case, tmp / f"{name}.h5")
            if reference.wait() != 0:
                raise RuntimeError(reference.stderr.read())
            duration = time.perf_counter() - start
        want = datasets(tmp / "reference.h5")
        out = []
        for _ in range(count):
            output = tmp / "run.h5"
            for path in tmp.glob("*run*"):
                path.unlink()
            kill_at = rng.uniform(0.0, duration)
            process = run(kind, case, output)
            time.sleep(kill_at)
            process.send_signal(signal.SIGKILL)
            process.wait()
            left = left_behind(output)
            resumed = run(kind, case, output, "--resume")
            code = resumed.wait()
            out.append(Trial(kind, kill_at, left, code,
                             difference(output, want) if code == 0 else float("nan")))
        return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("solve", "sgd", "both"), default="both")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    kinds = ("solve", "sgd") if args.kind == "both" else (args.kind,)
    failed = 0
    for kind in kinds:
        rows = trials(kind, args.trials, args.seed)
        print(f"\n{kind}: {len(rows)} kill -9 trials")
        print(f"{'kill at s':>9}  {'left behind':<28} {'resume':>6}  difference")
        for row in rows:
            print(f"{row.kill_at:9.2f}  {row.left:<28} {row.resume_code:>6}  {row.difference:g}")
        identical = sum(row.resume_code == 0 and row.difference == 0 for row in rows)
        failed += len(rows) - identical
        print(f"{kind}: {identical}/{len(rows)} resumed bit-identical; "
              f"{sum('partial' in r.left for r in rows)} partial files "
              f"({sum('unreadable' in r.left for r in rows)} unreadable), "
              f"{sum(r.left == 'nothing' for r in rows)} killed before the file existed, "
              f"{sum(r.left == 'finished' for r in rows)} finished before the kill")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
