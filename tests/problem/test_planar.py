"""Planar teacher model: the kernel K(r, r', δ), V, R_# and the exact risk against Monte Carlo and
closed forms; the compiled SGD steps against their numpy twins; drift and noise of one step;
simulate() end to end for units w and circle units."""

import math

import numpy as np
import pytest

from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.problem.activations import make_activation
from ddsolver.problem.planar import (
    GL_NODES,
    GL_WEIGHTS,
    PlanarTeacher,
    bivariate_cdf,
    closed_kernel,
    hermite_table,
    mehler_series,
    mehler_series_numpy,
    pair_quadrature,
    pair_quadrature_numpy,
    ramp_pair,
    tail_roots,
)
from ddsolver.problem.pointwise import pointwise_args
from ddsolver.sgd.planar import (
    PlanarSgdModel,
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


def polar(r, angle):
    return np.array([r * math.cos(angle), r * math.sin(angle)])


# -- the kernel -----------------------------------------------------------------------------------

# (r, r', δ): parallel, nearly parallel, generic, orthogonal, nearly antiparallel, r = 0
TRIPLES = [(1.0, 1.0, 0.0), (1.7, 0.6, 0.05), (0.8, 2.5, 1.1), (1.2, 0.9, math.pi / 2),
           (2.0, 1.3, math.pi - 0.1), (0.0, 1.4, 0.7)]


@pytest.mark.parametrize("name, params", [("erf", {}), ("relu", {}), ("tanh", {}),
                                          ("piecewise_linear", MMN)])
def test_kernel_matches_monte_carlo(name, params):
    """K(r, r', δ) against the sample mean of σ(⟨w, x⟩)σ(⟨w', x⟩) over 4e5 draws, within 5
    standard errors for every triple."""
    act = make_activation(name, params)
    problem = PlanarTeacher(act, TEACHER, TEACHER_WEIGHTS)
    x = np.random.default_rng(11).standard_normal((400_000, 2))
    worst = 0.0
    for r, r2, delta in TRIPLES:
        w, w2 = polar(r, 0.3), polar(r2, 0.3 + delta)
        values = act.sigma(x @ w) * act.sigma(x @ w2)
        se = values.std() / math.sqrt(len(values))
        z = abs(problem.kernel(r, r2, delta) - values.mean()) / max(se, 1e-300)
        worst = max(worst, z)
        assert z < 5, (name, r, r2, delta, z)
    print(f"{name}: worst |K - MC| = {worst:.2f} SE")


def erf_formula(w, w2):
    return 2 / math.pi * np.arcsin(2 * np.dot(w, w2)
                                   / math.sqrt((1 + 2 * np.dot(w, w)) * (1 + 2 * np.dot(w2, w2))))


def relu_formula(w, w2):
    r, r2 = np.linalg.norm(w), np.linalg.norm(w2)
    if r == 0 or r2 == 0:
        return 0.0
    theta = math.acos(min(1.0, max(-1.0, np.dot(w, w2) / (r * r2))))
    return r * r2 / (2 * math.pi) * (math.sin(theta) + (math.pi - theta) * math.cos(theta))


@pytest.mark.parametrize("name, formula", [("erf", erf_formula), ("relu", relu_formula)])
def test_kernel_matches_closed_forms(name, formula):
    """The Mehler series (with its fallback near |c| = 1) against the erf and arc-cosine closed
    forms written with w, w' directly, on radii with 0 and angles with 0, π and tiny ones."""
    problem = PlanarTeacher(make_activation(name), TEACHER)
    radii = np.array([0.0, 0.05, 0.5, 1.0, 2.3, 4.0])
    deltas = np.concatenate([[0.0, 1e-7, 1e-3, 0.05, math.pi, math.pi - 1e-4],
                             np.linspace(0.1, 6.2, 23)])
    got = problem.kernel(radii[:, None, None], radii[None, :, None], deltas[None, None, :])
    assert got.shape == (6, 6, deltas.size)
    want = np.array([[[formula(polar(r, 0.2), polar(r2, 0.2 + d)) for d in deltas]
                      for r2 in radii] for r in radii])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-12)
    closed = problem.kernel(radii[:, None, None], radii[None, :, None], deltas, method="closed")
    np.testing.assert_allclose(closed, want, rtol=0, atol=1e-14)


@pytest.mark.parametrize("name, params", [("erf", {}), ("relu", {}), ("tanh", {}),
                                          ("sigmoid", {}), ("piecewise_linear", MMN)])
def test_quadrature_fallback(name, params):
    """pair_quadrature equals its numpy twin; it matches the closed forms (erf, ReLU) and, where
    the series converges, the Mehler series (two independent methods)."""
    act = make_activation(name, params)
    problem = PlanarTeacher(act, TEACHER)
    r1 = np.array([1.3, 0.0, 2.0, 0.7, 3.0])
    r2 = np.array([0.8, 1.1, 2.0, 1.9, 0.5])
    c = np.array([1.0, 0.3, 0.999, -0.6, -1.0])
    out = np.empty(5)
    pair_quadrature(*pointwise_args(act), r1, r2, c, GL_NODES, GL_WEIGHTS, out)
    twin = [pair_quadrature_numpy(act, *args) for args in zip(r1, r2, c)]
    np.testing.assert_allclose(out, twin, rtol=1e-13, atol=1e-14)
    if name in ("erf", "relu"):
        want = [(erf_formula if name == "erf" else relu_formula)(polar(a, 0.0),
                                                              polar(b, math.acos(cc)))
                for a, b, cc in zip(r1, r2, c)]
        np.testing.assert_allclose(out, want, rtol=0, atol=1e-13)
    if name in ("erf", "relu", "piecewise_linear"):
        np.testing.assert_allclose(out, closed_kernel(act, r1, r2, c), rtol=0, atol=1e-13)
    moderate = np.cos(np.linspace(0.4, 2.7, 7))
    quad = np.empty(7)
    pair_quadrature(*pointwise_args(act), np.full(7, 1.2), np.full(7, 0.9), moderate,
                    GL_NODES, GL_WEIGHTS, quad)
    series = problem.kernel(1.2, 0.9, np.arccos(moderate), method="series")
    np.testing.assert_allclose(series, quad, rtol=0, atol=2e-12)


def test_bivariate_cdf_and_ramp_closed_form():
    """Φ₂ by Owen's T against scipy's multivariate normal cdf (including h = 0 or k = 0); the
    ramp-pair formula gives the arc-cosine kernel for a single ramp at 0, is continuous at
    ρ = ±1, and the piecewise-linear closed form matches quadrature on a grid of (r, r', c)."""
    from scipy.stats import multivariate_normal
    for h, k, rho in [(0.3, -0.7, 0.5), (0.0, 1.2, -0.8), (-1.1, 0.0, 0.95), (0.0, 0.0, 0.3),
                      (2.0, 1.5, -0.99), (-0.5, -0.4, 0.9999), (-2.5, 0.7, 0.1)]:
        ref = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([h, k])
        assert bivariate_cdf(h, k, rho) == pytest.approx(ref, abs=1e-13)
    r = np.array([0.0, 0.3, 1.0, 2.0, 3.5])
    c = np.concatenate([[-1.0, -1 + 1e-13, 0.0, 1 - 1e-13, 1.0], np.linspace(-0.99, 0.99, 9)])
    R, R2, C = np.meshgrid(r, r, c, indexing="ij")
    np.testing.assert_allclose(ramp_pair(R, R2, C, 0.0, 0.0), closed_kernel("relu", R, R2, C),
                               rtol=0, atol=1e-14)
    for t1, t2 in [(0.5, 1.5), (1.5, 1.5), (-0.5, -1.5)]:
        near = ramp_pair(1.3, 0.8, [1 - 1e-14, -1 + 1e-14], t1, t2)
        ends = ramp_pair(1.3, 0.8, [1.0, -1.0], t1, t2)
        np.testing.assert_allclose(near, ends, rtol=0, atol=1e-13)
    act = make_activation("piecewise_linear", MMN)
    quad = np.empty(R.size)
    pair_quadrature(*pointwise_args(act), R.ravel(), R2.ravel(), C.ravel(), GL_NODES,
                    GL_WEIGHTS, quad)
    np.testing.assert_allclose(closed_kernel(act, R, R2, C).ravel(), quad, rtol=0, atol=1e-12)


def test_mehler_series_matches_numpy_twin():
    act = make_activation("relu")
    radii = np.array([0.0, 0.4, 1.0, 2.5])
    h, second = hermite_table(act, radii, 120)
    roots = tail_roots(h, second)
    rng = np.random.default_rng(4)
    first, other = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    c = np.concatenate([rng.uniform(-1, 1, 297), [1.0, -1.0, 0.0]])
    out, certified = np.empty(300), np.empty(300, dtype=bool)
    mehler_series(h, roots, first, other, c, 1e-12, out, certified)
    ref, ref_certified = mehler_series_numpy(h, roots, first, other, c, 1e-12)
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)
    assert np.array_equal(certified, ref_certified) and certified.any() and not certified.all()


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_shared_rule_hermite_table_matches_activation(name):
    """The matrix-product Hermite table of smooth activations equals the activation's own
    quadrature, and its second moments the activation's."""
    act = make_activation(name)
    radii = np.array([0.0, 0.3, 1.0, 2.2, 4.0])
    h, second = hermite_table(act, radii, 300)
    np.testing.assert_allclose(h, act.hermite(radii, 300).T, rtol=0, atol=1e-14)
    np.testing.assert_allclose(second, act.second_moment(radii), rtol=1e-13)


def test_kernel_properties():
    """Symmetry in (r, r') and δ → −δ, 2π-periodicity, r = 0 (K = σ(0) E σ(r'G)), the diagonal,
    and circle_kernel = K(1, 1, ·)."""
    problem = PlanarTeacher(make_activation("sigmoid"), TEACHER)
    d = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(problem.kernel(0.7, 1.9, d), problem.kernel(1.9, 0.7, -d),
                               atol=1e-15)
    np.testing.assert_allclose(problem.kernel(0.7, 1.9, d), problem.kernel(0.7, 1.9, d + 2 * np.pi),
                               atol=2e-12)
    np.testing.assert_allclose(problem.kernel(0.0, 1.9, d), 0.25, atol=1e-13)   # σ(0) · ½
    np.testing.assert_allclose(problem.kernel([0.5, 1.5, 3.0], [0.5, 1.5, 3.0], 0.0),
                               problem.diagonal([0.5, 1.5, 3.0]), atol=2e-12)
    np.testing.assert_allclose(problem.circle_kernel(d), problem.kernel(1.0, 1.0, d))


@pytest.mark.parametrize("name", ["relu", "tanh"])
def test_v_and_label_second_moment_match_monte_carlo(name):
    """V(r, φ) = −E[y σ(⟨w, x⟩)] and R_# = E y² against samples of the labelled data."""
    act = make_activation(name)
    problem = PlanarTeacher(act, TEACHER, TEACHER_WEIGHTS)
    x, y = problem.sample(400_000, np.random.default_rng(5))
    assert abs(y.var() + y.mean()**2 - problem.label_second_moment) < 5 * (y**2).std() / 632.4
    r = np.array([0.0, 0.8, 1.5, 2.2])
    phi = np.array([0.4, -2.0, 1.57, 3.0])
    v = problem.v(r, phi)
    np.testing.assert_allclose(problem.v(r[:, None], phi[None, :]).diagonal(), v)
    for k in range(4):
        values = -y * act.sigma(x @ polar(r[k], phi[k]))
        se = values.std() / math.sqrt(len(values))
        assert abs(v[k] - values.mean()) <= 5 * se + 1e-15, (k, v[k], values.mean(), se)
    np.testing.assert_allclose(problem.circle_v(phi), problem.v(1.0, phi))


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
    model = PlanarSgdModel(case)
    first = model.initial(60, np.random.default_rng(np.random.SeedSequence(1).spawn(1)[0]))
    assert res.risk[0] == pytest.approx(model.exact_risk(first), abs=1e-14)
    back = load_sgd(out)
    np.testing.assert_array_equal(back.risk, res.risk)
    for name in res.coords:
        np.testing.assert_array_equal(back.coords[name], res.coords[name])
    np.testing.assert_array_equal(back.weights, res.weights)
    again = simulate(case, seed=1)
    assert np.array_equal(again.risk, res.risk)
