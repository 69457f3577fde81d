"""Tensor cubic splines (ddsolver.stepper.spline): scipy's not-a-knot interpolant axis by axis,
the compiled contractions against their numpy twin, and the orders h⁴ (values) and h³
(gradients)."""

import numpy as np
import pytest
from scipy.interpolate import make_interp_spline

from ddsolver.stepper.spline import (
    SplineTable,
    spline_coefficients,
    spline_contract,
    spline_moments,
    spline_numpy,
)


def smooth(*x):
    """Two test functions of D coordinates, last axis."""
    total = sum(x)
    return np.stack([np.sin(1.3 * total) * np.exp(-0.2 * x[-1] ** 2), np.cos(x[0]) * total], -1)


def smooth_gradient(*x):
    total = sum(x)
    grads = []
    for k in range(len(x)):
        g0 = 1.3 * np.cos(1.3 * total) * np.exp(-0.2 * x[-1] ** 2)
        if k == len(x) - 1:
            g0 = g0 - 0.4 * x[-1] * np.sin(1.3 * total) * np.exp(-0.2 * x[-1] ** 2)
        g1 = np.cos(x[0]) - (np.sin(x[0]) * total if k == 0 else 0.0)
        grads.append(np.stack([g0, g1], -1))
    return np.stack(grads, -2)


def table(cells, dim):
    nodes = [np.linspace(-1.0, 1.5 + k, cells + 1) for k in range(dim)]
    return SplineTable(nodes, smooth(*np.meshgrid(*nodes, indexing="ij")))


def scipy_interpolant(tab, point):
    """Interpolate along axis 0 at point[0], then along the next axis, … (scipy, not-a-knot)."""
    values = smooth(*np.meshgrid(*tab.nodes, indexing="ij"))
    for x, p in zip(tab.nodes, point):
        values = make_interp_spline(x, values, k=3, axis=0)(p)
    return values


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_matches_scipy(dim):
    tab = table(9, dim)
    rng = np.random.default_rng(dim)
    lo = np.array([x[0] for x in tab.nodes]) - 0.2                 # a little extrapolation too
    hi = np.array([x[-1] for x in tab.nodes]) + 0.2
    points = rng.uniform(lo, hi, (40, dim))
    values, _ = spline_numpy(points, *tab.args)
    for p, v in zip(points, values):
        np.testing.assert_allclose(v, scipy_interpolant(tab, p), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_compiled_contractions_match_the_twin(dim):
    tab = table(9, dim)
    rng = np.random.default_rng(10 + dim)
    lo = np.array([x[0] for x in tab.nodes]) - 0.3                 # a little extrapolation too
    points = rng.uniform(lo, np.array([x[-1] for x in tab.nodes]) + 0.3, (50, dim))
    masses, moments = rng.normal(size=50), rng.normal(size=2)
    values, grads = spline_numpy(points, *tab.args)
    out = np.empty(2)
    spline_moments(points, masses, *tab.args, out)
    np.testing.assert_allclose(out, masses @ values, rtol=1e-11, atol=1e-11)
    contracted, slopes = np.empty(50), np.empty((50, dim))
    spline_contract(points, moments, *tab.args, contracted, slopes)
    np.testing.assert_allclose(contracted, values @ moments, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(slopes, grads @ moments, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_orders_four_and_three(dim):
    """Halving h divides the value error by ≈ 16 and the gradient error by ≈ 8."""
    points = np.random.default_rng(0).uniform(-1.0, 1.5, (400, dim))
    errors = []
    for cells in (10, 20, 40):
        values, grads = spline_numpy(points, *table(cells, dim).args)
        errors.append((np.abs(values - smooth(*points.T)).max(),
                       np.abs(grads - smooth_gradient(*points.T)).max()))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders[:, 0] > 3.6) and np.all(orders[:, 1] > 2.6), orders


def test_nodes_are_interpolated_and_short_axes_refused():
    tab = table(6, 2)
    mesh = np.meshgrid(*tab.nodes, indexing="ij")
    values, _ = spline_numpy(np.column_stack([m.ravel() for m in mesh]), *tab.args)
    np.testing.assert_allclose(values, smooth(*mesh).reshape(-1, 2), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="axis 1: 3 intervals"):
        spline_coefficients(np.zeros((6, 4, 1)))
