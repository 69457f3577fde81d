"""Units σ(⟨w, x⟩), a σ(⟨w, x⟩) and a σ(⟨w, x⟩ + b) on isotropic Gaussian data.

Data: y = ±1 with probability ½, x | y ~ N(0, (1 ± Δ)² I_d) (``delta``, ``dim``). A rotation
invariant law of w stays rotation invariant, so the DD is exact on the reduced coordinates
(r) for ``unit = "w"``, (a, r) for ``"aw"`` and (a, b, r) for ``"awb"`` (docs/theory.md §4.1,
§4.2), with the finite-d Mehler kernel or its d = ∞ limit (``pde.kernel_dim``).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from .base import Model

ANISOTROPIC_MAX_TERMS = 40       # the anisotropic series has rank T(T + 1) for T even orders


def gaussian_data(key: str, table: dict, kind: str, block: bool) -> dict:
    """``[data]`` of labelled Gaussians: ``delta`` in (0, 1), ``dim`` >= 1 and, for
    anisotropic data (``block``), ``signal_dim`` < ``dim``."""
    spec = {"kind": (checks.anything, kind),
            "delta": (lambda k, v: checks.real(k, v, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
                      checks.REQUIRED),
            "dim": (lambda k, v: checks.integer(k, v, lo=1), checks.REQUIRED)}
    if block:
        spec["signal_dim"] = (lambda k, v: checks.integer(k, v, lo=1), checks.REQUIRED)
    out = checks.take(key, table, spec)
    if block and not out["signal_dim"] < out["dim"]:
        checks.fail(f"{key}.signal_dim", f"an integer < dim = {out['dim']}", out["signal_dim"])
    return out


def probes(grid) -> dict[str, np.ndarray]:
    """Cell centres and the upper edge of every axis: where a series' truncation is checked."""
    return {axis.name: np.append(axis.centres, axis.hi) for axis in grid.axes}


def series_options(case: dict, max_terms: int | None = None) -> dict:
    """Output scale, ridge and series truncation of the Gaussian-data reductions."""
    pde = case["pde"]
    limit = pde["kernel_max_terms"] if max_terms is None else min(pde["kernel_max_terms"],
                                                                   max_terms)
    return {"scale": case["network"]["scale"], "lam": case["training"]["lambda"],
            "tol": pde["kernel_tol"], "max_terms": limit}


class GaussianDataModel(Model):
    """What the isotropic and anisotropic models share: data tables, the SGD model, D."""

    scalar_laws = {"a": {"kind": "constant", "value": 1.0}, "b": {"kind": "constant", "value": 0.0}}
    block = False                   # anisotropic data: a signal block and its complement

    @classmethod
    def check_data(cls, key, table, base_dir):
        return gaussian_data(key, table, cls.kind, cls.block)

    def data_model(self):
        """The data law (:mod:`ddsolver.problem.data`)."""
        from ..problem.data import make_data
        return make_data(self.data)

    def sgd_model(self, case):
        from ..sgd.gaussian import GaussianSgdModel
        return GaussianSgdModel(case, self.coords, self.data_model(), self.activation())

    def parameter_dim(self, case):
        """d, plus one for a second-layer weight a and one for a bias b."""
        return self.data["dim"] + ("a" in self.coords) + ("b" in self.coords)

    def summary(self):
        return (f"{self.kind}, {self.unit_summary()}, d = {self.data['dim']}"
                + (f", s₀ = {self.data['signal_dim']}" if self.block else "")
                + f", Δ = {self.data['delta']:g}")


class IsotropicModel(GaussianDataModel):
    """Coordinates (r), (a, r) or (a, b, r); the spectral and Lagrangian schemes solve (r)."""

    kind = "isotropic_gaussians"
    units = ("w", "aw", "awb")
    radial = ("r",)
    default_ranges = {"r": (0.0, 8.0), "a": (-4.0, 4.0), "b": (-4.0, 4.0)}
    _coords = {"w": ("r",), "aw": ("a", "r"), "awb": ("a", "b", "r")}

    @property
    def coords(self):
        return self._coords[self.network["unit"]]

    @property
    def schemes(self):
        """(r): the Lagrangian scheme first (noiseless: the fastest accurate path,
        docs/numerics.md §5), finite volumes for noisy dynamics; (a, r), (a, b, r): finite
        volumes first, or the Lagrangian scheme."""
        return ("lagrangian", "fv", "spectral") if self.coords == ("r",) else ("fv", "lagrangian")

    @classmethod
    def examples(cls):
        r = {"min": 0.0, "max": 3.0, "cells": 64}
        a = {"kind": "uniform", "low": -0.5, "high": 0.5}
        b = {"kind": "uniform", "low": -0.5, "high": 0.5}
        grids = {"w": {"r": r}, "aw": {"a": {"min": -3.0, "max": 3.0, "cells": 12}, "r": r},
                 "awb": {"a": {"min": -3.0, "max": 3.0, "cells": 12},
                         "b": {"min": -2.0, "max": 2.0, "cells": 8}, "r": {**r, "cells": 16}}}
        return {unit: {"data": {"kind": cls.kind, "delta": 0.5, "dim": 10},
                       "network": {"unit": unit, "activation": "relu"},
                       "training": {"t_final": 0.1},
                       "init": {"kind": "gaussian", "kappa": 1.0,
                                **({"a": a} if "a" in unit else {}),
                                **({"b": b} if "b" in unit else {})},
                       "pde": {"grid": grid, "snapshot_times": [0.0, 0.05, 0.1],
                               "boundary_mass": 1e-6}}     # coarse cells diffuse numerically
                for unit, grid in grids.items()}

    def reduction(self, case, grid):
        from ..reduction.radial import RadialReduction
        from ..reduction.second_layer import BiasedRadialReduction, SecondLayerReduction

        probe, options = probes(grid), series_options(case)
        args = (self.activation(), self.data_model(), case["pde"]["kernel_dim"])
        if "b" in self.coords:
            inner = BiasedRadialReduction(*args, probe_b=probe["b"], probe_r=probe["r"],
                                          **options)
        else:
            inner = RadialReduction(*args, probe_r=probe["r"], **options)
        return SecondLayerReduction(inner) if "a" in self.coords else inner
