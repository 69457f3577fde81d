"""Finite volumes (docs/numerics.md): cell averages on a Cartesian grid of the reduced
coordinates, upwind transport with a limited reconstruction, Scharfetter–Gummel drift–diffusion
when noisy, the nonlocal potential in low-rank form; adaptive SSPRK3 or semi-implicit steps."""

from __future__ import annotations

import math

from ..errors import CaseError
from ..grid import CartesianGrid
from ..grid.cartesian import PADDED_DIM
from .base import Scheme

IMPLICIT = ("semi_implicit", "mprk22")   # the noisy-only, linearly implicit integrators
STIFF_PECLET = 1.0      # auto: mprk22 when β h / 2 ≤ this (FiniteVolumes.integrator)
# default cells per axis, by grid dimension (4-D: the Lagrangian scheme's stored density only)
CELLS = {1: 3200, 2: 200, 3: 64, 4: 24}


def open_ends(grid: CartesianGrid, radial: tuple[str, ...]) -> list[tuple[int, int]]:
    """(axis, side) pairs of grid edges that are not natural boundaries: every edge except
    min = 0 of a norm coordinate (``radial``, from the model)."""
    return [(i, side) for i, axis in enumerate(grid.axes) for side in (0, 1)
            if side == 1 or axis.lo > 0 or axis.name not in radial]


class FiniteVolumes(Scheme):
    """Positive, mass-conserving finite volumes on 1- to 3-D grids."""

    name = "fv"
    integrators = ("auto", "ssprk3", "semi_implicit", "mprk22")
    memory_arrays = 32          # stages, fluxes, reconstructions, potentials
    gibbs = True

    @classmethod
    def default_cells(cls, ndim, coord):
        return CELLS[ndim]

    @classmethod
    def check(cls, key, pde, model, training):
        if len(model.coords) > PADDED_DIM:
            raise CaseError(f"{key}.scheme: 'fv' solves grids of at most {PADDED_DIM} axes, not "
                            f"the {len(model.coords)} of {model.coords} (docs/numerics.md §10: "
                            "4-D finite volumes would cost hours); use 'lagrangian'")
        super().check(key, pde, model, training)
        if pde["integrator"] in IMPLICIT and math.isinf(training["beta"]):
            raise CaseError(f"{key}.integrator: {pde['integrator']!r} needs training.beta < inf "
                            "(the noiseless DD is pure transport; use 'ssprk3' or 'auto')")

    @classmethod
    def integrator(cls, case):
        """``auto``: ssprk3 unless the case is noisy, stiff and 1-D, then mprk22.

        The explicit SSPRK3 step is bounded by positivity: Δt ≤ h²/(2D) by the diffusion
        D = 2ξ/β and Δt ≤ h/|v| by the drift v = 2ξ∇Φ (the Scharfetter–Gummel outflow rate
        (D/h²)(B(z) + B(−z)) interpolates the two). Their ratio at a unit potential gradient is
        the cell Péclet number Pe = βh/2. When Pe ≤ STIFF_PECLET = 1, diffusion, not transport,
        sets the explicit step, which then falls far below what accuracy needs, and auto takes
        the second-order, unconditionally positive mprk22, whose step is limited by accuracy
        only. Only on 1-D grids, where its solves are a compiled tridiagonal sweep as cheap as an
        explicit stage; on 2-D/3-D grids each step costs six sparse LU solves.

        Measured (docs/numerics.md §8, benchmarks/bench_noisy.py; pde.tol = 1e-7): the noisy 9.1
        case with β = 80, λ = 0.1, 800 cells (Pe = 0.4) to t = 20 takes 75 s with ssprk3 (risk
        error 6e-12), 11 s with semi_implicit (2.2e-5) and 2.8 s with mprk22 (1.3e-7); with
        β = 400, λ = 0.05, 400 cells (Pe = 4) to t = 200 ssprk3 takes 31 s at risk error 1.3e-9,
        which mprk22 reaches only at a far smaller tol, so there ssprk3 stays. On the 2-D
        160 × 160 grid of validation/custom_linear.toml (Pe = 0.6) ssprk3 takes 26 ms a step
        and mprk22 0.53 s, so multi-dimensional grids stay explicit."""
        name = case["pde"]["integrator"]
        if name != "auto":
            return name
        grid = case["pde"]["grid"]
        if len(grid) > 1:
            return "ssprk3"
        (axis,) = grid.values()
        h = (axis["max"] - axis["min"]) / axis["cells"]
        return "mprk22" if case["training"]["beta"] * h / 2 <= STIFF_PECLET else "ssprk3"

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
