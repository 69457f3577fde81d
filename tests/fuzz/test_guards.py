"""The resource and progress guards: memory estimates against a budget, step collapse and step
counts, and their messages."""

import math

import pytest

from ddsolver import solve
from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.resources import check_memory, estimate, parse_size
from ddsolver.solve import scheme_of
from ddsolver.stepper.guard import StepCollapse, collapsed, guarded_advance

from .corpus import mutate

SPECTRAL = {"pde.scheme": "spectral", "pde.grid.r.cells": 16, "training.t_final": 0.1}


@pytest.mark.parametrize("mutation, kind, key", [
    ({"pde.scheme": "fv", "pde.grid.r.cells": 10**7}, "solve", "pde.grid.r.cells"),
    ({"pde.particles": 10**8}, "solve", "pde.particles"),
    ({"pde.kernel_max_terms": 10**8}, "solve", "pde.kernel_max_terms"),
    ({"pde.scheme": "spectral", "pde.grid.r.cells": 10**5}, "solve", "pde.grid.r.cells"),
    ({"sgd.neurons": 10**6}, "sgd", "sgd.neurons"),
    ({"data.dim": 10**7, "pde.kernel_dim": "inf"}, "sgd", "data.dim"),
    ({"sgd.save_weights": True, "sgd.snapshot_times": [0.1 * k for k in range(6)],
      "data.dim": 10**6, "pde.kernel_dim": "inf", "sgd.neurons": 400}, "sgd", "data.dim"),
])
def test_memory_budget_names_the_key(mutation, kind, key):
    case = normalize_case(mutate(mutation))
    with pytest.raises(CaseError, match=rf"^{key}: the run needs about .* above the memory "
                                        r"budget of 1 GiB \(--max-memory\)"):
        check_memory(case, kind, "1GiB")
    assert check_memory(case, kind, 2**60) > 2**30


def test_default_budget_admits_small_runs_and_refuses_huge_ones():
    small = normalize_case(mutate({}))
    assert check_memory(small, "solve") < 2**30 and check_memory(small, "sgd") < 2**30
    with pytest.raises(CaseError, match="of the available memory; --max-memory"):
        check_memory(normalize_case(mutate({"sgd.neurons": 2**40})), "sgd")


def test_dense_custom_problem_counts_its_matrix(tmp_path):
    problem = tmp_path / "dense.py"
    problem.write_text("import numpy as np\nfrom ddsolver.problem.user import UserProblem\n"
                       "problem = UserProblem.from_dense(('x',), lambda x: 0 * x, "
                       "lambda a, b: a @ b.T, 1.0)\n")
    case = normalize_case({"data": {"kind": "custom", "file": str(problem)},
                           "training": {"t_final": 1.0},
                           "init": {"x": {"kind": "normal", "mean": 0.0, "std": 0.2}},
                           "pde": {"grid": {"x": {"min": -2, "max": 2, "cells": 20_000}}}})
    dense = [item for item in estimate(case) if item.what.startswith("dense U")]
    assert dense and dense[0].bytes == 2 * 8 * 20_000**2


@pytest.mark.parametrize("text, size", [("4GiB", 4 * 2**30), ("512M", 512 * 2**20),
                                        ("2e9", 2 * 10**9), (1024, 1024), ("1.5k", 1536)])
def test_parse_size(text, size):
    assert parse_size("--max-memory", text) == size


@pytest.mark.parametrize("text", ["lots", "-4GiB", "0", "", "4 GB extra", True])
def test_parse_size_refuses(text):
    with pytest.raises(CaseError, match="^--max-memory: expected a size"):
        parse_size("--max-memory", text)


def test_collapsed_spares_the_last_short_step():
    assert collapsed(0.0, 1e-13, 1.0) and not collapsed(0.0, 1e-3, 1.0)
    assert not collapsed(1.0 - 1e-14, 1e-14, 1.0)          # landing on t_end


class FakeRun:
    """A run that takes ``per_stop`` steps per advance."""

    def __init__(self, per_stop, fail=False):
        self.t, self.steps, self.per_stop, self.fail = 0.0, 0, per_stop, fail

    def advance(self, stop, limit=None):
        if self.fail:
            raise StepCollapse("the step size collapsed to 1e-13 at t = 0")
        self.t, self.steps = stop, self.steps + self.per_stop


@pytest.mark.parametrize("mutation, cause", [
    ({}, "stiffness"),
    ({"training.schedule": {"value": 1e12}}, "the schedule (ξ up to 1e+12"),
    ({"pde.scheme": "fv", "pde.tol": 1e-300}, "the tolerance (pde.tol = 1e-300"),
    ({"pde.rtol": 1e-20}, "the tolerance (pde.rtol = 1e-20"),
])
def test_guarded_advance_names_the_likely_cause(mutation, cause):
    case = normalize_case(mutate(mutation))
    tol_key = scheme_of(case).tolerance_key
    with pytest.raises(StepCollapse, match=r"collapsed .* likely cause: " + cause.replace(
            "(", r"\(").replace("+", r"\+")):
        guarded_advance(FakeRun(1, fail=True), case, tol_key)(0.1)
    with pytest.raises(StepCollapse, match=r"^\d+ steps to t = 0.01 project to 5e\+08 steps"):
        guarded_advance(FakeRun(10**7), case, tol_key)(0.01)
    guarded_advance(FakeRun(10**3), case, tol_key)(0.01)             # 5e4 projected: fine


@pytest.mark.parametrize("mutation, match", [
    ({"pde.tol": 1e-300}, "likely cause: the tolerance"),
    ({"pde.tol": 1e-300, "training.schedule": {"value": 1e12}}, "likely cause: the tolerance"),
])
def test_spectral_solve_stops_instead_of_hanging(mutation, match):
    with pytest.raises(StepCollapse, match=match):
        solve(mutate({**SPECTRAL, **mutation}))


@pytest.mark.slow
@pytest.mark.parametrize("mutation, match", [
    ({"pde.scheme": "fv", "pde.tol": 1e-300}, "collapsed .* likely cause: the tolerance"),
    ({"pde.scheme": "fv", "training.schedule": {"value": 1e12}}, "likely cause: the schedule"),
    ({"training.schedule": {"value": 1e12}}, "underflow; likely cause: the schedule"),
])
def test_compiled_solves_stop_instead_of_hanging(mutation, match):
    with pytest.raises(StepCollapse, match=match):
        solve(mutate({"pde.grid.r.cells": 50, **mutation}))


@pytest.mark.parametrize("mutation, match", [
    ({"sgd.eps": 10.0}, r"^sgd.eps: the SGD step eps · batch = 10 exceeds training.t_final"),
    ({"sgd.batch": 10**4}, r"^sgd.batch: the SGD step eps · batch = 10 exceeds"),
    ({"sgd.eps": 1e-12}, r"^sgd.eps: 1e-12 needs 5e\+11 SGD steps"),
])
def test_sgd_step_refusals(mutation, match):
    with pytest.raises(CaseError, match=match):
        normalize_case(mutate(mutation))
    assert not math.isnan(normalize_case(mutate({}))["sgd"]["eps"])
