"""The malformed-input corpus: case files and command lines that must each be refused with one
line naming the key. ``CASES`` lists (id, mutation of BASE, key, command); ``TEXTS`` raw case
files (str or bytes); ``COMMANDS`` argv lists (``{case}`` and ``{dir}`` are filled in)."""

from __future__ import annotations

import copy
import json
import math

BIG = 2**63 - 1
BASE = {
    "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 5},
    "network": {"activation": "relu"},
    "training": {"t_final": 0.5},
    "init": {"kind": "gaussian", "kappa": 0.8},
    "pde": {"grid": {"r": {"max": 6.0, "cells": 64}}},
    "sgd": {"neurons": 20, "eps": 1e-3, "seeds": [1]},
}
SPECTRAL = {"pde.scheme": "spectral", "training.beta": 100.0}
CUSTOM = {"data": {"kind": "custom", "file": "problem.py"}, "network": {"scale": 1.0},
          "init": {"kind": "product", "theta": {"kind": "normal", "mean": 0.0, "std": 0.3}},
          "pde": {"grid": {"theta": {"min": -3.0, "max": 3.0, "cells": 32}}}}

# key: values that must be refused at read time, each naming the key
BAD_VALUES = {
    "data.kind": ["gaussians", 3, True],
    "data.delta": [0, 1, -0.5, "0.5", True, math.nan, math.inf, [0.5]],
    "data.dim": [0, -1, 2.5, "40", True, BIG + 1, 2**70],
    "network.activation": ["rectifier", 1, False],
    "network.scale": [0, -1.0, 1e300, math.inf, "big"],
    "network.unit": ["v", 0],
    "training.t_final": [0, -1, "10", math.nan, math.inf, [1.0]],
    "training.beta": ["infinity", "Infinity", 0, -1.0, math.nan, "hot"],
    "training.lambda": [-0.1, "0", math.nan],
    "training.penalty": ["ridge", 0],
    "training.regime": ["lazy"],
    "training.schedule.kind": ["cosine"],
    "training.schedule.value": [0, -1, "1"],
    "init.kind": ["uniform", 7],
    "init.kappa": [0, -0.8, "0.8", math.inf],
    "pde.scheme": ["fd", 1],
    "pde.integrator": ["rk4", "euler"],
    "pde.kernel_dim": [0, -3, 2.5, "40"],
    "pde.snapshot_times": [[0, "0.1", 0.2], [0.2, 0.1], [0, 1.0], [], "0.1", [True, 0.2],
                           [0, math.nan], [-0.1, 0.2], [[0.1, 0.2]]],
    "pde.cfl": [0, 1.5, -0.1, "0.9"],
    "pde.tol": [0, 1, 2.0, -1e-7, "1e-7", math.inf],
    "pde.rtol": [0, 1, 10.0],
    "pde.kernel_tol": [0, 1.0, 5.0],
    "pde.negative_tol": [0, 1.0],
    "pde.stationary_tol": [0, 1.0],
    "pde.boundary_mass": [1, 1.5, 0, -1e-9],
    "pde.kernel_max_terms": [0, -1, 2.5, 10**9, BIG],
    "pde.particles": [0, -5, 10**9, BIG],
    "pde.threads": [0, -1, 10**6, 1.5],
    "pde.reconstruction": ["weno"],
    "pde.on_boundary": ["ignore"],
    "pde.stationary_max_iter": [0],
    "pde.grid.r.cells": [1, 0, -3, 2.5, "64", 10**9, BIG, 2**70],
    "pde.grid.r.min": [-1.0, "0", math.nan],
    "pde.grid.r.max": [0.0, -2.0, "8"],
    "sgd.neurons": [0, -1, "800", 10**9, BIG],
    "sgd.eps": [0, -1e-3, 10, 1e-12, "1e-3", math.nan],
    "sgd.batch": [0, 10**6, BIG],
    "sgd.seeds": [[-1], [2**70], [], "0", [0.5], [True]],
    "sgd.save_weights": ["yes", 1],
    "sgd.snapshot_times": [[0, "1"], [0.3, 0.1]],
    "validate.t_max": [0, 10.0],
    "validate.sweep.key": ["pde.tol"],
    "validate.slope_tol": [0, -1],
}
# (id, {dotted key: value, or None to delete}, key named in the message)
CASES = [(f"{key}={value!r}"[:60], {key: value}, key)
         for key, values in BAD_VALUES.items() for value in values]
SGD_ONLY = {"huge dim sgd"}
CASES += [
    ("unknown top table", {"solver": {"x": 1}}, "solver"),
    ("unknown pde key", {"pde.tolerance": 1e-7}, "pde.tolerance"),
    ("unknown init key", {"init.kapa": 0.8}, "init.kapa"),
    ("unknown grid axis", {"pde.grid.q": {"cells": 4}}, "pde.grid.q"),
    ("missing data", {"data": None}, "data"),
    ("missing training", {"training": None}, "training"),
    ("missing t_final", {"training.t_final": None}, "training.t_final"),
    ("missing kappa", {"init.kappa": None}, "init.kappa"),
    ("missing activation", {"network.activation": None}, "network.activation"),
    ("data not a table", {"data": "isotropic"}, "data"),
    ("pde not a table", {"pde": [1, 2]}, "pde"),
    ("grid axis not a table", {"pde.grid.r": 5}, "pde.grid.r"),
    ("huge dim without kernel_dim", {"data.dim": 10**9}, "data.dim"),
    ("huge dim sgd", {"data.dim": 10**8, "pde.kernel_dim": "inf"}, "data.dim"),
    ("spectral cells 3", {**SPECTRAL, "pde.grid.r.cells": 3}, "pde.grid.r.cells"),
    ("spectral cells 2**63-1", {**SPECTRAL, "pde.grid.r.cells": BIG}, "pde.grid.r.cells"),
    ("lagrangian particles", {"pde.scheme": "lagrangian", "pde.particles": 10**9},
     "pde.particles"),
    ("fv cells 1e9", {"pde.scheme": "fv", "pde.grid.r.cells": 10**9}, "pde.grid.r.cells"),
    ("density values mixed", {"init": {"kind": "density", "values": [1, "2", 3]}},
     "init.values"),
    ("density values and file", {"init": {"kind": "density", "values": [1.0], "file": "x"}},
     "init"),
    ("samples negative", {"init": {"kind": "samples", "values": [-1.0, 1.0]}}, "init.values"),
    ("init file is the case", {"init": {"kind": "samples", "file": "case.toml"}}, "init.file"),
    ("init file missing", {"init": {"kind": "samples", "file": "nope.txt"}}, "init.file"),
    ("init file secret", {"init": {"kind": "samples", "file": "secret.txt"}}, "init.file"),
    ("awb a law kind", {"network.unit": "aw", "init.a": {"kind": "beta"}}, "init.a.kind"),
    ("awb a std", {"network.unit": "aw", "init.a": {"kind": "normal", "mean": 0, "std": 0}},
     "init.a.std"),
    ("discrete mixed", {"network.unit": "aw", "init.a": {
        "kind": "discrete", "values": [-1, "1"], "weights": [0.5, 0.5]}}, "init.a.values"),
    ("discrete weights", {"network.unit": "aw", "init.a": {
        "kind": "discrete", "values": [-1, 1], "weights": [0.5, 0.6]}}, "init.a.weights"),
    ("uniform high", {"network.unit": "aw", "init.a": {"kind": "uniform", "low": 1,
                                                       "high": 0}}, "init.a.high"),
    ("planar teacher strings", {"data": {"kind": "planar_teacher", "dim": 2,
                                         "teacher": [[1, "0"]]}}, "data.teacher"),
    ("planar teacher zero", {"data": {"kind": "planar_teacher", "dim": 2,
                                      "teacher": [[0, 0]]}}, "data.teacher"),
    ("anisotropic signal_dim", {"data": {"kind": "anisotropic_gaussians", "delta": 0.5,
                                         "dim": 5, "signal_dim": 5}}, "data.signal_dim"),
    ("anisotropic kernel_dim", {"data": {"kind": "anisotropic_gaussians", "delta": 0.5,
                                         "dim": 5, "signal_dim": 2}, "pde.kernel_dim": 3,
                                "pde.grid": {}}, "pde.kernel_dim"),
    ("activation params", {"network.activation": "piecewise_linear"},
     "network.activation_params"),
    ("sweep one value", {"validate.sweep": {"key": "sgd.neurons", "values": [10]}},
     "validate.sweep.values"),
    ("batch above t_final", {"sgd.batch": 1000}, "sgd.batch"),
    ("custom exit", {**CUSTOM, "data.file": "exit.py"}, "data.file"),
    ("custom shape", {**CUSTOM, "data.file": "shape.py"}, "data.file"),
    ("custom raise", {**CUSTOM, "data.file": "raises.py"}, "data.file"),
    ("custom not python", {**CUSTOM, "data.file": "secret.txt"}, "data.file"),
    ("custom missing", {**CUSTOM, "data.file": "nope.py"}, "data.file"),
    ("custom scale", {**CUSTOM, "network.scale": 1e300}, "network.scale"),
]
TEXTS = [
    ("invalid toml", "[data\nkind = 1", "invalid TOML"),
    ("deep nesting", "a = " + "[" * 200_000 + "]" * 200_000, "invalid TOML"),
    ("5001-digit integer", "[data]\ndim = " + "9" * 5001, "invalid TOML"),
    ("binary", b"\x00\xff\xfe garbage", "invalid TOML"),
    ("empty", "", "data"),
    ("duplicate key", "[data]\ndim = 1\ndim = 2", "invalid TOML"),
]
COMMANDS = [
    (["sgd", "{case}", "-o", "{dir}/o.h5", "--seed", "-1"], "seed"),
    (["sgd", "{case}", "-o", "{dir}/o.h5", "--seed", str(2**70)], "seed"),
    (["validate", "{case}", "--workers", "-3"], "--workers"),
    (["validate", "{case}", "--workers", "0"], "--workers"),
    (["validate", "{case}", "--scheduler", "not a url"], "--scheduler"),
    (["solve", "{case}", "-o", "{dir}/o.h5", "--max-memory", "lots"], "--max-memory"),
    (["solve", "{case}", "-o", "{dir}/o.h5", "--max-memory=-4GiB"], "--max-memory"),
    (["solve", "{case}", "-o", "{dir}/o.h5", "--max-memory", "1k"], "pde."),
    (["sgd", "{case}", "-o", "{dir}/o.h5", "--max-memory", "1k"], "sgd.neurons"),
    (["validate", "{case}", "--max-memory", "1k", "--workers", "1"], "pde."),
    (["demo", "-o", "{dir}/demo", "--quick", "--max-memory", "1k"], "pde."),
    (["solve", "{case}", "-o", "{dir}/o.h5", "--resume", "--overwrite"], "overwrite"),
    (["plot", "{dir}/precious.h5", "-o", "{dir}/x.xyz"], "--output"),
    (["solve", "{dir}/nope.toml", "-o", "{dir}/o.h5"], "case file"),
    (["solve", "{dir}/secret.txt", "-o", "{dir}/o.h5"], "invalid TOML"),
]
PROBLEMS = {
    "exit.py": "import sys\nsys.exit(0)\n",
    "raises.py": "def make_problem(params):\n    raise RuntimeError('boom')\n",
    "shape.py": """\
import numpy as np
from ddsolver.problem.user import UserProblem

problem = UserProblem.from_lowrank(("theta",), lambda t: np.zeros(3), lambda t: np.ones((1, 2)),
                                   1.0)
""",
    "secret.txt": "SECRET-TOKEN-1234 do not echo\n",
}


def command(name: str, key: str) -> str:
    """The command that reads a corpus case: ``sgd`` for the SGD keys, else ``solve``."""
    return "sgd" if key.startswith("sgd") or name in SGD_ONLY else "solve"


def mutate(mutation: dict) -> dict:
    """BASE with dotted keys set (None deletes; a top-level table replaces)."""
    case = copy.deepcopy(BASE)
    for dotted, value in mutation.items():
        *path, last = dotted.split(".")
        table = case
        for name in path:
            table = table.setdefault(name, {})
        if value is None:
            table.pop(last, None)
        else:
            table[last] = value
    return case


def toml_value(value) -> str:
    """A TOML literal (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_text(case: dict) -> str:
    """A case as TOML: one ``name = value`` line per top-level entry."""
    return "".join(f"{name} = {toml_value(value)}\n" for name, value in case.items())
