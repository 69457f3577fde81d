"""The planar teacher's energy (ddsolver.landscape.planar) against a dense kernel, Monte Carlo
networks and closed forms; its certified minimum against single atoms, finer grids, the
noiseless spectral DD and linear units' convex hulls."""

import math
import warnings

import numpy as np
import pytest

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.grid import CartesianGrid
from ddsolver.landscape import certify, energy_of, minimize
from ddsolver.landscape.minimize import frank_wolfe
from ddsolver.landscape.planar import PlanarEnergy
from ddsolver.problem.planar import PlanarTeacher

from .test_minimize import hull_distance

TEACHER, WEIGHTS = [[1.5, 0.0], [0.0, 1.0]], [1.0, 0.5]      # validation/planar_teacher.toml


def planar_case(unit="w", activation="erf", grid=None, teacher=TEACHER, weights=WEIGHTS,
                scale=1.0, **training):
    phi = {"kind": "uniform", "low": -math.pi, "high": math.pi}
    init = ({"kind": "product", "r": {"kind": "normal", "mean": 1.5, "std": 0.6}, "phi": phi}
            if unit == "w" else {"kind": "product", "phi": phi})
    grid = grid or ({"r": {"min": 0.1, "max": 3.5, "cells": 8}, "phi": {"cells": 16}}
                    if unit == "w" else {"phi": {"cells": 16}})
    return normalize_case({
        "data": {"kind": "planar_teacher", "teacher": teacher, "teacher_weights": weights},
        "network": {"unit": unit, "activation": activation, "scale": scale},
        "training": {"t_final": 1.0, **training}, "init": init,
        "pde": {"grid": grid, "snapshot_times": [0.0, 1.0], "boundary_mass": 0.1}})


def dense(energy):
    """Cell centres (r, φ) and U(θ_i, θ_j) = K(r_i, r_j, φ_i − φ_j) for every pair of cells."""
    mesh = energy.grid.mesh()
    phi = mesh[-1].ravel()
    r = mesh[0].ravel() if energy.grid.ndim == 2 else np.ones_like(phi)
    return r, phi, energy.problem.kernel(r[:, None], r[None, :], phi[:, None] - phi[None, :])


@pytest.mark.parametrize("unit, activation, lam", [("w", "erf", 0.3), ("circle", "relu", 0.0)])
def test_gradient_block_diagonal_and_risk_against_a_dense_kernel(unit, activation, lam):
    """On a 6 × 16 grid (16 on the circle): Ψ = b + Um by FFT, U_SS, U_jj and R against the
    dense O(cells²) kernel at the cell centres, b = V/α + λr²/2 recomputed."""
    grid = ({"r": {"min": 0.2, "max": 2.6, "cells": 6}, "phi": {"cells": 16}} if unit == "w"
            else {"phi": {"cells": 16}})
    energy = energy_of(planar_case(unit, activation, grid, scale=0.7, **{"lambda": lam}))
    r, phi, kernel = dense(energy)
    teacher = energy.problem
    linear = teacher.v(r, phi) / 0.7 + 0.5 * lam * r**2
    m = np.random.default_rng(1).random(r.size)
    m /= m.sum()
    np.testing.assert_allclose(energy.linear, linear, rtol=0, atol=1e-13)
    np.testing.assert_allclose(energy.gradient(m), linear + kernel @ m, rtol=0, atol=1e-13)
    cells = np.array([3, 17, 40, 5, 90]) % r.size
    np.testing.assert_allclose(energy.block(cells), kernel[np.ix_(cells, cells)], atol=1e-15)
    np.testing.assert_allclose(energy.diagonal(), teacher.diagonal(r), rtol=0, atol=1e-12)
    risk = teacher.label_second_moment + 2 * 0.7 * teacher.v(r, phi) @ m + 0.49 * m @ kernel @ m
    assert energy.risk(m) == pytest.approx(risk, abs=1e-13)
    assert energy.free_energy(m) == pytest.approx(risk / 0.98 + 0.5 * lam * r**2 @ m, abs=1e-13)


def test_risk_against_a_monte_carlo_network():
    """N = 400 units drawn from a law m on the cell centres form the empirical law m_N = counts/N,
    whose R(m_N) counts the diagonal (α²/N²) Σ_i U(θ_i, θ_i) of the finite network: it equals
    the network's risk from PlanarTeacher.risk (pairs enumerated, erf's closed form) to 1e-12 and
    a Monte Carlo average of (y − ŷ)² over 4·10⁵ inputs x ~ N(0, I₂) to 5 standard errors."""
    energy = energy_of(planar_case(grid={"r": {"min": 0.2, "max": 2.6, "cells": 6},
                                         "phi": {"cells": 16}}, scale=0.7))
    r, phi, _ = dense(energy)
    rng = np.random.default_rng(2)
    m = rng.random(r.size) ** 4
    counts = rng.multinomial(400, m / m.sum())
    empirical = counts / 400
    units = np.repeat(np.arange(r.size), counts)
    exact = energy.problem.risk(r[units], phi[units], 0.7)
    assert energy.risk(empirical) == pytest.approx(exact, abs=1e-12)
    w = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)[counts > 0]
    losses = []
    for _ in range(4):
        x, y = energy.problem.sample(100_000, rng)
        prediction = 0.7 * energy.problem.activation.sigma(x @ w.T) @ empirical[counts > 0]
        losses.append((y - prediction) ** 2)
    losses = np.concatenate(losses)
    error = losses.std() / math.sqrt(losses.size)
    assert abs(losses.mean() - energy.risk(empirical)) < 5 * error


def test_circle_with_one_teacher_unit_is_reached_exactly():
    """Circle units, one teacher u = (cos φ*, sin φ*) of weight α, φ* = π − π/16 the centre of
    the last of 16 cells: the atom there is the student itself, R = 0, and the only law that
    reaches it (erf's odd Hermite coefficients fix every odd Fourier mode of the law to that of
    δ_φ*). The last φ layer is no edge: no warning."""
    angle = math.pi - math.pi / 16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = minimize(planar_case("circle", teacher=[[math.cos(angle), math.sin(angle)]],
                                   weights=[0.8], scale=0.8))
    assert abs(sol.risk[0]) < 1e-12 and sol.attrs["gap"] <= 1e-9 and sol.attrs["edge"] == ""
    m = sol.density[0] * sol.grid.cell_volume
    assert m[-1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("unit", ["w", "circle"])
def test_linear_units_reach_the_convex_hull(unit):
    """Linear units: ŷ = α⟨∫w dρ, x⟩ and R = |z − α∫w dρ|², z = Σ_j c_j u_j = (1.5, 0.5), so
    R_min on the grid is the squared distance from z to α × the convex hull of the cell centres
    (z is outside: |z|/α > the largest radius)."""
    grid = ({"r": {"min": 0.1, "max": 1.3, "cells": 5}, "phi": {"cells": 12}} if unit == "w"
            else {"phi": {"cells": 12}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = minimize(planar_case(unit, "linear", grid, scale=1.1))
    assert len(caught) == (unit == "w")                      # the hull's vertices: r = max
    r, phi, _ = dense(energy_of(sol.case))
    centres = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    expected = hull_distance(1.1 * centres, np.array([1.5, 0.5])) ** 2
    assert sol.risk[0] == pytest.approx(expected, abs=1e-11)
    assert sol.attrs["gap"] <= 1e-9


def test_minimum_against_atoms_finer_grids_and_the_noiseless_dd():
    """The planar teacher (erf) on 8 × 16 cells, noiseless: gap ≤ 1e-9; R_min below the risk of
    every single atom, at least R_min of the 24 × 48 grid whose centres contain these, and below
    the risk of the spectral DD's law at t = 1 (its cell masses, negative values clipped, on
    its 16 × 32 output grid, against R_min there); the certificates of that solution."""
    case = planar_case()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # coarse cells: an atom in the last r
        sol = minimize(case)
    energy = energy_of(case)
    single = (energy.problem.label_second_moment
              + 2 * energy.scale**2 * (energy.linear + 0.5 * energy.diagonal()))
    assert sol.attrs["converged"] and sol.attrs["gap"] <= 1e-9
    assert sol.risk[0] < single.min()
    finer = CartesianGrid.from_dict({"r": {"min": 0.1, "max": 3.5, "cells": 24},
                                     "phi": {"min": -math.pi, "max": math.pi, "cells": 48}})
    _, fine, _ = frank_wolfe(energy_of(case, finer))
    assert fine.gap <= 1e-9 and fine.risk <= sol.risk[0] + 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # small negative spectral densities
        dd = ddsolver.solve(case)
    on_output = energy_of(case, dd.grid)
    _, minimum, _ = frank_wolfe(on_output)
    final = np.clip(on_output.masses(dd.density[-1]), 0, None)
    assert minimum.gap <= 1e-9 and minimum.risk < on_output.risk(final / final.sum())
    certificates = certify(dd, minimum.risk)
    start = on_output.masses(dd.density[0])
    assert start.min() >= 0 and certificates.risk[0] == pytest.approx(dd.risk[0], rel=1e-3)
    assert certificates.excess[0] <= certificates.gap[0]
    assert certificates.risk[-1] == pytest.approx(dd.risk[-1], rel=1e-2)


def test_noisy_planar_cases_are_refused_clearly():
    """minimize sends noisy cases to the Gibbs state, which the spectral scheme cannot give."""
    with pytest.raises(CaseError, match="beta = inf"):
        minimize(planar_case(beta=50.0))


def test_circle_units_have_no_ridge():
    grid = CartesianGrid.from_dict({"phi": {"min": -math.pi, "max": math.pi, "cells": 8}})
    with pytest.raises(ValueError, match="no ridge"):
        PlanarEnergy(PlanarTeacher("erf", TEACHER), grid, scale=1.0, lam=0.1)
