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
import tomllib
from pathlib import Path

import numpy as np

from .errors import CaseError

INF = math.inf
REQUIRED = object()

DATA_KINDS = ("isotropic_gaussians", "anisotropic_gaussians", "planar_teacher", "custom")
UNIT_KINDS = ("w", "aw", "awb", "circle")
SCHEMES = ("fv", "lagrangian", "spectral")
INTEGRATORS = ("auto", "ssprk3", "semi_implicit", "etdrk4")
RECONSTRUCTIONS = ("minmod", "mc", "upwind3")
INIT_KINDS = ("gaussian", "point", "density", "samples")
CUSTOM_INIT_KINDS = ("product", "density")
SCHEDULE_KINDS = ("constant", "power")
COORDINATES = {("isotropic_gaussians", "w"): ("r",), ("isotropic_gaussians", "aw"): ("a", "r"),
               ("isotropic_gaussians", "awb"): ("a", "b", "r"),
               ("anisotropic_gaussians", "w"): ("r1", "r2"),
               ("anisotropic_gaussians", "aw"): ("a", "r1", "r2"),
               ("planar_teacher", "w"): ("r", "phi"), ("planar_teacher", "circle"): ("phi",)}
SPECTRAL_COORDINATES = (("r",), ("r", "phi"), ("phi",))     # the grids the spectral scheme solves
PLANAR_INIT_KINDS = ("gaussian", "product", "density")
RADIAL = ("r", "r1", "r2")              # norms: min >= 0, natural boundary at 0
DEFAULT_RANGES = {"r": (0.0, 8.0), "r1": (0.0, 4.0), "r2": (0.0, 4.0), "a": (-4.0, 4.0),
                  "b": (-4.0, 4.0), "phi": (-math.pi, math.pi)}
PLANAR_R_RANGE = (0.1, 4.0)     # polar grids stop short of the pole r = 0
DEFAULT_CELLS = {1: 3200, 2: 200, 3: 64}        # per axis, by grid dimension
SPECTRAL_CELLS = {"r": 48, "phi": 64}           # collocation points / modes per axis
SCALAR_LAW_KINDS = ("constant", "uniform", "normal")
DEFAULT_SCALAR_LAWS = {"a": {"kind": "constant", "value": 1.0},
                       "b": {"kind": "constant", "value": 0.0},
                       "phi": {"kind": "uniform", "low": -math.pi, "high": math.pi}}


# -- scalar checks --------------------------------------------------------------------------------

def _fail(key, expected, value):
    raise CaseError(f"{key}: expected {expected}, got {value!r}")


def _real(key, value, *, lo=-INF, hi=INF, lo_open=False, hi_open=False, allow_inf=False):
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        value = INF
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(key, "a number", value)
    value = float(value)
    bounds = f"{'>' if lo_open else '>='} {lo:g}" if lo > -INF else ""
    if hi < INF:
        bounds += (" and " if bounds else "") + f"{'<' if hi_open else '<='} {hi:g}"
    what = "a number" + (f" {bounds}" if bounds else "") + (" or inf" if allow_inf else "")
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        _fail(key, what, value)
    if value < lo or (lo_open and value == lo) or value > hi or (hi_open and value == hi):
        _fail(key, what, value)
    return value


def _integer(key, value, *, lo=1, allow_inf=False):
    if allow_inf and (value == INF or (isinstance(value, str) and value.strip().lower() == "inf")):
        return INF
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < lo:
        _fail(key, f"an integer >= {lo}" + (" or inf" if allow_inf else ""), value)
    return int(value)


def _choice(key, value, options):
    if value not in options:
        _fail(key, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def _kind(key, table, options, default=REQUIRED):
    """The ``kind`` entry of a table, checked against ``options``."""
    if "kind" not in _table(key, table) and default is REQUIRED:
        raise CaseError(f"{key}.kind: required key is missing")
    return _choice(f"{key}.kind", table.get("kind", default), options)


def _table(key, value):
    if not isinstance(value, dict):
        _fail(key, "a table", value)
    return value


def _reject_unknown(key, table, allowed):
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise CaseError(f"{where}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _take(key, table, spec):
    """Check ``table`` against ``spec`` = {name: (check, default)}; return the filled table."""
    table = _table(key, table)
    _reject_unknown(key, table, spec)
    out = {}
    for name, (check, default) in spec.items():
        sub = f"{key}.{name}"
        if name in table and table[name] is None and default is None:
            out[name] = None                    # an unset optional key of a normalised case
        elif name in table:
            out[name] = check(sub, table[name])
        elif default is REQUIRED:
            raise CaseError(f"{sub}: required key is missing")
        else:
            out[name] = copy.deepcopy(default)
    return out


def _float_array(key, value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(key, "an array of numbers", value)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        _fail(key, "a non-empty 1-D array of finite numbers", value)
    return arr


# -- tables ---------------------------------------------------------------------------------------

def _path(key, value, base_dir):
    if not isinstance(value, str):
        _fail(key, "a path", value)
    path = Path(value)
    return str(path if path.is_absolute() or base_dir is None else Path(base_dir) / path)


def _data(key, t, base_dir):
    kind = _kind(key, t, DATA_KINDS)
    if kind == "custom":
        return _take(key, t, {"kind": (_choice_any, kind),
                              "file": (lambda k, v: _path(k, v, base_dir), REQUIRED),
                              "params": (_table, {})})
    if kind == "planar_teacher":
        return _planar_teacher(key, t)
    spec = {"kind": (_choice_any, kind),
            "delta": (lambda k, v: _real(k, v, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
                      REQUIRED),
            "dim": (lambda k, v: _integer(k, v, lo=1), REQUIRED)}
    if kind == "anisotropic_gaussians":
        spec["signal_dim"] = (lambda k, v: _integer(k, v, lo=1), REQUIRED)
    out = _take(key, t, spec)
    if kind == "anisotropic_gaussians" and not out["signal_dim"] < out["dim"]:
        _fail(f"{key}.signal_dim", f"an integer < dim = {out['dim']}", out["signal_dim"])
    return out


def _planar_teacher(key, t):
    """[data] of kind planar_teacher: x ~ N(0, I₂), y = Σ_j c_j σ(⟨u_j, x⟩)."""
    out = _take(key, t, {"kind": (_choice_any, "planar_teacher"),
                         "teacher": (_teacher_vectors, REQUIRED),
                         "teacher_weights": (_float_array, None),
                         "dim": (lambda k, v: v if v == 2 else _fail(k, "2 (inputs are planar)",
                                                                      v), 2)})
    count = len(out["teacher"])
    if out["teacher_weights"] is None:
        out["teacher_weights"] = np.ones(count)
    elif out["teacher_weights"].size != count:
        _fail(f"{key}.teacher_weights", f"{count} numbers (one per teacher unit)",
              out["teacher_weights"].tolist())
    return out


def _teacher_vectors(key, value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if (arr is None or arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != 2
            or not np.all(np.isfinite(arr)) or np.any(np.hypot(arr[:, 0], arr[:, 1]) == 0)):
        _fail(key, "a list of non-zero 2-vectors [[u1, u2], ...]", value)
    return arr


def _network(key, t, custom):
    from .problem.activations import ACTIVATIONS

    if custom:
        return _take(key, t, {"scale": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1.0)})
    out = _take(key, t, {
        "unit": (lambda k, v: _choice(k, v, UNIT_KINDS), "w"),
        "activation": (lambda k, v: _choice(k, v, tuple(ACTIVATIONS)), REQUIRED),
        "activation_params": (_table, {}),
        "scale": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1.0),
    })
    activation = ACTIVATIONS[out["activation"]]
    out["activation_params"] = activation.check_params(out["activation_params"],
                                                       f"{key}.activation_params")
    return out


def _schedule(key, t):
    kind = _choice(f"{key}.kind", _table(key, t).get("kind", "constant"), SCHEDULE_KINDS)
    positive = (lambda k, v: _real(k, v, lo=0.0, lo_open=True))
    if kind == "constant":
        return _take(key, t, {"kind": (_choice_any, kind), "value": (positive, 1.0)})
    return _take(key, t, {"kind": (_choice_any, kind), "value": (positive, 1.0),
                          "exponent": (lambda k, v: _real(k, v, lo=0.0), 0.25),
                          "offset": (positive, 1.0)})


def _choice_any(key, value):
    return value


def _training(key, t):
    return _take(key, t, {
        "schedule": (_schedule, {"kind": "constant", "value": 1.0}),
        "t_final": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), REQUIRED),
        "lambda": (lambda k, v: _real(k, v, lo=0.0), 0.0),
        "beta": (lambda k, v: _real(k, v, lo=0.0, lo_open=True, allow_inf=True), INF),
    })


def _scalar_law(key, t):
    kind = _kind(key, t, SCALAR_LAW_KINDS)
    number = (lambda k, v: _real(k, v), REQUIRED)
    if kind == "constant":
        return _take(key, t, {"kind": (_choice_any, kind), "value": number})
    if kind == "normal":
        return _take(key, t, {"kind": (_choice_any, kind), "mean": number,
                              "std": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), REQUIRED)})
    out = _take(key, t, {"kind": (_choice_any, kind), "low": number, "high": number})
    if not out["high"] > out["low"]:
        _fail(f"{key}.high", f"a number > low = {out['low']:g}", out["high"])
    return out


def _values(key, t, kind, base_dir):
    """The 'values' / 'file' pair of the density and samples kinds, as an array."""
    table = _take(key, t, {"kind": (_choice_any, kind), "values": (_float_array, None),
                           "file": (lambda k, v: v if isinstance(v, str) else _fail(k, "a path", v),
                                    None)})
    if (table["values"] is None) == (table["file"] is None):
        raise CaseError(f"{key}: give exactly one of 'values' and 'file' for kind = {kind!r}")
    if table["file"] is not None:
        path = Path(_path(f"{key}.file", table.pop("file"), base_dir))
        table["values"] = _float_array(f"{key}.file", _read_array(f"{key}.file", path))
    else:
        del table["file"]
    if np.any(table["values"] < 0):
        _fail(f"{key}.values", "non-negative numbers", "an array with negative entries")
    return table


def _init(key, t, base_dir, coords, data_kind):
    """[init]: the law of w (or, for custom problems, one scalar law per coordinate), and scalar
    laws for the coordinates a and b of the units that have them."""
    t = _table(key, t)
    custom = data_kind == "custom"
    kinds = {"custom": CUSTOM_INIT_KINDS, "planar_teacher": PLANAR_INIT_KINDS}.get(data_kind,
                                                                                   INIT_KINDS)
    kind = _kind(key, t, kinds, kinds[0])
    radial = () if kind == "product" else radial_coordinates(custom)
    scalars = [c for c in coords if c not in radial] if kind != "density" else []
    own = {k: v for k, v in t.items() if k not in scalars}
    if kind in ("density", "samples"):
        out = _values(key, own, kind, base_dir)
    elif kind == "product":
        out = _take(key, own, {"kind": (_choice_any, kind)})
    else:
        out = _take(key, own, {"kind": (_choice_any, kind),
                               "kappa": (lambda k, v: _real(k, v, lo=0.0, lo_open=True),
                                         REQUIRED)})
    if data_kind == "anisotropic_gaussians" and kind in ("point", "samples"):
        _fail(f"{key}.kind", "'gaussian' or 'density' for anisotropic data (r1 and r2 need a "
              "law of w)", kind)
    for name in scalars:
        if name in t:
            out[name] = _scalar_law(f"{key}.{name}", t[name])
        elif custom or name not in DEFAULT_SCALAR_LAWS:
            raise CaseError(f"{key}.{name}: required key is missing (kind = 'product' needs a "
                            "law for each coordinate, or use kind = 'density')")
        else:
            out[name] = copy.deepcopy(DEFAULT_SCALAR_LAWS[name])
    return out


def _read_array(key, path):
    if not path.is_file():
        raise CaseError(f"{key}: no such file: {str(path)!r}")
    try:
        return np.load(path) if path.suffix == ".npy" else np.loadtxt(path, ndmin=1)
    except (OSError, ValueError) as exc:
        raise CaseError(f"{key}: cannot read {str(path)!r} as numbers ({exc})") from None


def _axis(key, t, name, custom, default_range, default_cells):
    lo_default, hi_default = (REQUIRED, REQUIRED) if custom else default_range
    lowest = 0.0 if name in radial_coordinates(custom) else -INF
    out = _take(key, t, {
        "min": (lambda k, v: _real(k, v, lo=lowest), lo_default),
        "max": (lambda k, v: _real(k, v, lo=lowest), hi_default),
        "cells": (lambda k, v: _integer(k, v, lo=2), default_cells),
    })
    if out["max"] <= out["min"]:
        _fail(f"{key}.max", f"a number > min = {out['min']:g}", out["max"])
    return out


def _grid(key, t, coords, data_kind, scheme):
    """pde.grid: one axis per coordinate. For the spectral scheme ``cells`` counts collocation
    points (r) or Fourier nodes (phi); an angle spans exactly 2π, polar radii stop short of 0."""
    grid = _table(key, t)
    _reject_unknown(key, grid, coords)
    custom, spectral = data_kind == "custom", scheme == "spectral"
    out = {}
    for c in coords:
        default_range = (PLANAR_R_RANGE if data_kind == "planar_teacher" and c == "r"
                         else DEFAULT_RANGES.get(c))
        cells = SPECTRAL_CELLS[c] if spectral else DEFAULT_CELLS[len(coords)]
        out[c] = _axis(f"{key}.{c}", grid.get(c, {}), c, custom, default_range, cells)
    if "phi" in out and not math.isclose(out["phi"]["max"] - out["phi"]["min"], 2 * math.pi,
                                         rel_tol=1e-12):
        _fail(f"{key}.phi.max", f"min + 2π = {out['phi']['min'] + 2 * math.pi:.15g} (the angle "
              "is periodic)", out["phi"]["max"])
    if coords == ("r", "phi") and not out["r"]["min"] > 0:
        _fail(f"{key}.r.min", "a number > 0 (polar grids stop short of the pole r = 0)",
              out["r"]["min"])
    return out


def _check_scheme(key, pde, coords, data_kind):
    """The scheme and integrator fit the model: spectral solves the isotropic radial model and
    the planar-teacher models (which have no finite-volume form here); etdrk4 is spectral."""
    scheme, integrator = pde["scheme"], pde["integrator"]
    planar = data_kind == "planar_teacher"
    if scheme == "spectral" and not (planar or (data_kind == "isotropic_gaussians"
                                                and coords == ("r",))):
        _fail(f"{key}.scheme", f"'fv' or 'lagrangian' for coordinates {coords} of {data_kind} "
              "data (the spectral scheme solves the isotropic w model and planar_teacher)",
              scheme)
    if planar and scheme != "spectral":
        _fail(f"{key}.scheme", "'spectral' for planar_teacher (its angle is periodic and its "
              "grid polar)", scheme)
    if (integrator == "etdrk4") != (scheme == "spectral") and integrator != "auto":
        expected = "'etdrk4' or 'auto'" if scheme == "spectral" else "not 'etdrk4' (spectral only)"
        _fail(f"{key}.integrator", f"{expected} with scheme = {scheme!r}", integrator)


def _pde(key, t, coords, data, t_final):
    out = _take(key, t, {
        "kernel_dim": (lambda k, v: _integer(k, v, lo=1, allow_inf=True), data.get("dim", INF)),
        "scheme": (lambda k, v: _choice(k, v, SCHEMES),
                   "spectral" if data["kind"] == "planar_teacher" else "fv"),
        "integrator": (lambda k, v: _choice(k, v, INTEGRATORS), "auto"),
        "grid": (_table, {}),
        "snapshot_times": (_choice_any, None),
        "cfl": (lambda k, v: _real(k, v, lo=0.0, hi=1.0, lo_open=True), 0.9),
        "tol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-7),
        "reconstruction": (lambda k, v: _choice(k, v, RECONSTRUCTIONS), "upwind3"),
        "kernel_tol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-10),
        "kernel_max_terms": (lambda k, v: _integer(k, v, lo=1), 200),
        "on_boundary": (lambda k, v: _choice(k, v, ("error", "warn")), "error"),
        "boundary_mass": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-9),
        "negative_tol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-4),
        "particles": (lambda k, v: _integer(k, v, lo=1), 4000),
        "rtol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-10),
        "stationary_tol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-12),
        "stationary_max_iter": (lambda k, v: _integer(k, v, lo=1), 100),
        "threads": (lambda k, v: _integer(k, v, lo=1), None),
    })
    _check_scheme(key, out, coords, data["kind"])
    out["grid"] = _grid(f"{key}.grid", out["grid"], coords, data["kind"], out["scheme"])
    if (data["kind"] == "anisotropic_gaussians" and out["kernel_dim"] != INF
            and out["kernel_dim"] != data["dim"]):
        _fail(f"{key}.kernel_dim", f"inf or data.dim = {data['dim']} for anisotropic data "
              "(the finite-d kernel needs both block dimensions)", out["kernel_dim"])
    if out["snapshot_times"] is None:
        out["snapshot_times"] = np.linspace(0.0, t_final, 101)
    else:
        out["snapshot_times"] = _times(f"{key}.snapshot_times", out["snapshot_times"], t_final)
    return out


def _int_list(key, value):
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) == 0:
        _fail(key, "a non-empty list of integers", value)
    return [_integer(f"{key}[{i}]", v, lo=0) for i, v in enumerate(value)]


def _bool(key, value):
    if not isinstance(value, bool):
        _fail(key, "true or false", value)
    return value


def _times(key, value, t_final):
    """Increasing times in [0, t_final], with t_final appended if missing."""
    times = _float_array(key, value)
    if np.any(np.diff(times) <= 0) or times[0] < 0 or times[-1] > t_final:
        _fail(key, f"increasing times in [0, t_final = {t_final:g}]", times.tolist())
    return times if times[-1] == t_final else np.append(times, t_final)


def _sgd(key, t, pde_times, t_final):
    out = _take(key, t, {
        "neurons": (lambda k, v: _integer(k, v, lo=1), 800),
        "eps": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 1e-5),
        "seeds": (_int_list, [0]),
        "batch": (lambda k, v: _integer(k, v, lo=1), 1),
        "snapshot_times": (lambda k, v: _times(k, v, t_final), None),
        "save_weights": (_bool, False),
    })
    if out["snapshot_times"] is None:
        out["snapshot_times"] = pde_times.copy()
    return out


SWEEP_KEYS = ("sgd.neurons", "sgd.eps", "data.dim")


def _sweep(key, t):
    out = _take(key, t, {"key": (lambda k, v: _choice(k, v, SWEEP_KEYS), REQUIRED),
                         "values": (_float_array, REQUIRED)})
    if out["key"] != "sgd.eps":
        out["values"] = np.array([_integer(f"{key}.values", int(v) if float(v).is_integer()
                                           else v, lo=1) for v in out["values"]])
    if out["values"].size < 2 or np.any(out["values"] <= 0):
        _fail(f"{key}.values", "at least two positive values", out["values"].tolist())
    return out


def _per_coordinate(key, value, coords):
    """A positive number for every coordinate, or a table {coordinate: number}; returns
    {coordinate: number or None}."""
    if isinstance(value, dict):
        _reject_unknown(key, value, coords)
        return {c: None if value.get(c) is None else _real(f"{key}.{c}", value[c], lo=0.0,
                                                           lo_open=True) for c in coords}
    if value is None:
        return dict.fromkeys(coords)
    return dict.fromkeys(coords, _real(key, value, lo=0.0, lo_open=True))


def _validate(key, t, t_final, coords):
    optional_positive = (lambda k, v: _real(k, v, lo=0.0, lo_open=True), None)
    per_coordinate = (lambda k, v: _per_coordinate(k, v, coords), dict.fromkeys(coords))
    out = _take(key, t, {
        "risk_tol": optional_positive,
        "w1_tol": per_coordinate,
        "mean_tol": per_coordinate,
        "t_max": (lambda k, v: _real(k, v, lo=0.0, lo_open=True, hi=t_final), t_final),
        "extra_kernel_dims": (lambda k, v: [_integer(f"{k}[{i}]", x, lo=1, allow_inf=True)
                                            for i, x in enumerate(v)]
                              if isinstance(v, (list, tuple)) else _fail(k, "a list", v), []),
        "sweep": (_sweep, None),
        "slope": (lambda k, v: _real(k, v), None),
        "slope_tol": (lambda k, v: _real(k, v, lo=0.0, lo_open=True), 0.15),
    })
    return out


def radial_coordinates(custom: bool) -> tuple[str, ...]:
    """Coordinates that are norms (min >= 0, natural boundary at 0): none in custom problems."""
    return () if custom else RADIAL


def coordinates(data: dict, network: dict) -> tuple[str, ...]:
    """The reduced coordinates of a model, in grid-axis order (docs/case-file.md)."""
    if data["kind"] == "custom":
        from .problem.user import load_problem
        return tuple(load_problem({"data": data}).coords)
    key = (data["kind"], network["unit"])
    if (data["kind"] == "planar_teacher") != (network["unit"] == "circle") and key not in COORDINATES:
        raise CaseError(f"network.unit: expected 'w' or 'circle' for planar_teacher data and "
                        f"'w', 'aw' or 'awb' otherwise, got {network['unit']!r} on "
                        f"{data['kind']}")
    if key not in COORDINATES:
        raise CaseError(f"network.unit: {network['unit']!r} on {data['kind']} needs the four "
                        "coordinates (a, b, r1, r2), more than the 3-D grids ddsolver solves on; "
                        "use unit = 'w' or 'aw'")
    return COORDINATES[key]


def normalize_case(case: dict, base_dir=None) -> dict:
    """Check a case and return a copy with every default filled in (see module docstring)."""
    case = _table("case", case)
    _reject_unknown("", case, ("data", "network", "training", "init", "pde", "sgd", "validate"))
    if "data" not in case:
        raise CaseError("data: required table is missing")
    data = _data("data", case["data"], base_dir)
    custom = data["kind"] == "custom"
    for name in ("training", "init") + (() if custom else ("network",)):
        if name not in case:
            raise CaseError(f"{name}: required table is missing")
    network = _network("network", case.get("network", {}), custom)
    training = _training("training", case["training"])
    coords = coordinates(data, network)
    init = _init("init", case["init"], base_dir, coords, data["kind"])
    t_final = training["t_final"]
    pde = _pde("pde", case.get("pde", {}), coords, data, t_final)
    if network.get("unit") == "circle" and training["lambda"] != 0:
        _fail("training.lambda", "0 for unit = 'circle' (units on the unit circle have no "
              "|θ|² to penalise)", training["lambda"])
    sgd = _sgd("sgd", case.get("sgd", {}), pde["snapshot_times"], t_final)
    validate = _validate("validate", case.get("validate", {}), t_final, coords)
    return {"data": data, "network": network, "training": training, "init": init, "pde": pde,
            "sgd": sgd, "validate": validate}


def read_case(path) -> dict:
    """Read and check a TOML case file; relative paths inside it are relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file: no such file: {str(path)!r}")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CaseError(f"case file {str(path)!r}: invalid TOML ({exc})") from None
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
