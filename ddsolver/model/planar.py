"""The planar teacher: x ~ N(0, I₂), y = Σ_j c_j σ(⟨u_j, x⟩) (docs/planar-teacher.md).

Units σ(⟨w, x⟩) with w ∈ R² (``unit = "w"``, polar coordinates (r, φ)) or on the unit circle
(``unit = "circle"``, the angle φ). U depends on the angles through φ − φ' only, so the
spectral scheme (Fourier in φ, Chebyshev in r) is the natural and only solver.
"""

from __future__ import annotations

import math

import numpy as np

from .. import checks
from .base import Model


def _teacher_vectors(key, value):
    if not checks.numeric(value):
        checks.fail(key, "a list of non-zero 2-vectors [[u1, u2], ...]", value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if (arr is None or arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != 2
            or not np.all(np.isfinite(arr)) or np.any(np.hypot(arr[:, 0], arr[:, 1]) == 0)):
        checks.fail(key, "a list of non-zero 2-vectors [[u1, u2], ...]", value)
    return arr


def _planar_dim(key, value):
    return value if value == 2 else checks.fail(key, "2 (inputs are planar)", value)


class PlanarTeacherModel(Model):
    """Coordinates (r, phi) for units w ∈ R², (phi) for circle units; spectral only."""

    kind = "planar_teacher"
    units = ("w", "circle")
    init_kinds = ("gaussian", "product", "density")
    schemes = ("spectral",)
    radial = ("r",)
    periodic = ("phi",)
    default_ranges = {"r": (0.1, 4.0), "phi": (-math.pi, math.pi)}   # polar grids avoid r = 0
    scalar_laws = {"phi": {"kind": "uniform", "low": -math.pi, "high": math.pi}}

    @classmethod
    def check_data(cls, key, table, base_dir):
        """``teacher`` (non-zero 2-vectors u_j), ``teacher_weights`` c_j (default 1), dim = 2."""
        out = checks.take(key, table, {"kind": (checks.anything, cls.kind),
                                       "teacher": (_teacher_vectors, checks.REQUIRED),
                                       "teacher_weights": (checks.float_array, None),
                                       "dim": (_planar_dim, 2)})
        count = len(out["teacher"])
        if out["teacher_weights"] is None:
            out["teacher_weights"] = np.ones(count)
        elif out["teacher_weights"].size != count:
            checks.fail(f"{key}.teacher_weights", f"{count} numbers (one per teacher unit)",
                        out["teacher_weights"].tolist())
        return out

    @property
    def circle(self) -> bool:
        """Units on the unit circle (coordinate φ only)."""
        return self.network["unit"] == "circle"

    @property
    def coords(self):
        return ("phi",) if self.circle else ("r", "phi")

    def check(self, case):
        if self.circle and case["training"]["lambda"] != 0:
            checks.fail("training.lambda", "0 for unit = 'circle' (units on the unit circle "
                        "have no |θ|² to penalise)", case["training"]["lambda"])

    @classmethod
    def examples(cls):
        phi = {"kind": "uniform", "low": -math.pi, "high": math.pi}
        inits = {"w": {"kind": "product", "r": {"kind": "normal", "mean": 1.0, "std": 0.15},
                       "phi": phi},
                 "circle": {"kind": "product", "phi": phi}}
        grids = {"w": {"r": {"min": 0.1, "max": 3.0, "cells": 16}, "phi": {"cells": 16}},
                 "circle": {"phi": {"cells": 16}}}
        return {unit: {"data": {"kind": cls.kind, "teacher": [[1.5, 0.0], [0.0, 1.0]],
                                "teacher_weights": [1.0, 0.5]},
                       "network": {"unit": unit, "activation": "erf"},
                       "training": {"t_final": 0.1, "beta": 50.0}, "init": inits[unit],
                       "pde": {"grid": grids[unit], "snapshot_times": [0.0, 0.05, 0.1]}}
                for unit in cls.units}

    def teacher(self):
        """The :class:`~ddsolver.problem.planar.PlanarTeacher` of the data and activation."""
        from ..problem.planar import PlanarTeacher
        return PlanarTeacher(self.activation(), self.data["teacher"], self.data["teacher_weights"])

    def reduction(self, case, grid):
        from ..reduction.planar import PlanarReduction
        return PlanarReduction(self.teacher(), circle=self.circle, scale=self.network["scale"])

    def sgd_model(self, case):
        from ..sgd.planar import PlanarSgdModel
        return PlanarSgdModel(case, self.teacher(), circle=self.circle)

    def parameter_dim(self, case):
        """2 for w ∈ R², 1 for an angle."""
        return len(self.coords)

    def summary(self):
        return (f"{self.kind}, {self.unit_summary()}, d = 2, teacher "
                f"{np.round(self.data['teacher'], 6).tolist()} weighted "
                f"{np.round(self.data['teacher_weights'], 6).tolist()}")
