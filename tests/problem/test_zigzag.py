"""The zigzag activation (piecewise linear through four points, constant outside) against an
independent σ (numpy's interp through the points) and scipy's adaptive quadrature; its
parameter checks. Closed forms against the panel quadrature, Monte Carlo, shifts and the compiled
σ are in the parametrised tests next to this file and in tests/sgd/test_pointwise.py."""

import math

import numpy as np
import pytest
from scipy import integrate

from ddsolver.errors import CaseError
from ddsolver.problem.activations import ACTIVATIONS, make_activation
from ddsolver.problem.gaussian import normalized_hermite

ZIGZAG = {"s1": -1.0, "s2": 2.5, "s3": -4.0, "s4": 5.0, "t1": 0.0, "t2": 0.25, "t3": 0.5,
          "t4": 1.5}
KNOTS = [ZIGZAG[f"t{j}"] for j in (1, 2, 3, 4)]
LEVELS = [ZIGZAG[f"s{j}"] for j in (1, 2, 3, 4)]


def sigma(t):
    """σ by linear interpolation through (t_j, s_j), constant beyond the ends."""
    return np.interp(t, KNOTS, LEVELS)


def expect(f, s):
    """E f(sG), adaptive quadrature split at the kinks t_j/s."""
    density = lambda g: f(g) * math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)
    edges = [-12.0, *sorted({t / s for t in KNOTS if -12 < t / s < 12}), 12.0]
    return sum(integrate.quad(density, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
               for lo, hi in zip(edges[:-1], edges[1:]))


def test_sigma_is_the_interpolant_with_right_slopes():
    act = make_activation("zigzag", ZIGZAG)
    t = np.concatenate([np.linspace(-2, 3, 501), KNOTS])
    np.testing.assert_allclose(act.sigma(t), sigma(t), rtol=0, atol=1e-13)
    slopes = np.diff(LEVELS) / np.diff(KNOTS)                      # 14, −26, 9
    np.testing.assert_allclose(act.dsigma(np.array(KNOTS)), [*slopes, 0.0], atol=1e-13)
    assert act.kinks == tuple(KNOTS)


@pytest.mark.parametrize("s", [0.05, 0.17, 0.6, 1.4, 4.0, 14.0])
def test_gaussian_expectations_against_quadrature(s):
    """q(s) = E σ(sG), h_2 and h_4, E σ(sG)² and the even-part energy against scipy quad of the
    interpolant. The closed-form moments sum 16 ramp products whose s² terms cancel (Σ k_j = 0):
    about 1e-11 relative error at s ≥ 10."""
    act = make_activation("zigzag", ZIGZAG)
    h = act.hermite(s, 4)
    for n in (0, 2, 4):
        want = expect(lambda g, n=n: sigma(s * g) * normalized_hermite(np.array(g), n)[n], s)
        assert h[n] == pytest.approx(want, abs=1e-11)
    second = expect(lambda g: sigma(s * g) ** 2, s)
    assert act.second_moment(s) == pytest.approx(second, rel=1e-10, abs=1e-12)
    even = expect(lambda g: (0.5 * (sigma(s * g) + sigma(-s * g))) ** 2, s)
    assert act.even_moment(s) == pytest.approx(even, rel=1e-10, abs=1e-12)


def smoothed(m, eta):
    """E σ(m + ηG), adaptive quadrature split at the kinks (t_j − m)/η."""
    density = lambda g: sigma(m + eta * g) * math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)
    edges = [-12.0, *sorted({(t - m) / eta for t in KNOTS if -12 < (t - m) / eta < 12}), 12.0]
    return sum(integrate.quad(density, lo, hi, epsabs=1e-13, limit=200)[0]
               for lo, hi in zip(edges[:-1], edges[1:]))


def test_pair_kernel_against_quadrature():
    """K(r, r', c) = E σ(rZ₁)σ(r'Z₂) = E_Z₁[σ(rZ₁) E σ(r'cZ₁ + r'√(1−c²)G)] by nested quad."""
    act = make_activation("zigzag", ZIGZAG)
    for r, r2, c in [(0.3, 1.2, 0.4), (1.0, 1.0, -0.7), (0.11, 1.38, 0.05)]:
        eta = r2 * math.sqrt(1 - c * c)
        want = expect(lambda z, r=r, r2=r2, c=c, eta=eta: sigma(r * z) * smoothed(r2 * c * z, eta),
                      r)
        assert act.pair_kernel(r, r2, c) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("change, message", [
    ({"t3": 0.25}, r"activation_params\.t3: expected a number > t2 = 0\.25, got 0\.25"),
    ({"t4": 0.4}, r"activation_params\.t4: expected a number > t3 = 0\.5, got 0\.4"),
    ({"t2": -1.0}, r"activation_params\.t2: expected a number > t1 = 0, got -1\.0"),
    ({"s5": 1.0}, r"activation_params\.s5: unknown key \(allowed: s1, s2, s3, s4, t1, t2"),
])
def test_parameter_checks(change, message):
    with pytest.raises(CaseError, match=message):
        make_activation("zigzag", {**ZIGZAG, **change})
    with pytest.raises(CaseError, match=r"activation_params\.s4: required key is missing"):
        make_activation("zigzag", {k: v for k, v in ZIGZAG.items() if k != "s4"})
    assert ACTIVATIONS["zigzag"].check_params(ZIGZAG, "k") == ZIGZAG
