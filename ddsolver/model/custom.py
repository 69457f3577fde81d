"""User-defined problems (docs/user-problems.md): a Python file defines a
:class:`~ddsolver.problem.user.UserProblem` whose coordinates are the components of θ itself.

The grid has one axis per coordinate (``min`` and ``max`` required, no natural boundaries), the
initial law is one scalar law per coordinate (``kind = "product"``) or a density on the grid,
and ``[network]`` holds the output scale α only. Finite volumes (the default) solve every
problem; the Lagrangian scheme (noiseless) needs point values of V and of U's features
(``from_data``, ``from_lowrank``) and, on several coordinates, a product initial law.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from .. import checks
from ..errors import CaseError
from .base import Model, check_scale


class CustomModel(Model):
    """A problem loaded from ``data.file`` (``make_problem(params)`` or ``problem``)."""

    kind = "custom"
    runs_user_code = True
    init_kinds = ("product", "density")
    schemes = ("fv", "lagrangian")

    @classmethod
    def check_data(cls, key, table, base_dir):
        return checks.take(key, table, {"kind": (checks.anything, cls.kind),
                                        "file": (lambda k, v: checks.path(k, v, base_dir),
                                                 checks.REQUIRED),
                                        "params": (checks.table, {})})

    @classmethod
    def check_network(cls, key, table):
        return checks.take(key, table, {"scale": (check_scale, 1.0)})

    @cached_property
    def problem(self):
        """The :class:`~ddsolver.problem.user.UserProblem` of ``data.file`` (loaded when first
        needed, so that a summary of an archived case does not need the file)."""
        from ..problem.user import load_problem
        return load_problem({"data": self.data})

    @property
    def coords(self):
        return tuple(self.problem.coords)

    @classmethod
    def examples(cls):
        """Linear units ⟨θ, x⟩ in one dimension (the problem file ships with ddsolver)."""
        problem = Path(__file__).parent.parent / "data" / "linear_units.py"
        return {"linear": {"data": {"kind": cls.kind, "file": str(problem)},
                           "training": {"t_final": 0.1, "lambda": 0.2},
                           "init": {"theta": {"kind": "normal", "mean": 0.2, "std": 0.25}},
                           "pde": {"grid": {"theta": {"min": -2.5, "max": 2.5, "cells": 64}},
                                   "snapshot_times": [0.0, 0.05, 0.1]}}}

    def check(self, case):
        """The Lagrangian scheme needs feature functions (not a dense kernel) and, on several
        coordinates, particles of a product law (a density on cells is not sampled)."""
        if case["pde"]["scheme"] != "lagrangian":
            return
        if self.problem.kind == "dense":
            raise CaseError("pde.scheme: 'lagrangian' needs point values of U's features, which "
                            "a problem given by from_dense (a kernel factored on the cell "
                            "centres) has not; use 'fv', or give U by from_lowrank or from_data")
        if case["init"]["kind"] == "density" and len(self.coords) > 1:
            raise CaseError(f"init.kind: 'density' with pde.scheme = 'lagrangian' on "
                            f"{len(self.coords)} coordinates is not sampled; give one scalar law "
                            "per coordinate (kind = 'product') or use pde.scheme = 'fv'")

    def reduction(self, case, grid):
        return self.problem.reduction(grid, scale=self.network["scale"],
                                      lam=case["training"]["lambda"])

    def sgd_model(self, case):
        from ..sgd.custom import CustomSgdModel
        return CustomSgdModel(case, self.problem)

    def parameter_dim(self, case):
        """θ is the coordinates."""
        return len(self.coords)

    def memory_items(self, case, cells, key):
        """A dense U is factored as two (cells × cells) matrices."""
        if self.problem.kind == "dense":
            return [(key, "dense U (cells × cells)", 2 * 8 * cells**2)]
        return []

    def summary(self):
        return f"custom problem {Path(self.data['file']).name}"
