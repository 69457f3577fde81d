"""Every registered model with every scheme that solves it: the models' tiny example cases
(``Model.examples``) are solved by each of their schemes, noiseless and noisy where the scheme
allows, and must conserve mass, stay non-negative where the scheme promises it, and decrease
the free energy F = R/(2α²) + (λ/2)∫|θ|² + (1/β)∫ρ log ρ (docs/theory.md §2–3). Each model's
particle SGD runs on the same case. A new model or scheme is covered here the day it is
registered."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import ddsolver
from ddsolver.model import Model, model_of
from ddsolver.scheme import Scheme
from ddsolver.sgd.run import simulate

NOISY_BETA = 200.0


def _runs():
    """(id, raw case) for every model example × scheme × noise level the scheme accepts."""
    out = []
    for kind, cls in Model.registered().items():
        for label, raw in cls.examples().items():
            model = model_of(ddsolver.normalize_case(raw))
            for name in model.schemes:
                scheme = Scheme.from_name(name)
                betas = {raw["training"].get("beta", math.inf)}
                if scheme.noisy:
                    betas.add(NOISY_BETA)
                for beta in sorted(betas):
                    case = copy.deepcopy(raw)
                    case["training"]["beta"] = beta
                    case["pde"]["scheme"] = name
                    case["pde"].update(scheme.example_pde)
                    out.append(pytest.param(case, id=f"{kind}-{label}-{name}-beta={beta:g}"))
    return out


def test_every_model_and_scheme_is_registered():
    assert set(Model.registered()) >= {"isotropic_gaussians", "anisotropic_gaussians",
                                       "planar_teacher", "custom"}
    assert set(Scheme.registered()) >= {"fv", "lagrangian", "spectral"}
    for cls in Model.registered().values():
        assert cls.examples(), cls


@pytest.mark.parametrize("case", _runs())
def test_solve_conserves_mass_and_decreases_free_energy(case):
    sol = ddsolver.solve(case, progress=False)
    scheme = Scheme.from_name(sol.case["pde"]["scheme"])
    np.testing.assert_allclose(sol.mass, 1.0, atol=1e-10)
    if scheme.positive:
        assert sol.density.min() >= 0.0
    assert np.all(np.isfinite(sol.risk)) and np.all(np.isfinite(sol.free_energy))
    scale = max(1.0, float(np.abs(sol.free_energy).max()))
    assert np.all(np.diff(sol.free_energy) <= 1e-9 * scale), sol.free_energy
    if math.isinf(sol.case["training"]["beta"]):
        assert np.all(np.diff(sol.risk) <= 1e-9 * max(1.0, float(sol.risk.max())))
    if "kernel_rank" in sol.attrs:                # compression never raises the rank
        assert 1 <= sol.attrs["kernel_rank_used"] <= sol.attrs["kernel_rank"]


@pytest.mark.parametrize("kind, label", [(kind, label) for kind, cls in Model.registered().items()
                                         for label in cls.examples()])
def test_sgd_of_every_model_records_its_coordinates(kind, label):
    case = copy.deepcopy(Model.registered()[kind].examples()[label])
    case["sgd"] = {"neurons": 20, "eps": 0.01, "snapshot_times": [0.0, 0.1]}
    result = simulate(case, progress=False)
    model = model_of(result.case)
    assert tuple(result.coords) == model.coords
    assert all(v.shape == (2, 20) for v in result.coords.values())
    assert np.all(np.isfinite(result.risk))


@pytest.mark.parametrize("kind, label, dim", [
    ("isotropic_gaussians", "w", 10), ("isotropic_gaussians", "aw", 11),
    ("isotropic_gaussians", "awb", 12), ("anisotropic_gaussians", "w", 10),
    ("anisotropic_gaussians", "aw", 11), ("planar_teacher", "w", 2),
    ("planar_teacher", "circle", 1), ("custom", "linear", 1)])
def test_parameter_count_of_every_unit(kind, label, dim):
    """D counts the unit's parameters: d weights, plus a and b; 2 in the plane; an angle is
    one parameter (the substring count of 'a' in 'circle' once gave 2)."""
    case = ddsolver.normalize_case(Model.registered()[kind].examples()[label])
    assert model_of(case).parameter_dim(case) == dim


def test_planar_model_builds_the_cases_teacher():
    case = ddsolver.normalize_case(Model.registered()["planar_teacher"].examples()["w"])
    case["network"]["activation"] = "relu"
    problem = model_of(case).teacher()
    assert problem.activation.name == "relu"
    np.testing.assert_array_equal(problem.teacher, [[1.5, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(problem.teacher_weights, [1.0, 0.5])
