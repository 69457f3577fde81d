"""Particle SGD of the planar teacher model (ddsolver.sgd.planar): the exact risk of a network
against Monte Carlo; the compiled SGD steps against their numpy twins; drift and noise of one step;
simulate() end to end for units w and circle units."""

import math

import numpy as np
import pytest

from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.problem.activations import make_activation
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.planar import (
    circle_step,
    circle_step_numpy,
    planar_circle_units,
    planar_w_units,
    w_step,
    w_step_numpy,
)
from ddsolver.sgd.run import make_sgd_model, simulate
from ddsolver.storage import load_sgd

TEACHER = [[1.0, 0.0], [0.0, 1.5]]
TEACHER_WEIGHTS = [1.0, 0.5]
MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
CONSTANT = (0, 1.0, 1.0, 0.0)


def planar_case(unit="w", activation="erf", beta=math.inf, lam=0.0, batch=1, neurons=50,
                t_final=0.2, eps=1e-3, init=None, snapshots=(0.0, 0.1, 0.2)):
    if init is None:
        phi = {"kind": "uniform", "low": -3.14159, "high": 3.14159}
        init = ({"kind": "product", "r": {"kind": "normal", "mean": 1.0, "std": 0.2}, "phi": phi}
                if unit == "w" else {"kind": "product", "phi": phi})
    return normalize_case({
        "data": {"kind": "planar_teacher", "teacher": TEACHER, "teacher_weights": TEACHER_WEIGHTS},
        "network": {"unit": unit, "activation": activation, "scale": 1.0},
        "training": {"t_final": t_final, "beta": beta, "lambda": lam,
                     "schedule": {"kind": "constant", "value": 1.0}},
        "init": init,
        "pde": {"scheme": "spectral"},
        "sgd": {"neurons": neurons, "eps": eps, "batch": batch, "seeds": [0],
                "snapshot_times": list(snapshots)}})


# -- the exact risk -------------------------------------------------------------------------------

@pytest.mark.parametrize("unit, name", [("w", "erf"), ("w", "tanh"), ("circle", "relu"),
                                        ("circle", "tanh")])
def test_exact_risk_matches_monte_carlo(unit, name):
    """R_N of a random network (N = 40, diagonal included) against the sample mean of
    (y − ŷ(x))² over 4e5 draws; for closed-form activations also the series path."""
    model = make_sgd_model(planar_case(unit, name))
    state = model.initial(40, np.random.default_rng(6))
    risk = model.exact_risk(state)
    W = state if unit == "w" else np.stack([np.cos(state), np.sin(state)], axis=1)
    x, y = model.problem.sample(400_000, np.random.default_rng(7))
    loss = (y - model.activation.sigma(x @ W.T).mean(axis=1)) ** 2
    se = loss.std() / math.sqrt(len(loss))
    assert abs(risk - loss.mean()) < 5 * se, (risk, loss.mean(), se)
    r, phi = model.reduced(state)["r"] if unit == "w" else np.ones(40), model.reduced(state)["phi"]
    series = model.problem.risk(r, phi, method="series")
    assert series == pytest.approx(risk, abs=1e-11)
    print(f"{unit}/{name}: exact {risk:.6f}, MC {loss.mean():.6f} ± {se:.1e} "
          f"({(risk - loss.mean()) / se:+.2f} SE)")


# -- SGD steps ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, params", [("erf", {}), ("relu", {}), ("tanh", {}),
                                          ("piecewise_linear", MMN)])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("lam, inv_beta", [(0.0, 0.0), (0.3, 0.5)])
def test_steps_match_numpy_twins(name, params, batch, lam, inv_beta):
    act = make_activation(name, params)
    rng = np.random.default_rng(8)
    n = 25
    X, y = rng.standard_normal((batch, 2)), rng.standard_normal(batch)
    W, noise = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    ref = w_step_numpy(W, X, y, noise, act, 1.5, lam, 0.01, inv_beta)
    w_step(W, X, y, noise, *pointwise_args(act), 1.5, lam, 0.01, inv_beta, np.empty(n),
           np.empty((n, 2)))
    np.testing.assert_allclose(W, ref, rtol=1e-14, atol=1e-14)
    phi = rng.uniform(-math.pi, math.pi, n)
    phi[0] = math.pi - 1e-9                        # wraps when it moves up
    ref = circle_step_numpy(phi, X, y, noise[:, 0], act, 1.5, 0.01, inv_beta)
    circle_step(phi, X, y, noise[:, 0], *pointwise_args(act), 1.5, 0.01, inv_beta,
                np.empty(n), np.empty(n), np.empty((n, 2)))
    np.testing.assert_allclose(phi, ref, rtol=1e-14, atol=1e-14)
    assert np.all((phi >= -math.pi) & (phi < math.pi))


@pytest.mark.parametrize("unit", ["w", "circle"])
def test_chunk_replays_with_the_numpy_generator(unit):
    """A compiled chunk equals the numpy twins driven by RandomState(seed) in the documented
    draw order (per step: B samples x₁, x₂; then the noises unit by unit); a chunk is
    reproducible and depends on its seed."""
    act = make_activation("tanh")
    code, params = pointwise_args(act)
    teacher, tw = np.array(TEACHER), np.array(TEACHER_WEIGHTS)
    n, batch, step_time, inv_beta, steps = 7, 3, 0.02, 0.25, 15
    rng = np.random.default_rng(9)
    start = rng.standard_normal((n, 2)) if unit == "w" else rng.uniform(-3, 3, n)

    def run(seed):
        state = start.copy()
        if unit == "w":
            planar_w_units(state, teacher, tw, code, params, 1.0, 0.1, inv_beta, step_time,
                           CONSTANT, 4, 4 + steps, batch, seed)
        else:
            planar_circle_units(state, teacher, tw, code, params, 1.0, inv_beta, step_time,
                                CONSTANT, 4, 4 + steps, batch, seed)
        return state

    gen = np.random.RandomState(21)
    state = start.copy()
    for _ in range(steps):
        X = np.array([gen.standard_normal(2) for _ in range(batch)])
        y = act.sigma(X @ teacher.T) @ tw
        if unit == "w":
            noise = gen.standard_normal((n, 2))
            state = w_step_numpy(state, X, y, noise, act, 1.0, 0.1, step_time, inv_beta)
        else:
            noise = gen.standard_normal(n)
            state = circle_step_numpy(state, X, y, noise, act, 1.0, step_time, inv_beta)
    np.testing.assert_allclose(run(21), state, rtol=1e-12, atol=1e-12)
    assert np.array_equal(run(21), run(21)) and not np.array_equal(run(21), run(22))


def test_reduced_coordinates_and_weights():
    model = make_sgd_model(planar_case("w"))
    W = np.array([[1.0, 0.0], [0.0, -2.0], [-3.0, 0.0], [-1.0, -1e-300], [0.0, 0.0]])
    reduced = model.reduced(W)
    np.testing.assert_allclose(reduced["r"], [1.0, 2.0, 3.0, 1.0, 0.0])
    np.testing.assert_allclose(reduced["phi"], [0.0, -math.pi / 2, -math.pi, -math.pi, 0.0])
    assert model.weights(W) is W and model.coords == ("r", "phi")
    circle = make_sgd_model(planar_case("circle"))
    phi = np.array([0.5, -math.pi, 3.0])
    assert circle.coords == ("phi",) and circle.weights(phi).shape == (3, 1)
    np.testing.assert_array_equal(circle.reduced(phi)["phi"], phi)
    state = circle.initial(2000, np.random.default_rng(0))
    assert np.all((state >= -math.pi) & (state < math.pi))


def test_initial_laws():
    """gaussian: W = κ/√2 N(0, I₂) (|w|²·2/κ² ~ χ²₂, mean 2); product: r and φ from their laws;
    density: a clear CaseError."""
    gauss = make_sgd_model(planar_case("w", init={"kind": "gaussian", "kappa": 0.8}))
    W = gauss.initial(40_000, np.random.default_rng(1))
    z = (W**2).sum(axis=1) * 2 / 0.64
    assert abs(z.mean() - 2) < 5 * 2 / 200
    product = make_sgd_model(planar_case("w"))
    reduced = product.reduced(product.initial(40_000, np.random.default_rng(2)))
    assert abs(reduced["r"].mean() - 1.0) < 5 * 0.2 / 200
    assert abs(reduced["r"].std() - 0.2) < 0.01
    assert abs(reduced["phi"].std() - math.pi / math.sqrt(3)) < 0.03
    model = make_sgd_model(planar_case("w"))
    model.init = {"kind": "density"}
    with pytest.raises(CaseError, match="init.kind"):
        model.initial(10, np.random.default_rng(0))


def unit_gradients(problem, unit, theta, scale):
    """∇_θ [V(θ_i)/α + (1/N) Σ_j U(θ_i, θ_j)] (first argument only) by central differences."""
    h = 1e-5

    def psi(point, i):
        w = point if unit == "w" else np.array([math.cos(point), math.sin(point)])
        r, phi = np.hypot(*w), math.atan2(w[1], w[0])
        others = theta if unit == "w" else np.stack([np.cos(theta), np.sin(theta)], axis=1)
        rj = np.hypot(others[:, 0], others[:, 1])
        phij = np.arctan2(others[:, 1], others[:, 0])
        return (problem.v(r, phi) / scale + problem.kernel(r, rj, phi - phij).mean())

    grads = []
    for i in range(len(theta)):
        if unit == "w":
            grads.append([(psi(theta[i] + h * e, i) - psi(theta[i] - h * e, i)) / (2 * h)
                          for e in np.eye(2)])
        else:
            grads.append([(psi(theta[i] + h, i) - psi(theta[i] - h, i)) / (2 * h)])
    return np.array(grads)


@pytest.mark.parametrize("unit", ["w", "circle"])
def test_one_step_mean_drift_and_noise(unit):
    """From one state, the mean of 20000 single online steps is the expected increment
    −2s ∇_θ[V/α + (1/N) Σ_j U(θ, θ_j)] (within 5 standard errors per coordinate); with β < ∞
    the same seeds give increments that differ by sqrt(4s/β) g, g ~ N(0, I) (variance within
    5 standard errors)."""
    eps, beta, runs = 0.01, 20.0, 20_000
    model = make_sgd_model(planar_case(unit, "erf"))
    noisy = make_sgd_model(planar_case(unit, "erf", beta=beta))
    start = (np.array([[0.9, 0.3], [-0.4, 1.2], [0.2, -0.7], [1.1, 1.0]]) if unit == "w"
             else np.array([0.3, -1.9, 1.2, 2.5]))
    model.eps = noisy.eps = eps
    increments, noises = [], []
    for seed in range(runs):
        a, b = start.copy(), start.copy()
        model.advance(a, 0, 1, seed)
        noisy.advance(b, 0, 1, seed)
        increments.append(a - start)
        noises.append(b - a)
    increments = np.array(increments).reshape(runs, len(start), -1)
    expected = -2 * eps * unit_gradients(model.problem, unit, start, model.scale)
    mean = increments.mean(axis=0)
    se = increments.std(axis=0) / math.sqrt(runs)
    z = np.abs(mean - expected) / se
    assert np.all(z < 5), z
    g = np.array(noises).ravel() / math.sqrt(4 * eps / beta)
    assert abs(g.mean()) < 5 / math.sqrt(g.size)
    assert abs(g.var() - 1) < 5 * math.sqrt(2 / g.size)
    print(f"{unit}: drift worst {z.max():.2f} SE; noise variance ratio {g.var():.4f}")


# -- simulate -------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit, batch", [("w", 1), ("circle", 1), ("w", 4), ("circle", 4)])
def test_simulate_end_to_end(tmp_path, unit, batch):
    case = planar_case(unit, "relu", beta=50.0, batch=batch, neurons=60)
    out = tmp_path / "x.h5"
    res = simulate(case, seed=1, output=str(out), save_weights=True, progress=False)
    np.testing.assert_allclose(res.t, [0.0, 0.1, 0.2])
    assert set(res.coords) == set(make_sgd_model(case).coords)
    assert res.weights.shape == (3, 60, 2 if unit == "w" else 1)
    assert np.all(np.isfinite(res.risk)) and res.risk[-1] < res.risk[0]
    model = make_sgd_model(case)
    first = model.initial(60, np.random.default_rng(np.random.SeedSequence(1).spawn(1)[0]))
    assert res.risk[0] == pytest.approx(model.exact_risk(first), abs=1e-14)
    back = load_sgd(out)
    np.testing.assert_array_equal(back.risk, res.risk)
    for name in res.coords:
        np.testing.assert_array_equal(back.coords[name], res.coords[name])
    np.testing.assert_array_equal(back.weights, res.weights)
    again = simulate(case, seed=1)
    assert np.array_equal(again.risk, res.risk)
