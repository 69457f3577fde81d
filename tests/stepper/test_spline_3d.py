"""The compiled spline contractions on three tabulated coordinates (custom problems of D = 3 on
the Lagrangian scheme) against their numpy twin, itself checked against scipy in
tests/stepper/test_spline.py."""

import numpy as np

from ddsolver.stepper.spline import SplineTable, spline_contract, spline_moments, spline_numpy


def test_compiled_contractions_match_the_twin_in_3d():
    nodes = [np.linspace(-1.0, 1.5 + k, 8 + k) for k in range(3)]      # unequal axes
    mesh = np.meshgrid(*nodes, indexing="ij")
    total = sum(mesh)
    tab = SplineTable(nodes, np.stack([np.sin(1.3 * total) * np.exp(-0.2 * mesh[2] ** 2),
                                       np.cos(mesh[0]) * mesh[1], mesh[2] ** 3], -1))
    rng = np.random.default_rng(3)
    points = rng.uniform(-1.3, 4.0, (60, 3))                            # extrapolation too
    masses, moments = rng.normal(size=60), rng.normal(size=3)
    values, grads = spline_numpy(points, *tab.args)
    out = np.empty(3)
    spline_moments(points, masses, *tab.args, out)
    np.testing.assert_allclose(out, masses @ values, rtol=1e-11, atol=1e-11)
    contracted, slopes = np.empty(60), np.empty((60, 3))
    spline_contract(points, moments, *tab.args, contracted, slopes)
    np.testing.assert_allclose(contracted, values @ moments, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(slopes, grads @ moments, rtol=1e-10, atol=1e-10)
    # the cubic x2³ is reproduced exactly (not-a-knot splines are exact on cubics)
    np.testing.assert_allclose(values[:, 2], points[:, 2] ** 3, rtol=1e-10, atol=1e-10)
