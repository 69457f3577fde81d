"""The Lagrangian scheme on custom problems (ddsolver/model/custom.py), against closed forms.

Linear units σ*(x; θ) = ⟨θ, x⟩, x ~ N(0, C), y = ⟨b*, x⟩ + ν (examples/user_linear.py): with
ψ = V/α + ∫U dρ + (λ/2)|θ − θ⁰|², every particle moves along θ̇ = −2[C m − C b*/α + λ(θ − θ⁰)],
m = ∫θ dρ, so with the anchor mean m⁰ (0, or m(0) for the anchored penalty)

    m(t) = m* + exp(−2(C + λ)t)(m(0) − m*),   m* = (C + λ)⁻¹(C b*/α + λ m⁰),
    θ_i − m = (θ⁰_i − m⁰) + e^{−2λt}(θ_i(0) − m(0) − (θ⁰_i − m⁰)),

and R = R_# − 2α⟨C b*, m⟩ + α² mᵀ C m with R_# = b*ᵀ C b* + ν². The splines of the scheme are
exact on linear features, so the particles follow this flow to the ODE tolerance, and the risk
is the closed form at the law's mean up to the quadrature of the initial mean.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm

import ddsolver
from ddsolver.errors import CaseError
from ddsolver.grid import CartesianGrid
from ddsolver.problem.initial import InitialLaw

ROOT = Path(__file__).resolve().parents[2]
USER_LINEAR = ROOT / "examples" / "user_linear.py"
NOISE = 0.1
TIMES = [0.0, 0.25, 0.5, 1.0, 2.0]


def linear_case(cov, b_star, mean, std, *, scheme="lagrangian", lam=0.25, scale=1.0,
                penalty="origin", cells=None, times=TIMES, **pde):
    """Units ⟨θ, x⟩ in D = len(b_star) coordinates theta1 …, θ_k ~ N(mean_k, std_k²)."""
    dim = len(b_star)
    box = {f"theta{k + 1}": {"min": mean[k] - 8 * std[k] - 1.0, "max": mean[k] + 8 * std[k] + 2.0,
                             **({"cells": cells} if cells else {})} for k in range(dim)}
    return ddsolver.normalize_case({
        "data": {"kind": "custom", "file": str(USER_LINEAR),
                 "params": {"C": np.atleast_2d(cov).tolist(), "b_star": list(b_star),
                            "order": 2, "noise": NOISE}},
        "network": {"scale": scale},
        "training": {"t_final": times[-1], "lambda": lam, "penalty": penalty},
        "init": {f"theta{k + 1}": {"kind": "normal", "mean": mean[k], "std": std[k]}
                 for k in range(dim)},
        "pde": {"scheme": scheme, "grid": box, "snapshot_times": times, **pde}})


def linear_mean(cov, b_star, scale, lam, t, m0, anchor_mean):
    """m(t) of the module docstring."""
    a = np.atleast_2d(cov) + lam * np.eye(len(b_star))
    target = np.linalg.solve(a, np.atleast_2d(cov) @ b_star / scale + lam * anchor_mean)
    return target + expm(-2 * a * t) @ (m0 - target)


def linear_flow(cov, b_star, scale, lam, t, start, weights, anchored):
    """Positions at t of particles started at ``start`` (n, D), driven by their own law."""
    anchor = start if anchored else np.zeros_like(start)
    m0, anchor_mean = weights @ start, weights @ anchor
    spread = anchor - anchor_mean
    mean = linear_mean(cov, b_star, scale, lam, t, m0, anchor_mean)
    return mean + spread + np.exp(-2 * lam * t) * (start - m0 - spread)


def linear_risk(cov, b_star, scale, m):
    cov = np.atleast_2d(cov)
    return (b_star @ cov @ b_star + NOISE**2 - 2 * scale * (cov @ b_star) @ m
            + scale**2 * m @ cov @ m)


COV2 = np.array([[1.0, 0.3], [0.3, 0.5]])


@pytest.mark.parametrize("dim, penalty, scale", [(1, "origin", 1.0), (2, "origin", 1.0),
                                                 (2, "anchored", 2.0)])
def test_linear_units_follow_the_exact_flow(dim, penalty, scale):
    """Positions within 1e-9 of the exact flow of their own starts and the risk within 1e-9 of
    the closed form at their mean (measured 8e-12, 5e-12: the splines are exact on linear
    features); the initial mean within 1e-12 (1-D: midpoint quantiles of a normal law are
    symmetric) or 1e-4 (2-D: 1024 scrambled Sobol' points, measured 4.4e-5; Monte Carlo would
    give ~ σ/√n = 0.01) of the law's."""
    cov, b_star = ((np.array([[0.8]]), np.array([1.0])) if dim == 1
                   else (COV2, np.array([1.0, -0.5])))
    mean, std = np.array([0.1, 0.2])[:dim], np.array([0.2, 0.3])[:dim]
    n = 1024 if dim == 2 else 400
    sol = ddsolver.solve(linear_case(cov, b_star, mean, std, penalty=penalty, scale=scale,
                                     particles=n, rtol=1e-10), progress=False)
    positions, weights = sol.particles
    assert positions.shape == (len(TIMES), n, dim) and weights.sum() == pytest.approx(1, abs=1e-14)
    anchored = penalty == "anchored"
    m0 = weights @ positions[0]
    np.testing.assert_allclose(m0, mean, rtol=0, atol=1e-12 if dim == 1 else 1e-4)
    for k, t in enumerate(TIMES):
        exact = linear_flow(cov, b_star, scale, 0.25, t, positions[0], weights, anchored)
        np.testing.assert_allclose(positions[k], exact, rtol=0, atol=1e-9)
        m = linear_mean(cov, b_star, scale, 0.25, t, m0, m0 if anchored else 0 * m0)
        assert sol.risk[k] == pytest.approx(linear_risk(cov, b_star, scale, m), abs=1e-9)
    assert np.all(np.diff(sol.free_energy) < 1e-12)


COV3 = np.array([[1.0, 0.3, 0.1], [0.3, 0.6, 0.0], [0.1, 0.0, 0.4]])
B3, MEAN3, STD3, LAM3 = np.array([1.0, -0.5, 0.3]), np.array([0.1, 0.2, -0.1]), \
    np.array([0.3, 0.25, 0.2]), 0.3


def second_moments(t):
    """E θ_k² = m_k(t)² + e^{−4λt} σ_k² under the origin penalty (the covariance contracts)."""
    m = linear_mean(COV3, B3, 1.0, LAM3, t, MEAN3, 0 * MEAN3)
    return m**2 + np.exp(-4 * LAM3 * t) * STD3**2


@pytest.mark.slow
def test_linear_units_in_four_coordinates_follow_the_exact_flow():
    """A 4-D custom problem (finite volumes stop at 3 axes): the particles follow the exact flow
    to 1e-9 and the risk is the closed form at their mean (measured 9e-12, 7e-12; a 4-D spline
    table of 16 nodes per grid width, the stored density on 10⁴ cells); the initial mean of 1024
    Sobol' points within 5e-4 of the law's (measured 1.7e-4)."""
    cov = np.array([[1.0, 0.3, 0.1, 0.0], [0.3, 0.6, 0.0, 0.1], [0.1, 0.0, 0.4, 0.05],
                    [0.0, 0.1, 0.05, 0.5]])
    b_star, mean = np.array([1.0, -0.5, 0.3, 0.2]), np.array([0.1, 0.2, -0.1, 0.0])
    sol = ddsolver.solve(linear_case(cov, b_star, mean, np.array([0.3, 0.25, 0.2, 0.2]),
                                     particles=1024, rtol=1e-10, cells=10), progress=False)
    positions, weights = sol.particles
    m0 = weights @ positions[0]
    np.testing.assert_allclose(m0, mean, rtol=0, atol=5e-4)
    for k, t in enumerate(TIMES):
        exact = linear_flow(cov, b_star, 1.0, 0.25, t, positions[0], weights, False)
        np.testing.assert_allclose(positions[k], exact, rtol=0, atol=1e-9)
        m = linear_mean(cov, b_star, 1.0, 0.25, t, m0, 0 * m0)
        assert sol.risk[k] == pytest.approx(linear_risk(cov, b_star, 1.0, m), abs=1e-9)


def test_3d_particles_keep_second_moments_that_finite_volumes_bias_by_h2_over_12():
    """D = 3: the finite-volume initial law (exact cell masses) has, at the cell centres,
    E θ_k² too large by h_k²/12 (Sheppard's correction: the law grouped into cells of width h
    gains the variance h²/12); the 4096 Sobol' particles of the same law have E θ_k² within
    1e-4 of it at t = 0 and along the linear flow (measured 6e-5), below 1% of h²/12 on 24
    cells per axis (h²/12 = 8.8e-3, 7.4e-3, 6.0e-3)."""
    case = linear_case(COV3, B3, MEAN3, STD3, lam=LAM3, cells=24, particles=4096, rtol=1e-9,
                       times=[0.0, 0.5, 1.0])
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = InitialLaw.from_case(case).cell_density(grid)
    mesh, h = grid.mesh(), np.array(grid.spacing)
    grouped = np.array([(density * x**2).sum() * grid.cell_volume for x in mesh])
    np.testing.assert_allclose((grouped - second_moments(0.0)) / (h**2 / 12), 1.0, atol=2e-3)
    sol = ddsolver.solve(case, progress=False)
    for k, t in enumerate(sol.t):
        moments = np.array([sol.particle_moment(name, 2)[k] for name in grid.names])
        np.testing.assert_allclose(moments, second_moments(t), rtol=0, atol=1e-4)
        assert np.all(np.abs(moments - second_moments(t)) < 0.01 * h**2 / 12)


@pytest.mark.slow
def test_3d_finite_volumes_keep_the_h2_bias_along_the_flow():
    """Along the same flow the finite-volume second moments stay ≥ h²/12 off (measured 0.9 to
    2.5 × h²/12 on 16 and 32 cells per axis at t = 0.5, 1), the particles' within 1e-4."""
    for cells in (16, 32):
        sol = ddsolver.solve(linear_case(COV3, B3, MEAN3, STD3, lam=LAM3, cells=cells,
                                         scheme="fv", times=[0.0, 0.5, 1.0]), progress=False)
        h = np.array(sol.grid.spacing)
        for k, t in enumerate(sol.t):
            moments = np.array([sol.moment(name, 2)[k] for name in sol.grid.names])
            assert np.all(np.abs(moments - second_moments(t)) > 0.5 * h**2 / 12)


TANH_UNITS = '''
import numpy as np
from ddsolver.problem.user import UserProblem

x, w = np.polynomial.hermite_e.hermegauss(24)
problem = UserProblem.from_data(("w", "b"), lambda x, t: np.tanh(t[:, :1] * x.T + t[:, 1:]),
                                x[:, None], np.tanh(1.5 * x + 0.5), w / w.sum())
'''


def tanh_case(tmp_path, scheme, cells=None, **pde):
    """Units tanh(w x + b) on x ~ N(0, 1) learning y = tanh(1.5x + 0.5) (24-node quadrature)."""
    path = tmp_path / "tanh_units.py"
    path.write_text(TANH_UNITS)
    box = {"w": {"min": -0.5, "max": 2.5}, "b": {"min": -1.0, "max": 1.5}}
    if cells:
        box = {k: {**v, "cells": cells} for k, v in box.items()}
    return ddsolver.normalize_case({
        "data": {"kind": "custom", "file": str(path)},
        "training": {"t_final": 1.0},
        "init": {"w": {"kind": "normal", "mean": 0.5, "std": 0.12},
                 "b": {"kind": "uniform", "low": -0.2, "high": 0.2}},
        "pde": {"scheme": scheme, "grid": box, "snapshot_times": [0.0, 0.25, 0.5, 1.0], **pde}})


def test_finite_volumes_converge_to_the_particles_on_a_nonlinear_problem(tmp_path):
    """A nonlinear 2-D problem: the finite-volume risk approaches the Lagrangian one (16 384
    particles; 4096 agree within 1e-5) at second order as the grid is refined. Measured: 16 384
    particles within 7.6e-7 of 65 536, 4096 within 5.0e-6; finite volumes on 20², 40², 80²
    cells 4.2e-3, 8.3e-4, 2.1e-4."""
    particles = [ddsolver.solve(tanh_case(tmp_path, "lagrangian", particles=n, rtol=1e-9),
                                progress=False).risk for n in (2**12, 2**14)]
    assert np.abs(particles[0] - particles[1]).max() < 1e-5
    gaps = [np.abs(ddsolver.solve(tanh_case(tmp_path, "fv", cells), progress=False).risk
                   - particles[1]).max() for cells in (20, 40, 80)]
    assert gaps[2] < gaps[1] / 3.5 < gaps[0] / 3.5**2, gaps


def test_bad_input(tmp_path):
    dense = tmp_path / "dense.py"
    dense.write_text("from ddsolver.problem.user import UserProblem\n"
                     "problem = UserProblem.from_dense(('t',), lambda t: -t, "
                     "lambda a, b: a @ b.T, 1.0)\n")
    raw = {"data": {"kind": "custom", "file": str(dense)}, "training": {"t_final": 1.0},
           "init": {"t": {"kind": "normal", "mean": 0.0, "std": 0.2}},
           "pde": {"scheme": "lagrangian", "grid": {"t": {"min": -2.0, "max": 2.0}}}}
    with pytest.raises(CaseError, match=r"^pde.scheme: 'lagrangian' needs point values"):
        ddsolver.normalize_case(raw)
    case = tanh_case(tmp_path, "fv", cells=4)
    raw = {"data": case["data"], "training": {"t_final": 1.0},
           "init": {"kind": "density", "values": np.ones(16)},
           "pde": {"scheme": "lagrangian", "grid": case["pde"]["grid"]}}
    with pytest.raises(CaseError, match=r"^init.kind: 'density' with pde.scheme = 'lagrangian'"):
        ddsolver.normalize_case(raw)
    with pytest.raises(CaseError, match=r"^pde.particles: 1000000000 particles at 4 snapshots "
                                        r"need 64.0 GiB"):   # 2³⁰ (rounded up) × 4 × 2 × 8 bytes
        ddsolver.solve(tanh_case(tmp_path, "lagrangian", particles=10**9), max_memory=2**60)
    with pytest.raises(CaseError, match=r"^pde.particles: the run needs about .* above the "
                                        r"memory budget of 1 GiB"):
        ddsolver.solve(tanh_case(tmp_path, "lagrangian", particles=10**9), max_memory="1GiB")
