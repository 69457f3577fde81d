"""MMN's example 9.4, failure from a bad start (examples/bad_start_small.toml and
bad_start_large.toml; docs/theory.md §9.4): isotropic Gaussians, Δ = 0.5, d = 40, a zigzag σ
whose single-radius risk R(δ_r) has a shallow well (r ≈ 0.11) and a deep one (r ≈ 1.38). The
noiseless DD from a small initial scale (κ = 0.1) is trapped in the shallow well; from κ = 1 it
reaches the certified global minimum. SGD follows both.

Shown: R(δ_r) with its two wells, the DD and SGD risk curves beside the certified minimum
R_min (ddsolver minimize), the certificates of every DD snapshot (ddsolver certify: the
optimality gap 2α²(∫Ψ dρ_t − min Ψ) and the excess R − R_min), and the final laws (DD density,
SGD histogram, the minimiser's atom). SGD is checked against each DD by ddsolver's validation
(default tolerances). Files in OUT_DIR: dd_<start>.h5, sgd_<start>_seed<s>.h5, minimum.h5,
mmn_9_4.png.

    python examples/mmn_9_4.py [-o OUT_DIR] [--quick]
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
from ddsolver.case import normalize_case
from ddsolver.landscape import certify, energy_of, minimize
from ddsolver.landscape.single_delta import single_delta

STARTS = {"small": "bad_start_small.toml", "large": "bad_start_large.toml"}


def single_radius_risk(case: dict, r_max: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """R(δ_r) at every other cell centre r < r_max of the case's grid (all mass in that cell)."""
    energy = energy_of(normalize_case(case))
    centres = energy.grid.axis("r").centres
    cells = np.flatnonzero(centres < r_max)[::2]
    return centres[cells], np.array([energy.risk(np.eye(1, centres.size, j)[0]) for j in cells])


def plot(results: dict, minimum, wells, path: Path) -> None:
    plt, fig, axes = figure(2, 2, (12, 8.5))
    ax = axes[0, 0]
    ax.plot(*wells, "k")
    ax.axhline(minimum.risk[0], color="C2", ls=":", label=f"R_min = {minimum.risk[0]:.5f}")
    ax.set(xlabel="r", ylabel="R(δ_r)", xlim=(0, 3), ylim=(0, 2.5),
           title="single-radius risk: two wells")
    ax.legend(fontsize="small")
    edges, centres = minimum.grid.axis("r").edges, minimum.grid.axis("r").centres
    for res, colour in zip(results.values(), ("C3", "C0")):
        dd, runs, cert = res["dd"], res["runs"], res["certificates"]
        risk = np.array([run.risk for run in runs])
        axes[0, 1].plot(dd.t, dd.risk, color=colour, label=f"DD, κ = {res['kappa']:g}")
        axes[0, 1].plot(runs[0].t, risk.mean(axis=0), "o", color=colour, ms=4,
                        label=f"SGD mean R_N, N = {res['neurons']}, ε = {res['eps']:g}")
        axes[1, 0].semilogy(cert.t[1:], cert.gap[1:], "-", color=colour,
                            label=f"κ = {res['kappa']:g}: gap")
        axes[1, 0].semilogy(cert.t[1:], np.maximum(cert.excess[1:], 1e-16), "--",
                            color=colour, label=f"κ = {res['kappa']:g}: R − R_min")
        r = np.sort(np.concatenate([run.coords["r"][-1] for run in runs]))
        axes[1, 1].step(r, np.arange(1, r.size + 1) / r.size, where="post", color=colour,
                        alpha=0.5, lw=3, label=f"SGD |w_i|, κ = {res['kappa']:g}, "
                                               f"t = {runs[0].t[-1]:.3g}")
        mass = dd.marginal("r")[-1] * minimum.grid.axis("r").spacing
        axes[1, 1].plot(edges, np.concatenate([[0], np.cumsum(mass)]), color=colour,
                        label=f"DD, κ = {res['kappa']:g}, t = {dd.t[-1]:g}")
    axes[0, 1].axhline(minimum.risk[0], color="C2", ls=":", label="R_min (certified)")
    axes[0, 1].set(xscale="symlog", xlabel="t", ylabel="risk", title="risk curves")
    axes[1, 0].set(xscale="log", xlabel="t", ylabel="certificate",
                   title="optimality gap and excess risk of the DD")
    atom = centres[np.argmax(minimum.density[0])]
    axes[1, 1].axvline(atom, color="C2", ls=":", label=f"minimiser's atom, r = {atom:.3f}")
    axes[1, 1].set(xlabel="r = |w|", ylabel="cumulative distribution", xlim=(0, 2),
                   title="final laws of |w|")
    for ax in axes.ravel()[1:]:
        ax.legend(fontsize="small")
    fig.suptitle("MMN 9.4: a bad start (κ = 0.1) is trapped, a good one (κ = 1) is not")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """The two starts: DD, SGD, certificates, validation rows; returns {start: results}, the
    certified minimum, the single delta and the run time."""
    neurons, seeds = (200, [0, 1]) if quick else (800, [0, 1])
    sgd = {"small": (3e-6, 0.3 if quick else 1.0), "large": (2e-5, 2.0 if quick else 6.0)}
    out.mkdir(parents=True, exist_ok=True)
    start_time = time.perf_counter()
    base = read_toml(STARTS["small"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # an atom in the grid's first layer: none here
        minimum = minimize(base, out / "minimum.h5", overwrite=True)
    single = single_delta(base)
    results = {}
    for start, path in STARTS.items():
        case = read_toml(path)
        dd = ddsolver.solve(case, out / f"dd_{start}.h5", overwrite=True, progress=False)
        eps, t_sgd = sgd[start]
        times = [t for t in case["pde"]["snapshot_times"] if t <= t_sgd]
        sgd_case = variant(case, **{"training.t_final": t_sgd, "pde.snapshot_times": times,
                                    "sgd": {"neurons": neurons, "eps": eps, "seeds": seeds}})
        runs = run_sgd(sgd_case, seeds, out, f"sgd_{start}")
        rows, _ = validation_rows(start, sgd_case, dd, runs)
        results[start] = {"kappa": case["init"]["kappa"], "neurons": neurons, "eps": eps,
                          "dd": dd, "runs": runs, "rows": rows,
                          "certificates": certify(dd, minimum.risk[0]),
                          "sgd_risk": np.mean([run.risk[-1] for run in runs])}
    seconds = time.perf_counter() - start_time
    print(f"MMN 9.4: R_min = {minimum.risk[0]:.6f} (certificate gap {minimum.attrs['gap']:.1e}), "
          f"single delta R* = {single.risk:.6f} at r* = {single.radius:.4f} (gap "
          f"{single.gap:.1e}); {seconds:.1f} s")
    print_table(["start", "kappa", "R(t_end)", "gap", "R - R_min", "stationarity",
                 "SGD R_N", "t_SGD", "risk_gap/tol", "w1_r/tol"],
                [[s, r["kappa"], r["dd"].risk[-1], r["certificates"].gap[-1],
                  r["certificates"].excess[-1], r["certificates"].stationarity[-1],
                  r["sgd_risk"], r["runs"][0].t[-1],
                  f"{r['rows']['risk_gap'][0]:.2g}/{r['rows']['risk_gap'][1]:.2g}",
                  f"{r['rows']['w1_r'][0]:.2g}/{r['rows']['w1_r'][1]:.2g}"]
                 for s, r in results.items()])
    plot(results, minimum, single_radius_risk(base), out / "mmn_9_4.png")
    print(f"\nwrote {out / 'mmn_9_4.png'} and the HDF5 files in {out}")
    return {"starts": results, "minimum": minimum, "single": single, "seconds": seconds}


if __name__ == "__main__":
    command_line(main, __doc__, "mmn-9-4")
