"""``ddsolver landscape``: the single delta, the certified minimum and the DD across Δ
(docs/numerics.md §14.2).

For every Δ of the sweep (the case with ``data.delta`` = Δ): the single-delta optimum R*, r*
(and a* for units a σ) and its certificate gap (:func:`~.single_delta.single_delta`), the
certified minimum R_min over laws on the grid and its gap (:func:`~.minimize.minimize`, risk
units), the DD's risk R(ρ_t) at ``training.t_final`` from the case's initial law
(:func:`ddsolver.solve`) and, on request, the final exact risk R_N of one SGD run (the first of
``sgd.seeds``, :func:`ddsolver.sgd.run.simulate`). For units w the threshold where the single
delta stops being optimal is bisected (:func:`~.single_delta.delta_threshold`) inside the first
change of the sweep from optimal to not optimal.
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..case import as_case
from ..errors import CaseError, DdsolverError, DomainError, NumericalError
from ..model import model_of
from ..solve import solve
from .minimize import minimize
from .single_delta import (
    GAP_TOL,
    Threshold,
    delta_threshold,
    radial_reduction,
    single_delta,
    with_delta,
)

COLUMNS = ("delta", "single_risk", "single_radius", "single_weight", "single_gap",
           "single_optimal", "min_risk", "min_gap", "min_at_edge", "dd_risk", "sgd_risk")
FILES = ("landscape.csv", "landscape.json", "landscape.png")
THRESHOLD_TOL = 1e-4


def parse_deltas(text: str) -> np.ndarray:
    """Δ values from ``START:STOP:COUNT`` (COUNT evenly spaced values, ends included) or a
    comma-separated list; CaseError (naming ``--deltas``) unless they lie in (0, 1)."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            if int(count) < 1:
                raise ValueError
            values = np.linspace(float(start), float(stop), int(count)).round(12)
        else:
            values = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise CaseError(f"--deltas: expected START:STOP:COUNT or a comma-separated list, got "
                        f"{text!r}") from None
    if not np.all((values > 0) & (values < 1)):
        raise CaseError(f"--deltas: every Δ must lie in (0, 1), got {text!r}")
    return np.unique(values)


@dataclass
class Sweep:
    """The table (one array per :data:`COLUMNS` entry, NaN where not computed), the threshold
    (None if the sweep shows no change from optimal to not optimal, or units a σ) and the case
    swept (its ``data.delta`` is that of the file)."""

    table: dict[str, np.ndarray]
    threshold: Threshold | None
    case: dict

    def write(self, folder, overwrite: bool = False) -> list[Path]:
        """landscape.csv (the table), landscape.json (threshold, kernel dimension, t_final) and
        landscape.png (:meth:`plot`) in ``folder`` (created if missing)."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise DdsolverError(f"output {str(folder)!r} is a file, not a folder")
        paths = [folder / name for name in FILES]
        existing = [str(p) for p in paths if p.exists()]
        if existing and not overwrite:
            raise DdsolverError(f"output {existing[0]!r} already exists (pass overwrite=True, or "
                                "--overwrite on the command line)")
        folder.mkdir(parents=True, exist_ok=True)
        with paths[0].open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(zip(*(self.table[c].tolist() for c in COLUMNS)))
        th = self.threshold
        paths[1].write_text(json.dumps({
            "threshold": None if th is None else {"delta": th.delta, "lo": th.lo, "hi": th.hi},
            "kernel_dim": f"{self.case['pde']['kernel_dim']:g}",
            "t_final": self.case["training"]["t_final"]}, indent=2) + "\n")
        self.plot(paths[2])
        return paths

    def plot(self, path=None):
        """Risks against Δ (single delta, R_min, DD at t_final, SGD) and the single delta's gap
        and r*, with the threshold's bracket shaded; returns the matplotlib Figure."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise DdsolverError("plotting needs matplotlib: pip install 'ddsolver[plot]'") from None
        t = self.table
        fig = Figure(figsize=(11, 4), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2)
        t_final = self.case["training"]["t_final"]
        for column, label, style in (("single_risk", "single delta R*", "o-"),
                                     ("min_risk", "certified minimum R_min", "s-"),
                                     ("dd_risk", f"DD R(ρ_t), t = {t_final:g}", "^--"),
                                     ("sgd_risk", f"SGD R_N, t = {t_final:g}", "x:")):
            if np.isfinite(t[column]).any():
                left.plot(t["delta"], t[column], style, label=label, ms=4)
        left.set(xlabel="Δ", ylabel="risk", title="risk against Δ")
        floor = 1e-16
        right.semilogy(t["delta"], np.maximum(t["single_gap"], floor), "o-", color="C3", ms=4,
                       label="single-delta gap")
        right.axhline(GAP_TOL * 0.5 / self.case["network"]["scale"]**2, color="C3", ls=":",
                      lw=0.8, label="optimal below")
        right.set(xlabel="Δ", ylabel="certificate gap (energy units)",
                  title="single delta: gap and r*")
        radius = right.twinx()
        radius.plot(t["delta"], t["single_radius"], "d--", color="C0", ms=4, label="r*")
        radius.set_ylabel("r*")
        if self.threshold is not None:
            th = self.threshold
            for ax in (left, right):
                ax.axvspan(th.lo, th.hi, color="0.8")
                ax.axvline(th.delta, color="k", lw=0.8,
                           label=f"threshold Δ = {th.delta:.5f} [{th.lo:.5f}, {th.hi:.5f}]")
        left.legend(fontsize=8)
        right.legend(fontsize=8, loc="upper left")
        radius.legend(fontsize=8, loc="lower right")
        fig.suptitle(f"{self.case['network']['activation']} units, d = "
                     f"{self.case['data']['dim']}, kernel d = {self.case['pde']['kernel_dim']:g}")
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig


def _final_risk(run, case: dict, delta: float, name: str) -> float:
    """The last risk of ``run(case)``; NaN and a warning if the run fails (e.g. mass reaching
    the grid's edge)."""
    try:
        return float(run(case, progress=False).risk[-1])
    except (DomainError, NumericalError) as exc:
        warnings.warn(f"Δ = {delta:g}: {name} not computed: {exc}", stacklevel=3)
        return np.nan


def sweep(case, deltas, *, sgd: bool = False, progress=None,
          tol: float = THRESHOLD_TOL) -> Sweep:
    """The landscape table of a noiseless radial case (units w or a σ on isotropic data) over
    ``deltas`` (module doc); the threshold is bisected to a bracket of width ≤ ``tol``."""
    case = as_case(case)
    radial_reduction(case)                                     # the case's one-line errors
    deltas = np.unique(np.asarray(deltas, float))
    table = {c: np.full(deltas.size, np.nan) for c in COLUMNS}
    table["delta"] = deltas
    for i, delta in enumerate(tqdm(deltas, desc="ddsolver landscape", unit="Δ",
                                   disable=None if progress is None else not progress)):
        at = with_delta(case, delta)
        single = single_delta(at)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                    # mass at the edge: min_at_edge
            low = minimize(at)
        row = {"single_risk": single.risk, "single_radius": single.radius,
               "single_weight": np.nan if single.weight is None else single.weight,
               "single_gap": single.gap, "single_optimal": float(single.optimal),
               "min_risk": low.risk[-1], "min_gap": low.attrs["gap"],
               "min_at_edge": float(bool(low.attrs["edge"])),
               "dd_risk": _final_risk(solve, at, delta, "DD")}
        if sgd:
            from ..sgd.run import simulate
            row["sgd_risk"] = _final_risk(simulate, at, delta, "SGD")
        for column, value in row.items():
            table[column][i] = value
    threshold = None
    flags = table["single_optimal"] == 1.0
    change = np.flatnonzero(flags[:-1] & ~flags[1:])
    if model_of(case).coords == ("r",) and change.size:
        threshold = delta_threshold(case, deltas[change[0]], deltas[change[0] + 1], tol)
    return Sweep(table, threshold, case)
