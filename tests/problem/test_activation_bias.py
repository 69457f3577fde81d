"""Hermite coefficients with a shift, h_n(s; b) = E[σ(sG + b) He_n(G)]/√(n!), against adaptive
quadrature (scipy.integrate.quad, split at the kinks), Monte Carlo and finite differences."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from ddsolver.problem.activations import ACTIVATIONS, Activation, make_activation
from ddsolver.problem.gaussian import gaussian_expectation, hermite_quadrature, normalized_hermite

PARAMS = {"piecewise_linear": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5},
          "zigzag": {"s1": -1.0, "s2": 2.5, "s3": -4.0, "s4": 5.0,
                     "t1": 0.0, "t2": 0.25, "t3": 0.5, "t4": 1.5}}
NAMES = sorted(ACTIVATIONS)
# (s, b) pairs: s = 0, negative and positive shifts, shifts past the kinks
POINTS = np.array([(0.0, -1.3), (0.0, 0.7), (0.4, -2.0), (1.0, 0.5), (2.5, -0.8), (6.0, 3.0),
                   (0.7, 1.0)])
NMAX = 8


def activation(name):
    return make_activation(name, PARAMS.get(name, {}))


def reference(f, s, b, n, kinks, in_g=False):
    """E[f(sG + b) He_n(G)]/√(n!) by adaptive quadrature on g ∈ [−14, 14], split at the kinks
    (or E[f(G) He_n(G)]/√(n!), kinks ±(k − b)/s, if ``in_g``)."""
    if s == 0:
        return float(f(0.0) if in_g else f(b)) * (n == 0)
    psi = lambda g: normalized_hermite(g, n)[n]
    value = f if in_g else (lambda g: f(s * g + b))
    integrand = lambda g: value(g) * math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi) * psi(g)
    cuts = sorted(g for k in kinks for g in ((k - b) / s, (b - k) / s) if -14 < g < 14)
    edges = [-14.0, *cuts, 14.0]
    return sum(integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
               for lo, hi in itertools.pairwise(edges))


@pytest.mark.parametrize("name", NAMES)
def test_shift_against_adaptive_quadrature(name):
    act = activation(name)
    s, b = POINTS.T
    kinks = (0.0, *act.kinks)
    h, g = act.hermite(s, NMAX, b=b), act.hermite_prime(s, NMAX, b=b)
    second, even = act.second_moment(s, b=b), act.even_moment(s, b=b)
    for i, (si, bi) in enumerate(POINTS):
        for n in range(NMAX + 1):
            assert h[n, i] == pytest.approx(reference(act.sigma, si, bi, n, kinks), abs=1e-9)
            if not (si == 0 and bi in kinks):
                assert g[n, i] == pytest.approx(reference(act.dsigma, si, bi, n, kinks), abs=1e-9)
        expected = reference(lambda t: act.sigma(t) ** 2, si, bi, 0, kinks)
        assert second[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        part = lambda g, si=si, bi=bi: (0.5 * (act.sigma(bi + si * g) + act.sigma(bi - si * g)))**2
        expected = reference(part, si, bi, 0, kinks, in_g=True)
        assert even[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    np.testing.assert_array_equal(act.q(s, b), h[0])
    np.testing.assert_array_equal(act.dq(s, b), g[1])


@pytest.fixture(scope="module")
def samples():
    g = np.random.default_rng(7).standard_normal(400_000)
    return g, normalized_hermite(g, 4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("s, b", [(1.3, -0.6), (0.5, 1.2)])
def test_shift_against_monte_carlo(name, s, b, samples):
    g, psi = samples
    act = activation(name)
    sig = act.sigma(s * g + b)
    exact = {"q": act.q(s, b), "second moment": act.second_moment(s, b),
             **{f"h_{n}": v for n, v in enumerate(act.hermite(s, 4, b))},
             **{f"g_{n}": v for n, v in enumerate(act.hermite_prime(s, 4, b))}}
    values = {"q": sig, "second moment": sig**2,
              **{f"h_{n}": sig * psi[n] for n in range(5)},
              **{f"g_{n}": act.dsigma(s * g + b) * psi[n] for n in range(5)}}
    for key, v in values.items():
        mean, se = v.mean(), v.std(ddof=1) / math.sqrt(v.size)
        assert abs(mean - exact[key]) <= 5 * se + 1e-14, f"{key}: MC {mean} ± {se}, {exact[key]}"


@pytest.mark.parametrize("name", ["piecewise_linear", "zigzag", "relu", "erf"])
def test_closed_forms_match_panel_quadrature_at_high_order(name):
    act = activation(name)
    s = np.geomspace(0.05, 15, 12)
    for b in (-3.0, -0.4, 0.9, 2.5):
        h = hermite_quadrature(act.sigma, s, 40, act.kinks, b)
        g = hermite_quadrature(act.dsigma, s, 40, act.kinks, b)
        np.testing.assert_allclose(act.hermite(s, 40, b), h, rtol=0, atol=1e-12 * np.abs(h).max())
        np.testing.assert_allclose(act.hermite_prime(s, 40, b), g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["piecewise_linear", "relu"])
def test_ramp_moments_match_panel_quadrature(name):
    """Closed-form E σ(sG + b)² and even-part energy against the generic quadrature paths."""
    act = activation(name)
    s, b = np.meshgrid(np.concatenate([[0.0, 1e-9, 0.01], np.geomspace(0.1, 20, 20)]),
                       np.linspace(-4, 4, 17))
    second = gaussian_expectation(lambda t: act.sigma(t) ** 2, s, act.kinks, b)
    scale = np.abs(second).max()
    np.testing.assert_allclose(act.second_moment(s, b), second, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(act.even_moment(s, b), Activation.even_moment(act, s, b), rtol=0,
                               atol=1e-12 * scale)


@pytest.mark.parametrize("name", ["erf", "tanh", "sigmoid", "linear"])
def test_even_moment_is_the_even_parseval_sum(name):
    """E σ_e² = Σ_m h_{2m}(s; b)²; smooth σ: the partial sums converge fast (tanh, with poles
    at ±iπ/2, the slowest: ~1e-10 left at s = 2)."""
    act = activation(name)
    s, b = np.meshgrid([0.3, 1.0, 2.0], [-1.5, 0.0, 0.8])
    partial = np.sum(act.hermite(s, 200, b)[::2] ** 2, axis=0)
    np.testing.assert_allclose(act.even_moment(s, b), partial, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_integration_by_parts_with_shift(name):
    """h_n(s; b) = s g_{n−1}(s; b)/√n for n ≥ 1."""
    act = activation(name)
    s, b = np.meshgrid([0.2, 1.0, 3.0], [-1.5, 0.3, 2.0])
    h, g = act.hermite(s, 12, b), act.hermite_prime(s, 11, b)
    n = np.arange(1, 13)[:, None, None]
    np.testing.assert_allclose(h[1:], s * g / np.sqrt(n), rtol=0, atol=1e-11)


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_in_scale_and_shift(name):
    """∂_s h_n = dhermite, ∂_b h_n = g_n = hermite_prime (central differences)."""
    act = activation(name)
    s, b = np.meshgrid([0.3, 1.0, 3.0], [-1.2, 0.2, 1.7])
    h = 1e-5
    fd_s = (act.hermite(s + h, 10, b) - act.hermite(s - h, 10, b)) / (2 * h)
    fd_b = (act.hermite(s, 10, b + h) - act.hermite(s, 10, b - h)) / (2 * h)
    np.testing.assert_allclose(act.dhermite(s, 10, b), fd_s, rtol=0, atol=1e-7)
    np.testing.assert_allclose(act.hermite_prime(s, 10, b), fd_b, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_zero_shift_is_the_unshifted_result(name):
    act = activation(name)
    s = np.array([0.0, 0.05, 0.8, 4.0, 12.0])
    for method in ("hermite", "hermite_prime", "dhermite"):
        plain = getattr(act, method)(s, 20)
        np.testing.assert_array_equal(getattr(act, method)(s, 20, b=0.0), plain)
        np.testing.assert_array_equal(getattr(act, method)(s, 20, b=np.zeros(5)), plain)
    for method in ("q", "dq", "second_moment", "even_moment"):
        np.testing.assert_array_equal(getattr(act, method)(s, 0.0), getattr(act, method)(s))


@pytest.mark.parametrize("name", NAMES)
def test_scale_zero_is_the_limit_with_shift(name):
    act = activation(name)
    b = np.array([-2.0, -0.3, 0.9, 2.2])           # none at a kink
    expected = np.zeros((9, 4))
    expected[0] = act.sigma(b)
    np.testing.assert_allclose(act.hermite(0.0, 8, b), expected, atol=1e-15)
    for method in (act.hermite, act.hermite_prime, act.dhermite):
        np.testing.assert_allclose(method(0.0, 8, b), method(1e-9, 8, b), rtol=0, atol=1e-7)


def test_shapes_broadcast():
    act = activation("piecewise_linear")
    s, b = np.array([[0.5], [1.0], [2.0]]), np.array([-1.0, 0.0, 0.5, 3.0])
    h = act.hermite(s, 5, b)
    assert h.shape == (6, 3, 4)
    assert act.second_moment(s, b).shape == (3, 4)
    np.testing.assert_array_equal(h[:, 2, 1], act.hermite(2.0, 5, 0.0))
    np.testing.assert_allclose(act.hermite(1.0, 5, b)[:, 3], act.hermite(1.0, 5, 3.0))


@pytest.mark.parametrize("name", ["relu", "tanh", "erf"])
def test_bad_input_raises(name):
    act = activation(name)
    with pytest.raises(ValueError, match="shift b must be finite"):
        act.hermite(1.0, 3, b=np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="s must be >= 0"):
        act.hermite_prime(-1.0, 3, b=0.5)
