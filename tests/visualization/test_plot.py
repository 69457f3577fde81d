"""Figures of 2-D and 3-D solutions and SGD runs (matplotlib Agg), on synthetic data: files are
written, the density images are the (pairwise) marginals, the scattered units are the run's."""

import numpy as np
import pytest

from ddsolver.errors import DdsolverError
from ddsolver.results import Solution
from ddsolver.visualization import plot_comparison, plot_sgd, plot_solution
from ddsolver.visualization.plot import coordinate_label

from ..validation.synthetic import NEURONS, model_case, synthetic_pair

mpl_collections = pytest.importorskip("matplotlib.collections")

PNG = b"\x89PNG\r\n\x1a\n"


def images(fig, grid):
    """(x name, y name, QuadMesh) of the density images: axes labelled by two coordinates."""
    labels = {coordinate_label(name): name for name in grid.names}
    return [(labels[ax.get_xlabel()], labels[ax.get_ylabel()], c) for ax in fig.axes
            if ax.get_xlabel() in labels and ax.get_ylabel() in labels
            for c in ax.collections if isinstance(c, mpl_collections.QuadMesh)]


def assert_marginal_images(fig, grid, count):
    found = images(fig, grid)
    assert len(found) == count
    for x, y, mesh in found:
        area = grid.axis(x).spacing * grid.axis(y).spacing
        values = np.asarray(mesh.get_array())
        assert values.size == grid.axis(x).cells * grid.axis(y).cells
        assert values.sum() * area == pytest.approx(1.0)


def written(path):
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 20_000


@pytest.mark.parametrize("model, count", [("aw", 3), ("awb", 3)])
def test_plot_solution_draws_density_images(tmp_path, model, count):
    """2-D: the density at three times; 3-D: the three pairwise marginals at the last time."""
    sol, _ = synthetic_pair(model_case(model))
    fig = plot_solution(sol, tmp_path / "sol.png")
    assert written(tmp_path / "sol.png")
    assert_marginal_images(fig, sol.grid, count)
    profiles = [ax for ax in fig.axes if ax.get_ylabel().startswith("density of ")]
    assert [ax.get_xlabel() for ax in profiles] == list(sol.grid.names)
    for ax, name in zip(profiles, sol.grid.names):
        np.testing.assert_allclose(ax.lines[-1].get_ydata(), sol.marginal(name)[-1])


def test_plot_stationary_state_of_a_2d_grid(tmp_path):
    sol, _ = synthetic_pair(model_case("aw"))
    state = Solution(t=np.array([np.inf]), risk=sol.risk[-1:], density=sol.density[-1:],
                     grid=sol.grid, case=sol.case, free_energy=np.array([0.1]),
                     attrs={"converged": True})
    fig = plot_solution(state, tmp_path / "state.png")
    assert written(tmp_path / "state.png")
    assert_marginal_images(fig, sol.grid, 1)


@pytest.mark.parametrize("model", ["aw", "awb", "anisotropic_w"])
def test_plot_sgd_histograms_every_coordinate(tmp_path, model):
    _, results = synthetic_pair(model_case(model))
    fig = plot_sgd(results[0], tmp_path / "sgd.png")
    assert written(tmp_path / "sgd.png")
    names = list(results[0].coords)
    histograms = [ax for ax in fig.axes if ax.patches]
    assert [ax.get_xlabel() for ax in histograms] == [coordinate_label(c) for c in names]


@pytest.mark.parametrize("model, pairs", [("aw", 1), ("awb", 3)])
def test_plot_comparison_of_multid_runs(tmp_path, model, pairs):
    sol, results = synthetic_pair(model_case(model))
    result = results[0]
    fig = plot_comparison(sol, result, tmp_path / "cmp.png")
    assert written(tmp_path / "cmp.png")
    assert_marginal_images(fig, sol.grid, pairs)
    for x, y, mesh in images(fig, sol.grid):
        dots = [c for c in mesh.axes.collections if isinstance(c, mpl_collections.PathCollection)]
        assert len(dots) == 1
        np.testing.assert_array_equal(dots[0].get_offsets(),
                                      np.column_stack([result.coords[x][-1],
                                                       result.coords[y][-1]]))
    panels = [ax for ax in fig.axes if ax.get_ylabel().startswith("density of ")]
    assert len(panels) == sol.grid.ndim
    for ax, name in zip(panels, sol.grid.names):
        assert sum(len(p.patches) for p in ax.containers) > 0
        np.testing.assert_allclose(ax.lines[-1].get_ydata(), sol.marginal(name)[-1])
    assert result.coords[sol.grid.names[0]].shape[1] == NEURONS


def test_plot_comparison_needs_the_grid_coordinates():
    sol, results = synthetic_pair(model_case("aw"))
    result = results[0]
    result.coords = {"r": result.coords["r"]}
    with pytest.raises(DdsolverError, match=r"no coordinates \['a'\]"):
        plot_comparison(sol, result)
