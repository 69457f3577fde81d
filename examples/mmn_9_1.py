"""MMN's example 9.1 (examples/mmn_9_1.toml): isotropic Gaussians, Δ = 0.8, d = 40, the
piecewise-linear σ (s1 = −2.5, s2 = 7.5, t1 = 0.5, t2 = 1.5), w_i ~ N(0, 0.8²/d I).

The law of r = |w| spreads and then splits: part of the mass collapses towards r = 0, the rest
moves out to r ≈ 4–5, while the risk falls from 1.70 towards 0. Shown: the DD (finite-d kernel,
to t = 200) against SGD (several seeds, to a shorter time): the DD density of r over the
histograms of the pooled |w_i| at four times, the risk curves, and the DD with the d = ∞ kernel
beside the finite-d one. SGD is checked against the finite-d DD by ddsolver's validation
(risk band, mean and W1 of |w|, default tolerances); the d = ∞ DD is compared the same way for
information. Files in OUT_DIR: dd_d40.h5, dd_dinf.h5, sgd_seed<s>.h5, mmn_9_1.png.

    python examples/mmn_9_1.py [-o OUT_DIR] [--quick]
"""

from __future__ import annotations

import time
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

SPLIT = (0.5, 1.5)          # r below: collapsed; above: outer; between: emptied by the split


def masses(edges, density) -> np.ndarray:
    """(collapsed, middle, outer) mass of a density of r on ``edges``."""
    centres, mass = 0.5 * (edges[1:] + edges[:-1]), density * np.diff(edges)
    return np.array([mass[centres < SPLIT[0]].sum(),
                     mass[(centres >= SPLIT[0]) & (centres < SPLIT[1])].sum(),
                     mass[centres >= SPLIT[1]].sum()])


def plot(dd, dd_inf, runs, show, path: Path) -> None:
    plt, fig, axes = figure(2, 3, (13, 7.5))
    edges, centres = dd.grid.axis("r").edges, dd.grid.axis("r").centres
    panels = list(axes[0]) + [axes[1, 0]]
    for ax, t in zip(panels, show):
        k, j = np.flatnonzero(np.isclose(dd.t, t))[0], np.flatnonzero(np.isclose(runs[0].t, t))[0]
        r = np.concatenate([run.coords["r"][j] for run in runs])
        top = max(np.quantile(r, 0.999) * 1.15, 1.0)
        ax.hist(r, bins=np.linspace(0, top, 50), density=True, color="0.75",
                label=f"SGD |w_i|, {len(runs)} × N = {r.size // len(runs)}")
        ax.plot(centres, dd.marginal("r")[k], "C0", label="DD, d = 40 kernel")
        ax.plot(centres, dd_inf.marginal("r")[k], "C3--", lw=1, label="DD, d = ∞ kernel")
        outer = dd.marginal("r")[k][centres >= SPLIT[0]].max()
        collapsed = masses(edges, dd.marginal("r")[k])[0]
        ax.set(xlim=(0, top), ylim=(0, 1.3 * outer), xlabel="r = |w|", ylabel="density",
               title=f"t = {t:g}: mass at r < {SPLIT[0]:g}: DD {collapsed:.3f}, "
                     f"SGD {np.mean(r < SPLIT[0]):.3f}")
    panels[0].legend(fontsize="small")
    ax = axes[1, 1]
    ax.semilogy(dd.t, dd.risk, "C0", label="DD, d = 40 kernel")
    ax.semilogy(dd_inf.t, dd_inf.risk, "C3--", label="DD, d = ∞ kernel")
    risk = np.array([run.risk for run in runs])
    se = risk.std(axis=0, ddof=1) / np.sqrt(len(runs))
    ax.errorbar(runs[0].t, risk.mean(axis=0), 2 * se, fmt="k.", ms=4,
                label="SGD mean R_N ± 2 SE")
    ax.set(xscale="symlog", xlabel="t", ylabel="risk", title="risk")
    ax.legend(fontsize="small")
    ax = axes[1, 2]
    for t, colour in zip((10.0, 50.0, 200.0), ("C2", "C1", "C0")):
        k = np.flatnonzero(np.isclose(dd.t, t))[0]
        ax.plot(centres, dd.marginal("r")[k], color=colour, label=f"d = 40, t = {t:g}")
        ax.plot(centres, dd_inf.marginal("r")[k], "--", color=colour, lw=1,
                label=f"d = ∞, t = {t:g}")
    ax.set(xlabel="r", ylabel="density", yscale="log", ylim=(1e-3, None),
           title="DD at long times: finite d against d = ∞")
    ax.legend(fontsize="small", ncol=2)
    fig.suptitle("MMN 9.1: Δ = 0.8, d = 40, piecewise-linear σ")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """The DDs, the SGD seeds and their comparison; returns the risks, the validation rows
    {metric: (value, tolerance, passed)} of the finite-d and of the d = ∞ DD, the masses
    (collapsed, middle, outer) and the times."""
    neurons, eps, seeds, t_sgd = (200, 1e-4, [0, 1], 10.0) if quick else (800, 2e-5, [0, 1, 2, 3],
                                                                          20.0)
    show = (0.0, 2.0, 5.0, 10.0) if quick else (0.0, 2.0, 8.0, 20.0)
    out.mkdir(parents=True, exist_ok=True)
    case = read_toml("mmn_9_1.toml")
    start = time.perf_counter()
    dd = ddsolver.solve(case, out / "dd_d40.h5", overwrite=True, progress=False)
    dd_inf = ddsolver.solve(variant(case, **{"pde.kernel_dim": "inf"}), out / "dd_dinf.h5",
                            overwrite=True, progress=False)
    times = [t for t in case["pde"]["snapshot_times"] if t <= t_sgd]
    sgd_case = variant(case, **{"training.t_final": t_sgd, "pde.snapshot_times": times,
                                "sgd": {"neurons": neurons, "eps": eps, "seeds": seeds}})
    runs = run_sgd(sgd_case, seeds, out, "sgd")
    rows, _ = validation_rows("d = 40", sgd_case, dd, runs)
    rows_inf, _ = validation_rows("d = inf", variant(sgd_case, **{"pde.kernel_dim": "inf"}),
                                  dd_inf, runs)
    seconds = time.perf_counter() - start
    edges = dd.grid.axis("r").edges
    j = len(runs[0].t) - 1
    sgd_r = np.concatenate([run.coords["r"][j] for run in runs])
    result = {
        "t": dd.t, "risk": dd.risk, "risk_inf": dd_inf.risk,
        "sgd_t": runs[0].t, "sgd_risk": np.array([run.risk for run in runs]),
        "rows": rows, "rows_inf": rows_inf,
        "masses": np.array([masses(edges, p) for p in dd.marginal("r")]),
        "sgd_masses": np.array([np.mean(sgd_r < SPLIT[0]), np.mean((sgd_r >= SPLIT[0])
                                & (sgd_r < SPLIT[1])), np.mean(sgd_r >= SPLIT[1])]),
        "seconds": seconds}
    print(f"MMN 9.1: DD to t = {dd.t[-1]:g}; SGD N = {neurons}, eps = {eps:g}, "
          f"{len(seeds)} seeds to t = {t_sgd:g}; {seconds:.1f} s")
    sgd_mean = result["sgd_risk"].mean(axis=0)
    print_table(["t", "R DD d=40", "R DD d=inf", "SGD mean R_N", "mass r<0.5", "r>1.5"],
                [[t, dd.risk[k], dd_inf.risk[k],
                  float(sgd_mean[np.flatnonzero(np.isclose(runs[0].t, t))[0]])
                  if t <= t_sgd else "", result["masses"][k, 0], result["masses"][k, 2]]
                 for k, t in enumerate(dd.t) if t in (0, 1, 2, 5, 10, 20, 50, 100, 200)])
    print(f"\nSGD at t = {t_sgd:g}: mass r<0.5 {result['sgd_masses'][0]:.3f}, "
          f"r>1.5 {result['sgd_masses'][2]:.3f}")
    print("\nvalidation of SGD against the DD (value / tolerance):")
    print_table(["metric", "d = 40", "tolerance", "within", "d = inf", "within (info)"],
                [[m, v, t, p, *rows_inf[m][::2]] for m, (v, t, p) in rows.items()])
    plot(dd, dd_inf, runs, show, out / "mmn_9_1.png")
    print(f"\nwrote {out / 'mmn_9_1.png'} and the HDF5 files in {out}")
    return result


if __name__ == "__main__":
    command_line(main, __doc__, "mmn-9-1")
