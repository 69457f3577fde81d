"""The mean-field and kernel regimes on one case: a ReLU(<w, x>) units on isotropic Gaussians
(d = 10, Δ = 0.5), a ~ U[−1, 1] (zero initial output), noiseless, to t = 2.

Solves the kernel limit (``training.regime = "kernel"``) and the finite-α DD (Lagrangian scheme,
4096 particles) for α = 1, 2, 4, …, 64, writes one HDF5 file per run and a PNG with the risk
curves against the kernel curve, sup_t |R_α − R_kernel| against α with its fitted slope, and
the law's mean displacement times α (O(1) when the units move by O(1/α)); prints the table.

    python examples/kernel_limit.py [-o OUT_DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import ddsolver
from ddsolver.case import normalize_case

ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def case(regime: str, alpha: float = 1.0) -> dict:
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
        "network": {"unit": "aw", "activation": "relu", "scale": alpha},
        "training": {"t_final": 2.0, "regime": regime},
        "init": {"kind": "gaussian", "kappa": 1.0,
                 "a": {"kind": "uniform", "low": -1.0, "high": 1.0}},
        "pde": {"scheme": "lagrangian", "particles": 4096, "rtol": 1e-9,
                "grid": {"a": {"min": -3.0, "max": 3.0, "cells": 240},
                         "r": {"min": 0.0, "max": 3.0, "cells": 240}},
                "snapshot_times": np.linspace(0.0, 2.0, 21)}})


def mean_displacement(solution) -> np.ndarray:
    """|∫θ dρ_t − ∫θ dρ_0| over the coordinates (a, r), at every snapshot."""
    means = np.array([solution.moment(name) for name in solution.grid.names])
    return np.linalg.norm(means - means[:, :1], axis=0)


def main(out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    kernel = ddsolver.solve(case("kernel"), out / "kernel.h5", overwrite=True)
    runs = {alpha: ddsolver.solve(case("mean_field", alpha), out / f"alpha_{alpha:g}.h5",
                                  overwrite=True) for alpha in ALPHAS}
    gaps = np.array([np.abs(runs[a].risk - kernel.risk).max() for a in ALPHAS])
    moved = np.array([a * mean_displacement(runs[a]).max() for a in ALPHAS])
    fit = np.polyfit(np.log(ALPHAS[1:5]), np.log(gaps[1:5]), 1, cov=True)
    slope, slope_se = fit[0][0], float(np.sqrt(fit[1][0, 0]))
    print(f"{'alpha':>6} {'R(t=2)':>10} {'sup|R - R_kernel|':>18} {'alpha x mean shift':>19}")
    for alpha, gap, shift in zip(ALPHAS, gaps, moved):
        print(f"{alpha:6g} {runs[alpha].risk[-1]:10.6f} {gap:18.3e} {shift:19.4f}")
    print(f"kernel R(t=2) = {kernel.risk[-1]:.6f}; slope of the gap over 2 <= alpha <= 16: "
          f"{slope:.2f} ± {slope_se:.2f}")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for alpha, colour in zip(ALPHAS, plt.cm.viridis(np.linspace(0, 0.9, len(ALPHAS)))):
        axes[0].plot(runs[alpha].t, runs[alpha].risk, color=colour, label=f"α = {alpha:g}")
    axes[0].plot(kernel.t, kernel.risk, "k--", label="kernel limit")
    axes[0].set(xlabel="t", ylabel="risk", title="risk curves")
    axes[0].legend(fontsize="small")
    axes[1].loglog(ALPHAS, gaps, "o-")
    axes[1].set(xlabel="α", ylabel="sup_t |R_α − R_kernel|",
                title=f"slope {slope:.2f} ± {slope_se:.2f} (2 ≤ α ≤ 16)")
    axes[2].semilogx(ALPHAS, moved, "o-")
    axes[2].set(xlabel="α", ylabel="α · |mean displacement|", title="units move by O(1/α)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "kernel_limit.png", dpi=110)
    print(f"wrote {out / 'kernel_limit.png'} and the HDF5 files in {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("kernel-limit"))
    main(parser.parse_args().output)
