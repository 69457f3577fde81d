"""Dimension-free bounds (Mei, Misiakiewicz & Montanari 2019) on the setting of MMN's example 9.1
(isotropic Gaussians, Δ = 0.8, the piecewise-linear σ, κ = 0.8).

Noiseless: the distance between SGD and the DD (finite-d kernel, kernel d = data d) up to t = 2,
against the number of units N, for several input dimensions d, with the step ε = c/d so that the
step-size term √(ε D) of the bounds (D = d parameters per unit) is the same for every d. The
distances are ddsolver's validation metrics (ddsolver.validation): sup_t W1 between the units'
|w_i| and the DD law of r, and sup_t of the distance of R_N to the band [R(p_t), E R_N(t)],
averaged over the seeds. The N-dependence should not grow with d: at fixed N the curves of all
d coincide, and the W1 slope in N is −1/2 (sampling).

Noisy (validation/quick/noisy.toml: d = 20, β = 10 d, λ = 0.15): the DD relaxes to its Gibbs
state (ddsolver.stationary), its free energy F(p_t) decreasing to F(p*); noisy SGD ends within
its sampling floor of the Gibbs law.

Files in OUT_DIR: dd_d<d>.h5, sgd_d<d>_N<N>_seed<s>.h5, noisy/dd.h5, noisy/gibbs.h5,
noisy/sgd_seed<s>.h5, dimension_free.png.

    python examples/dimension_free.py [-o OUT_DIR] [--quick]
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
from ddsolver.validation import fit_slope, risk_gap

EPS_D = 8e-4               # ε d: the same step-size term √(ε d) for every d


def distances(out: Path, dims, neurons, seeds) -> dict:
    """{(d, N): (risk distance, its SE, W1, its SE)}: the mean over the seeds of each seed's
    sup_t distance (as ``Comparison.errors``), with its standard error; and the DD per d."""
    base = read_toml("../validation/d_sweep.toml")
    table, dds = {}, {}
    for d in dims:
        case = variant(base, **{"data.dim": d, "pde.kernel_dim": d})
        dds[d] = ddsolver.solve(case, out / f"dd_d{d}.h5", overwrite=True, progress=False)
        for n in neurons:
            case_n = variant(case, **{"sgd": {"neurons": n, "eps": EPS_D / d, "seeds": seeds}})
            runs = run_sgd(case_n, seeds, out, f"sgd_d{d}_N{n}")
            cmp = validation_rows(f"d{d}", case_n, dds[d], runs)[1]
            risk = np.array([np.abs(risk_gap(r[None], cmp.pde_risk, cmp.predicted)[0]).max()
                             for r in cmp.sgd_risk])
            w1 = cmp.coords["r"].w1.max(axis=1)
            sqrt_s = np.sqrt(len(seeds))
            table[d, n] = (risk.mean(), risk.std(ddof=1) / sqrt_s, w1.mean(),
                           w1.std(ddof=1) / sqrt_s)
    return {"table": table, "dd": dds}


def noisy(out: Path, quick: bool) -> dict:
    """The noisy DD, its Gibbs state and noisy SGD, compared by the validation."""
    folder = out / "noisy"
    folder.mkdir(parents=True, exist_ok=True)
    case = read_toml("../validation/quick/noisy.toml")
    if quick:
        case = variant(case, **{"pde.grid": {"r": {"max": 8.0, "cells": 200}},
                                "sgd": {"neurons": 100, "eps": 5e-4, "seeds": [0]}})
    else:
        case = variant(case, **{"sgd.seeds": [0, 1]})
    dd = ddsolver.solve(case, folder / "dd.h5", overwrite=True, progress=False)
    gibbs = ddsolver.stationary(case, folder / "gibbs.h5", overwrite=True)
    runs = run_sgd(case, case["sgd"]["seeds"], folder, "sgd")
    rows, cmp = validation_rows("noisy", case, dd, runs)
    marginal = cmp.coords["r"]
    return {"dd": dd, "gibbs": gibbs, "runs": runs, "rows": rows,
            "w1_sgd_gibbs": float(marginal.w1_gibbs.mean()),
            "w1_dd_gibbs": marginal.w1_pde_gibbs, "floor": marginal.gibbs_floor}


def plot(dims, neurons, sweep: dict, relax: dict, path: Path) -> None:
    plt, fig, axes = figure(2, 2, (12, 8.5))
    table = sweep["table"]
    n = np.array(neurons, float)
    for d in dims:
        risk, risk_se, w1, w1_se = np.array([table[d, m] for m in neurons]).T
        slope = fit_slope(n, w1)[0]
        axes[0, 0].errorbar(n, w1, 2 * w1_se, fmt="o-", ms=4, capsize=3,
                            label=f"d = {d} (ε = {EPS_D / d:.1e}): slope {slope:.2f}")
        axes[0, 1].errorbar(n, risk, 2 * risk_se, fmt="o-", ms=4, capsize=3, label=f"d = {d}")
    axes[0, 0].plot(n, axes[0, 0].get_lines()[0].get_ydata()[0] * np.sqrt(n[0] / n), "k:",
                    label="N^(−1/2)")
    axes[0, 0].set(xscale="log", yscale="log", xlabel="N", ylabel="mean_s sup_t W1(|w_i|, p_t)",
                   title="law of |w|: SGD against the DD (± 2 SE)")
    axes[0, 1].set(xscale="log", xlabel="N", ylabel="mean_s sup_t dist(R_N, [R, E R_N])",
                   title="risk: SGD against the DD's band (± 2 SE)")
    for ax in axes[0]:
        ax.legend(fontsize="small")
    dd, gibbs, runs = relax["dd"], relax["gibbs"], relax["runs"]
    ax = axes[1, 0]
    ax.semilogy(dd.t, dd.free_energy - gibbs.free_energy[0], "C0o-", ms=3,
                label="DD: F(p_t) − F(p*)")
    ax.semilogy(dd.t, np.abs(dd.risk - gibbs.risk[0]), "C1s--", ms=3,
                label="DD: |R(p_t) − R(p*)|")
    ax.set(xlabel="t", ylabel="distance to the Gibbs state",
           title=f"noisy: d = {dd.case['data']['dim']}, β = {dd.case['training']['beta']:g}, "
                 f"λ = {dd.case['training']['lambda']:g}")
    ax.legend(fontsize="small")
    ax = axes[1, 1]
    centres = dd.grid.axis("r").centres
    r = np.concatenate([run.coords["r"][-1] for run in runs])
    ax.hist(r, bins=np.linspace(0, 5, 51), density=True, color="0.75",
            label=f"noisy SGD |w_i|, t = {runs[0].t[-1]:g}, {len(runs)} × N = "
                  f"{r.size // len(runs)}")
    for k, colour in zip((0, len(dd.t) // 3, len(dd.t) - 1), ("C2", "C1", "C0")):
        ax.plot(centres, dd.marginal("r")[k], color=colour, label=f"DD, t = {dd.t[k]:g}")
    ax.plot(centres, gibbs.marginal("r")[0], "k--", label="Gibbs state p*")
    ax.set(xlim=(0, 5), xlabel="r = |w|", ylabel="density",
           title=f"W1 to p*: DD {relax['w1_dd_gibbs']:.3f}, SGD {relax['w1_sgd_gibbs']:.3f} "
                 f"(iid floor {relax['floor']:.3f})")
    ax.legend(fontsize="small")
    fig.suptitle("MMM: the SGD–DD distance does not grow with d; the noisy DD relaxes to its "
                 "Gibbs state")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """The sweep over (d, N) and the noisy relaxation; returns their numbers and the run time."""
    dims = [10, 40] if quick else [10, 20, 40, 80]
    neurons = [50, 200] if quick else [100, 400, 1600]
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3]
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sweep = distances(out, dims, neurons, seeds)
    relax = noisy(out, quick)
    seconds = time.perf_counter() - start
    table = sweep["table"]
    slopes = {d: fit_slope(neurons, [table[d, n][2] for n in neurons])[0] for d in dims}
    print(f"dimension-free bounds: t = 2, eps = {EPS_D:g}/d, {len(seeds)} seeds; "
          f"{seconds:.1f} s")
    print_table(["d", "N", "eps", "risk dist", "SE", "W1", "SE", "W1 slope in N"],
                [[d, n, EPS_D / d, *table[d, n], slopes[d] if n == neurons[-1] else ""]
                 for d in dims for n in neurons])
    dd, gibbs = relax["dd"], relax["gibbs"]
    print(f"\nnoisy (d = {dd.case['data']['dim']}, beta = {dd.case['training']['beta']:g}): "
          f"F(p_0) = {dd.free_energy[0]:.6f} -> F(p_{dd.t[-1]:g}) = {dd.free_energy[-1]:.6f}, "
          f"F(p*) = {gibbs.free_energy[0]:.6f}; W1(p_t, p*) = {relax['w1_dd_gibbs']:.4f}, "
          f"SGD W1 to p* {relax['w1_sgd_gibbs']:.4f} (iid floor {relax['floor']:.4f})")
    print_table(["noisy metric", "value", "tolerance", "within"],
                [[m, *v] for m, v in relax["rows"].items()])
    plot(dims, neurons, sweep, relax, out / "dimension_free.png")
    print(f"\nwrote {out / 'dimension_free.png'} and the HDF5 files in {out}")
    return {"dims": dims, "neurons": neurons, "table": table, "slopes": slopes,
            "free_energy": dd.free_energy, "t": dd.t, "gibbs_free_energy": gibbs.free_energy[0],
            "gibbs_converged": gibbs.attrs["converged"], "noisy_rows": relax["rows"],
            "w1_dd_gibbs": relax["w1_dd_gibbs"], "w1_sgd_gibbs": relax["w1_sgd_gibbs"],
            "gibbs_floor": relax["floor"], "seconds": seconds}


if __name__ == "__main__":
    command_line(main, __doc__, "dimension-free")
