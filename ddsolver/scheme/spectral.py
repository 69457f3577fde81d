"""Spectral schemes (docs/numerics.md §11): Chebyshev collocation in a radius r, Fourier in an
angle φ, both (polar) for (r, φ); adaptive ETDRK4 with the linear part exact.

The operator follows the grid's coordinates: (r) the Chebyshev radial operator of the
reduction, (φ) the Fourier operator of a kernel U(φ − φ'), (r, φ) the polar operator. The
stored density is the cell average of the interpolant on a uniform grid refined
``OUTPUT_REFINE`` times per collocation point.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..grid import Axis, CartesianGrid
from .base import Scheme

CELLS = {"r": 48, "phi": 64}            # default collocation points / Fourier nodes per axis
MIN_CELLS = 4                           # fewest collocation points / Fourier nodes per axis
OUTPUT_REFINE = {1: 8, 2: 2}            # stored cells per collocation point, by grid dimension


def output_grid(grid: CartesianGrid) -> CartesianGrid:
    """The grid of stored cell averages: each axis of collocation points (``cells``) refined by
    ``OUTPUT_REFINE`` over the same interval."""
    refine = OUTPUT_REFINE[grid.ndim]
    return CartesianGrid(tuple(Axis(a.name, a.lo, a.hi, refine * a.cells) for a in grid.axes))


def _operator(case: dict, grid: CartesianGrid, out: CartesianGrid, reduction):
    """(operator, nodes {name: (points, lo, hi)}, quadrature weights of the nodes, matrices that
    average the interpolant over the cells of ``out``, one per axis)."""
    from ..operator.chebyshev import ChebyshevRadialOperator
    from ..operator.chebyshev import cell_average_matrix as chebyshev_average
    from ..operator.fourier import FourierOperator
    from ..operator.fourier import cell_average_matrix as fourier_average
    from ..operator.polar import PolarOperator

    training, scale = case["training"], case["network"]["scale"]
    beta, lam = training["beta"], training["lambda"]
    axes = {a.name: a for a in grid.axes}
    matrices = []
    if "r" in axes:
        r = axes["r"]
        matrices.append(chebyshev_average(r.cells, r.lo, r.hi, out.axis("r").edges))
    if "phi" in axes:
        phi = axes["phi"]
        offset = phi.lo + 0.5 * phi.spacing
        matrices.append(fourier_average(phi.cells, offset, out.axis("phi").edges))
    if grid.names == ("r",):
        op = ChebyshevRadialOperator(reduction, r.lo, r.hi, r.cells, beta=beta,
                                     kernel_tol=case["pde"]["kernel_tol"])
        return op, {"r": (op.r, r.lo, r.hi)}, op.weights, matrices
    problem = reduction.problem
    if grid.names == ("phi",):
        op = FourierOperator(phi.cells, V=problem.circle_v, U=problem.circle_kernel, alpha=scale,
                             beta=beta, offset=offset,
                             label_second_moment=problem.label_second_moment)
        return op, {"phi": (op.phi, phi.lo, phi.hi)}, np.full(phi.cells, op.h), matrices
    op = PolarOperator(problem, r.lo, r.hi, r.cells, phi.cells, offset, alpha=scale, lam=lam,
                       beta=beta)
    return (op, {"r": (op.r, r.lo, r.hi), "phi": (op.phi, phi.lo, phi.hi)},
            np.outer(op.w, np.full(phi.cells, op.h)), matrices)


class Spectral(Scheme):
    """Chebyshev, Fourier or polar collocation; the initial law must have a density."""

    name = "spectral"
    integrators = ("auto", "etdrk4")

    @classmethod
    def memory_items(cls, case, cells, key, features):
        """The base items and 24 (nodes × nodes) matrices of the operators and their set-up."""
        return super().memory_items(case, cells, key, features) + [
            (key, "spectral operators", 24 * 8 * cells**2)]

    @classmethod
    def stored_values(cls, cells, ndim):
        """The density on the finer output grid: 8 values per node in 1-D, 4 in 2-D."""
        return cells * (8 if ndim == 1 else 4)
    positive = False

    @classmethod
    def default_cells(cls, ndim, coord):
        return CELLS[coord]

    @classmethod
    def check_grid(cls, key, grid):
        for name, axis in grid.items():
            if axis["cells"] < MIN_CELLS:
                checks.fail(f"{key}.{name}.cells", f"an integer >= {MIN_CELLS} with scheme = "
                            "'spectral'", axis["cells"])
        if "phi" in grid and "r" in grid and not grid["r"]["min"] > 0:
            checks.fail(f"{key}.r.min", "a number > 0 (polar grids stop short of the pole r = 0)",
                        grid["r"]["min"])

    @classmethod
    def integrator(cls, case):
        return "etdrk4"

    @classmethod
    def build(cls, case, model):
        from ..problem.initial import InitialLaw
        from ..problem.schedule import Schedule
        from ..stepper.spectral import SpectralRun
        from ..threads import single_blas_thread

        pde, training = case["pde"], case["training"]
        grid = CartesianGrid.from_dict(pde["grid"])
        out = output_grid(grid)

        def to_cells(p):
            for axis, matrix in enumerate(matrices):
                p = np.moveaxis(np.tensordot(matrix, p, axes=(1, axis)), 0, axis)
            return p
        with single_blas_thread():   # small products and eigensystems: threads only wait
            reduction = model.reduction(case, grid)
            op, nodes, weights, matrices = _operator(case, grid, out, reduction)
            density = InitialLaw.from_case(case).nodal_density(
                nodes, outside_tol=pde["boundary_mass"])
            density = density / float(np.sum(weights * density))
            # the circle operator's F omits the constant R_#/(2α²) of F = R/(2α²) + …
            shift = (reduction.problem.label_second_moment / (2 * case["network"]["scale"]**2)
                     if grid.names == ("phi",) else 0.0)
            run = SpectralRun(op, density, Schedule.from_dict(training["schedule"]), to_cells,
                              tol=pde["tol"], negative_tol=pde["negative_tol"],
                              free_energy_shift=shift, kernel_rank=op.rank)
        return out, reduction, run
