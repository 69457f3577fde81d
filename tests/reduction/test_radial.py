"""The radial reduction (docs/theory.md §4.1) against Monte Carlo, quadrature and its own limits."""

import math

import numpy as np
import pytest

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import IsotropicGaussians
from ddsolver.reduction.radial import RadialReduction

from .helpers import PROBE_R, check_against_monte_carlo

MMN = dict(s1=-2.5, s2=7.5, t1=0.5, t2=1.5)


def reduction(dim, activation="piecewise_linear", params=MMN, **kw):
    return RadialReduction(make_activation(activation, params), IsotropicGaussians(0.8, dim), dim,
                           probe_r=np.linspace(0, 4, 81), **kw)


def monte_carlo_kernel(red, r1, r2, n=400_000, seed=0):
    """E[σ(⟨w,x⟩)σ(⟨w',x⟩)] averaged over y, for independent uniform directions w, w' in R^d."""
    rng = np.random.default_rng(seed)
    d = red.data.dim
    samples = []
    for tau in red.taus:
        w1 = rng.standard_normal((n, d))
        w2 = rng.standard_normal((n, d))
        x = tau * rng.standard_normal((n, d))
        s1 = r1 * np.einsum("ij,ij->i", w1, x) / np.linalg.norm(w1, axis=1)
        s2 = r2 * np.einsum("ij,ij->i", w2, x) / np.linalg.norm(w2, axis=1)
        samples.append(red.activation.sigma(s1) * red.activation.sigma(s2))
    values = 0.5 * (samples[0] + samples[1])
    return values.mean(), values.std() / math.sqrt(n)


@pytest.mark.parametrize("dim", [3, 10, 40])
@pytest.mark.parametrize("r1, r2", [(0.8, 0.8), (0.5, 2.0), (3.0, 1.5)])
def test_kernel_against_monte_carlo(dim, r1, r2):
    with pytest.warns(UserWarning, match="kernel series") if dim == 3 else _no_warning():
        red = reduction(dim)
    mean, err = monte_carlo_kernel(red, r1, r2)
    assert red.kernel([r1], [r2])[0, 0] == pytest.approx(mean, abs=5 * err)


class _no_warning:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_potential_v_against_monte_carlo():
    red = reduction(40)
    rng = np.random.default_rng(1)
    n = 400_000
    x, y = red.data.sample(n, rng)
    w = rng.standard_normal(red.data.dim)
    for r in (0.3, 1.0, 2.5):
        values = -y * red.activation.sigma(r * x @ (w / np.linalg.norm(w)))
        assert red.v(r) == pytest.approx(values.mean(), abs=5 * values.std() / math.sqrt(n))


def test_radial_diagonal_against_monte_carlo():
    red = RadialReduction(make_activation("piecewise_linear", MMN), IsotropicGaussians(0.6, 5), 5,
                          probe_r=PROBE_R, tol=1e-6, max_terms=100)
    check_against_monte_carlo(red, (1.3,), (0.6,))


def test_truncation_meets_its_bound():
    red = reduction(40, tol=1e-6)
    longer = reduction(40, tol=1e-12)
    assert red.tail_bound <= 1e-6 and longer.terms > red.terms
    r = np.linspace(0, 4, 41)
    scale = np.max(np.diag(longer.kernel(r, r)))
    assert np.max(np.abs(red.kernel(r, r) - longer.kernel(r, r))) <= red.tail_bound * scale


def test_kernel_converges_to_infinite_dimension():
    r = np.linspace(0.1, 4, 30)
    u_inf = reduction(math.inf).kernel(r, r)
    act, taus = make_activation("piecewise_linear", MMN), (1.8, 0.2)
    closed = 0.5 * sum(np.outer(act.q(t * r), act.q(t * r)) for t in taus)   # docs/theory.md §4.1
    np.testing.assert_allclose(u_inf, closed, atol=1e-13)
    gaps = [np.max(np.abs(reduction(d).kernel(r, r) - u_inf)) for d in (40, 400, 4000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)           # the gap is O(1/d)


def test_derivatives_against_finite_differences():
    red = reduction(40)
    r, h = np.linspace(0.05, 5, 40), 1e-5
    np.testing.assert_allclose(red.dv(r), (red.v(r + h) - red.v(r - h)) / (2 * h), atol=1e-8)
    fd = (red.features(r + h) - red.features(r - h)) / (2 * h)
    np.testing.assert_allclose(red.dfeatures(r), fd, atol=1e-8)


def test_odd_activation_has_trivial_radial_dynamics():
    red = reduction(40, activation="erf", params={})
    r = np.linspace(0, 3, 7)
    assert red.terms == 1
    np.testing.assert_allclose(red.v(r), 0, atol=1e-15)
    np.testing.assert_allclose(red.kernel(r, r), 0, atol=1e-15)
