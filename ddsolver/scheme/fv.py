"""Finite volumes (docs/numerics.md): cell averages on a Cartesian grid of the reduced
coordinates, upwind transport with a limited reconstruction, Scharfetter–Gummel drift–diffusion
when noisy, the nonlocal potential in low-rank form; adaptive SSPRK3 or semi-implicit steps."""

from __future__ import annotations

import math

from ..errors import CaseError
from ..grid import CartesianGrid
from .base import Scheme

IMPLICIT = ("semi_implicit", "mprk22")   # the noisy-only, linearly implicit integrators
CELLS = {1: 3200, 2: 200, 3: 64}        # default cells per axis, by grid dimension


def open_ends(grid: CartesianGrid, radial: tuple[str, ...]) -> list[tuple[int, int]]:
    """(axis, side) pairs of grid edges that are not natural boundaries: every edge except
    min = 0 of a norm coordinate (``radial``, from the model)."""
    return [(i, side) for i, axis in enumerate(grid.axes) for side in (0, 1)
            if side == 1 or axis.lo > 0 or axis.name not in radial]


class FiniteVolumes(Scheme):
    """Positive, mass-conserving finite volumes on 1- to 3-D grids."""

    name = "fv"
    integrators = ("auto", "ssprk3", "semi_implicit", "mprk22")
    gibbs = True

    @classmethod
    def default_cells(cls, ndim, coord):
        return CELLS[ndim]

    @classmethod
    def check(cls, key, pde, model, training):
        super().check(key, pde, model, training)
        if pde["integrator"] in IMPLICIT and math.isinf(training["beta"]):
            raise CaseError(f"{key}.integrator: {pde['integrator']!r} needs training.beta < inf "
                            "(the noiseless DD is pure transport; use 'ssprk3' or 'auto')")

    @classmethod
    def integrator(cls, case):
        """``auto`` is ssprk3, noisy or not: measured on the noisy 9.1 case
        (benchmarks/bench_noisy.py) it reaches a given accuracy several times faster than the
        semi-implicit scheme, which is positive for any step but only first order."""
        name = case["pde"]["integrator"]
        return "ssprk3" if name == "auto" else name

    @classmethod
    def build(cls, case, model):
        """The potential compressed to the kernel's numerical rank at ``pde.kernel_tol``."""
        from ..operator.lowrank import LowRankPotential

        grid = CartesianGrid.from_dict(case["pde"]["grid"])
        reduction = model.reduction(case, grid)
        potential = LowRankPotential(reduction, grid, beta=case["training"]["beta"],
                                     tol=case["pde"]["kernel_tol"])
        return grid, reduction, cls.run(case, model, potential)

    @classmethod
    def run(cls, case, model, potential):
        """A finite-volume run of a normalised case on ``potential`` (its grid and kernel)."""
        from ..problem.initial import InitialLaw
        from ..problem.schedule import Schedule
        from ..stepper.fv import FiniteVolumeRun

        pde, grid = case["pde"], potential.grid
        density = InitialLaw.from_case(case).cell_density(grid, outside_tol=pde["boundary_mass"])
        return FiniteVolumeRun(potential, density,
                               Schedule.from_dict(case["training"]["schedule"]),
                               integrator=cls.integrator(case), cfl=pde["cfl"], tol=pde["tol"],
                               reconstruction=pde["reconstruction"],
                               open_ends=open_ends(grid, model.radial),
                               on_boundary=pde["on_boundary"],
                               boundary_mass=pde["boundary_mass"], threads=pde["threads"])
