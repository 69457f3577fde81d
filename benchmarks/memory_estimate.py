"""The memory estimate of ddsolver.resources against the measured peak memory of each run.

Each case runs in its own interpreter: a tiny run of the same scheme first (compilation), then
the resident memory before the run and the peak (ru_maxrss) after it; the table compares the
peak's growth with the estimate. ``python benchmarks/memory_estimate.py``.
"""

import json
import subprocess
import sys

CASES = {
    "fv 1-D, 3200 cells, 101 snapshots": ("solve", {"pde.scheme": "fv"}),
    "fv 1-D, 200 000 cells, d = inf": ("solve", {"pde.scheme": "fv", "pde.kernel_dim": "inf",
                                                 "pde.grid.r.cells": 200_000,
                                                 "pde.snapshot_times": [0.0, 0.001]}),
    "lagrangian, 1500 particles": ("solve", {}),
    "lagrangian, 400 000 particles": ("solve", {"pde.particles": 400_000}),
    "spectral, 400 nodes": ("solve", {"pde.scheme": "spectral", "pde.grid.r.cells": 400}),
    "sgd N = 800, d = 40": ("sgd", {"sgd.neurons": 800, "sgd.snapshot_times": [0.0, 0.01]}),
    "sgd N = 4000, d = 2000, save_weights": ("sgd", {
        "sgd.neurons": 4000, "data.dim": 2000, "pde.kernel_dim": "inf", "sgd.eps": 1e-3,
        "sgd.save_weights": True, "sgd.snapshot_times": [0.0, 0.002, 0.004]}),
}
CHILD = """
import json, resource, sys, warnings
import psutil
warnings.simplefilter("ignore")
from ddsolver import solve
from ddsolver.case import normalize_case
from ddsolver.resources import check_memory
from ddsolver.sgd.run import simulate
from tests.fuzz.corpus import mutate
kind, mutation = json.loads(sys.argv[1])
mutation = {"data.dim": 40, "training.t_final": 0.01, "pde.grid.r.cells": 3200, **mutation}
run = solve if kind == "solve" else simulate
tiny = {k: v for k, v in mutation.items() if k in ("pde.scheme", "pde.kernel_dim")}
run(mutate({**tiny, "pde.grid.r.cells": 64, "pde.snapshot_times": [0.0, 0.01],
            "sgd.snapshot_times": [0.0, 0.01]}))
case = normalize_case(mutate(mutation))
before = psutil.Process().memory_info().rss
run(case)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"estimate": check_memory(case, kind, 2**60), "growth": peak - before}))
"""


def main():
    print("| case | estimate (MiB) | measured peak growth (MiB) | estimate / measured |")
    print("|---|---|---|---|")
    for name, spec in CASES.items():
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], check=True,
                             capture_output=True, text=True).stdout
        row = json.loads(out.splitlines()[-1])
        est, grown = row["estimate"] / 2**20, max(row["growth"], 0) / 2**20
        ratio = f"{est / grown:.2g}" if grown > 0.5 else "n/a (below 0.5 MiB)"
        print(f"| {name} | {est:.1f} | {grown:.1f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
