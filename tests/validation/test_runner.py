"""Validation of 2-D and 3-D models: per-coordinate metrics, the finite-N correction of any
reduction against random networks, tolerances and the report, on synthetic PDE/SGD pairs whose
answer is known (the units are drawn from the PDE density itself)."""

import json
import math

import numpy as np
import pytest
import scipy.stats

import ddsolver
from ddsolver.errors import CaseError
from ddsolver.grid import CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.problem.data import make_data
from ddsolver.sgd.run import SgdResult
from ddsolver.solution import Solution
from ddsolver.solve import build_reduction
from ddsolver.validation import finite_n_correction, runner, tolerances
from ddsolver.validation.metrics import marginal_mean_sd
from ddsolver.validation.report import ValidationReport

NEURONS, SEEDS, TIMES = 400, (0, 1, 2, 3), [0.0, 0.5, 1.0]

MODELS = {
    "aw": ({"kind": "isotropic_gaussians", "delta": 0.5, "dim": 8}, "aw",
           {"a": {"min": -2.0, "max": 2.0, "cells": 40}, "r": {"max": 4.0, "cells": 40}}),
    "awb": ({"kind": "isotropic_gaussians", "delta": 0.5, "dim": 8}, "awb",
            {"a": {"min": -2.0, "max": 2.0, "cells": 12}, "b": {"min": -1.5, "max": 1.5,
                                                                  "cells": 12},
             "r": {"max": 3.0, "cells": 14}}),
    "anisotropic_w": ({"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 20, "signal_dim": 8},
                      "w", {"r1": {"max": 3.0, "cells": 40}, "r2": {"max": 3.0, "cells": 40}}),
}

CUSTOM_PROBLEM = '''
import numpy as np
from ddsolver.problem.user import UserProblem, gaussian_quadrature

def make_problem(params):
    x, w = gaussian_quadrature([[1.0]], 20)
    def sigma(x, theta):
        return np.tanh(theta[:, :1] * x[:, 0] + theta[:, 1:2])
    return UserProblem.from_data(("u", "v"), sigma, x, np.tanh(2 * x[:, 0]), w)
'''


def model_case(model, **tables):
    """A normalised ReLU case of one of MODELS with some tables updated."""
    data, unit, grid = MODELS[model]
    init = {"kind": "gaussian", "kappa": 1.0}
    init.update({c: {"kind": "uniform", "low": -0.5, "high": 0.5} for c in grid if c in "ab"})
    case = {"data": data, "network": {"unit": unit, "activation": "relu"},
            "training": {"t_final": TIMES[-1]}, "init": init,
            "pde": {"grid": grid, "snapshot_times": TIMES, "kernel_tol": 1e-6},
            "sgd": {"neurons": NEURONS, "eps": 1e-4, "seeds": list(SEEDS)}}
    for name, entries in tables.items():
        case.setdefault(name, {}).update(entries)
    return ddsolver.normalize_case(case)


def custom_case(tmp_path):
    path = tmp_path / "problem.py"
    path.write_text(CUSTOM_PROBLEM)
    return ddsolver.normalize_case({
        "data": {"kind": "custom", "file": str(path)}, "training": {"t_final": 1.0},
        "init": {"u": {"kind": "uniform", "low": 0.5, "high": 1.5},
                 "v": {"kind": "uniform", "low": -0.5, "high": 0.5}},
        "pde": {"grid": {"u": {"min": -1.0, "max": 3.0, "cells": 40},
                         "v": {"min": -2.0, "max": 2.0, "cells": 40}}}})


def bump(grid, centre, width, tilt=0.3):
    """A normalised Gaussian-like density on the grid, correlated between the first two axes."""
    mesh = grid.mesh()
    z = [(x - c) / w for x, c, w in zip(mesh, centre, np.broadcast_to(width, len(mesh)))]
    z[1] = z[1] - tilt * z[0]
    density = np.exp(-0.5 * sum(v * v for v in z))
    return density / (density.sum() * grid.cell_volume)


def sample_grid(rng, grid, density, n):
    """n draws from a piecewise-constant density: a cell by its mass, then uniform in it."""
    mass = (density * grid.cell_volume).ravel()
    cells = np.unravel_index(rng.choice(mass.size, size=n, p=mass / mass.sum()), grid.shape)
    return {a.name: a.edges[k] + rng.random(n) * a.spacing for a, k in zip(grid.axes, cells)}


def synthetic_pair(case, seed=0, shift=None, densities=None):
    """A Solution with moving bumps (or ``densities``) at TIMES, and SGD seeds whose units are
    iid draws of it (coordinate ``shift = (name, offset)`` moved by offset)."""
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    centre = np.array([0.5 * (a.lo + a.hi) for a in grid.axes])
    spread = np.array([a.hi - a.lo for a in grid.axes])
    if densities is None:
        densities = np.array([bump(grid, centre + 0.05 * k * spread, 0.12 * spread)
                              for k in range(len(TIMES))])
    risk = np.linspace(1.0, 0.8, len(TIMES))
    sol = Solution(t=np.array(TIMES), risk=risk, density=densities, grid=grid, case=case)
    rng = np.random.default_rng(seed)
    results = []
    for s in SEEDS:
        draws = [sample_grid(rng, grid, p, NEURONS) for p in densities]
        coords = {c: np.array([d[c] for d in draws]) for c in grid.names}
        if shift is not None:
            coords[shift[0]] = coords[shift[0]] + shift[1]
        results.append(SgdResult(t=np.array(TIMES), risk=risk.copy(), coords=coords, case=case,
                                 seed=s))
    return sol, results


# -- metrics --------------------------------------------------------------------------------------

def test_marginal_mean_and_sd_are_exact():
    rng = np.random.default_rng(0)
    edges = np.linspace(-1.0, 2.0, 31)
    density = rng.random((2, 30))
    mean, sd = marginal_mean_sd(edges, density)
    for k in range(2):
        law = scipy.stats.rv_histogram((density[k], edges), density=True)
        assert (mean[k], sd[k]) == pytest.approx((law.mean(), law.std()), rel=1e-12)


def arccos_relu_risk(W, a, scales, scale=1.0):
    """Exact R_N of networks ŷ = (α/N) Σ_i a_i ReLU(⟨w_i, x⟩), y = ±1 w.p. ½ and x | y ~
    N(0, diag(scales[y]²)) (rows y = +1, −1), for W (M, N, d), a (M, N): with K = W Σ Wᵀ,
    E ReLU(u) ReLU(v) = s_u s_v (√(1 − c²) + c (π − arccos c)) / (2π) (the arc-cosine kernel)
    and E ReLU(u) = s_u / √(2π)."""
    n = W.shape[1]
    risk = np.ones(W.shape[0])
    for label, sign in zip(scales, (1.0, -1.0)):
        K = np.einsum("mid,d,mjd->mij", W, label**2, W)
        s = np.sqrt(np.einsum("mii->mi", K))
        c = np.clip(K / (s[:, :, None] * s[:, None, :]), -1.0, 1.0)
        pair = s[:, :, None] * s[:, None, :] * (np.sqrt(1 - c * c) + c * (np.pi - np.arccos(c)))
        U = 0.5 * np.einsum("mi,mij,mj->m", a, pair / (2 * np.pi), a)
        V = -0.5 * sign * np.sum(a * s, axis=1) / math.sqrt(2 * np.pi)
        risk += 2 * scale / n * V + scale**2 / n**2 * U
    return risk


def random_directions(rng, shape, dim):
    u = rng.standard_normal(shape + (dim,))
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


@pytest.mark.parametrize("model", ["aw", "anisotropic_w"])
def test_finite_n_correction_against_random_relu_networks(model):
    """E R_N over networks of N iid units drawn from a 2-D density p (uniform directions) is
    R(p) + (α²/N)(∫U(θ,θ)dp − ∫∫U dp dp); R_N of each network in closed form (arc-cosine
    kernel), independent of the reductions' Mehler series."""
    neurons, networks = 5, 20_000
    case = model_case(model, network={"scale": 1.5})
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = bump(grid, [0.4 * a.lo + 0.6 * a.hi for a in grid.axes],
                   [0.15 * (a.hi - a.lo) for a in grid.axes])
    reduction = build_reduction(case, grid)
    rng = np.random.default_rng(1)
    theta = sample_grid(rng, grid, density, networks * neurons)
    theta = {c: v.reshape(networks, neurons) for c, v in theta.items()}
    data = make_data(case["data"])
    if model == "aw":
        W = theta["r"][..., None] * random_directions(rng, (networks, neurons), data.dim)
        a = theta["a"]
    else:
        s0 = data.signal_dim
        W = np.concatenate([theta["r1"][..., None] * random_directions(rng, (networks, neurons),
                                                                       s0),
                            theta["r2"][..., None] * random_directions(
                                rng, (networks, neurons), data.dim - s0)], axis=-1)
        a = np.ones((networks, neurons))
    risks = arccos_relu_risk(W, a, data.scales, scale=1.5)
    correction = finite_n_correction(density[None], grid, reduction, neurons)
    mean, se = risks.mean(), risks.std() / math.sqrt(networks)
    assert correction[0] > 20 * se
    expected = LowRankPotential(reduction, grid).risk(density) + correction[0]
    assert expected == pytest.approx(mean, abs=4 * se)


def test_finite_n_correction_of_a_custom_problem_against_direct_sums(tmp_path):
    """The same identity for a user problem, R_N from the O(N²) double sum of U(θ_i, θ_j)."""
    neurons, networks = 4, 20_000
    case = custom_case(tmp_path)
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    density = bump(grid, [1.0, 0.2], [0.6, 0.5])
    reduction = build_reduction(case, grid)
    problem = reduction.problem
    rng = np.random.default_rng(2)
    theta = np.stack(list(sample_grid(rng, grid, density, networks * neurons).values()), axis=1)
    v = problem.v(*theta.T).reshape(networks, neurons)
    f = problem.features(*theta.T).reshape(-1, networks, neurons)
    double_sum = np.einsum("qmi,qmj->m", f, f)
    alpha = reduction.scale
    risks = (problem.label_second_moment + 2 * alpha * v.mean(axis=1)
             + alpha**2 * double_sum / neurons**2)
    correction = finite_n_correction(density, grid, reduction, neurons)
    mean, se = risks.mean(), risks.std() / math.sqrt(networks)
    assert correction[0] > 20 * se
    expected = LowRankPotential(reduction, grid).risk(density) + correction[0]
    assert expected == pytest.approx(mean, abs=4 * se)


def test_parameter_dimension_of_each_model(tmp_path):
    assert tolerances.parameter_dim(model_case("aw")) == 9
    assert tolerances.parameter_dim(model_case("awb")) == 10
    assert tolerances.parameter_dim(model_case("anisotropic_w")) == 20
    assert tolerances.parameter_dim(custom_case(tmp_path)) == 2


# -- comparisons ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["aw", "awb", "anisotropic_w"])
def test_units_drawn_from_the_pde_density_pass_and_a_shifted_coordinate_fails(model):
    case = model_case(model)
    names = tuple(case["pde"]["grid"])
    sol, results = synthetic_pair(case)
    cmp = runner.compare("synthetic", case, sol, results)
    rows = {r.metric: r for r in cmp.rows}
    checked = [m for m, r in rows.items() if r.passed is not None]
    assert checked == ["risk_gap"] + [m for c in names for m in (f"mean_{c}_gap", f"w1_{c}")]
    assert all(rows[m].passed for m in checked), [(m, rows[m].value, rows[m].tolerance)
                                                 for m in checked]
    for c, marginal in cmp.coords.items():
        np.testing.assert_allclose(marginal.density, sol.marginal(c))
        # N iid draws are at the sampling floor of W1, within the seeds' scatter
        ratio = marginal.w1.mean(axis=0) / marginal.w1_iid
        assert np.all((0.5 < ratio) & (ratio < 1.5)), (c, ratio)
    moved = names[-1]
    spread = cmp.coords[moved].sd.max()
    shifted = runner.compare("shifted", case, *synthetic_pair(case, shift=(moved, 0.5 * spread)))
    result = {r.metric: r.passed for r in shifted.rows if r.passed is not None}
    assert not result[f"mean_{moved}_gap"] and not result[f"w1_{moved}"]
    assert all(result[m] for m in result if moved not in m.split("_")), result


def test_tolerances_follow_n_eps_and_the_spread_of_each_coordinate():
    case = model_case("aw")
    cmp = runner.compare("synthetic", case, *synthetic_pair(case))
    rows = {r.metric: r for r in cmp.rows}
    dim = 9
    for c, m in cmp.coords.items():
        floor = 2 * math.sqrt(2 / math.pi / NEURONS) * m.cdf_spread.max()
        assert rows[f"w1_{c}"].tolerance == pytest.approx(
            floor + m.sd.max() * math.sqrt(1e-4 * dim))
        assert rows[f"mean_{c}_gap"].tolerance == pytest.approx(
            5 * m.se.max() + m.sd.max() * (0.1 / math.sqrt(NEURONS) + math.sqrt(1e-4 * dim)))
    given = model_case("aw", validate={"w1_tol": {"a": 0.123}, "mean_tol": 0.0456})
    rows = {r.metric: r for r in runner.check(runner.Comparison(**{**cmp.__dict__,
                                                                   "case": given}))}
    assert rows["w1_a"].tolerance == 0.123 and rows["w1_r"].tolerance != 0.123
    assert rows["mean_a_gap"].tolerance == rows["mean_r_gap"].tolerance == 0.0456


def test_units_at_the_gibbs_state_are_at_its_sampling_floor():
    """Noisy case: SGD units drawn from the Gibbs state p* of ddsolver.stationary are at the
    iid floor of W1 to p* in every coordinate; the PDE snapshot equal to p* is at distance 0."""
    case = model_case("aw", training={"lambda": 0.5, "beta": 40.0})
    gibbs = ddsolver.stationary(case, progress=False)
    sol, results = synthetic_pair(case, densities=np.repeat(gibbs.density, len(TIMES), axis=0))
    cmp = runner.compare("gibbs", case, sol, results)
    rows = {r.metric: r for r in cmp.rows}
    assert rows["w1_gibbs"].passed is None and rows["risk_gibbs"].passed is None
    assert rows["w1_gibbs"].value == max(m.w1_gibbs.mean() for m in cmp.coords.values())
    for m in cmp.coords.values():
        assert m.w1_pde_gibbs == pytest.approx(0.0, abs=1e-12)
        assert 0.5 < m.w1_gibbs.mean() / m.gibbs_floor < 1.5


def test_report_of_multid_comparisons(tmp_path):
    comparisons = []
    for model in ("aw", "awb"):
        case = model_case(model)
        comparisons.append(runner.compare(model, case, *synthetic_pair(case)))
    rows = [row for c in comparisons for row in c.rows]
    report = ValidationReport(rows, comparisons, [])
    report.write(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        f"{kind}_{m}.png" for m in ("aw", "awb") for kind in ("density", "joint", "risk"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    series = metrics["comparisons"]["awb"]
    for c in ("a", "b", "r"):
        assert len(series[f"w1_{c}"]) == len(TIMES)
        assert series[f"mean_{c}_pde"] == pytest.approx(comparisons[1].coords[c].mean_pde)
    text = (tmp_path / "report.md").read_text()
    assert "coordinates (a, b, r)" in text and "![joint awb](joint_awb.png)" in text
    assert "w1_b" in report.table


def test_a_d_sweep_of_a_custom_problem_is_refused(tmp_path):
    case = custom_case(tmp_path)
    case["validate"]["sweep"] = {"key": "data.dim", "values": np.array([2, 3])}
    with pytest.raises(CaseError, match="validate.sweep.key"):
        runner.validate([case], workers=1, cache_dir=tmp_path, progress=False)
