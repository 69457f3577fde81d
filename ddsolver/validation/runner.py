"""``validate``: solve the DD of each case, run (or reuse) its SGD seeds, compare, check.

For a case: the PDE solve (plus one per ``validate.extra_kernel_dims``, informational), the SGD
seeds (each run a task on a local process pool or a Dask cluster; results come back to this
process, which alone writes the cache), then the comparisons of :mod:`.metrics` at the common
snapshot times t ≤ ``validate.t_max``. A sweep case runs the base case at every swept value and
fits log(error) against log(value). Every reduced coordinate of the model is compared on its
own: mean and W1 of the units' values against the PDE marginal. A noisy case (β < ∞) is also
compared with its Gibbs state (:func:`ddsolver.stationary`): the long-time laws of the SGD
coordinates and of the PDE against it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from .. import __version__
from ..case import case_to_json, normalize_case, read_case
from ..errors import CaseError
from ..grid import CartesianGrid
from ..grid.cartesian import PADDED_DIM
from ..model import model_of
from ..resources import check_memory
from ..results import SgdResult, Solution
from ..scheme import Scheme
from ..sgd.run import simulate
from ..solve import build_reduction, solve
from ..stationary import stationary
from ..storage import SgdWriter, load_sgd
from . import tolerances
from .metrics import (
    cdf_spread,
    finite_n_correction,
    fit_slope,
    marginal_mean_sd,
    mean_gap,
    risk_gap,
    wasserstein1,
    wasserstein1_densities,
)

DEFAULT_CACHE = Path("~/.cache/ddsolver/sgd")
SLOPE_METRICS = ("w1", "risk")
CHECKED_SLOPE = "w1"         # the risk error mixes O(1/√N) and O(1/N) parts: its slope is shown


@dataclass
class Row:
    """One line of the validation table; ``passed`` is None for informational rows."""

    case: str
    metric: str
    value: float
    tolerance: float | None = None
    passed: bool | None = None
    note: str = ""


@dataclass
class Marginal:
    """One reduced coordinate x at the common times: the PDE marginal against the units' values."""

    name: str
    edges: np.ndarray
    density: np.ndarray                  # (n, cells) PDE marginal of x
    samples: np.ndarray                  # (S, n, N) x of every unit of every seed
    mean_pde: np.ndarray                 # ∫ x p_t(dx)
    sd: np.ndarray                       # standard deviation of x under p_t
    cdf_spread: np.ndarray               # J(p_t) = ∫ √(F(1 − F)) dx
    gap: np.ndarray                      # mean_s (1/N) Σ_i x_i − ∫ x p_t
    se: np.ndarray
    w1: np.ndarray                       # (S, n) W1(units' x, p_t)
    gibbs: np.ndarray | None = None      # noisy cases: the Gibbs marginal (cells,)
    w1_gibbs: np.ndarray | None = None   # (S,) W1 of each seed's last x_i against it
    w1_pde_gibbs: float | None = None    # W1 of the last PDE marginal against it

    @classmethod
    def compare(cls, name, edges, density, samples, particles=None) -> Marginal:
        """Mean gap, its SE and W1 of ``samples`` (S, n, N) against ``density`` (n, cells), or,
        for a particle solution, against the law of its particles ``particles`` = (values
        (n, P), weights (P,)) exactly (no deposit on the grid, so point masses stay points;
        W1 of two weighted empirical laws by ``scipy.stats.wasserstein_distance``)."""
        if particles is None:
            mean, sd = marginal_mean_sd(edges, density)
            w1 = np.array([[wasserstein1(x[k], edges, density[k]) for k in range(len(density))]
                           for x in samples])
        else:
            values, weights = particles
            mean = values @ weights
            sd = np.sqrt(np.maximum(values**2 @ weights - mean**2, 0.0))
            w1 = np.array([[stats.wasserstein_distance(x[k], values[k], v_weights=weights)
                            for k in range(len(values))] for x in samples])
        gap, se = mean_gap(samples, mean)
        return cls(name, edges, density, samples, mean, sd,
                   np.array([cdf_spread(edges, p) for p in density]), gap, se, w1)

    def compare_gibbs(self, gibbs) -> None:
        """The last time against the Gibbs marginal ``gibbs`` (cells,)."""
        self.gibbs = gibbs
        self.w1_gibbs = np.array([wasserstein1(x[-1], self.edges, gibbs) for x in self.samples])
        self.w1_pde_gibbs = wasserstein1_densities(self.edges, self.density[-1], gibbs)

    @property
    def w1_iid(self) -> np.ndarray:
        """√(2/(πN)) J(p_t): E W1 of N iid draws of p_t."""
        return math.sqrt(2 / math.pi / self.samples.shape[2]) * self.cdf_spread

    @property
    def gibbs_floor(self) -> float:
        """√(2/(πN)) J(p*): E W1 of N iid draws of the Gibbs marginal."""
        return math.sqrt(2 / math.pi / self.samples.shape[2]) * cdf_spread(self.edges, self.gibbs)


@dataclass
class Comparison:
    """PDE against SGD for one case (one swept value, one kernel) at the common times."""

    name: str
    case: dict
    kernel_dim: float
    t: np.ndarray
    pde_risk: np.ndarray                 # R(p_t)
    predicted: np.ndarray                # E R_N = R(p_t) + diagonal term
    sgd_risk: np.ndarray                 # (S, n) exact R_N of every seed
    gap: np.ndarray                      # mean_s R_N against [R(p_t), E R_N]
    gap_se: np.ndarray
    grid: CartesianGrid
    density: np.ndarray                  # (n, *grid.shape)
    coords: dict[str, Marginal]          # one per reduced coordinate, in grid order
    informational: bool = False          # an extra kernel or a sweep point: shown, never failing
    free_energy: np.ndarray | None = None    # F(p_t) of the PDE
    gibbs: Solution | None = None        # noisy cases: the stationary state (t = inf)
    minimum: Solution | None = None      # noiseless low-rank cases: the certified minimum
    final_gap: float | None = None       # optimality gap of p_t at the last time
    rows: list[Row] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The name, with the kernel when it is not the data's dimension (e.g. d = inf)."""
        kernel, dim = self.kernel_dim, self.case["data"].get("dim")
        return self.name if dim is None or kernel == dim else f"{self.name} [kernel d={kernel:g}]"

    @property
    def errors(self) -> dict[str, float]:
        """Per-seed errors averaged over seeds, for sweeps: mean_s sup_t of the distance of
        R_N^s(t) to [R(p_t), E R_N(t)], and the largest over the coordinates x of
        mean_s sup_t W1(x^s, p_t)."""
        risk = [np.abs(risk_gap(r[None], self.pde_risk, self.predicted)[0]).max()
                for r in self.sgd_risk]
        return {"risk": float(np.mean(risk)),
                "w1": max(float(m.w1.max(axis=1).mean()) for m in self.coords.values())}

    @property
    def w1_gibbs(self) -> float:
        """The largest over the coordinates of the seed-mean W1 to the Gibbs marginal."""
        return max(float(m.w1_gibbs.mean()) for m in self.coords.values())


# -- cases ----------------------------------------------------------------------------------------

def _load(cases) -> list[tuple[str, dict]]:
    out = []
    for i, case in enumerate(cases):
        if isinstance(case, (str, Path)):
            out.append((Path(case).stem, read_case(case)))
        else:
            out.append((f"case{i}", normalize_case(case)))
    return out


def _variant(case: dict, key: str, value) -> dict:
    """A copy of ``case`` with ``key`` ("sgd.neurons", "sgd.eps", "data.dim" or
    "pde.kernel_dim") set; sweeping data.dim also sets a finite pde.kernel_dim to it."""
    out = copy.deepcopy(case)
    table, name = key.split(".")
    out[table][name] = float(value) if key == "sgd.eps" else value
    if key == "data.dim" and not math.isinf(case["pde"]["kernel_dim"]):
        out["pde"]["kernel_dim"] = value
    out["validate"] = {**out["validate"], "sweep": None}
    return out


def sweep_points(case: dict) -> list[tuple[float | None, dict]]:
    """(sweep value, case) for every point of a case's sweep; (None, case) without one."""
    sweep = case["validate"]["sweep"]
    if sweep is None:
        return [(None, case)]
    if sweep["key"] == "data.dim" and "dim" not in case["data"]:
        raise CaseError("validate.sweep.key: 'data.dim' needs a data kind with a dimension, "
                        f"not {case['data']['kind']!r}")
    return [(v.item(), _variant(case, sweep["key"], v.item())) for v in sweep["values"]]


# -- SGD runs and their cache ---------------------------------------------------------------------

def sgd_key(case: dict, seed: int) -> str:
    """Hash of what an SGD run depends on: data, network, training (without the regime of the
    PDE it is compared with), init, sgd (without seeds and save_weights), the grid for
    grid-based initial laws, the seed and the ddsolver version."""
    relevant = {name: case[name] for name in ("data", "network", "init")}
    relevant["training"] = {k: v for k, v in case["training"].items() if k != "regime"}
    relevant["sgd"] = {k: v for k, v in case["sgd"].items() if k not in ("seeds", "save_weights")}
    if case["init"]["kind"] in ("density", "samples"):
        relevant["grid"] = case["pde"]["grid"]
    text = json.dumps({"case": json.loads(case_to_json(relevant)), "seed": int(seed),
                       "version": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _store(path: Path, result: SgdResult) -> None:
    """Write a result with the SGD HDF5 writer (to a temporary name, then renamed)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with SgdWriter(tmp, result.case, result.seed, overwrite=True) as writer:
        for k, t in enumerate(result.t):
            writer.append(t, result.risk[k], {name: v[k] for name, v in result.coords.items()})
        writer.close(run_time=result.attrs.get("run_time", math.nan))
    os.replace(tmp, path)


def _simulate(case: dict, seed: int, output: Path | None = None,
              max_memory=None) -> SgdResult:
    """One SGD run; with ``output``, streamed there and resumed from what it holds."""
    return simulate(case, seed, output=output, resume=output is not None, progress=False,
                    save_weights=False, max_memory=max_memory)


def cache_folder(cache_dir=None) -> Path:
    """The cache folder (default ~/.cache/ddsolver/sgd), created if missing."""
    cache = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def run_sgd(jobs: dict[str, tuple[dict, int]], *, scheduler=None, workers=None, cache_dir=None,
            progress=None, resume=False, max_memory=None) -> dict[str, SgdResult]:
    """Results of the SGD ``jobs`` {key: (case, seed)}, from the cache or computed.

    Missing runs go to the Dask cluster at ``scheduler`` or to a local pool of ``workers``
    processes (default: the machine's cores; 1 runs them here); each result is cached as it
    arrives, by this process only. With ``resume`` the local runs stream to their cache files
    as they go, and one left unfinished by an earlier, killed validation continues from its
    last snapshot (:func:`~ddsolver.sgd.run.simulate` with ``resume``). ``max_memory``: the
    memory budget of each run (:func:`~ddsolver.resources.check_memory`).
    """
    cache = cache_folder(cache_dir)
    results, pending = {}, {}
    for key, job in jobs.items():
        path = cache / f"{key}.h5"
        if path.is_file():
            results[key] = load_sgd(path)
        else:
            pending[key] = job
    show = sys.stderr.isatty() if progress is None else bool(progress)
    with tqdm(total=len(jobs), initial=len(results), disable=not show, unit="run",
              desc="sgd runs") as bar:
        streamed = resume and scheduler is None
        outputs = {key: cache / f"{key}.h5" if streamed else None for key in pending}
        for key, result in _execute(pending, scheduler, workers, outputs, max_memory):
            if not streamed:
                _store(cache / f"{key}.h5", result)
            results[key] = result
            bar.update(1)
    return results


def _execute(pending, scheduler, workers, outputs, max_memory=None):
    """Yield (key, SgdResult) as the runs finish (run by :func:`_simulate` with ``outputs``)."""
    if not pending:
        return
    keys = list(pending)
    cases, seeds = [pending[k][0] for k in keys], [pending[k][1] for k in keys]
    paths = [outputs[k] for k in keys]
    if scheduler is not None:
        from distributed import Client
        from distributed import as_completed as dask_completed
        with Client(scheduler) as client:
            futures = client.map(_simulate, cases, seeds, [None] * len(keys),
                                 [max_memory] * len(keys), key=[f"sgd-{k}" for k in keys],
                                 pure=False)
            index = {f.key: k for f, k in zip(futures, keys)}
            for future, result in dask_completed(futures, with_results=True):
                yield index[future.key], result
        return
    workers = min(workers or os.cpu_count() or 1, len(keys))
    if workers == 1:
        for key, case, seed, path in zip(keys, cases, seeds, paths):
            yield key, _simulate(case, seed, path, max_memory)
        return
    # fork where available: no re-import of the caller's __main__ (scripts need no guard)
    context = get_context("fork" if "fork" in get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(_simulate, c, s, p, max_memory): k
                   for k, c, s, p in zip(keys, cases, seeds, paths)}
        for future in as_completed(futures):
            yield futures[future], future.result()


# -- comparison -----------------------------------------------------------------------------------

def _common_times(pde_t, sgd_t, t_max):
    """Indices (i_pde, i_sgd) of the snapshot times the two share, up to t_max."""
    pairs = [(i, j) for i, t in enumerate(pde_t) if t <= t_max * (1 + 1e-12)
             for j in np.flatnonzero(np.isclose(sgd_t, t, rtol=1e-9, atol=1e-12))[:1]]
    if not pairs:
        raise CaseError("validate: the PDE and SGD snapshot times have nothing in common "
                        "up to validate.t_max")
    return tuple(np.array(idx) for idx in zip(*pairs))


def compare(name: str, case: dict, solution, results: list[SgdResult], *,
            informational: bool = False) -> Comparison:
    """Every per-time comparison between a solution and the SGD seeds of the same case, with
    its table rows (:func:`check`): the risk, and for every reduced coordinate its mean and its
    law against the PDE marginal."""
    i, j = _common_times(solution.t, results[0].t, case["validate"]["t_max"])
    grid = solution.grid
    missing = [c for c in grid.names if c not in results[0].coords]
    if missing:
        raise CaseError(f"validate: the SGD runs lack the coordinates {missing} of the grid "
                        f"{grid.names}")
    density = solution.density[i]
    correction = finite_n_correction(density, grid, build_reduction(case, grid),
                                     case["sgd"]["neurons"], tol=case["pde"]["kernel_tol"])
    sgd_risk = np.array([res.risk[j] for res in results])
    predicted = solution.risk[i] + correction
    gap, gap_se = risk_gap(sgd_risk, solution.risk[i], predicted)
    radial = model_of(case).radial
    coords = {c: Marginal.compare(c, grid.axis(c).edges, solution.marginal(c)[i],
                                  np.array([res.coords[c][j] for res in results]),
                                  _particle_values(solution, c, i, c in radial))
              for c in grid.names}
    cmp = Comparison(
        name=name, case=case, kernel_dim=case["pde"]["kernel_dim"], t=solution.t[i],
        pde_risk=solution.risk[i], predicted=predicted, sgd_risk=sgd_risk, gap=gap,
        gap_se=gap_se, grid=grid, density=density, coords=coords, informational=informational,
        free_energy=None if solution.free_energy is None else solution.free_energy[i])
    if case["training"]["beta"] < math.inf and Scheme.from_name(case["pde"]["scheme"]).gibbs:
        cmp.gibbs = stationary(case)             # Gibbs states of the schemes that have them
        for c, marginal in coords.items():
            marginal.compare_gibbs(cmp.gibbs.marginal(c)[0])
    if _has_landscape(case["training"]) and not informational and grid.ndim <= PADDED_DIM:
        _add_minimum(cmp, case, solution)      # 4-D: 256 cell-average nodes a cell, ~80 s
    cmp.rows = check(cmp)
    return cmp


def _particle_values(solution, coord: str, times, radial: bool):
    """(values (n, P), weights) of ``coord`` at the snapshots ``times`` of a particle solution
    (a radial coordinate at |r|: stored positions are signed), or None."""
    if solution.particles is None:
        return None
    positions, weights = solution.particles
    values = positions[times, :, solution.grid.names.index(coord)]
    return (np.abs(values) if radial else values), weights


def _has_landscape(training: dict) -> bool:
    """Whether the case's energy is a function of the law whose minimum the gap_to_min row
    certifies: noiseless mean-field dynamics without an anchored penalty (that one depends on
    each unit's start)."""
    anchored = training["penalty"] == "anchored" and training["lambda"] > 0
    return training["beta"] == math.inf and training["regime"] == "mean_field" and not anchored


def _add_minimum(cmp: Comparison, case: dict, solution) -> None:
    """The certified minimum of the case on its grid and the optimality gap of the last law
    (the minimum's edge warning goes into the row's note)."""
    from ..landscape import energy_of, minimize

    energy = energy_of(case, solution.grid)
    same_grid = solution.grid == CartesianGrid.from_dict(case["pde"]["grid"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp.minimum = minimize(case, energy=energy if same_grid else None)
    cmp.final_gap = energy.certify(energy.masses(solution.density[-1])).gap


def check(cmp: Comparison) -> list[Row]:
    """The rows of one comparison: risk gap, then per coordinate x its mean gap (mean_x_gap)
    and W1 (w1_x) (tolerances of tolerances.py unless the case sets them), the largest diagonal
    term for reference, and for a noisy case the distance of SGD and the PDE at the last time
    to the Gibbs state (informational)."""
    case, seeds = cmp.case, len(cmp.sgd_risk)
    n, eps = case["sgd"]["neurons"], case["sgd"]["eps"]
    dim, given = model_of(case).parameter_dim(case), case["validate"]
    value = {"risk_gap": float(np.abs(cmp.gap).max())}
    tol = {"risk_gap": given["risk_tol"] or tolerances.risk_tolerance(n, eps, cmp.gap_se.max())}
    notes = {"risk_gap": f"sup_t dist(mean R_N, [R(p), E R_N]), SE {cmp.gap_se.max():.1e} "
                         f"({seeds} seeds)"}
    for c, m in cmp.coords.items():
        spread = float(m.sd.max())
        mean, w1 = f"mean_{c}_gap", f"w1_{c}"
        value[mean], value[w1] = float(np.abs(m.gap).max()), float(m.w1.mean(axis=0).max())
        tol[mean] = given["mean_tol"][c] or tolerances.mean_tolerance(n, eps, dim, m.se.max(),
                                                                      spread)
        tol[w1] = given["w1_tol"][c] or tolerances.w1_tolerance(n, eps, dim,
                                                                float(m.cdf_spread.max()), spread)
        notes[mean] = f"sup_t |mean {c} - int {c} p|, SE {m.se.max():.1e}"
        notes[w1] = f"sup_t mean_s W1({c}), iid floor {m.w1_iid.max():.1e}"
    rows = [Row(cmp.label, metric, value[metric], tol[metric],
                None if cmp.informational else bool(value[metric] <= tol[metric]), notes[metric])
            for metric in value]
    if not cmp.informational:
        diagonal = float(np.abs(cmp.predicted - cmp.pde_risk).max())
        rows.append(Row(cmp.name, "diagonal term", diagonal,
                        note="sup_t (alpha^2/N)(int U(theta,theta) dp - int int U dp dp)"))
    if cmp.minimum is not None:
        minimum, t = cmp.minimum, cmp.t[-1]
        edge = f"; minimiser on the grid's edge ({minimum.attrs['edge']})" if minimum.attrs[
            "edge"] else ""
        rows.append(Row(cmp.label, "gap_to_min", float(cmp.pde_risk[-1] - minimum.risk[0]),
                        note=f"R(p_t) - R_min at t = {t:g}; optimality gap of p_t "
                             f"{cmp.final_gap:.1e}; R_min {minimum.risk[0]:.6g} (certificate "
                             f"{minimum.attrs['gap']:.0e}){edge}"))
    if cmp.gibbs is not None:
        gibbs, t = cmp.gibbs, cmp.t[-1]
        newton = "converged" if gibbs.attrs["converged"] else "NOT converged"
        parts = "; ".join(f"{c}: SGD {m.w1_gibbs.mean():.1e}, PDE p_t {m.w1_pde_gibbs:.1e}, "
                          f"iid floor {m.gibbs_floor:.1e}" for c, m in cmp.coords.items())
        rows += [Row(cmp.label, "w1_gibbs", cmp.w1_gibbs,
                     note=f"mean_s W1(x at t = {t:g}, Gibbs marginal of x), largest over "
                          f"the coordinates x; {parts}"),
                 Row(cmp.label, "risk_gibbs", float(cmp.pde_risk[-1] - gibbs.risk[0]),
                     note=f"R(p_t) - R(p*) at t = {t:g}; mean R_N - R(p*) "
                          f"{cmp.sgd_risk[:, -1].mean() - gibbs.risk[0]:.1e}; Newton {newton}")]
    return rows


@dataclass
class Sweep:
    """Errors of a sweep case against the swept values, and their fitted slopes."""

    name: str
    key: str
    values: np.ndarray
    errors: dict[str, np.ndarray]
    slopes: dict[str, tuple[float, float, float]]
    rows: list[Row]


def fit_sweep(name: str, case: dict, comparisons: list[Comparison]) -> Sweep:
    """Slopes of log(error) against log(value) for the W1 and risk errors. With
    ``validate.slope`` the W1 slope must be within slope_tol of it, or, for data.dim (MMM: the
    error should not grow with d), at most slope + slope_tol; the risk slope is informational."""
    sweep, given = case["validate"]["sweep"], case["validate"]
    values = np.asarray(sweep["values"], float)
    errors = {m: np.array([c.errors[m] for c in comparisons]) for m in SLOPE_METRICS}
    slopes = {m: fit_slope(values, errors[m]) for m in SLOPE_METRICS}
    target, width = given["slope"], given["slope_tol"]
    one_sided = sweep["key"] == "data.dim"
    rows = []
    for m, (b, se, _) in slopes.items():
        row = Row(name, f"slope {m} vs {sweep['key']}", b, note=f"SE {se:.2f}")
        if target is not None and m == CHECKED_SLOPE:
            row.tolerance = target + width if one_sided else width
            row.passed = bool(b <= row.tolerance if one_sided else abs(b - target) <= width)
            rule = "slope <= tol" if one_sided else f"|slope - ({target:g})| <= tol"
            row.note = f"{rule}; SE {se:.2f}"
        rows.append(row)
    return Sweep(name, sweep["key"], values, errors, slopes, rows)


# -- driver ---------------------------------------------------------------------------------------

def solve_key(case: dict) -> str:
    """Hash of a normalised case and the ddsolver version: the name of its cached solve."""
    text = json.dumps({"case": json.loads(case_to_json(case)), "version": __version__},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _solve(case: dict, cache: Path | None, max_memory=None) -> Solution:
    """The solve of a case; with a ``cache`` folder, kept there as ``solve-<key>.h5`` and
    reused or resumed from it."""
    output = None if cache is None else cache / f"solve-{solve_key(case)}.h5"
    return solve(case, output, resume=output is not None, progress=False,
                 max_memory=max_memory)


def validate(cases, *, report_dir=None, scheduler=None, workers=None, cache_dir=None,
             progress=None, resume=False, max_memory=None):
    """Validate the DD against particle SGD for TOML case paths or case dicts.

    Returns a :class:`~ddsolver.validation.report.ValidationReport` (``passed``, ``table``,
    ``metrics``); with ``report_dir`` it also writes report.md, metrics.json and PNG plots.
    ``scheduler`` ("tcp://HOST:PORT") sends the SGD runs to a Dask cluster, otherwise they run
    on a local pool of ``workers`` processes; runs are cached in ``cache_dir``
    (default ~/.cache/ddsolver/sgd). With ``resume`` the solves are cached there too, and a
    validation killed part-way continues: finished solves and seeds are reused, unfinished
    ones (local runs) continue from their last snapshot. Every solve and SGD run is checked
    against the memory budget ``max_memory`` (:func:`~ddsolver.resources.check_memory`) before
    any of them starts.
    """
    from .report import ValidationReport

    loaded = _load(cases)
    points = {name: sweep_points(case) for name, case in loaded}
    jobs, keys = {}, {}
    for name, plist in points.items():
        for value, case in plist:
            keys[name, value] = [sgd_key(case, s) for s in case["sgd"]["seeds"]]
            jobs.update({k: (case, s) for k, s in zip(keys[name, value], case["sgd"]["seeds"])})
    for _, plist in points.items():
        for _, variant in plist:
            check_memory(variant, "solve", max_memory)
            check_memory(variant, "sgd", max_memory)
    results = run_sgd(jobs, scheduler=scheduler, workers=workers, cache_dir=cache_dir,
                      progress=progress, resume=resume, max_memory=max_memory)
    cache = cache_folder(cache_dir) if resume else None
    comparisons, sweeps = [], []
    for name, case in loaded:
        sweep, base = case["validate"]["sweep"], []
        for value, variant in points[name]:
            label = name if value is None else f"{name}[{sweep['key'].split('.')[1]}={value:g}]"
            seeds = [results[k] for k in keys[name, value]]
            base.append(compare(label, variant, _solve(variant, cache, max_memory), seeds,
                                informational=sweep is not None))
            comparisons.append(base[-1])
            for dim in variant["validate"]["extra_kernel_dims"]:
                extra = _variant(variant, "pde.kernel_dim", dim)
                comparisons.append(compare(label, extra, _solve(extra, cache, max_memory), seeds,
                                           informational=True))
        if sweep is not None:
            sweeps.append(fit_sweep(name, case, base))
    rows = [row for c in comparisons for row in c.rows] + [row for s in sweeps for row in s.rows]
    report = ValidationReport(rows, comparisons, sweeps)
    if report_dir is not None:
        report.write(report_dir)
    return report
