"""MMN's example 9.3, variable selection: units a·ReLU(⟨w, x⟩ + b) on anisotropic Gaussians,
x | y = ± ~ N(0, diag(τ_±² on the first s₀ coordinates, 1 on the other d − s₀)), Δ = 0.5,
d = 320, s₀ = 60, step-size schedule ξ(t) = (1 + t)^(−1/4), a ≡ 1, b ≡ 0, w ~ N(0, I/d).

The network learns to ignore the d − s₀ coordinates without signal: r₂ = |w_{s₀+1:d}| collapses
while r₁ = |w_{1:s₀}| and a grow and b turns negative. The DD is solved on the four reduced
coordinates (a, b, r₁, r₂) by the Lagrangian scheme (quasi-Monte Carlo particles; the point
masses a ≡ 1, b ≡ 0 exactly), with the finite-d kernel and with MMN's d = ∞ kernel. SGD of the
full network (N = 800) runs at MMN's ε = 2·10⁻⁴ and at ε = 2·10⁻⁵: the DD is the ε → 0 limit, and
at fixed ε SGD's r₂ stops at a floor that falls about like √ε (each step kicks w in the d − s₀
directions without signal). The run at the smaller ε is checked against the finite-d DD by
ddsolver's validation (risk band, mean and W1 of every coordinate against the particles,
default tolerances) for t ≤ 4. Shown: the risk curves, the means of a, b, r₁, r₂ against time
(DD particle means, SGD means over units and seeds) and the law of r₂ at the last time. Files in
OUT_DIR: dd_d<d>.h5, dd_dinf.h5, sgd_eps<ε>_seed<s>.h5, mmn_9_3.png.

    python examples/mmn_9_3.py [-o OUT_DIR] [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _gallery import command_line, figure, print_table, run_sgd, save, validation_rows

import ddsolver

COORDS = ("a", "b", "r1", "r2")


# per size: the problem, and the SGD runs {label: (ε, seeds, t_final)}; the checked run
SIZES = {
    False: {"dim": 320, "signal": 60, "t_final": 20.0, "neurons": 800, "particles": 4096,
            "sgd": {"2e-4": (2e-4, [0, 1, 2, 3], 20.0), "2e-5": (2e-5, [0, 1], 10.0)},
            "checked": "2e-5"},
    True: {"dim": 40, "signal": 10, "t_final": 4.0, "neurons": 400, "particles": 1024,
           "sgd": {"2e-4": (2e-4, [0, 1], 4.0)}, "checked": "2e-4"},
}
T_CHECK = 4.0                           # the validation's t_max


def case(quick: bool, kernel_dim) -> dict:
    """The raw case of a size (``SIZES``) with ``kernel_dim`` ("inf" or an integer)."""
    size = SIZES[quick]
    t_final = size["t_final"]
    return {
        "data": {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": size["dim"],
                 "signal_dim": size["signal"]},
        "network": {"unit": "awb", "activation": "relu"},
        "training": {"t_final": t_final,
                     "schedule": {"kind": "power", "value": 1.0, "exponent": 0.25,
                                  "offset": 1.0}},
        "init": {"kind": "gaussian", "kappa": 1.0, "a": {"kind": "constant", "value": 1.0},
                 "b": {"kind": "constant", "value": 0.0}},
        "pde": {"scheme": "lagrangian", "particles": size["particles"],
                "kernel_tol": 1e-6, "kernel_dim": kernel_dim,
                "grid": {"a": {"min": -1.0, "max": 5.0, "cells": 24},
                         "b": {"min": -4.0, "max": 2.0, "cells": 24},
                         "r1": {"max": 5.0, "cells": 24}, "r2": {"max": 2.5, "cells": 24}},
                "snapshot_times": list(np.linspace(0.0, t_final, 11))},
        "validate": {"t_max": T_CHECK},
    }


def sgd_case(base: dict, neurons: int, eps: float, seeds, t_final: float) -> dict:
    """``base`` with SGD of ``neurons`` units at step ε to ``t_final`` (the snapshots up to
    it)."""
    out = {**base, "training": {**base["training"], "t_final": t_final},
           "pde": {**base["pde"], "snapshot_times": [t for t in base["pde"]["snapshot_times"]
                                                     if t <= t_final]}}
    out["sgd"] = {"neurons": neurons, "eps": eps, "seeds": seeds}
    return out


def sgd_means(runs, coord: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean over units of ``coord`` at every snapshot: the mean over seeds and its SE."""
    per_seed = np.array([run.coords[coord].mean(axis=1) for run in runs])
    se = per_seed.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else 0 * per_seed[0]
    return per_seed.mean(axis=0), se


def plot(dd, dd_inf, sgd: dict, dim, path: Path) -> None:
    plt, fig, axes = figure(2, 3, (13.5, 7.5))
    styles = dict(zip(sgd, ("k.", "C2s")))
    ax = axes[0, 0]
    ax.plot(dd.t, dd.risk, "C0", label=f"DD, d = {dim} kernel")
    ax.plot(dd_inf.t, dd_inf.risk, "C3--", label="DD, d = ∞ kernel")
    for label, runs in sgd.items():
        risk = np.array([run.risk for run in runs])
        ax.errorbar(runs[0].t, risk.mean(axis=0),
                    2 * risk.std(axis=0, ddof=1) / np.sqrt(len(runs)), fmt=styles[label], ms=4,
                    label=f"SGD ε = {label}, mean R_N ± 2 SE ({len(runs)} seeds)")
    ax.set(xlabel="t", ylabel="risk", title="risk")
    ax.legend(fontsize="small")
    for ax, coord in zip((axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]), COORDS):
        ax.plot(dd.t, dd.particle_moment(coord), "C0", label="DD, finite d")
        ax.plot(dd_inf.t, dd_inf.particle_moment(coord), "C3--", label="DD, d = ∞")
        for label, runs in sgd.items():
            mean, se = sgd_means(runs, coord)
            ax.errorbar(runs[0].t, mean, 2 * se, fmt=styles[label], ms=4, label=f"SGD ε = {label}")
        ax.set(xlabel="t", ylabel=f"mean {coord}", title=f"mean of {coord}")
    axes[1, 1].set(yscale="log", title="mean of r2: SGD's floor falls with ε")
    axes[0, 1].legend(fontsize="small")
    ax = axes[1, 2]
    positions, weights = dd.particles
    column = dd.grid.names.index("r2")
    bins = np.linspace(0, 1.5, 61)
    ax.hist(np.abs(positions[0, :, column]), bins=bins, weights=weights, density=True,
            histtype="step", color="C7", label="DD, t = 0")
    ax.hist(np.abs(positions[-1, :, column]), bins=bins, weights=weights, density=True,
            histtype="step", color="C0", label=f"DD, t = {dd.t[-1]:g}")
    main_runs = next(iter(sgd.values()))
    ax.hist(np.concatenate([run.coords["r2"][-1] for run in main_runs]), bins=bins,
            density=True, color="0.75", label=f"SGD ε = {next(iter(sgd))}, t = "
                                                f"{main_runs[0].t[-1]:g}")
    ax.set(xlabel="r2 = |w_{s0+1:d}|", ylabel="density", title="the collapse of r2")
    ax.legend(fontsize="small")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """The two DDs, the SGD runs, the validation rows; returns the key numbers."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    size = SIZES[quick]
    dim = size["dim"]
    finite = case(quick, dim)
    dd = ddsolver.solve(finite, out / f"dd_d{dim}.h5", overwrite=True)
    dd_inf = ddsolver.solve(case(quick, "inf"), out / "dd_dinf.h5", overwrite=True)
    pde_seconds = time.perf_counter() - start
    cases = {label: sgd_case(finite, size["neurons"], *spec)
             for label, spec in size["sgd"].items()}
    sgd = {label: run_sgd(c, c["sgd"]["seeds"], out, f"sgd_eps{label}")
           for label, c in cases.items()}
    rows, _ = validation_rows("mmn_9_3", cases[size["checked"]], dd, sgd[size["checked"]])
    seconds = time.perf_counter() - start

    means = {label: {c: sgd_means(runs, c)[0] for c in COORDS} for label, runs in sgd.items()}
    main_label = next(iter(sgd))
    header = (["t", "R DD", "R DD inf", f"R SGD {main_label}"] + [f"{c} DD" for c in COORDS]
              + [f"{c} SGD {main_label}" for c in COORDS]
              + [f"r2 SGD {label}" for label in list(sgd)[1:]])
    risk_sgd = np.mean([run.risk for run in sgd[main_label]], axis=0)
    table = []
    for k in range(0, len(dd.t), 2):
        extra = [means[label]["r2"][k] if k < len(means[label]["r2"]) else "-"
                 for label in list(sgd)[1:]]
        table.append([dd.t[k], dd.risk[k], dd_inf.risk[k], risk_sgd[k]]
                     + [dd.particle_moment(c)[k] for c in COORDS]
                     + [means[main_label][c][k] for c in COORDS] + extra)
    print_table(header, table)
    print(f"\nvalidation of SGD at ε = {size['checked']} against the finite-d DD, t <= "
          f"{T_CHECK:g} (value / tolerance):")
    for metric, (value, tol, ok) in rows.items():
        print(f"  {metric:12s} {value:.3g} / {tol:.3g} {'pass' if ok else 'FAIL'}")
    print(f"\nPDE {pde_seconds:.1f} s, all {seconds:.1f} s")
    plot(dd, dd_inf, sgd, dim, out / "mmn_9_3.png")
    print(f"wrote {out / 'mmn_9_3.png'} and the HDF5 files in {out}")
    return {"rows": rows, "dd": dd, "dd_inf": dd_inf, "sgd": sgd,
            "r2_dd": dd.particle_moment("r2")[[0, -1]],
            "r2_sgd": {label: m["r2"][[0, -1]] for label, m in means.items()},
            "r1_dd": dd.particle_moment("r1")[[0, -1]], "seconds": seconds}


if __name__ == "__main__":
    command_line(main, __doc__, "mmn-9-3")
