"""Property tests of the case schema: valid cases normalise idempotently; an invalid value of
any checked key is refused with a CaseError naming that key."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddsolver.case import case_from_json, case_to_json, normalize_case
from ddsolver.errors import CaseError

from .corpus import mutate

FAST = settings(max_examples=40, deadline=None)
finite = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)


@st.composite
def valid_cases(draw):
    t_final = draw(finite)
    times = sorted(set(draw(st.lists(st.floats(0.0, t_final), max_size=5))))
    return mutate({
        "data.delta": draw(st.floats(0.01, 0.99)),
        "data.dim": draw(st.integers(1, 10**6)),
        "network.activation": draw(st.sampled_from(["relu", "erf", "tanh", "linear"])),
        "network.scale": draw(finite),
        "training.t_final": t_final,
        "training.beta": draw(st.one_of(st.just("inf"), finite)),
        "training.lambda": draw(st.floats(0.0, 10.0)),
        "init.kappa": draw(finite),
        "pde.scheme": draw(st.sampled_from(["fv", "lagrangian", "spectral"])),
        "pde.grid.r.cells": draw(st.integers(4, 10**4)),
        "pde.tol": draw(st.floats(1e-12, 0.5)),
        "pde.snapshot_times": times or None,
        "sgd.eps": draw(st.floats(t_final * 1e-6, t_final)),
    })


@FAST
@given(valid_cases())
def test_valid_cases_normalise_idempotently(case):
    try:
        once = normalize_case(case)
    except CaseError as exc:        # e.g. a noiseless-only scheme with noise: named, one line
        assert "\n" not in str(exc) and ":" in str(exc)
        return
    twice = normalize_case(case_from_json(case_to_json(once)))
    assert case_to_json(twice) == case_to_json(once)


NOT_A_NUMBER = st.one_of(st.text(max_size=8).filter(lambda s: s.strip().lower() not in
                                                     ("inf", "+inf")),
                         st.booleans(), st.lists(st.integers(), max_size=2))
BAD = {
    "data.delta": st.one_of(NOT_A_NUMBER, st.floats(1.0, 1e9), st.floats(-1e9, 0.0)),
    "data.dim": st.one_of(NOT_A_NUMBER, st.integers(max_value=0), st.integers(min_value=2**63)),
    "network.scale": st.one_of(NOT_A_NUMBER, st.floats(1e12, exclude_min=True),
                               st.floats(max_value=0.0)),
    "training.t_final": st.one_of(NOT_A_NUMBER, st.floats(max_value=0.0),
                                  st.just(math.inf)),
    "pde.tol": st.one_of(NOT_A_NUMBER, st.floats(min_value=1.0), st.floats(max_value=0.0)),
    "pde.boundary_mass": st.one_of(st.floats(min_value=1.0), st.floats(max_value=0.0)),
    "pde.grid.r.cells": st.one_of(NOT_A_NUMBER, st.integers(max_value=1), st.floats()),
    "pde.snapshot_times": st.lists(st.one_of(st.text(max_size=3), st.booleans()), min_size=1,
                                   max_size=3).map(lambda v: [0.0, *v]),
    "sgd.eps": st.one_of(NOT_A_NUMBER, st.floats(max_value=0.0), st.floats(min_value=1.0)),
    "sgd.seeds": st.lists(st.integers(max_value=-1), min_size=1, max_size=2),
}


@FAST
@pytest.mark.parametrize("key", sorted(BAD))
@given(data=st.data())
def test_invalid_values_are_refused_naming_the_key(key, data):
    value = data.draw(BAD[key])
    case = mutate({key: value})
    with pytest.raises(CaseError) as info:
        normalize_case(case)
    assert str(info.value).startswith(key) and "\n" not in str(info.value)
