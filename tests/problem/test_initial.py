"""Initial laws on 1-, 2- and 3-D grids against Monte Carlo samples of the same laws."""

import numpy as np
import pytest

from ddsolver.errors import CaseError
from ddsolver.grid import Axis, CartesianGrid
from ddsolver.problem.initial import InitialLaw, ScalarLaw

SAMPLES = 400_000


def histogram_masses(samples, axis):
    return np.histogram(samples, bins=axis.edges)[0] / samples.size


@pytest.mark.parametrize("spec", [{"kind": "normal", "mean": 0.3, "std": 0.7},
                                  {"kind": "uniform", "low": -1.2, "high": 0.9}])
def test_scalar_law_masses_match_samples(spec):
    axis = Axis("a", -6.0, 6.0, 48)
    law = ScalarLaw(spec)
    masses = law.cell_masses(axis)
    empirical = histogram_masses(law.sample(SAMPLES, np.random.default_rng(1)), axis)
    se = np.sqrt(masses * (1 - masses) / SAMPLES) + 1.0 / SAMPLES
    assert np.all(np.abs(empirical - masses) <= 5 * se)
    assert masses.sum() == pytest.approx(1.0, abs=1e-14)


def test_constant_law_keeps_mass_and_mean():
    axis = Axis("b", -1.0, 1.0, 10)
    masses = ScalarLaw({"kind": "constant", "value": 0.33}).cell_masses(axis)
    assert masses.sum() == pytest.approx(1.0, abs=1e-15)
    assert masses @ axis.centres == pytest.approx(0.33, abs=1e-14)
    assert np.count_nonzero(masses) == 2


def test_outside_the_grid_names_the_key():
    axis = Axis("a", -1.0, 1.0, 10)
    with pytest.raises(CaseError, match=r"init.a: the point mass at 3 puts mass 1.00e\+00 "
                                        r"outside pde.grid.a = \[-1, 1\]"):
        ScalarLaw({"kind": "constant", "value": 3.0}).cell_masses(axis, "init.a")
    with pytest.raises(CaseError, match="init.a: the normal law puts mass"):
        ScalarLaw({"kind": "normal", "mean": 0.0, "std": 1.0}).cell_masses(axis, "init.a")


def test_anisotropic_gaussian_law_of_r1_r2_matches_samples_of_w():
    d, s0, kappa = 12, 3, 1.5
    grid = CartesianGrid((Axis("r1", 0.0, 3.5, 35), Axis("r2", 0.0, 4.5, 45)))
    density = InitialLaw({"kind": "gaussian", "kappa": kappa}, d, s0).cell_density(grid)
    assert (density * grid.cell_volume).sum() == pytest.approx(1.0, abs=1e-13)
    w = kappa / np.sqrt(d) * np.random.default_rng(2).standard_normal((SAMPLES, d))
    r1, r2 = np.linalg.norm(w[:, :s0], axis=1), np.linalg.norm(w[:, s0:], axis=1)
    empirical = np.histogram2d(r1, r2, bins=[a.edges for a in grid.axes])[0] / SAMPLES
    masses = density * grid.cell_volume
    se = np.sqrt(masses * (1 - masses) / SAMPLES) + 1.0 / SAMPLES
    assert np.all(np.abs(empirical - masses) <= 5 * se)


def test_product_law_on_a_3d_grid():
    grid = CartesianGrid((Axis("a", -2.5, 2.5, 20), Axis("b", -2.0, 2.0, 8),
                          Axis("r", 0.0, 2.2, 22)))
    spec = {"kind": "gaussian", "kappa": 1.0, "a": {"kind": "normal", "mean": 0.2, "std": 0.3},
            "b": {"kind": "constant", "value": -0.5}}
    density = InitialLaw(spec, 30).cell_density(grid)
    masses = density * grid.cell_volume
    a, b, r = grid.mesh()
    assert masses.sum() == pytest.approx(1.0, abs=1e-13)
    assert (masses * b).sum() == pytest.approx(-0.5, abs=1e-13)
    assert (masses * a).sum() == pytest.approx(0.2, abs=2e-3)       # midpoint rule on 16 cells
    samples = np.linalg.norm(np.random.default_rng(3).standard_normal((SAMPLES, 30)), axis=1)
    assert (masses * r).sum() == pytest.approx(samples.mean() / np.sqrt(30), abs=2e-3)


def test_density_kind_takes_the_whole_grid_in_c_order():
    grid = CartesianGrid((Axis("a", 0.0, 1.0, 2), Axis("r", 0.0, 3.0, 3)))
    values = np.arange(1.0, 7.0)
    density = InitialLaw({"kind": "density", "values": values}, 5).cell_density(grid)
    np.testing.assert_allclose(density, values.reshape(2, 3) / (values.sum() * 0.5))
    with pytest.raises(CaseError, match=r"init.values: expected 6 values \(one per cell of the "
                                        r"2 × 3 grid"):
        InitialLaw({"kind": "density", "values": values[:5]}, 5).cell_density(grid)
