"""Units σ(⟨w, x⟩), a σ(⟨w, x⟩) and a σ(⟨w, x⟩ + b) on anisotropic Gaussian data ("variable
selection").

Data: y = ±1, x | y ~ N(0, Σ_y) with Σ_y = diag((1 ± Δ)² on the first s₀ = ``signal_dim``
coordinates, 1 on the other d − s₀). The law stays invariant under rotations inside the signal
block and inside its complement, so the DD is exact on (r1, r2) = (|w[:s₀]|, |w[s₀:]|),
(a, r1, r2) with second-layer weights and (a, b, r1, r2) with biases too (docs/theory.md §4.3,
§4.3b). The four coordinates of ``awb`` are solved by the Lagrangian scheme only.
"""

from __future__ import annotations

import math

from .. import checks
from .isotropic import ANISOTROPIC_MAX_TERMS, GaussianDataModel, probes, series_options


class AnisotropicModel(GaussianDataModel):
    """Coordinates (r1, r2) or (a, r1, r2) (finite volumes first, or the Lagrangian scheme), or
    (a, b, r1, r2) (the Lagrangian scheme)."""

    kind = "anisotropic_gaussians"
    units = ("w", "aw", "awb")
    init_kinds = ("gaussian", "density")
    radial = ("r1", "r2")
    default_ranges = {"r1": (0.0, 4.0), "r2": (0.0, 4.0), "a": (-4.0, 4.0), "b": (-4.0, 4.0)}
    block = True
    _coords = {"w": ("r1", "r2"), "aw": ("a", "r1", "r2"), "awb": ("a", "b", "r1", "r2")}

    @property
    def coords(self):
        return self._coords[self.network["unit"]]

    @property
    def schemes(self):
        """Finite volumes solve at most three axes: (a, b, r1, r2) is Lagrangian only."""
        return ("lagrangian",) if "b" in self.coords else ("fv", "lagrangian")

    def check_init_kind(self, key, kind):
        if kind not in self.init_kinds:
            checks.fail(key, "'gaussian' or 'density' for anisotropic data (r1 and r2 need a law "
                        "of w)", kind)
        if kind != "gaussian" and "b" in self.coords:
            checks.fail(key, "'gaussian' for unit 'awb' on anisotropic data (the Lagrangian "
                        "scheme's particles need scalar laws)", kind)

    def check(self, case):
        kernel_dim = case["pde"]["kernel_dim"]
        if kernel_dim != math.inf and kernel_dim != self.data["dim"]:
            checks.fail("pde.kernel_dim", f"inf or data.dim = {self.data['dim']} for anisotropic "
                        "data (the finite-d kernel needs both block dimensions)", kernel_dim)

    @classmethod
    def examples(cls):
        r = {"min": 0.0, "max": 3.0, "cells": 20}
        a = {"min": -3.0, "max": 3.0, "cells": 12}
        grids = {"w": {"r1": r, "r2": r}, "aw": {"a": a, "r1": r, "r2": r},
                 "awb": {"a": a, "b": {"min": -2.0, "max": 2.0, "cells": 8},
                         "r1": {**r, "cells": 8}, "r2": {**r, "cells": 8}}}
        laws = {"a": {"kind": "uniform", "low": -0.5, "high": 0.5},
                "b": {"kind": "uniform", "low": -0.5, "high": 0.5}}
        return {unit: {"data": {"kind": cls.kind, "delta": 0.5, "dim": 10, "signal_dim": 3},
                       "network": {"unit": unit, "activation": "relu"},
                       "training": {"t_final": 0.1},
                       "init": {"kind": "gaussian", "kappa": 1.0,
                                **{c: law for c, law in laws.items() if c in unit}},
                       "pde": {"grid": grid, "snapshot_times": [0.0, 0.05, 0.1],
                               "kernel_dim": "inf", "boundary_mass": 1e-6}}
                for unit, grid in grids.items()}

    def feature_rank(self, terms):
        """Two block orders per term: about terms (terms + 1) features."""
        return terms * (terms + 1)

    def reduction(self, case, grid):
        from ..reduction.anisotropic import AnisotropicReduction, BiasedAnisotropicReduction
        from ..reduction.second_layer import SecondLayerReduction

        probe = probes(grid)
        kind = BiasedAnisotropicReduction if "b" in self.coords else AnisotropicReduction
        inner = kind(self.activation(), self.data_model(), case["pde"]["kernel_dim"],
                     probe=(probe["r1"], probe["r2"]), probe_b=probe.get("b"),
                     **series_options(case, ANISOTROPIC_MAX_TERMS))
        return SecondLayerReduction(inner) if "a" in self.coords else inner
