"""Case files: read a TOML case, check every key, fill in the defaults.

A case is a plain nested dict with the tables ``data``, ``network``, ``training``, ``init`` and
``pde`` (see ``docs/case-file.md``). :func:`normalize_case` returns a new dict with every default
filled in and every value checked; an unknown key, a wrong type or an out-of-range value raises
:class:`~ddsolver.errors.CaseError` naming the key, e.g. ``pde.grid.r.cells: expected an integer
>= 2, got -3``. Infinite values may be written as TOML's ``inf`` or as the string ``"inf"``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tomllib
from pathlib import Path

import numpy as np

from . import checks
from .errors import CaseError
from .model import Model
from .scheme import Scheme

INF = math.inf
RECONSTRUCTIONS = ("minmod", "mc", "upwind3")
SCHEDULE_KINDS = ("constant", "power")
SCALAR_LAW_KINDS = ("constant", "uniform", "normal", "discrete")
SWEEP_KEYS = ("sgd.neurons", "sgd.eps", "data.dim")
MAX_IMPLICIT_KERNEL_DIM = 10**6     # larger data.dim: pde.kernel_dim must be given
MAX_SGD_STEPS = 10**10              # t_final / (eps · batch) above this is refused
REQUIRED = checks.REQUIRED
PENALTIES = ("origin", "anchored")     # (λ/2)|θ|² or (λ/2)|θ − θ₀|², θ₀ each unit's start
REGIMES = ("mean_field", "kernel")     # the DD, or its α → ∞ linearisation


def _schedule(key, t):
    kind = checks.choice(f"{key}.kind", checks.table(key, t).get("kind", "constant"),
                         SCHEDULE_KINDS)
    positive = checks.positive
    if kind == "constant":
        return checks.take(key, t, {"kind": (checks.anything, kind), "value": (positive, 1.0)})
    return checks.take(key, t, {"kind": (checks.anything, kind), "value": (positive, 1.0),
                          "exponent": (lambda k, v: checks.real(k, v, lo=0.0), 0.25),
                          "offset": (positive, 1.0)})


def _training(key, t):
    return checks.take(key, t, {
        "schedule": (_schedule, {"kind": "constant", "value": 1.0}),
        "t_final": (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True), REQUIRED),
        "lambda": (lambda k, v: checks.real(k, v, lo=0.0), 0.0),
        "beta": (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True, allow_inf=True), INF),
        "penalty": (lambda k, v: checks.choice(k, v, PENALTIES), "origin"),
        "regime": (lambda k, v: checks.choice(k, v, REGIMES), "mean_field"),
    })


def _scalar_law(key, t):
    kind = checks.kind(key, t, SCALAR_LAW_KINDS)
    number = (lambda k, v: checks.real(k, v), REQUIRED)
    if kind == "constant":
        return checks.take(key, t, {"kind": (checks.anything, kind), "value": number})
    if kind == "normal":
        return checks.take(key, t, {"kind": (checks.anything, kind), "mean": number,
                                    "std": (checks.positive, REQUIRED)})
    if kind == "discrete":
        return _discrete_law(key, t)
    out = checks.take(key, t, {"kind": (checks.anything, kind), "low": number, "high": number})
    if not out["high"] > out["low"]:
        checks.fail(f"{key}.high", f"a number > low = {out['low']:g}", out["high"])
    return out


def _discrete_law(key, t):
    """{kind = "discrete", values = [...], weights = [...]}: point masses, weights > 0 summing
    to 1 (to 1e-12), values increasing."""
    out = checks.take(key, t, {"kind": (checks.anything, "discrete"),
                               "values": (checks.anything, REQUIRED),
                               "weights": (checks.anything, REQUIRED)})
    values = checks.float_array(f"{key}.values", out["values"])
    weights = checks.float_array(f"{key}.weights", out["weights"])
    if not np.all(np.diff(values) > 0):
        checks.fail(f"{key}.values", "a list of increasing numbers", out["values"])
    if weights.shape != values.shape or not np.all(weights > 0) or abs(
            weights.sum() - 1.0) > 1e-12:
        checks.fail(f"{key}.weights", f"{values.size} positive numbers summing to 1",
                    out["weights"])
    return {"kind": "discrete", "values": values.tolist(), "weights": weights.tolist()}


def _values(key, t, kind, base_dir):
    """The 'values' / 'file' pair of the density and samples kinds, as an array."""
    table = checks.take(key, t, {
        "kind": (checks.anything, kind), "values": (checks.float_array, None),
        "file": (lambda k, v: v if isinstance(v, str) else checks.fail(k, "a path", v), None)})
    if (table["values"] is None) == (table["file"] is None):
        raise CaseError(f"{key}: give exactly one of 'values' and 'file' for kind = {kind!r}")
    if table["file"] is not None:
        path = Path(checks.path(f"{key}.file", table.pop("file"), base_dir))
        table["values"] = checks.float_array(f"{key}.file", _read_array(f"{key}.file", path))
    else:
        del table["file"]
    if np.any(table["values"] < 0):
        checks.fail(f"{key}.values", "non-negative numbers", "an array with negative entries")
    return table


def _init(key, t, base_dir, model):
    """[init]: a law of w (the kinds gaussian, point, density, samples of the built-in models),
    one scalar law per coordinate (kind = product), or a density on the grid; plus scalar laws
    for the coordinates that are not norms (a, b, φ; defaults from the model)."""
    t = checks.table(key, t)
    kind = t.get("kind", model.init_kinds[0])
    model.check_init_kind(f"{key}.kind", kind)
    radial = () if kind == "product" else model.radial
    scalars = [c for c in model.coords if c not in radial] if kind != "density" else []
    own = {k: v for k, v in t.items() if k not in scalars}
    if kind in ("density", "samples"):
        out = _values(key, own, kind, base_dir)
    elif kind == "product":
        out = checks.take(key, own, {"kind": (checks.anything, kind)})
    else:
        out = checks.take(key, own, {"kind": (checks.anything, kind), "kappa": (checks.positive,
                                                                                 REQUIRED)})
    for name in scalars:
        if name in t:
            out[name] = _scalar_law(f"{key}.{name}", t[name])
        elif name not in model.scalar_laws:
            raise CaseError(f"{key}.{name}: required key is missing (kind = 'product' needs a "
                            "law for each coordinate, or use kind = 'density')")
        else:
            out[name] = copy.deepcopy(model.scalar_laws[name])
    return out


def _read_array(key, path):
    if not path.is_file():
        raise CaseError(f"{key}: no such file: {str(path)!r}")
    try:
        return np.load(path) if path.suffix == ".npy" else np.loadtxt(path, ndmin=1)
    except (OSError, ValueError, EOFError) as exc:   # the message would quote the file: not shown
        raise CaseError(f"{key}: cannot read {str(path)!r} as numbers (not a .npy file or a text "
                        f"file of numbers: {type(exc).__name__})") from None


def _axis(key, t, name, model, default_cells):
    lo_default, hi_default = model.default_ranges.get(name, (REQUIRED, REQUIRED))
    lowest = 0.0 if name in model.radial else -INF
    out = checks.take(key, t, {
        "min": (lambda k, v: checks.real(k, v, lo=lowest), lo_default),
        "max": (lambda k, v: checks.real(k, v, lo=lowest), hi_default),
        "cells": (lambda k, v: checks.integer(k, v, lo=2), default_cells),
    })
    if out["max"] <= out["min"]:
        checks.fail(f"{key}.max", f"a number > min = {out['min']:g}", out["max"])
    return out


def _grid(key, t, model, scheme):
    """pde.grid: one axis per coordinate of the model, defaults from the model (range) and the
    scheme (cells; for the spectral scheme collocation points or Fourier nodes). An angle spans
    exactly 2π."""
    grid = checks.table(key, t)
    checks.reject_unknown(key, grid, model.coords)
    out = {c: _axis(f"{key}.{c}", grid.get(c, {}), c, model,
                    scheme.default_cells(len(model.coords), c)) for c in model.coords}
    for c in model.periodic:
        if not math.isclose(out[c]["max"] - out[c]["min"], 2 * math.pi, rel_tol=1e-12):
            checks.fail(f"{key}.{c}.max", f"min + 2π = {out[c]['min'] + 2 * math.pi:.15g} (the "
                        "angle is periodic)", out[c]["max"])
    scheme.check_grid(key, out)
    return out


def _pde(key, t, model, training):
    t_final = training["t_final"]
    out = checks.take(key, t, {
        "kernel_dim": (lambda k, v: checks.integer(k, v, lo=1, allow_inf=True),
                       model.data.get("dim", INF)),
        "scheme": (lambda k, v: checks.choice(k, v, tuple(Scheme.registered())),
                   model.default_scheme(training)),
        "integrator": (lambda k, v: checks.choice(k, v, Scheme.all_integrators()), "auto"),
        "grid": (checks.table, {}),
        "snapshot_times": (checks.anything, None),
        "cfl": (lambda k, v: checks.real(k, v, lo=0.0, hi=1.0, lo_open=True), 0.9),
        "tol": (checks.fraction, 1e-7),
        "reconstruction": (lambda k, v: checks.choice(k, v, RECONSTRUCTIONS), "upwind3"),
        "kernel_tol": (checks.fraction, 1e-10),
        "kernel_max_terms": (lambda k, v: checks.integer(k, v, lo=1), 200),
        "on_boundary": (lambda k, v: checks.choice(k, v, ("error", "warn")), "error"),
        "boundary_mass": (checks.fraction, 1e-9),
        "negative_tol": (checks.fraction, 1e-4),
        "particles": (lambda k, v: checks.integer(k, v, lo=1), 1500),
        "rtol": (checks.fraction, 1e-5),
        "stationary_tol": (checks.fraction, 1e-12),
        "stationary_max_iter": (lambda k, v: checks.integer(k, v, lo=1), 100),
        "threads": (lambda k, v: checks.integer(k, v, lo=1, hi=os.cpu_count() or 1), None),
    })
    dim = model.data.get("dim", 0)
    if "kernel_dim" not in t and dim > MAX_IMPLICIT_KERNEL_DIM:
        raise CaseError(f"data.dim: {dim} is above {MAX_IMPLICIT_KERNEL_DIM:.0e}; set "
                        "pde.kernel_dim explicitly (an integer, or 'inf' for the d = ∞ kernel)")
    scheme = Scheme.from_name(out["scheme"], f"{key}.scheme")
    scheme.check(key, out, model, training)
    out["grid"] = _grid(f"{key}.grid", out["grid"], model, scheme)
    if out["snapshot_times"] is None:
        out["snapshot_times"] = np.linspace(0.0, t_final, 101)
    else:
        out["snapshot_times"] = _times(f"{key}.snapshot_times", out["snapshot_times"], t_final)
    return out


def _int_list(key, value):
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        checks.fail(key, "a non-empty list of integers", value)
    return [checks.integer(f"{key}[{i}]", v, lo=0) for i, v in enumerate(value)]


def _bool(key, value):
    if not isinstance(value, bool):
        checks.fail(key, "true or false", value)
    return value


def _times(key, value, t_final):
    """Increasing times in [0, t_final], with t_final appended if missing."""
    times = checks.float_array(key, value)
    if np.any(np.diff(times) <= 0) or times[0] < 0 or times[-1] > t_final:
        checks.fail(key, f"increasing times in [0, t_final = {t_final:g}]", times.tolist())
    return times if times[-1] == t_final else np.append(times, t_final)


def _sgd(key, t, pde_times, t_final):
    out = checks.take(key, t, {
        "neurons": (lambda k, v: checks.integer(k, v, lo=1), 800),
        "eps": (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True), 1e-5),
        "seeds": (_int_list, [0]),
        "batch": (lambda k, v: checks.integer(k, v, lo=1), 1),
        "snapshot_times": (lambda k, v: _times(k, v, t_final), None),
        "save_weights": (_bool, False),
    })
    if out["snapshot_times"] is None:
        out["snapshot_times"] = pde_times.copy()
    step = out["eps"] * out["batch"]
    culprit = f"{key}.batch" if out["batch"] > 1 else f"{key}.eps"
    if step > t_final:
        raise CaseError(f"{culprit}: the SGD step eps · batch = {step:g} exceeds training.t_final "
                        f"= {t_final:g} (the run would not take a single step)")
    if t_final / step > MAX_SGD_STEPS:
        raise CaseError(f"{key}.eps: {out['eps']:g} needs {t_final / step:.3g} SGD steps to "
                        f"t_final = {t_final:g}, above {MAX_SGD_STEPS:.0e} (days of run time)")
    return out


def _sweep(key, t):
    out = checks.take(key, t, {"key": (lambda k, v: checks.choice(k, v, SWEEP_KEYS), REQUIRED),
                         "values": (checks.float_array, REQUIRED)})
    if out["key"] != "sgd.eps":
        out["values"] = np.array([checks.integer(f"{key}.values", int(v) if float(v).is_integer()
                                           else v, lo=1) for v in out["values"]])
    if out["values"].size < 2 or np.any(out["values"] <= 0):
        checks.fail(f"{key}.values", "at least two positive values", out["values"].tolist())
    return out


def _per_coordinate(key, value, coords):
    """A positive number for every coordinate, or a table {coordinate: number}; returns
    {coordinate: number or None}."""
    if isinstance(value, dict):
        checks.reject_unknown(key, value, coords)
        return {c: None if value.get(c) is None else checks.real(f"{key}.{c}", value[c], lo=0.0,
                                                           lo_open=True) for c in coords}
    if value is None:
        return dict.fromkeys(coords)
    return dict.fromkeys(coords, checks.real(key, value, lo=0.0, lo_open=True))


def _validate(key, t, t_final, coords):
    optional_positive = (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True), None)
    per_coordinate = (lambda k, v: _per_coordinate(k, v, coords), dict.fromkeys(coords))
    out = checks.take(key, t, {
        "risk_tol": optional_positive,
        "w1_tol": per_coordinate,
        "mean_tol": per_coordinate,
        "t_max": (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True, hi=t_final), t_final),
        "extra_kernel_dims": (lambda k, v: [checks.integer(f"{k}[{i}]", x, lo=1, allow_inf=True)
                                            for i, x in enumerate(v)]
                              if isinstance(v, (list, tuple)) else checks.fail(k, "a list", v), []),
        "sweep": (_sweep, None),
        "slope": (lambda k, v: checks.real(k, v), None),
        "slope_tol": (lambda k, v: checks.real(k, v, lo=0.0, lo_open=True), 0.15),
    })
    return out


def normalize_case(case: dict, base_dir=None) -> dict:
    """Check a case and return a copy with every default filled in (see module docstring)."""
    case = checks.table("case", case)
    checks.reject_unknown("", case, ("data", "network", "training", "init", "pde", "sgd",
                                     "validate"))
    if "data" not in case:
        raise CaseError("data: required table is missing")
    model_class = Model.from_name(checks.kind("data", case["data"], tuple(Model.registered())))
    data = model_class.check_data("data", case["data"], base_dir)
    for name in ("training", "init") + (("network",) if model_class.units else ()):
        if name not in case:
            raise CaseError(f"{name}: required table is missing")
    network = model_class.check_network("network", case.get("network", {}))
    model = model_class(data, network)
    training = _training("training", case["training"])
    init = _init("init", case["init"], base_dir, model)
    pde = _pde("pde", case.get("pde", {}), model, training)
    t_final = training["t_final"]
    out = {"data": data, "network": network, "training": training, "init": init, "pde": pde}
    model.check(out)
    out["sgd"] = _sgd("sgd", case.get("sgd", {}), pde["snapshot_times"], t_final)
    out["validate"] = _validate("validate", case.get("validate", {}), t_final, model.coords)
    return out


def as_case(case) -> dict:
    """A normalised case from a TOML path or a (raw or normalised) dict."""
    if isinstance(case, (str, Path)):
        return read_case(case)
    return normalize_case(case)


def read_case(path) -> dict:
    """Read and check a TOML case file; relative paths inside it are relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file: no such file: {str(path)!r}")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:    # TOMLDecodeError, an int of > 4300 digits
        raise CaseError(f"case file {str(path)!r}: invalid TOML ({exc})") from None
    except RecursionError:
        raise CaseError(f"case file {str(path)!r}: invalid TOML (nested too deeply)") from None
    return normalize_case(raw, base_dir=path.parent)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


def case_to_json(case: dict) -> str:
    """JSON text of a normalised case (infinities written as "inf")."""
    return json.dumps(_jsonable(case), indent=1)


def case_from_json(text: str) -> dict:
    """The case exactly as stored by :func:`case_to_json` (lists for arrays, "inf" for
    infinities; no defaults applied, so it says what was run). ``normalize_case`` accepts it."""
    return json.loads(text)
