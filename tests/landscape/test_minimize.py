"""The certified global minimum (ddsolver.landscape.minimize) against independent computations:
the convex hull of a planar curve at d = ∞, a QP over every cell at finite d, the closed form of
linear units; the certificate at the minimiser and at perturbed laws; edges; noisy cases."""

import copy
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, sparse
from scipy.spatial import ConvexHull

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.landscape import energy_of, minimize

ROOT = Path(__file__).resolve().parents[2]
SIGMA = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}           # MMN 9.1


def radial_case(kernel_dim, r_max=3.0, cells=150, delta=0.8, **training):
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": delta, "dim": 40},
        "network": {"unit": "w", "activation": "piecewise_linear", "activation_params": SIGMA},
        "training": {"t_final": 1.0, **training},
        "init": {"kind": "gaussian", "kappa": 0.8},
        "pde": {"scheme": "fv", "kernel_dim": kernel_dim,
                "grid": {"r": {"min": 0.0, "max": r_max, "cells": cells}}}})


def sigma(t):
    s1, s2, t1, t2 = SIGMA["s1"], SIGMA["s2"], SIGMA["t1"], SIGMA["t2"]
    return np.where(t < t1, s1, np.where(t >= t2, s2, s1 + (s2 - s1) * (t - t1) / (t2 - t1)))


def gaussian_mean(s):
    """q(s) = E σ(s G), by adaptive quadrature against the normal density."""
    return integrate.quad(lambda g: sigma(s * g) * np.exp(-g * g / 2) / np.sqrt(2 * np.pi),
                          -12, 12, points=[0.5 / max(s, 1e-9), 1.5 / max(s, 1e-9)],
                          limit=200)[0]


def hull_distance(points, target):
    """Distance from ``target`` to the convex hull of planar ``points`` (0 inside)."""
    hull = ConvexHull(points)
    if np.all(hull.equations[:, :2] @ target + hull.equations[:, 2] <= 1e-12):
        return 0.0
    best = np.inf
    for a, b in hull.simplices:
        p, q = points[a], points[b]
        s = np.clip((target - p) @ (q - p) / ((q - p) @ (q - p)), 0.0, 1.0)
        best = min(best, np.linalg.norm(p + s * (q - p) - target))
    return best


@pytest.mark.parametrize("delta", [0.3, 0.8])
def test_d_infinity_is_the_distance_to_a_convex_hull(delta):
    """At d = ∞ the kernel has rank 2 (one Mehler term per class) and, with α = 1 and R_# = 1,
    R(ρ) = ½|z − (1, −1)|² for z = ∫(q(τ₊r), q(τ₋r)) dρ: R_min on the grid is half the squared
    distance from (1, −1) to the convex hull of the cell averages of the curve r ↦ (q(τ₊r),
    q(τ₋r)), here with q by quadrature and the hull by scipy."""
    case = radial_case(np.inf, delta=delta)
    sol = minimize(case)
    axis = sol.grid.axes[0]
    nodes, weights = np.polynomial.legendre.leggauss(4)
    curve = []
    for lo, hi in zip(axis.edges[:-1], axis.edges[1:]):
        r = 0.5 * (lo + hi) + 0.5 * (hi - lo) * nodes
        curve.append([0.5 * weights @ [gaussian_mean(tau * x) for x in r]
                      for tau in (1 + delta, 1 - delta)])
    expected = 0.5 * hull_distance(np.array(curve), np.array([1.0, -1.0])) ** 2
    assert sol.risk[0] == pytest.approx(expected, abs=1e-8)
    assert sol.attrs["gap"] <= 1e-9 and sol.attrs["converged"]
    assert sol.attrs["atoms"] <= 3                                  # Carathéodory: rank + 1


def test_finite_d_against_one_qp_over_every_cell():
    """d = 40: the same minimum from a single interior-point QP over all 150 cells (variables
    m and c = F̄m, no Frank–Wolfe)."""
    import clarabel

    case = radial_case(40)
    sol = minimize(case)
    energy = energy_of(case)
    rank, cells = energy.features.shape
    hessian = sparse.block_diag([sparse.csc_matrix((cells, cells)), sparse.identity(rank)])
    linear = np.concatenate([energy.linear, np.zeros(rank)])
    constraints = sparse.vstack([
        sparse.hstack([sparse.csc_matrix(energy.features), -sparse.identity(rank)]),
        sparse.hstack([sparse.csc_matrix(np.ones((1, cells))), sparse.csc_matrix((1, rank))]),
        sparse.hstack([-sparse.identity(cells), sparse.csc_matrix((cells, rank))])]).tocsc()
    bounds = np.concatenate([np.zeros(rank), [1.0], np.zeros(cells)])
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    cones = [clarabel.ZeroConeT(rank + 1), clarabel.NonnegativeConeT(cells)]
    result = clarabel.DefaultSolver(sparse.triu(hessian).tocsc(), linear, constraints, bounds,
                                    cones, settings).solve()
    m = np.clip(np.asarray(result.x)[:cells], 0, None)
    assert sol.risk[0] == pytest.approx(energy.risk(m / m.sum()), abs=1e-7)
    assert sol.risk[0] <= energy.risk(m / m.sum()) + 1e-12


def test_certificate_bounds_the_excess_and_vanishes_only_at_the_minimum():
    """At the minimiser the gap is ≤ 1e-9; moving 10% of its mass to any other cell makes it
    clearly positive, and every law's gap bounds its excess risk R − R_min (λ = 0)."""
    case = radial_case(40)
    sol = minimize(case)
    energy = energy_of(case)
    m = energy.masses(sol.density[0])
    assert energy.certify(m).gap <= 1e-9
    rng = np.random.default_rng(0)
    for cell in rng.choice(m.size, 8, replace=False):
        moved = 0.9 * m
        moved[cell] += 0.1
        certificate = energy.certify(moved)
        excess = certificate.risk - sol.risk[0]
        assert excess <= certificate.gap + 1e-12
        assert certificate.gap > 1e-4


def linear_case(lam):
    return normalize_case({
        "data": {"kind": "custom", "file": str(ROOT / "examples" / "user_linear.py"),
                 "params": {"C": [[1.0, 0.3], [0.3, 0.5]], "b_star": [1.0, -0.5],
                            "noise": 0.1}},
        "training": {"t_final": 1.0, "lambda": lam},
        "init": {"theta1": {"kind": "normal", "mean": 0.0, "std": 0.2},
                 "theta2": {"kind": "normal", "mean": 0.2, "std": 0.2}},
        "pde": {"grid": {"theta1": {"min": -1.5, "max": 2.5, "cells": 40},
                         "theta2": {"min": -2.0, "max": 2.0, "cells": 40}}}})


def test_linear_units_closed_form():
    """Units ⟨θ, x⟩: R depends on the mean θ̄ only, R = R_# − 2⟨Cb*, θ̄⟩ + θ̄ᵀCθ̄, minimal at
    θ̄ = b* with R_min = noise² = 0.01, which cells around b* reach exactly; with ridge λ the
    energy R/2 + (λ/2)∫|θ|² is minimal at the atom θ* = (C + λ)⁻¹Cb*, reached up to the grid's
    splitting of that atom (O(h²) in the ridge term)."""
    sol = minimize(linear_case(0.0))
    assert sol.risk[0] == pytest.approx(0.01, abs=1e-10)
    lam = 0.25
    cov, b_star = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([1.0, -0.5])
    theta = np.linalg.solve(cov + lam * np.eye(2), cov @ b_star)
    exact = (0.5 * (b_star @ cov @ b_star + 0.01 - 2 * theta @ cov @ b_star
                    + theta @ cov @ theta) + 0.5 * lam * theta @ theta)
    ridge = minimize(linear_case(lam))
    h = ridge.grid.spacing
    assert exact <= ridge.free_energy[0] <= exact + lam * (h @ h) / 4


def test_edge_layer_is_reported():
    """9.1's piecewise-linear σ saturates: the infimum is approached as r → ∞ (units become
    steps), so on any grid the minimiser sits in the last cell of r, and says so."""
    case = radial_case(40, delta=0.8)
    with pytest.warns(UserWarning, match="max layer of pde.grid.r"):
        sol = minimize(case)
    assert "max layer of pde.grid.r" in sol.attrs["edge"]
    wider = copy.deepcopy(case)
    wider["pde"]["grid"]["r"] = {"min": 0.0, "max": 6.0, "cells": 300}
    with pytest.warns(UserWarning):
        assert minimize(wider).risk[0] < sol.risk[0]


def test_noisy_case_gives_the_gibbs_state(noisy_mmn_case):
    case = noisy_mmn_case(cells=200, rmax=6.0)
    np.testing.assert_allclose(minimize(case).density, ddsolver.stationary(case).density,
                               rtol=0, atol=1e-12)


def test_written_file_and_cli(tmp_path, capsys):
    from ddsolver.cli import main

    case_file = tmp_path / "case.toml"
    case_file.write_text((ROOT / "examples" / "mmn_9_1.toml").read_text()
                         .replace("cells = 3200", "cells = 400"))
    assert main(["minimize", str(case_file), "-o", str(tmp_path / "min.h5")]) == 0
    out = capsys.readouterr().out
    assert "R_min" in out and "gap" in out
    loaded = ddsolver.load(tmp_path / "min.h5")
    assert loaded.attrs["gap"] <= 1e-9 and np.isinf(loaded.t[0])
    assert main(["show", str(tmp_path / "min.h5")]) == 0
    assert "global minimum" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "min.h5"), "-o", str(tmp_path / "min.png")]) == 0
    assert (tmp_path / "min.png").stat().st_size > 0
    assert main(["minimize", str(case_file), "--tol", "-1"]) == 2
