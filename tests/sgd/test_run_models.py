"""simulate() for units σ(⟨w, x⟩), a σ(⟨w, x⟩) and a σ(⟨w, x⟩ + b) on isotropic and anisotropic
Gaussian data (ddsolver.sgd.run): the recorded coordinates and risk, and the initial laws."""

import math

import numpy as np
import pytest

import ddsolver
from ddsolver.errors import CaseError
from ddsolver.sgd.risk import exact_risk
from ddsolver.sgd.run import make_sgd_model, simulate

COORDINATES = {("isotropic_gaussians", "w"): ("r",), ("isotropic_gaussians", "aw"): ("a", "r"),
               ("isotropic_gaussians", "awb"): ("a", "b", "r"),
               ("anisotropic_gaussians", "w"): ("r1", "r2"),
               ("anisotropic_gaussians", "aw"): ("a", "r1", "r2")}

MODELS = [("isotropic_gaussians", "w"), ("isotropic_gaussians", "aw"),
          ("isotropic_gaussians", "awb"), ("anisotropic_gaussians", "w"),
          ("anisotropic_gaussians", "aw")]


@pytest.fixture(name="model_case", scope="module")
def model_case_fixture(make_case):
    def model_case(data_kind, unit, batch=1, **init):
        data = {"kind": data_kind, "dim": 6, "delta": 0.6}
        if data_kind == "anisotropic_gaussians":
            data["signal_dim"] = 2
        coords = COORDINATES[(data_kind, unit)]
        return make_case(data=data, network={"unit": unit, "activation": "relu",
                                             "activation_params": {}},
                         training={"t_final": 0.2}, init={"kind": "gaussian", "kappa": 0.8, **init},
                         pde={"snapshot_times": [0.0, 0.1, 0.2],
                              "grid": {c: {"cells": 8} for c in coords}},
                         sgd={"neurons": 40, "eps": 1e-3, "batch": batch, "save_weights": True})

    return model_case


@pytest.mark.parametrize("kind, unit", MODELS)
@pytest.mark.parametrize("batch", [1, 2])
def test_simulate_records_every_coordinate(kind, unit, batch, model_case):
    """coords in the documented order with shapes (snapshots, N); the recorded risk is the exact
    risk of the recorded units; r, r1, r2 are the (block) norms of the recorded W; a run is
    reproducible from its seed."""
    init = {"a": {"kind": "uniform", "low": -1.0, "high": 1.0}} if unit != "w" else {}
    if unit == "awb":
        init["b"] = {"kind": "normal", "mean": 0.0, "std": 0.5}
    case = model_case(kind, unit, batch, **init)
    first, again = simulate(case, seed=2, progress=False), simulate(case, seed=2, progress=False)
    other = simulate(case, seed=3, progress=False)
    coords = COORDINATES[(kind, unit)]
    assert tuple(first.coords) == coords
    assert all(v.shape == (3, 40) for v in first.coords.values())
    assert all(np.array_equal(first.coords[c], again.coords[c]) for c in coords)
    assert np.array_equal(first.risk, again.risk) and not np.array_equal(first.risk, other.risk)
    model = make_sgd_model(ddsolver.normalize_case(case))
    for k in range(3):
        a, b = first.coords.get("a"), first.coords.get("b")
        risk = exact_risk(first.weights[k], model.activation, model.data, 1.0,
                          a=None if a is None else a[k], b=None if b is None else b[k])
        assert first.risk[k] == risk
    W = first.weights
    norms = {"r": np.linalg.norm(W, axis=2), "r1": np.linalg.norm(W[..., :2], axis=2),
             "r2": np.linalg.norm(W[..., 2:], axis=2)}
    for name in set(coords) & set(norms):
        np.testing.assert_allclose(first.coords[name], norms[name], rtol=1e-14)
    if "a" in coords:
        assert np.all(np.abs(first.coords["a"][0]) <= 1.0)
        assert not np.array_equal(first.coords["a"][0], first.coords["a"][-1])   # a is trained
    assert "coords ('" in repr(first)


def test_initial_state_follows_the_laws(model_case):
    """Anisotropic gaussian w: r1² d/κ² ~ χ²_{s₀}, r2² d/κ² ~ χ²_{d−s₀}; a ~ N(0.5, 0.2²);
    mean and variance within 5 standard errors."""
    case = ddsolver.normalize_case(model_case(
        "anisotropic_gaussians", "aw", a={"kind": "normal", "mean": 0.5, "std": 0.2}))
    model = make_sgd_model(case)
    n = 20_000
    state = model.initial(n, np.random.default_rng(0))
    coords = model.reduced(state)
    for name, dof in (("r1", 2), ("r2", 4)):
        z = coords[name] ** 2 * 6 / 0.64
        assert abs(z.mean() - dof) < 5 * math.sqrt(2 * dof / n)
        assert abs(z.var() - 2 * dof) < 5 * 2 * dof * math.sqrt((8 + 12 / dof) / n)
    assert abs(coords["a"].mean() - 0.5) < 5 * 0.2 / math.sqrt(n)
    assert abs(coords["a"].std() - 0.2) < 5 * 0.2 / math.sqrt(2 * n)
    assert np.all(state.B == 0.0) and state.W.shape == (n, 6)


@pytest.mark.parametrize("kind, unit", [("isotropic_gaussians", "aw"),
                                        ("anisotropic_gaussians", "w")])
def test_density_init_samples_the_grid_law(kind, unit, model_case):
    """init.kind = 'density' on a 2-D grid: the reduced coordinates of the units (norms of W or of
    its blocks, and a) fall in the cells with the density's masses (binomial, 5 standard errors);
    none in the empty cell."""
    coords = COORDINATES[(kind, unit)]
    values = np.random.default_rng(1).uniform(0.0, 1.0, 16)
    values[3] = 0.0
    case = model_case(kind, unit, kind="density", values=values)
    del case["init"]["kappa"]
    case["pde"]["grid"] = {c: {"min": 0.0 if c != "a" else -2.0, "max": 2.0, "cells": 4}
                           for c in coords}
    model = make_sgd_model(ddsolver.normalize_case(case))
    n = 40_000
    reduced = model.reduced(model.initial(n, np.random.default_rng(2)))
    edges = [np.linspace(-2.0 if c == "a" else 0.0, 2.0, 5) for c in coords]
    counts = np.histogramdd(np.column_stack([reduced[c] for c in coords]), bins=edges)[0]
    mass = values.reshape(4, 4) / values.sum()
    assert np.all(np.abs(counts / n - mass) <= 5 * np.sqrt(mass * (1 - mass) / n))
    assert counts.ravel()[3] == 0


def test_point_init_refused_for_anisotropic_data(model_case):
    case = ddsolver.normalize_case(model_case("anisotropic_gaussians", "w"))
    case["init"] = {"kind": "point", "kappa": 0.8}
    with pytest.raises(CaseError, match="init.kind: expected 'gaussian' or 'density'"):
        make_sgd_model(case).initial(5, np.random.default_rng(0))


@pytest.mark.parametrize("batch", [1, 2])
def test_anchored_penalty_pulls_towards_the_start(batch, model_case):
    """training.penalty = "anchored": the state keeps a copy of its start; with λ = 0 the run is
    the origin penalty's bit for bit; with λ = 5 to t = 0.2 the origin penalty shrinks W towards 0
    (by about e^(−2λt) = e^(−2)) while the anchored one keeps it near its start."""
    def run(penalty, lam):
        case = model_case("isotropic_gaussians", "aw", batch,
                          a={"kind": "uniform", "low": -1.0, "high": 1.0})
        case["training"].update(penalty=penalty, **{"lambda": lam})
        case["pde"]["scheme"] = "lagrangian"
        return simulate(case, seed=2, progress=False).weights

    start = run("origin", 0.0)[0]
    np.testing.assert_array_equal(run("anchored", 0.0), run("origin", 0.0))
    shrunk, anchored = run("origin", 5.0)[-1], run("anchored", 5.0)[-1]
    assert np.linalg.norm(shrunk) < 0.3 * np.linalg.norm(start)
    assert np.linalg.norm(anchored - start) < 0.1 * np.linalg.norm(start)
    case = ddsolver.normalize_case(model_case("isotropic_gaussians", "aw", batch))
    case["training"]["penalty"] = "anchored"
    state = make_sgd_model(case).initial(5, np.random.default_rng(0))
    for value, kept in zip((state.W, state.A, state.B), state.anchor):
        np.testing.assert_array_equal(value, kept)
        assert value is not kept
