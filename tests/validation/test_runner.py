"""Comparisons of PDE and SGD runs (runner.compare) on 2-D and 3-D models, per coordinate, on
synthetic PDE/SGD pairs whose answer is known (the units are drawn from the PDE density itself)."""

import numpy as np
import pytest

import ddsolver
from ddsolver.errors import CaseError
from ddsolver.validation import runner

from .synthetic import TIMES, custom_case, model_case, synthetic_pair

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
        assert np.all((ratio > 0.5) & (ratio < 1.5)), (c, ratio)
    moved = names[-1]
    spread = cmp.coords[moved].sd.max()
    shifted = runner.compare("shifted", case, *synthetic_pair(case, shift=(moved, 0.5 * spread)))
    result = {r.metric: r.passed for r in shifted.rows if r.passed is not None}
    assert not result[f"mean_{moved}_gap"] and not result[f"w1_{moved}"]
    assert all(result[m] for m in result if moved not in m.split("_")), result


def test_particle_marginal_is_compared_without_the_grid():
    """A particle solution's coordinate is compared with its particles: SGD units sitting
    exactly on a point mass (a ≡ 1) have W1 = 0 and mean gap 0, where the grid's deposit would
    smear the atom over two cells (W1 up to h/2); for a smooth law, W1 against the particles
    agrees with W1 against the histogram of the particles to the cell width."""
    edges = np.linspace(-1.0, 3.0, 17)
    atom = (np.ones((2, 64)), np.full(64, 1 / 64))
    samples = np.ones((3, 2, 50))
    density = np.zeros((2, 16))
    density[:, 7:9] = 2.0                                    # the deposit of a = 1: two cells
    exact = runner.Marginal.compare("a", edges, density, samples, atom)
    smeared = runner.Marginal.compare("a", edges, density, samples)
    assert np.all(exact.w1 == 0) and np.all(exact.gap == 0)
    assert np.all(smeared.w1 > 0.1)
    rng = np.random.default_rng(0)
    values = np.sort(rng.normal(1.0, 0.4, 4096))[None]
    weights = np.full(4096, 1 / 4096)
    units = rng.normal(1.0, 0.4, (2, 1, 300))
    grid_density = np.histogram(values[0], edges, density=True)[0][None]
    by_particles = runner.Marginal.compare("a", edges, grid_density, units, (values, weights))
    by_grid = runner.Marginal.compare("a", edges, grid_density, units)
    np.testing.assert_allclose(by_particles.w1, by_grid.w1, atol=edges[1] - edges[0])
    np.testing.assert_allclose(by_particles.mean_pde, values @ weights, rtol=1e-14)


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


def test_a_d_sweep_of_a_custom_problem_is_refused(tmp_path):
    case = custom_case(tmp_path)
    case["validate"]["sweep"] = {"key": "data.dim", "values": np.array([2, 3])}
    with pytest.raises(CaseError, match="validate.sweep.key"):
        runner.validate([case], workers=1, cache_dir=tmp_path, progress=False)
