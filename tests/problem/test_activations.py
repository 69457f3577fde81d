"""Activations and their Hermite coefficients: closed forms, panel quadrature, Monte Carlo."""

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermeval

from ddsolver.errors import CaseError
from ddsolver.problem.activations import ACTIVATIONS, make_activation
from ddsolver.problem.gaussian import (
    gaussian_expectation,
    hermite_quadrature,
    normalized_hermite,
    phi_times_hermite,
)

MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ZIGZAG = {"s1": -1.0, "s2": 2.5, "s3": -4.0, "s4": 5.0, "t1": 0.0, "t2": 0.25, "t3": 0.5, "t4": 1.5}
PARAMS = {"piecewise_linear": MMN, "zigzag": ZIGZAG}
CLOSED_FORMS = ("piecewise_linear", "zigzag", "relu", "linear", "erf")
SCALES = np.concatenate([[0.01, 0.03, 0.1, 0.3], np.geomspace(0.5, 20.0, 21)])
NMAX = 40


def activation(name):
    return make_activation(name, PARAMS.get(name, {}))


def close(actual, expected, rel):
    """|actual − expected| ≤ rel · max(1, max|expected|)."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rel * scale)


# -- Hermite polynomials --------------------------------------------------------------------------

def test_normalized_hermite_matches_numpy():
    x = np.linspace(-6, 6, 49)
    psi = normalized_hermite(x, 20)
    for n in range(21):
        coef = np.zeros(n + 1)
        coef[n] = 1 / math.sqrt(math.factorial(n))
        np.testing.assert_allclose(psi[n], hermeval(x, coef), rtol=1e-12, atol=1e-12)


def test_hermite_rows_stay_finite_at_high_order():
    x = np.array([-40.0, -3.0, 0.0, 7.0, 40.0])
    assert np.all(np.isfinite(normalized_hermite(x, 1000)))
    p = phi_times_hermite(np.array([40.0, 60.0, np.inf, -np.inf]), 1000)
    assert np.all(np.isfinite(p))
    np.testing.assert_array_equal(p[:, 1:], 0.0)
    np.testing.assert_allclose(p[0, 0], np.exp(-800) / math.sqrt(2 * math.pi))


# -- closed forms against the panel quadrature ----------------------------------------------------

@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_closed_forms_match_quadrature(name):
    act = activation(name)
    h_ref = hermite_quadrature(act.sigma, SCALES, NMAX, act.kinks)
    g_ref = hermite_quadrature(act.dsigma, SCALES, NMAX, act.kinks)
    close(act.hermite(SCALES, NMAX), h_ref, 1e-11)
    close(act.hermite_prime(SCALES, NMAX), g_ref, 1e-11)
    close(act.q(SCALES), gaussian_expectation(act.sigma, SCALES, act.kinks), 1e-11)
    close(act.dq(SCALES), g_ref[1], 1e-11)


def test_second_moments_in_closed_form():
    """E ReLU(sG)² = s²/2, E (sG)² = s², E erf(sG)² = (2/π) arcsin(2s²/(1 + 2s²))."""
    s2 = SCALES**2
    close(activation("relu").second_moment(SCALES), s2 / 2, 1e-13)
    close(activation("linear").second_moment(SCALES), s2, 1e-13)
    close(activation("erf").second_moment(SCALES), 2 / np.pi * np.arcsin(2 * s2 / (1 + 2 * s2)),
          1e-13)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_quadrature_obeys_gaussian_integration_by_parts(name):
    """h_n(s) = s g_{n−1}(s)/√n, from E[f(G) He_n(G)] = E[f'(G) He_{n−1}(G)]."""
    act = activation(name)
    h, g = act.hermite(SCALES, NMAX), act.hermite_prime(SCALES, NMAX - 1)
    n = np.arange(1, NMAX + 1)[:, None]
    close(h[1:], SCALES * g / np.sqrt(n), 1e-11)


# -- Monte Carlo ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def samples():
    g = np.random.default_rng(20180417).standard_normal(1_000_000)
    return g, normalized_hermite(g, 6)


def assert_mc(values, exact, label):
    """exact within 5 standard errors of the sample mean of values."""
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(values.size)
    assert abs(mean - exact) <= 5 * se, f"{label}: MC {mean:.6g} ± {se:.2g}, exact {exact:.6g}"


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("s", [0.6, 2.5])
def test_against_monte_carlo(name, s, samples):
    g, psi = samples
    act = activation(name)
    sig, dsig = act.sigma(s * g), act.dsigma(s * g)
    h = act.hermite(s, 6)
    assert_mc(sig, act.q(s), "q")
    assert_mc(dsig * g, act.dq(s), "dq")
    assert_mc(sig**2, act.second_moment(s), "second moment")
    for n in range(7):
        assert_mc(sig * psi[n], h[n], f"h_{n}")


# -- derivative and limits ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dhermite_matches_finite_differences(name):
    act = activation(name)
    s = np.array([0.3, 1.0, 3.0, 8.0])
    step = 1e-5 * s
    fd = (act.hermite(s + step, 10) - act.hermite(s - step, 10)) / (2 * step)
    close(act.dhermite(s, 10), fd, 1e-8)
    close(act.dq(s), fd[0], 1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_scale_zero_is_the_limit(name):
    act = activation(name)
    expected = np.zeros(9)
    expected[0] = act.sigma(0.0)
    np.testing.assert_allclose(act.hermite(0.0, 8), expected, atol=1e-15)
    for method in (act.hermite, act.hermite_prime, act.dhermite):
        close(method(0.0, 8), method(1e-9, 8), 1e-7)
    close(act.second_moment(0.0), act.sigma(0.0) ** 2, 1e-15)


def test_scale_zero_values():
    relu, sigmoid = activation("relu"), activation("sigmoid")
    np.testing.assert_allclose(relu.hermite_prime(0.0, 2), [0.5, 1 / math.sqrt(2 * math.pi), 0])
    np.testing.assert_allclose(relu.dq(0.0), 1 / math.sqrt(2 * math.pi))
    np.testing.assert_allclose(sigmoid.hermite_prime(0.0, 2), [0.25, 0, 0])
    np.testing.assert_allclose(activation("piecewise_linear").q(0.0), -2.5)


@pytest.mark.parametrize("name", ["relu", "tanh"])
@pytest.mark.parametrize("method", ["hermite", "hermite_prime", "dhermite"])
def test_negative_scale_raises(name, method):
    act = activation(name)
    with pytest.raises(ValueError, match="s must be >= 0"):
        getattr(act, method)(np.array([1.0, -0.5]), 3)
    with pytest.raises(ValueError):
        act.second_moment(-1.0)


# -- Parseval -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["relu", "piecewise_linear"])
def test_parseval(name):
    """Σ_{n ≤ N} h_n(s)² increases to E σ(sG)²; the ReLU tail decays like N^(−3/2)."""
    act = activation(name)
    s = np.array([0.3, 1.0, 3.0])
    energy = act.second_moment(s)
    residual = (energy - np.cumsum(act.hermite(s, 800) ** 2, axis=0)) / energy
    assert np.all(residual > -1e-12)
    assert np.all(residual[800] < 3e-4)
    assert np.all(residual[800] < residual[200] / 4)
    if name == "relu":
        np.testing.assert_allclose(residual[200] / residual[800], 8, rtol=0.05)


# -- parameters and registry ----------------------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({**MMN, "t3": 1.0}, r"activation_params\.t3: unknown key \(allowed: s1, s2, t1, t2\)"),
    ({"s1": 1.0, "s2": 2.0, "t1": 0.0}, r"activation_params\.t2: required key is missing"),
    ({**MMN, "t2": 0.5}, r"activation_params\.t2: expected .*t1.*got 0\.5"),
    ({**MMN, "s1": "low"}, r"activation_params\.s1: expected a number, got 'low'"),
    ({**MMN, "s2": True}, r"activation_params\.s2: expected a number, got True"),
    ({**MMN, "t1": math.nan}, r"activation_params\.t1: expected a finite number"),
])
def test_check_params_names_the_key(params, message):
    cls = ACTIVATIONS["piecewise_linear"]
    with pytest.raises(CaseError, match=message):
        cls.check_params(params, "network.activation_params")
    with pytest.raises(CaseError, match=message):
        cls(**params)


def test_parameterless_activations_take_no_parameters():
    assert ACTIVATIONS["relu"].check_params({}, "k") == {}
    with pytest.raises(CaseError, match=r"k\.slope: unknown key \(allowed: none\)"):
        ACTIVATIONS["relu"].check_params({"slope": 1.0}, "k")


def test_registry_and_round_trip():
    for name, cls in ACTIVATIONS.items():
        act = activation(name)
        assert isinstance(act, cls) and act.name == name
        spec = act.to_dict()
        assert make_activation(spec["activation"], spec["activation_params"]).to_dict() == spec
    assert activation("piecewise_linear").params == MMN
    message = r"network\.activation: expected one of .*'relu'.*got 'gelu'"
    with pytest.raises(CaseError, match=message):
        make_activation("gelu", {})


def test_pair_kernels_are_symmetric_and_give_the_second_moment_on_the_diagonal():
    """Activations with has_closed_pair_kernel give K(r, r', c) = E σ(rZ₁)σ(r'Z₂) symmetric in
    (r, r') with K(r, r, 1) = E σ(rG)² (computed independently by the Hermite route); the others
    raise NotImplementedError. The closed forms themselves are checked against quadrature in
    tests/problem/test_planar.py."""
    for name in ACTIVATIONS:
        act = activation(name)
        if act.has_closed_pair_kernel:
            np.testing.assert_allclose(act.pair_kernel(1.3, 0.4, [-0.7, 0.2, 1.0]),
                                       act.pair_kernel(0.4, 1.3, [-0.7, 0.2, 1.0]), atol=1e-15)
            np.testing.assert_allclose(act.pair_kernel([0.5, 2.0], [0.5, 2.0], 1.0),
                                       act.second_moment([0.5, 2.0]), rtol=1e-12)
        else:
            with pytest.raises(NotImplementedError):
                act.pair_kernel(1.0, 1.0, 0.5)
