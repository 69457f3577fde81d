"""The planar-teacher DD solved two independent ways: the polar spectral scheme (Chebyshev in r,
Fourier in φ, case files) and finite volumes on a Cartesian (w₁, w₂) grid built from a
Gauss–Hermite quadrature of the data (UserProblem.from_data) (docs/planar-teacher.md); the
circle variant is solved through the CLI in tests/cli/test_cli.py."""

import numpy as np
import pytest
from scipy import special, stats

from ddsolver.case import normalize_case
from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.problem.schedule import Schedule
from ddsolver.problem.user import UserProblem, gaussian_quadrature
from ddsolver.solve import build_run
from ddsolver.stepper.fv import FiniteVolumeRun

TEACHER, WEIGHTS, BETA = [[1.5, 0.0], [0.0, 1.0]], [1.0, 0.5], 50.0
R0, R_STD, PHI0, PHI_STD = 1.0, 0.15, 0.4, 0.45
TIMES = (0.25, 0.5)


def planar_case(unit="w", cells=(40, 64), t_final=0.5):
    grid = {"phi": {"cells": cells[-1]}}
    init = {"kind": "product", "phi": {"kind": "normal", "mean": PHI0, "std": PHI_STD}}
    if unit == "w":
        grid["r"] = {"min": 0.1, "max": 4.0, "cells": cells[0]}
        init["r"] = {"kind": "normal", "mean": R0, "std": R_STD}
    return {"data": {"kind": "planar_teacher", "teacher": TEACHER, "teacher_weights": WEIGHTS},
            "network": {"unit": unit, "activation": "erf"},
            "training": {"t_final": t_final, "beta": BETA},
            "init": init, "pde": {"tol": 1e-9, "grid": grid,
                                  "snapshot_times": [t for t in (0.0, *TIMES) if t <= t_final]}}


def polar_moments(run):
    """(risk, E r, E cos φ, E sin φ) from the nodal values."""
    op, p = run.op, run.nodal
    R, P = op.r[:, None], op.phi[None, :]
    return np.array([run.risk(), op.integrate(R * p), op.integrate(np.cos(P) * p),
                     op.integrate(np.sin(P) * p)])


def cartesian_fv(cells=64, order=24):
    x, w = gaussian_quadrature(np.eye(2), order)
    y = special.erf(x @ np.array(TEACHER).T) @ np.array(WEIGHTS)
    problem = UserProblem.from_data(("w1", "w2"), lambda xs, th: special.erf(th @ xs.T), x, y, w)
    grid = CartesianGrid.from_dict({c: {"min": -3.5, "max": 3.5, "cells": cells}
                                    for c in ("w1", "w2")})
    W1, W2 = grid.mesh()
    r, phi = np.hypot(W1, W2), np.arctan2(W2, W1)
    density = stats.norm.pdf(r, R0, R_STD) * stats.norm.pdf(phi, PHI0, PHI_STD) / r   # p/r
    density /= density.sum() * grid.cell_volume
    run = FiniteVolumeRun(LowRankPotential(problem.reduction(grid), grid, beta=BETA), density,
                          Schedule(), tol=1e-8, threads=1)
    out = []
    for t in TIMES:
        run.advance(t)
        mass = run.density * grid.cell_volume
        out.append([run.risk(), (r * mass).sum(), (np.cos(phi) * mass).sum(),
                    (np.sin(phi) * mass).sum()])
    return np.array(out)


def test_polar_spectral_agrees_with_cartesian_finite_volumes():
    _, _, run = build_run(normalize_case(planar_case()))
    spectral = []
    for t in TIMES:
        run.advance(t)
        spectral.append(polar_moments(run))
    assert abs(run.op.mass(run.nodal) - 1) < 1e-12
    gap = np.abs(np.array(spectral) - cartesian_fv()).max(axis=0)
    # measured: risk 3e-4, E r 2e-4, circular moments 1.5e-4 (finite-volume error, h = 0.11)
    assert gap.max() < 1e-3, gap


def test_polar_resolution_study_converges():
    risks = []
    for cells in ((24, 32), (32, 48), (40, 64)):
        _, _, run = build_run(normalize_case(planar_case(cells=cells, t_final=0.25)))
        run.advance(0.25)
        risks.append(run.risk())
    assert abs(risks[2] - risks[1]) < abs(risks[1] - risks[0]) / 4, risks


@pytest.mark.parametrize("change, key", [
    ({"pde": {"scheme": "fv"}}, "pde.scheme"),
    ({"training": {"t_final": 1.0, "lambda": 0.1}}, "training.lambda"),
    ({"pde": {"grid": {"phi": {"min": 0.0, "max": 6.0}}}}, "pde.grid.phi.max"),
])
def test_planar_case_errors(change, key):
    from ddsolver.errors import CaseError
    case = planar_case(unit="circle")
    for name, entries in change.items():
        case[name] = entries
    with pytest.raises(CaseError, match=key):
        normalize_case(case)
