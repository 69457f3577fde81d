"""The Lagrangian scheme (docs/numerics.md §5): equal-mass particles of the reduced law moved along
the exact characteristics; noiseless dynamics only."""

from __future__ import annotations

import math

from ..errors import CaseError
from ..grid import CartesianGrid
from .base import Scheme
from .fv import CELLS

POSITIONS_BUDGET = 2**31     # bytes of particle positions a solve may keep (every snapshot)


class Lagrangian(Scheme):
    """Quantile particles (1-D) or quasi-Monte Carlo particles (2-D to 4-D); the stored density is
    their quantile interpolation (1-D) or multilinear deposit on the case's grid, and the
    particles themselves are stored too (:meth:`particles`). ``auto`` is
    ``dopri5`` (compiled, tabulated kernel); ``dop853`` is the scipy twin (1-D). Each particle
    carries its start, the anchor of ``training.penalty = "anchored"``."""

    name = "lagrangian"
    integrators = ("auto", "dopri5", "dop853")
    noisy = False
    tolerance_key = "rtol"

    @classmethod
    def memory_items(cls, case, cells, key, features):
        """The base items with the features tabulated on the spline table (at most
        ``TABLE_BUDGET``), and the particles: 16 arrays of the integrator (7 stages, …) and
        the positions stored at every snapshot."""
        from ..stepper.lagrangian import TABLE_BUDGET

        pde = case["pde"]
        ndim = len(pde["grid"])
        n = pde["particles"] if ndim == 1 else 2 ** math.ceil(math.log2(pde["particles"]))
        snapshots = len(pde["snapshot_times"])
        return super().memory_items(case, cells, key, min(features, TABLE_BUDGET)) + [
            ("pde.particles", "particle integrator", 16 * 8 * n * ndim),
            ("pde.particles", "stored particle positions", 2 * 8 * snapshots * n * ndim)]
    anchored = True
    example_pde = {"particles": 200, "rtol": 1e-8}

    @classmethod
    def default_cells(cls, ndim, coord):
        return CELLS[ndim]

    @classmethod
    def check(cls, key, pde, model, training):
        super().check(key, pde, model, training)
        if pde["integrator"] == "dop853" and len(model.coords) > 1:
            raise CaseError(f"{key}.integrator: 'dop853' solves 1-D grids only, not "
                            f"{model.coords}; use 'dopri5' or 'auto'")

    @classmethod
    def integrator(cls, case):
        name = case["pde"]["integrator"]
        return "dopri5" if name == "auto" else name

    @classmethod
    def check_memory(cls, case):
        """Refuse, before anything is allocated, a run whose particle positions at every
        snapshot (kept by ``solve``, streamed to HDF5) exceed POSITIONS_BUDGET bytes: about
        snapshots × n × D × 8, n = ``pde.particles`` (rounded up to a power of two on several
        coordinates)."""
        pde = case["pde"]
        dim = len(pde["grid"])
        n = pde["particles"] if dim == 1 else 1 << max(int(pde["particles"] - 1).bit_length(), 1)
        need = len(pde["snapshot_times"]) * n * dim * 8
        if need > POSITIONS_BUDGET:
            raise CaseError(f"pde.particles: {pde['particles']} particles at "
                            f"{len(pde['snapshot_times'])} snapshots need {need / 2**30:.1f} GiB "
                            f"for their positions, above {POSITIONS_BUDGET / 2**30:g} GiB; use "
                            "fewer particles or snapshots")

    @classmethod
    def build(cls, case, model):
        from ..problem.initial import InitialLaw
        from ..problem.schedule import Schedule
        from ..stepper.lagrangian import CompiledLagrangianRun, ScipyLagrangianRun

        cls.check_memory(case)
        pde = case["pde"]
        grid = CartesianGrid.from_dict(pde["grid"])
        reduction = model.reduction(case, grid)
        positions, weights = InitialLaw.from_case(case).particles(pde["particles"], grid)
        runner = CompiledLagrangianRun if cls.integrator(case) == "dopri5" else ScipyLagrangianRun
        run = runner(reduction, positions, weights,
                     Schedule.from_dict(case["training"]["schedule"]), grid, rtol=pde["rtol"],
                     radial=model.radial, kernel_tol=pde["kernel_tol"],
                     on_boundary=pde["on_boundary"],
                     anchored=case["training"]["penalty"] == "anchored")
        return grid, reduction, run

    @classmethod
    def particles(cls, run):
        """The run's particles θ_i (n, D) and masses w_i: ρ_t = Σ_i w_i δ_{θ_i}."""
        return run.x, run.weights
