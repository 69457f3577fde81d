"""The Lagrangian scheme (docs/numerics.md): equal-mass particles of the radial law moved along
the exact characteristics by scipy's DOP853; noiseless dynamics only."""

from __future__ import annotations

from ..grid import CartesianGrid
from .base import Scheme
from .fv import CELLS


class Lagrangian(Scheme):
    """Quantile particles; the stored density is their deposit on the case's grid."""

    name = "lagrangian"
    noisy = False
    example_pde = {"particles": 200, "rtol": 1e-8}

    @classmethod
    def default_cells(cls, ndim, coord):
        return CELLS[ndim]

    @classmethod
    def integrator(cls, case):
        return "DOP853"

    @classmethod
    def build(cls, case, model):
        from ..problem.initial import InitialLaw
        from ..problem.schedule import Schedule
        from ..stepper.lagrangian import LagrangianRun

        pde = case["pde"]
        grid = CartesianGrid.from_dict(pde["grid"])
        reduction = model.reduction(case, grid)
        positions, weights = InitialLaw.from_case(case).particles(pde["particles"], grid)
        run = LagrangianRun(reduction, positions, weights,
                            Schedule.from_dict(case["training"]["schedule"]), grid,
                            rtol=pde["rtol"], on_boundary=pde["on_boundary"])
        return grid, reduction, run
