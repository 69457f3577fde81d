"""The validation report: printed table, ``metrics.json``, ``report.md`` and PNG plots."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from ..model import model_of
from ..visualization.plot import coordinate_label, draw_pairs

EXPLANATION = """\
## What is compared

For every case the distributional dynamics (DD) is solved on the grid of the reduced coordinates
(e.g. r = |w|; (a, r); (r1, r2)) and the SGD seeds are run on the full network (exact
population risk R_N, no Monte-Carlo noise). Every reduced coordinate x is compared on its own,
against the marginal of the PDE density.

* **risk_gap**: sup over snapshot times t ≤ t_max of the distance of the seeds' mean R_N(θ^t) to
  the band [R(p_t), E R_N(t)]. E R_N = R(p_t) + (α²/N)(∫U(θ,θ) p_t(dθ) − ∫∫U p_t p_t) is the mean
  risk of N independent units of law p_t: R_N counts the diagonal terms i = j, a deterministic
  O(1/N) part (row "diagonal term"). It is exact at t = 0, but SGD quickly trains away part of
  it (the random O(1/√N) part of the network function), so the DD predicts finite-N SGD up to
  this band. SE is the seed-to-seed standard error.
* **mean_x_gap** (one per coordinate x, e.g. mean_r_gap): sup_t |mean over seeds of
  (1/N) Σ_i x_i − ∫ x p_t(dx)|.
* **w1_x** (e.g. w1_r): sup_t of the seed-averaged Wasserstein-1 distance between the empirical
  law of the x_i and the PDE marginal of x, exact for the piecewise-constant density
  (∫|F_emp − F_pde| dx). Even N exact samples of p_t are at distance ≈ √(2/(πN)) ∫√(F(1−F)) dx
  (the "iid floor" in the notes).
* **w1_gibbs**, **risk_gibbs** (noisy cases, β < ∞; informational): the Gibbs state p* of
  `ddsolver.stationary` (ρ* ∝ exp(−βΨ_λ(θ; ρ*)), the minimiser of the free energy F) against
  the seeds' coordinates at the last compared time (W1 per coordinate, the largest shown, with
  the PDE's own W1 to p* and the sampling floor of N iid draws of p*) and R(p_t) − R(p*). Both
  small: SGD and the PDE have reached the Gibbs state. The free-energy plot shows F(p_t)
  relaxing to F(p*).
* **slope**: for sweep cases, the least-squares slope of log(error) against log(swept value);
  error = seed average of sup_t |R_N − E R_N| (risk) or of sup_t W1 (w1; the largest over the
  coordinates). Theory (MMN, MMM): −1/2 against N, about +1/2 against ε once the step-size
  error dominates, and no growth with d.

Tolerances are the case's `[validate]` values, otherwise the defaults of docs/validation.md
(sampling error from N and the seeds, plus a step-size term in √(ε D), D the number of
parameters of a unit).
"""

INFINITE_KERNEL = """\
### Why the d = ∞ kernel does not match

Rows marked `[kernel d=inf]` are informational. The DD with the d = ∞ kernel u_∞ keeps only the
m = 0 term of the Mehler series of the kernel, e.g. u_d(r, r') = ½ Σ_τ Σ_m E[c^(2m)] h_2m(τr)
h_2m(τr') (docs/theory.md §4.1): it drops the E[c²] ≈ 1/d correlation between two random
directions in dimension d. At d = {dim} the dropped terms are not
negligible for this activation, so its density and risk drift away from SGD, while the
finite-d kernel, exact at every d, matches (dashed curves in the plots). At t = {t:g} the SGD
mean risk is {sgd:.4f}; the finite-d DD gives R(p) = {finite:.4f} (E R_N = {finite_n:.4f}), the
d = ∞ DD R(p) = {infinite:.4f} (E R_N = {infinite_n:.4f}). Largest risk gap: {gap:.4f} with the
finite-d kernel, {gap_inf:.4f} with d = ∞.
"""


NOISY = """\
Noisy SGD (β = {beta:g}, λ = {lam:g}). Gibbs state p* from `ddsolver.stationary` ({iterations}
Newton iterations, moment residual {residual:.1e}, converged: {converged}): R(p*) = {risk:.5f},
F(p*) = {free_energy:.5f}. At t = {t:g}: PDE R(p_t) = {pde_risk:.5f}, F(p_t) = \
{pde_free_energy:.5f}; SGD mean R_N = {sgd_risk:.5f}. W1 to the Gibbs marginals at that time
(SGD seed mean; PDE p_t; N iid draws of p*): {distances}. The density plot shows p* (black dots)
at the last time.
"""


def _gibbs_metrics(c) -> dict:
    """The Gibbs state of a noisy comparison and the distances to it at the last time: per
    coordinate, and the largest over the coordinates (w1_sgd, w1_pde, w1_iid)."""
    gibbs = c.gibbs
    coords = {x: {"w1_sgd": float(m.w1_gibbs.mean()), "w1_pde": m.w1_pde_gibbs,
                  "w1_iid": m.gibbs_floor, "marginal": m.gibbs.tolist()}
              for x, m in c.coords.items()}
    return {"t": float(c.t[-1]), "risk": float(gibbs.risk[0]),
            "free_energy": float(gibbs.free_energy[0]),
            "iterations": int(gibbs.attrs["iterations"]),
            "residual": float(gibbs.attrs["residual"]),
            "converged": bool(gibbs.attrs["converged"]),
            "pde_risk": float(c.pde_risk[-1]),
            "pde_free_energy": math.nan if c.free_energy is None else float(c.free_energy[-1]),
            "sgd_risk": float(c.sgd_risk[:, -1].mean()),
            **{key: max(v[key] for v in coords.values())
               for key in ("w1_sgd", "w1_pde", "w1_iid")},
            "coords": coords, "density": gibbs.density[0].tolist()}


def _gibbs_distances(gibbs: dict) -> str:
    """"x W1_sgd, W1_pde, floor; …" for the coordinates of :func:`_gibbs_metrics`."""
    return "; ".join(f"{x} {v['w1_sgd']:.2e}, {v['w1_pde']:.2e}, {v['w1_iid']:.2e}"
                     for x, v in gibbs["coords"].items())


def _coordinate_series(c) -> dict:
    """The per-time series of every coordinate x: mean_x_pde, mean_x_gap, mean_x_se, w1_x
    (seed mean), w1_x_iid (the floor of N iid draws) and sd_x."""
    out = {}
    for x, m in c.coords.items():
        out.update({f"mean_{x}_pde": m.mean_pde.tolist(), f"mean_{x}_gap": m.gap.tolist(),
                    f"mean_{x}_se": m.se.tolist(), f"w1_{x}": m.w1.mean(axis=0).tolist(),
                    f"w1_{x}_iid": m.w1_iid.tolist(), f"sd_{x}": m.sd.tolist()})
    return out


def _case_summary(case: dict, main) -> str:
    """One line: the model, N, ε, the seeds and the compared horizon."""
    return (f"{model_of(case).summary()}; coordinates ({', '.join(main.coords)}); "
            f"N = {case['sgd']['neurons']}, "
            f"ε = {case['sgd']['eps']:g}, seeds {case['sgd']['seeds']}, compared up to "
            f"t = {main.t[-1]:g}.")


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _slug(text: str) -> str:
    return re.sub(r"[^\w.=-]+", "_", text).strip("_")


def _status(passed) -> str:
    return "info" if passed is None else "pass" if passed else "FAIL"


class ValidationReport:
    """Result of :func:`~ddsolver.validation.validate`: ``passed`` (every checked row within
    tolerance), ``table`` (printable), ``metrics`` (JSON-ready), ``write(dir)``."""

    def __init__(self, rows, comparisons, sweeps):
        self.rows, self.comparisons, self.sweeps = rows, comparisons, sweeps
        self.passed = all(r.passed is not False for r in rows)
        self.table = self._table()
        self.metrics = self._metrics()

    def _cells(self):
        return [[r.case, r.metric, _fmt(r.value), _fmt(r.tolerance), _status(r.passed), r.note]
                for r in self.rows]

    def _table(self) -> str:
        head = ["case", "metric", "value", "tolerance", "result", "note"]
        cells = [head] + self._cells()
        widths = [max(len(row[k]) for row in cells) for k in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"\nvalidation {'PASSED' if self.passed else 'FAILED'}: "
                     f"{sum(r.passed is True for r in self.rows)} passed, "
                     f"{sum(r.passed is False for r in self.rows)} failed, "
                     f"{sum(r.passed is None for r in self.rows)} informational")
        return "\n".join(lines)

    def _metrics(self) -> dict:
        return {
            "passed": self.passed,
            "rows": [{"case": r.case, "metric": r.metric, "value": r.value,
                      "tolerance": r.tolerance, "result": _status(r.passed), "note": r.note}
                     for r in self.rows],
            "comparisons": {c.label: {
                "kernel_dim": "inf" if math.isinf(c.kernel_dim) else c.kernel_dim,
                "neurons": c.case["sgd"]["neurons"], "eps": c.case["sgd"]["eps"],
                "dim": c.case["data"].get("dim"), "seeds": c.case["sgd"]["seeds"],
                "t": c.t.tolist(), "pde_risk": c.pde_risk.tolist(),
                "predicted_risk": c.predicted.tolist(),
                "sgd_risk_mean": c.sgd_risk.mean(axis=0).tolist(),
                "risk_gap": c.gap.tolist(), "risk_gap_se": c.gap_se.tolist(),
                **_coordinate_series(c),
                **({} if c.free_energy is None else {"free_energy": c.free_energy.tolist()}),
                **({} if c.gibbs is None else {"gibbs": _gibbs_metrics(c)})}
                for c in self.comparisons},
            "sweeps": {s.name: {"key": s.key, "values": s.values.tolist(),
                                "errors": {m: e.tolist() for m, e in s.errors.items()},
                                "slopes": {m: {"slope": b, "se": se, "intercept": a}
                                           for m, (b, se, a) in s.slopes.items()}}
                       for s in self.sweeps},
        }

    # -- files -----------------------------------------------------------------------------------

    def write(self, report_dir) -> Path:
        """Write metrics.json, the PNG plots and report.md into ``report_dir``; return it."""
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(self.metrics, indent=1))
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        lines = [f"# ddsolver validation: {'PASSED' if self.passed else 'FAILED'}", "",
                 "| case | metric | value | tolerance | result | note |",
                 "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                  for row in self._cells()]
        lines += ["", EXPLANATION]
        for name in dict.fromkeys(c.name for c in self.comparisons):
            group = [c for c in self.comparisons if c.name == name]
            main = group[0]
            case = main.case
            lines += [f"## {name}", "", _case_summary(case, main), ""]
            plots = [("risk", _plot_risk), ("density", _plot_density)]
            if main.grid.ndim > 1:
                plots.append(("joint", _plot_joint))
            if main.gibbs is not None:
                training = case["training"]
                gibbs = _gibbs_metrics(main)
                lines += [NOISY.format(beta=training["beta"], lam=training["lambda"],
                                       distances=_gibbs_distances(gibbs), **gibbs), ""]
                plots.append(("free_energy", _plot_free_energy))
            for kind, plot in plots:
                file = f"{kind}_{_slug(name)}.png"
                plot(plt, group, out / file)
                lines += [f"![{kind} {name}]({file})", ""]
            for extra in group[1:]:
                if math.isinf(extra.kernel_dim):
                    lines += [INFINITE_KERNEL.format(
                        dim=case["data"].get("dim"), t=main.t[-1], sgd=main.sgd_risk[:, -1].mean(),
                        finite=main.pde_risk[-1], finite_n=main.predicted[-1],
                        infinite=extra.pde_risk[-1], infinite_n=extra.predicted[-1],
                        gap=np.abs(main.gap).max(), gap_inf=np.abs(extra.gap).max()), ""]
        for sweep in self.sweeps:
            file = f"sweep_{_slug(sweep.name)}.png"
            _plot_sweep(plt, sweep, out / file)
            fits = ", ".join(f"{m}: slope {b:.3f} ± {se:.3f}" for m, (b, se, _) in
                             sweep.slopes.items())
            lines += [f"## Sweep {sweep.name} ({sweep.key})", "", fits, "",
                      f"![sweep {sweep.name}]({file})", ""]
        (out / "report.md").write_text("\n".join(lines))
        return out


def _label(c) -> str:
    """"DD, kernel d = …" (just "DD" for a custom problem, which has no kernel dimension)."""
    return "DD" if "dim" not in c.case["data"] else f"DD, kernel d = {c.kernel_dim:g}"


def _plot_risk(plt, group, path):
    """Risk curves (E R_N and R(p) per kernel; SGD seeds: mean and min–max) and, below, every
    curve minus R(p_t) of the first kernel: the band [R(p_t), E R_N(t)] and the SGD mean ± 2 SE."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    main = group[0]
    mean, se = main.sgd_risk.mean(axis=0), main.gap_se
    top.fill_between(main.t, main.sgd_risk.min(axis=0), main.sgd_risk.max(axis=0), color="C0",
                     alpha=0.2, label=f"SGD, {len(main.sgd_risk)} seeds (min–max)")
    top.plot(main.t, mean, "C0", lw=1.5, label="SGD mean")
    base = main.pde_risk
    bottom.fill_between(main.t, 0 * base, main.predicted - base, color="C1", alpha=0.25,
                        label=f"[R(p), E R_N], {_label(main)}")
    for k, c in enumerate(group):
        style = "-" if k == 0 else "--"
        top.plot(c.t, c.predicted, f"C{k + 1}{style}", label=f"{_label(c)}: E R_N")
        top.plot(c.t, c.pde_risk, f"C{k + 1}:", lw=1, label=f"{_label(c)}: R(p)")
        if k:
            bottom.plot(c.t, c.pde_risk - base, f"C{k + 1}--", label=f"{_label(c)}: R(p)")
    bottom.errorbar(main.t, mean - base, yerr=2 * se, fmt="C0o", ms=3, capsize=2,
                    label="SGD mean ± 2 SE")
    bottom.axhline(0, color="k", lw=0.5)
    top.set_ylabel("risk")
    top.set_title(main.name)
    top.legend(fontsize=7)
    bottom.set_ylabel(f"risk − R(p), {_label(main)}")
    bottom.set_xlabel("t")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_density(plt, group, path, panels=4):
    """For every coordinate (one row each), its PDE marginal per kernel against the histogram
    of the pooled values of the units at a few snapshot times (and, for a noisy case, the Gibbs
    marginal at the last one)."""
    main = group[0]
    times = np.unique(np.linspace(0, len(main.t) - 1, panels).round().astype(int))
    fig, axes = plt.subplots(len(main.coords), len(times), figsize=(3.2 * len(times),
                                                                     3.2 * len(main.coords)),
                             squeeze=False)
    for row, (name, m) in zip(axes, main.coords.items()):
        centres = 0.5 * (m.edges[1:] + m.edges[:-1])
        for ax, k in zip(row, times):
            x = m.samples[:, k].ravel()
            lo, hi = x.min(), x.max()
            pad = 0.1 * (hi - lo) + 1e-3
            ax.hist(x, bins=min(60, max(10, x.size // 50)), range=(lo - pad, hi + pad),
                    density=True, color="C0", alpha=0.4, label=f"SGD {name}_i")
            for j, c in enumerate(group):
                ax.plot(centres, c.coords[name].density[k], f"C{j + 1}{'-' if j == 0 else '--'}",
                        lw=1, label=_label(c))
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_title(f"t = {main.t[k]:g}, W1 = {m.w1[:, k].mean():.2g}", fontsize=9)
            ax.set_xlabel(coordinate_label(name))
        if m.gibbs is not None:
            ax.plot(centres, m.gibbs, "k:", lw=1.5, label="Gibbs p* (t = ∞)")
            ax.set_title(f"t = {main.t[-1]:g}, W1 = {m.w1[:, -1].mean():.2g}, "
                         f"to p*: {m.w1_gibbs.mean():.2g}", fontsize=9)
            ax.legend(fontsize=7)
        row[0].legend(fontsize=7)
    fig.suptitle(main.name, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_joint(plt, group, path):
    """The PDE density (2-D grids: at the first, a middle and the last time) or its pairwise
    marginals (3-D grids: at the last time) as images, with the units of all seeds on top."""
    main = group[0]
    ndim, last = main.grid.ndim, len(main.t) - 1
    times = np.unique([0, last // 2, last]) if ndim == 2 else [last]
    panels = len(times) * ndim * (ndim - 1) // 2
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.8), squeeze=False)
    per_time = panels // len(times)
    for n, k in enumerate(times):
        points = {x: m.samples[:, k].ravel() for x, m in main.coords.items()}
        draw_pairs(fig, axes[0][n * per_time:(n + 1) * per_time], main.grid, main.density[k],
                   points, title=f"t = {main.t[k]:g}")
    fig.suptitle(f"{main.name}: PDE density ({_label(main)}), SGD units (dots)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_free_energy(plt, group, path):
    """F(p_t) of the PDE against the Gibbs level F(p*), and F(p_t) − F(p*) on a log scale."""
    main = group[0]
    level = main.gibbs.free_energy[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(main.t, main.free_energy, "C1.-", label="PDE F(p_t)")
    left.axhline(level, color="k", ls=":", label="Gibbs F(p*)")
    left.set(xlabel="t", ylabel="free energy", title="free energy")
    left.legend(fontsize=8)
    excess = main.free_energy - level
    positive = excess > 0
    right.semilogy(main.t[positive], excess[positive], "C1.-")
    right.set(xlabel="t", ylabel="F(p_t) − F(p*)", title="relaxation to the Gibbs state")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(main.name, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_sweep(plt, sweep, path):
    """Errors against the swept value, log-log, with the fitted power laws."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, (m, errors) in enumerate(sweep.errors.items()):
        b, se, a = sweep.slopes[m]
        ax.loglog(sweep.values, errors, f"C{k}o", label=f"{m} error")
        ax.loglog(sweep.values, np.exp(a) * sweep.values**b, f"C{k}-",
                  label=f"fit: slope {b:.2f} ± {se:.2f}")
    ax.set_xlabel(sweep.key)
    ax.set_ylabel("error")
    ax.set_title(sweep.name)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
