"""Case files: defaults, idempotence, and the errors that name the offending key."""

import numpy as np
import pytest

from ddsolver.case import case_from_json, case_to_json, normalize_case
from ddsolver.errors import CaseError


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple, np.ndarray)):
        return np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    return a == b


def test_normalize_is_idempotent_and_survives_json(make_case):
    case = normalize_case(make_case(validate={"sweep": {"key": "sgd.neurons",
                                                        "values": [100, 200]}}))
    assert same(normalize_case(case), case)
    assert same(normalize_case(case_from_json(case_to_json(case))), case)


def test_defaults(make_case):
    case = normalize_case(make_case())
    assert case["pde"]["kernel_dim"] == 40 and case["pde"]["scheme"] == "lagrangian"
    assert case["sgd"]["seeds"] == [0] and case["sgd"]["batch"] == 1
    np.testing.assert_array_equal(case["sgd"]["snapshot_times"], case["pde"]["snapshot_times"])
    assert case["validate"]["t_max"] == case["training"]["t_final"]


@pytest.mark.parametrize("tables, message", [
    ({"sgd": {"neurons": 0}}, "sgd.neurons: expected an integer >= 1, got 0"),
    ({"sgd": {"seeds": [0, -1]}}, r"sgd.seeds\[1\]: expected an integer >= 0"),
    ({"sgd": {"snapshot_times": [0, 20]}}, "sgd.snapshot_times: expected increasing times"),
    ({"validate": {"sweep": {"key": "sgd.width", "values": [1, 2]}}}, "validate.sweep.key"),
    ({"validate": {"sweep": {"key": "sgd.neurons", "values": [100]}}},
     "validate.sweep.values: expected at least two"),
    ({"training": {"schedule": {"kind": "power", "exponent": -1}}},
     "training.schedule.exponent: expected a number >= 0"),
    ({"pde": {"kernel_dim": 0}}, "pde.kernel_dim: expected an integer >= 1 or inf"),
])
def test_errors_name_the_key(tables, message, make_case):
    with pytest.raises(CaseError, match=message):
        normalize_case(make_case(**tables))


@pytest.mark.parametrize("tables, message", [
    ({"pde": {"scheme": "fv", "integrator": "semi_implicit"}},
     "pde.integrator: 'semi_implicit' needs"),
    ({"training": {"beta": 100.0}, "pde": {"scheme": "lagrangian"}}, "pde.scheme: the Lagrangian"),
])
def test_solver_choices_that_do_not_fit_the_case(tables, message, make_case):
    import ddsolver
    with pytest.raises(CaseError, match=message):
        ddsolver.solve(make_case(**tables))


def test_stationary_needs_noise(make_case):
    import ddsolver
    with pytest.raises(CaseError, match="training.beta: a stationary"):
        ddsolver.stationary(make_case())
