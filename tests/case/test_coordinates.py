"""Case files of the multi-dimensional models: coordinates, grid defaults, [init] laws of a and
b, [validate] per-coordinate tolerances, and the one-line errors."""

import numpy as np
import pytest

from ddsolver.case import normalize_case
from ddsolver.errors import CaseError

ANISO = {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 20, "signal_dim": 4}


@pytest.fixture(name="make_case")
def default_grid_case(make_case):
    """This module's ``make_case``: the shared one, but leaving the grid to the model's default."""
    radial_case = make_case

    def make_case(**tables):
        """The MMN 9.1 case with tables updated and the default grid of the model."""
        case = radial_case(**tables)
        if "grid" not in tables.get("pde", {}):
            del case["pde"]["grid"]
        return case

    return make_case


@pytest.mark.parametrize("tables, coords", [
    ({"network": {"unit": "aw"}}, ("a", "r")),
    ({"network": {"unit": "awb"}}, ("a", "b", "r")),
    ({"data": ANISO}, ("r1", "r2")),
    ({"data": ANISO, "network": {"unit": "aw"}}, ("a", "r1", "r2")),
])
def test_coordinates_and_grid_defaults(tables, coords, make_case):
    case = normalize_case(make_case(**tables))
    assert tuple(case["pde"]["grid"]) == coords
    cells = {1: 3200, 2: 200, 3: 64}[len(coords)]
    for name, axis in case["pde"]["grid"].items():
        assert axis["cells"] == cells
        assert axis["min"] == (0.0 if name.startswith("r") else -4.0)
    assert tuple(case["validate"]["mean_tol"]) == coords
    assert same_init_defaults(case, coords)
    assert normalize_case(case)["pde"]["grid"] == case["pde"]["grid"]     # idempotent


def same_init_defaults(case, coords):
    init = case["init"]
    expected = {"a": {"kind": "constant", "value": 1.0}, "b": {"kind": "constant", "value": 0.0}}
    return all(init[c] == expected[c] for c in coords if c in expected)


def test_scalar_laws_and_negative_axes(make_case):
    case = normalize_case(make_case(
        network={"unit": "awb"},
        init={"kind": "gaussian", "kappa": 0.8, "a": {"kind": "normal", "mean": 0.0, "std": 0.5},
              "b": {"kind": "uniform", "low": -1.0, "high": 1.0}},
        pde={"grid": {"a": {"min": -3.0, "max": 3.0, "cells": 30}, "b": {"max": 2.0},
                      "r": {"max": 3.0, "cells": 40}}},
        validate={"mean_tol": {"a": 0.02}, "w1_tol": 0.05}))
    assert case["init"]["a"] == {"kind": "normal", "mean": 0.0, "std": 0.5}
    assert case["pde"]["grid"]["b"] == {"min": -4.0, "max": 2.0, "cells": 64}
    assert case["validate"]["mean_tol"] == {"a": 0.02, "b": None, "r": None}
    assert case["validate"]["w1_tol"] == {"a": 0.05, "b": 0.05, "r": 0.05}


@pytest.mark.parametrize("tables, message", [
    ({"network": {"unit": "aw"}, "init": {"kind": "gaussian", "kappa": 1.0,
                                          "a": {"kind": "normal", "mean": 0.0}}},
     "init.a.std: required key is missing"),
    ({"network": {"unit": "aw"}, "init": {"kind": "gaussian", "kappa": 1.0,
                                          "a": {"kind": "beta"}}},
     "init.a.kind: expected one of 'constant', 'uniform', 'normal', 'discrete', got 'beta'"),
    ({"network": {"unit": "aw"}, "init": {"kind": "gaussian", "kappa": 1.0,
                                          "a": {"kind": "uniform", "low": 1, "high": 0}}},
     "init.a.high: expected a number > low = 1"),
    ({"init": {"kind": "gaussian", "kappa": 1.0, "a": {"kind": "constant", "value": 1}}},
     "init.a: unknown key"),
    ({"network": {"unit": "aw"}, "pde": {"grid": {"r": {"min": -1.0, "max": 2.0}}}},
     "pde.grid.r.min: expected a number >= 0"),
    ({"network": {"unit": "aw"}, "pde": {"grid": {"a": {"min": 1.0, "max": -1.0}}}},
     "pde.grid.a.max: expected a number > min = 1"),
    ({"data": ANISO, "network": {"unit": "awb"}, "pde": {"scheme": "fv"}},
     "pde.scheme: 'fv' solves grids of at most 3 axes, not the 4 of"),
    ({"data": ANISO, "network": {"unit": "awb"}, "init": {"kind": "density"}},
     "init.kind: expected 'gaussian' for unit 'awb' on anisotropic data"),
    ({"data": ANISO, "init": {"kind": "point", "kappa": 1.0}},
     "init.kind: expected 'gaussian' or 'density'"),
    ({"data": ANISO, "pde": {"kernel_dim": 10}}, "pde.kernel_dim: expected inf or data.dim = 20"),
    ({"data": {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 4, "signal_dim": 4}},
     "data.signal_dim: expected an integer < dim = 4"),
    ({"data": {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 4}},
     "data.signal_dim: required key is missing"),
    ({"network": {"unit": "aw"}, "validate": {"mean_tol": {"b": 0.1}}},
     r"validate.mean_tol.b: unknown key \(allowed: a, r\)"),
    ({"network": {"unit": "ab"}}, "network.unit: expected one of 'w', 'aw', 'awb'"),
])
def test_errors_name_the_key(tables, message, make_case):
    with pytest.raises(CaseError, match=message):
        normalize_case(make_case(**tables))


def test_missing_data_kind(make_case):
    case = make_case()
    del case["data"]["kind"]
    with pytest.raises(CaseError, match="data.kind: required key is missing"):
        normalize_case(case)


def test_density_init_on_the_whole_grid(make_case):
    values = np.arange(1.0, 7.0)
    case = normalize_case(make_case(network={"unit": "aw"},
                                    init={"kind": "density", "values": values.tolist()},
                                    pde={"grid": {"a": {"cells": 2}, "r": {"cells": 3}}}))
    assert "a" not in case["init"]             # a density replaces the per-coordinate laws
    np.testing.assert_array_equal(case["init"]["values"], values)
