"""The validation suite: metrics against independent computations, validate end to end."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

import ddsolver
from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import IsotropicGaussians
from ddsolver.sgd.risk import exact_risk
from ddsolver.solve import build_reduction
from ddsolver.validation import (cdf_spread, finite_n_correction, fit_slope, mean_gap, risk_gap,
                                 validate, wasserstein1, wasserstein1_densities)
from ddsolver.validation import runner

from conftest import make_case

QUICK = sorted((Path(__file__).parents[1] / "validation" / "quick").glob("*.toml"))


def tiny_case(**validate_table):
    """d = 10, N = 40, two seeds, t = 0.5: a full validation in a few seconds."""
    return make_case(data={"dim": 10}, training={"t_final": 0.5},
                     pde={"snapshot_times": [0, 0.25, 0.5], "grid": {"r": {"max": 4.0,
                                                                           "cells": 200}}},
                     sgd={"neurons": 40, "eps": 1e-3, "seeds": [0, 1]},
                     validate={"extra_kernel_dims": ["inf"], **validate_table})


def random_density(rng, cells=40, lo=0.5, hi=3.0):
    edges = np.linspace(lo, hi, cells + 1)
    density = rng.random(cells)
    return edges, density / np.sum(density * np.diff(edges))


def sample_density(rng, edges, density, n):
    """n draws from the piecewise-constant density: a cell by its mass, then uniform in it."""
    widths = np.diff(edges)
    cells = rng.choice(widths.size, size=n, p=density * widths)
    return edges[cells] + rng.random(n) * widths[cells]


def fine_discretisation(edges, density, sub=400):
    """Points and weights representing the density to O(h / sub) in W1."""
    widths = np.diff(edges)
    points = edges[:-1, None] + (np.arange(sub) + 0.5) / sub * widths[:, None]
    return points.ravel(), np.repeat(density * widths / sub, sub)


# -- metrics --------------------------------------------------------------------------------------

@pytest.mark.parametrize("loc", [1.5, 0.0, 5.0])        # overlapping, below and above the grid
def test_wasserstein1_against_scipy(loc):
    rng = np.random.default_rng(1)
    edges, density = random_density(rng)
    samples = rng.normal(loc, 0.8, 300)
    points, weights = fine_discretisation(edges, density)
    expected = scipy.stats.wasserstein_distance(samples, points, v_weights=weights)
    assert wasserstein1(samples, edges, density) == pytest.approx(expected, abs=1e-5)


def test_wasserstein1_between_densities_against_scipy():
    rng = np.random.default_rng(5)
    edges, p = random_density(rng)
    q = rng.random(p.size) ** 3
    points, p_weights = fine_discretisation(edges, p)
    q_weights = fine_discretisation(edges, q)[1]
    expected = scipy.stats.wasserstein_distance(points, points, p_weights, q_weights)
    assert wasserstein1_densities(edges, p, 7 * q) == pytest.approx(expected, abs=1e-5)
    assert wasserstein1_densities(edges, p, p) == 0.0


def test_wasserstein1_of_samples_from_the_density_is_the_sampling_error():
    rng = np.random.default_rng(2)
    edges, density = random_density(rng)
    points, weights = fine_discretisation(edges, density)
    for n in (100, 10_000):
        samples = sample_density(rng, edges, density, n)
        w1 = wasserstein1(samples, edges, density)
        assert w1 == pytest.approx(scipy.stats.wasserstein_distance(
            samples, points, v_weights=weights), abs=1e-5)
        expected = math.sqrt(2 / math.pi / n) * cdf_spread(edges, density)
        assert expected / 3 < w1 < 3 * expected


def test_wasserstein1_of_a_point_mass_and_a_uniform_cell():
    """Uniform on [0, 1] against δ_a: W1 = a² / 2 + (1 − a)² / 2."""
    for a in (0.0, 0.3, 1.0, 2.0):
        expected = a - 0.5 if a > 1 else (a**2 + (1 - a) ** 2) / 2
        assert wasserstein1([a], [0.0, 0.5, 1.0], [1.0, 1.0]) == pytest.approx(expected)


def test_finite_n_correction_against_random_networks():
    """E R_N over networks of N iid units with |w| ~ p and uniform directions equals
    R(p) + diagonal term (the exact R_N of each network from ddsolver.sgd.risk)."""
    neurons, networks, d = 8, 3000, 10
    case = ddsolver.normalize_case(make_case(data={"dim": d}, training={"t_final": 1.0},
                                             pde={"grid": {"r": {"max": 4.0,
                                                                                  "cells": 100}}}))
    sol = ddsolver.solve(case, progress=False)
    grid = sol.grid
    rng = np.random.default_rng(3)
    act = make_activation("piecewise_linear", case["network"]["activation_params"])
    data = IsotropicGaussians(0.8, d)
    k = len(sol.t) // 2
    risks = []
    for _ in range(networks):
        r = sample_density(rng, grid.axes[0].edges, sol.density[k], neurons)
        w = rng.standard_normal((neurons, d))
        risks.append(exact_risk(r[:, None] * w / np.linalg.norm(w, axis=1, keepdims=True),
                                act, data))
    correction = finite_n_correction(sol.density[k], grid, build_reduction(case, grid), neurons)
    mean, se = np.mean(risks), np.std(risks) / math.sqrt(networks)
    assert correction[0] > 20 * se                       # the term is resolved by the test
    assert sol.risk[k] + correction[0] == pytest.approx(mean, abs=4 * se)


def test_gaps_and_standard_errors():
    values = np.array([[1.0, 2.0, 0.0], [3.0, 6.0, 2.0]])       # means 2, 4, 1
    gap, se = risk_gap(values, np.array([0.5, 1.0, 1.5]), np.array([1.0, 5.0, 2.0]))
    np.testing.assert_allclose(gap, [1.0, 0.0, -0.5])           # above, inside, below the band
    np.testing.assert_allclose(se, [1.0, 2.0, 1.0])             # std(ddof=1) / √2
    coords = np.stack([np.full((2, 5), 1.0), np.full((2, 5), 2.0)])
    gap, se = mean_gap(coords, np.array([1.5, 1.0]))
    np.testing.assert_allclose(gap, [0.0, 0.5])
    np.testing.assert_allclose(se, [0.5, 0.5])


def test_fit_slope_against_linregress():
    rng = np.random.default_rng(4)
    x = np.array([100, 200, 400, 800, 1600.0])
    y = 3 * x**-0.5 * np.exp(0.1 * rng.standard_normal(x.size))
    slope, se, intercept = fit_slope(x, y)
    ref = scipy.stats.linregress(np.log(x), np.log(y))
    assert (slope, se, intercept) == pytest.approx((ref.slope, ref.stderr, ref.intercept))
    assert fit_slope(x, 2 * x**-1.0)[0] == pytest.approx(-1.0)


# -- validate -------------------------------------------------------------------------------------

def test_validate_end_to_end_writes_the_report(tmp_path):
    report = validate([tiny_case()], report_dir=tmp_path / "report", workers=2,
                      cache_dir=tmp_path / "cache", progress=False)
    out = tmp_path / "report"
    assert {"report.md", "metrics.json"} <= {p.name for p in out.iterdir()}
    assert sorted(p.name for p in out.glob("*.png")) == ["density_case0.png", "risk_case0.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] == report.passed
    assert set(metrics["comparisons"]) == {"case0", "case0 [kernel d=inf]"}
    checked = [r for r in metrics["rows"] if r["result"] != "info"]
    assert [r["metric"] for r in checked] == ["risk_gap", "mean_r_gap", "w1_r"]
    assert all(r["result"] == "pass" for r in checked), report.table
    assert "case0 [kernel d=inf]" in report.table
    text = (out / "report.md").read_text()
    assert "![risk case0](risk_case0.png)" in text and "d = ∞ kernel" in text
    assert len(list((tmp_path / "cache").glob("*.h5"))) == 2


def test_noisy_case_is_compared_with_its_gibbs_state(tmp_path):
    case = tiny_case(extra_kernel_dims=[])
    case["training"].update({"lambda": 0.2, "beta": 100.0})
    report = validate([case], report_dir=tmp_path / "report", workers=2,
                      cache_dir=tmp_path / "cache", progress=False)
    rows = {r["metric"]: r for r in report.metrics["rows"]}
    assert {"w1_gibbs", "risk_gibbs"} <= set(rows)
    assert rows["w1_gibbs"]["result"] == rows["risk_gibbs"]["result"] == "info"
    assert all(r["result"] == "pass" for r in rows.values() if r["result"] != "info"), \
        report.table
    comparison = report.metrics["comparisons"]["case0"]
    gibbs, free_energy = comparison["gibbs"], np.array(comparison["free_energy"])
    assert gibbs["converged"] and len(free_energy) == 3
    assert np.all(np.diff(free_energy) <= 1e-12) and free_energy[-1] >= gibbs["free_energy"]
    assert rows["w1_gibbs"]["value"] == pytest.approx(gibbs["w1_sgd"])
    out = tmp_path / "report"
    assert (out / "free_energy_case0.png").is_file()
    assert "Gibbs state p* from `ddsolver.stationary`" in (out / "report.md").read_text()


def test_failing_tolerance_fails(tmp_path):
    report = validate([tiny_case(risk_tol=1e-9)], workers=1, cache_dir=tmp_path,
                      progress=False)
    assert not report.passed
    assert "risk_gap" in report.table and "FAIL" in report.table
    assert report.metrics["rows"][0]["result"] == "FAIL"


def test_cache_is_reused(tmp_path, monkeypatch):
    first = validate([tiny_case()], workers=1, cache_dir=tmp_path, progress=False)

    def no_simulation(*args, **kwargs):
        raise AssertionError("a cached run was simulated again")

    monkeypatch.setattr(runner, "simulate", no_simulation)
    second = validate([tiny_case()], workers=1, cache_dir=tmp_path, progress=False)
    assert second.metrics == first.metrics
    changed = tiny_case()
    changed["sgd"]["eps"] = 5e-4
    with pytest.raises(AssertionError, match="simulated again"):
        validate([changed], workers=1, cache_dir=tmp_path, progress=False)


def test_sweep_fits_slopes(tmp_path):
    case = tiny_case(sweep={"key": "sgd.neurons", "values": [20, 40, 80]}, slope=-0.5,
                     slope_tol=10.0, extra_kernel_dims=[])
    report = validate([case], report_dir=tmp_path, workers=2, cache_dir=tmp_path / "cache",
                      progress=False)
    sweep = report.metrics["sweeps"]["case0"]
    assert sweep["values"] == [20, 40, 80] and set(sweep["slopes"]) == {"w1", "risk"}
    assert sweep["slopes"]["w1"]["slope"] < 0
    assert "case0[neurons=80]" in report.table
    assert (tmp_path / "sweep_case0.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("path", QUICK, ids=[p.stem for p in QUICK])
def test_quick_validation_cases_pass(path, tmp_path):
    report = validate([path], cache_dir=tmp_path, progress=False)
    assert report.passed, report.table
