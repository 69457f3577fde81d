"""MMN's example 9.2: the risk at the global minimum against the separation Δ, on the setting
of example 9.1 (isotropic Gaussians, the piecewise-linear σ, laws of r = |w| on [0, 8]).

For every Δ of the sweep, with the d = ∞ kernel (ddsolver.landscape.sweep): the certified
minimum R_min over laws on the grid (ddsolver minimize), the best single radius (the
single-delta ansatz) with its certificate, and the DD's risk at long time from the Gaussian
start (κ = 0.8). Below the threshold Δ_h (bisected on the single delta's certificate; 0.474219
from the convex-hull construction of docs/theory.md §6b) one radius is optimal; above it
R_min = 0 while the single delta's risk grows. At a few Δ, SGD at d = 40 against the DD with
the d = 40 kernel at the same time, checked by ddsolver's validation (default tolerances).
Files in OUT_DIR: minimum_delta<Δ>.h5 and dd_delta<Δ>.h5 (d = 40), sgd_delta<Δ>_seed<s>.h5,
mmn_9_2.png.

    python examples/mmn_9_2.py [-o OUT_DIR] [--quick]
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from _gallery import (
    command_line,
    figure,
    print_table,
    read_toml,
    run_sgd,
    save,
    validation_rows,
    variant,
)

import ddsolver
from ddsolver.landscape import minimize
from ddsolver.landscape.sweep import sweep


def plot(table, threshold, points: dict, t_final: float, t_sgd: float, path: Path) -> None:
    plt, fig, ((left, right),) = figure(1, 2, (13, 5))
    delta = table["delta"]
    left.plot(delta, table["single_risk"], "o-", ms=4, label="single delta R* (d = ∞)")
    left.plot(delta, table["min_risk"], "s-", ms=4, label="certified minimum R_min (d = ∞)")
    left.plot(delta, table["dd_risk"], "^--", ms=4,
              label=f"DD from κ = 0.8, t = {t_final:g} (d = ∞)")
    sgd = np.array([(d, p["dd"], p["sgd"], p["sgd_se"], p["r_min"])
                    for d, p in points.items()])
    left.plot(sgd[:, 0], sgd[:, 4], "P", ms=8, color="C2", label="R_min (d = 40)")
    left.plot(sgd[:, 0], sgd[:, 1], "D", mfc="none", ms=8, color="C4",
              label=f"DD, t = {t_sgd:g} (d = 40)")
    left.errorbar(sgd[:, 0], sgd[:, 2], 2 * sgd[:, 3], fmt="kx", ms=8,
                  label=f"SGD mean R_N ± 2 SE, t = {t_sgd:g} (d = 40)")
    left.set(xlabel="Δ", ylabel="risk", title="risk against Δ")
    right.semilogy(delta, np.maximum(table["single_gap"], 1e-16), "o-", color="C3", ms=4,
                   label="single delta: certificate gap")
    right.set(xlabel="Δ", ylabel="gap (energy units; 1e-16 = optimal)",
              title="single delta: certificate gap and radius r*")
    radius = right.twinx()
    radius.plot(delta, table["single_radius"], "d--", color="C0", ms=4, label="r*")
    radius.set_ylabel("r*")
    radius.legend(fontsize="small", loc="lower right")
    for ax in (left, right):
        ax.axvline(threshold.delta, color="k", lw=0.8,
                   label=f"threshold Δ_h = {threshold.delta:.4f}")
        ax.legend(fontsize="small", loc="upper left" if ax is right else "center left")
    fig.suptitle("MMN 9.2: global minimum against the single-delta ansatz "
                 "(piecewise-linear σ, r ∈ [0, 8])")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """The sweep (d = ∞) and the SGD points (d = 40); returns the sweep's table, the threshold
    bracket, {Δ: point} with the DD and SGD risks and validation rows, and the run time."""
    deltas = [0.3, 0.4, 0.6, 0.8] if quick else np.round(np.linspace(0.05, 0.8, 16), 6)
    sgd_deltas = [0.3, 0.8] if quick else [0.3, 0.5, 0.8]
    t_final, t_sgd = (20.0, 5.0) if quick else (200.0, 20.0)
    neurons, eps, seeds = (200, 1e-4, [0, 1]) if quick else (800, 2e-5, [0, 1])
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    base = read_toml("mmn_9_1.toml")
    times = [t for t in base["pde"]["snapshot_times"] if t <= t_final]
    landscape = variant(base, **{"pde.kernel_dim": "inf", "training.t_final": t_final,
                                 "pde.snapshot_times": times})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # R_min = 0 is reached with mass at r = 8
        swept = sweep(landscape, deltas, progress=False)
    points = {}
    for delta in sgd_deltas:
        tag = f"delta{delta:g}"
        case = variant(base, **{
            "data.delta": delta, "training.t_final": t_sgd,
            "pde.snapshot_times": [t for t in base["pde"]["snapshot_times"] if t <= t_sgd],
            "sgd": {"neurons": neurons, "eps": eps, "seeds": seeds}})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            minimum = minimize(case, out / f"minimum_{tag}.h5", overwrite=True)
        dd = ddsolver.solve(case, out / f"dd_{tag}.h5", overwrite=True, progress=False)
        runs = run_sgd(case, seeds, out, f"sgd_{tag}")
        rows, _ = validation_rows(tag, case, dd, runs)
        final = np.array([run.risk[-1] for run in runs])
        points[delta] = {"r_min": minimum.risk[0], "dd": dd.risk[-1], "sgd": final.mean(),
                         "sgd_se": final.std(ddof=1) / np.sqrt(final.size), "rows": rows}
    seconds = time.perf_counter() - start
    th = swept.threshold
    table = swept.table
    print(f"MMN 9.2: threshold Δ_h in [{th.lo:.6f}, {th.hi:.6f}] (d = inf kernel); DD to "
          f"t = {t_final:g}; SGD N = {neurons}, eps = {eps:g}, {len(seeds)} seeds to "
          f"t = {t_sgd:g} at d = 40; {seconds:.1f} s")
    print_table(["Delta", "R_min", "min gap", "single R*", "r*", "single gap", "optimal",
                 f"DD R(t={t_final:g})"],
                [[d, table["min_risk"][i], table["min_gap"][i], table["single_risk"][i],
                  table["single_radius"][i], table["single_gap"][i],
                  bool(table["single_optimal"][i]), table["dd_risk"][i]]
                 for i, d in enumerate(table["delta"])])
    print(f"\nd = 40: the certified minimum, and SGD against the DD at t = {t_sgd:g}:")
    print_table(["Delta", "R_min d=40", "DD R", "SGD mean R_N", "SE", "risk_gap", "tolerance"],
                [[d, p["r_min"], p["dd"], p["sgd"], p["sgd_se"], *p["rows"]["risk_gap"][:2]]
                 for d, p in points.items()])
    plot(table, th, points, t_final, t_sgd, out / "mmn_9_2.png")
    print(f"\nwrote {out / 'mmn_9_2.png'} and the HDF5 files in {out}")
    return {"table": table, "threshold": (th.lo, th.hi), "points": points, "seconds": seconds}


if __name__ == "__main__":
    command_line(main, __doc__, "mmn-9-2")
