"""The mean-field and kernel regimes side by side, on units a σ(<w, x>) on isotropic Gaussians
(d = 10, Δ = 0.5), noiseless, to t = 2, for two initial laws of zero output:

- ``symmetric``: ReLU, a ~ U[−1, 1]. ReLU units are bilinear in the reduced (a, r), and the law
  of a is symmetric: the gap to the kernel curve falls like 1/α² (docs/theory.md §6).
- ``skewed``: the piecewise-linear σ of MMN's example 9.1, a ∈ {−3, 1} with weights (¼, ¾). Nothing
  cancels: the gap falls like 1/α, the generic rate.

For each law: the kernel limit (``training.regime = "kernel"``) and the finite-α DD (Lagrangian
scheme) at α = 1, 2, 4, … One HDF5 file per run in OUT_DIR/<law>/, a PNG with the risk curves
against the kernel curve, sup_t |R_α − R_kernel| against α with the fitted slope (and its
standard error) over 4 ≤ α ≤ 32, and α × the law's mean displacement against α beside the kernel
limit's first-order value; the table is printed.

    python examples/kernel_limit.py [-o OUT_DIR] [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _gallery import command_line, figure, save

import ddsolver
from ddsolver.case import normalize_case

LAWS = {
    "symmetric": ({"activation": "relu"}, {"kind": "uniform", "low": -1.0, "high": 1.0},
                  (-3.0, 3.0)),
    "skewed": ({"activation": "piecewise_linear",
                "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
               {"kind": "discrete", "values": [-3.0, 1.0], "weights": [0.25, 0.75]},
               (-5.0, 3.0)),
}
FIT = (4.0, 32.0)                       # the α range of the fitted slope


def case(law: str, regime: str, alpha: float, *, particles: int, cells: int) -> dict:
    network, a_law, (a_min, a_max) = LAWS[law]
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": 0.5, "dim": 10},
        "network": {"unit": "aw", "scale": alpha, **network},
        "training": {"t_final": 2.0, "regime": regime},
        "init": {"kind": "gaussian", "kappa": 1.0, "a": a_law},
        "pde": {"scheme": "lagrangian", "particles": particles, "rtol": 1e-10,
                "grid": {"a": {"min": a_min, "max": a_max, "cells": cells},
                         "r": {"min": 0.0, "max": 3.0, "cells": cells}},
                "snapshot_times": np.linspace(0.0, 2.0, 21)}})


def mean_displacement(solution) -> float:
    """sup_t |∫θ dρ_t − ∫θ dρ_0| over the coordinates (a, r)."""
    means = np.array([solution.moment(name) for name in solution.grid.names])
    return float(np.linalg.norm(means - means[:, :1], axis=0).max())


def slope_fit(alphas, gaps) -> tuple[float, float]:
    """Least-squares slope of log gap against log α over FIT, with its standard error."""
    keep = (alphas >= FIT[0]) & (alphas <= FIT[1])
    coef, cov = np.polyfit(np.log(alphas[keep]), np.log(gaps[keep]), 1, cov=True)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))


def sweep(law: str, alphas: np.ndarray, out: Path, **size) -> dict:
    """The kernel run and the finite-α runs of one law, written to out/<law>/."""
    folder = out / law
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    kernel = ddsolver.solve(case(law, "kernel", alphas[-1], **size), folder / "kernel.h5",
                            overwrite=True)
    runs = [ddsolver.solve(case(law, "mean_field", alpha, **size),
                           folder / f"alpha_{alpha:g}.h5", overwrite=True) for alpha in alphas]
    gaps = np.array([np.abs(run.risk - kernel.risk).max() for run in runs])
    return {"kernel": kernel, "runs": runs, "gaps": gaps, "slope": slope_fit(alphas, gaps),
            "moved": alphas * np.array([mean_displacement(run) for run in runs]),
            "kernel_moved": alphas[-1] * mean_displacement(kernel),
            "seconds": time.perf_counter() - start}


def report(law: str, alphas, result: dict) -> None:
    slope, se = result["slope"]
    print(f"\n{law}: kernel R(t=2) = {result['kernel'].risk[-1]:.6f}, "
          f"alpha x mean displacement at alpha = inf: {result['kernel_moved']:.4f}, "
          f"{result['seconds']:.1f} s")
    print(f"{'alpha':>6} {'R(t=2)':>10} {'sup|R - R_kernel|':>18} {'alpha x mean shift':>19}")
    for alpha, run, gap, moved in zip(alphas, result["runs"], result["gaps"], result["moved"]):
        print(f"{alpha:6g} {run.risk[-1]:10.6f} {gap:18.3e} {moved:19.4f}")
    print(f"slope of the gap over {FIT[0]:g} <= alpha <= {FIT[1]:g}: {slope:.2f} ± {se:.2f}")


def plot(alphas, results: dict, path: Path) -> None:
    plt, fig, axes = figure(2, 2, (12, 8.5))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(alphas)))
    for ax, (law, result) in zip(axes[0], results.items()):
        for alpha, run, colour in zip(alphas, result["runs"], colours):
            ax.plot(run.t, run.risk, color=colour, label=f"α = {alpha:g}")
        ax.plot(result["kernel"].t, result["kernel"].risk, "k--", label="kernel limit")
        ax.set(xlabel="t", ylabel="risk", yscale="log", title=f"{law}: risk curves")
        ax.legend(fontsize="small", ncol=2)
    for law, result in results.items():
        slope, se = result["slope"]
        line, = axes[1, 0].loglog(alphas, result["gaps"], "o-",
                                  label=f"{law}: slope {slope:.2f} ± {se:.2f}")
        axes[1, 1].semilogx(alphas, result["moved"], "o-", color=line.get_color(), label=law)
        axes[1, 1].axhline(result["kernel_moved"], color=line.get_color(), ls="--", lw=0.8)
    axes[1, 0].set(xlabel="α", ylabel="sup_t |R_α − R_kernel|",
                   title=f"distance to the kernel curve (fit over {FIT[0]:g} ≤ α ≤ {FIT[1]:g})")
    axes[1, 1].set(xlabel="α", ylabel="α · sup_t |mean displacement|",
                   title="units move by O(1/α) (dashed: kernel limit)")
    for ax in axes[1]:
        ax.legend(fontsize="small")
    save(plt, fig, path)


def main(out: Path, quick: bool = False) -> dict:
    """Both sweeps; returns {law: result} (the gaps, slopes and displacements)."""
    alphas = np.array([4.0, 8.0, 16.0, 32.0] if quick else [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    size = {"particles": 16384, "cells": 120} if quick else {"particles": 16384, "cells": 240}
    out.mkdir(parents=True, exist_ok=True)
    results = {law: sweep(law, alphas, out, **size) for law in LAWS}
    for law, result in results.items():
        report(law, alphas, result)
    plot(alphas, results, out / "kernel_limit.png")
    print(f"\nwrote {out / 'kernel_limit.png'} and the HDF5 files in {out}")
    return results


if __name__ == "__main__":
    command_line(main, __doc__, "kernel-limit")
