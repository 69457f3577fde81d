"""Even moments of the cosine between two uniform directions in R^d (ddsolver.reduction.cosine)
against quadrature, and their d = ∞ limit."""

import math

import pytest
from scipy import integrate

from ddsolver.reduction.cosine import even_cosine_moments


@pytest.mark.parametrize("dim", [3, 4, 10, 40])
def test_cosine_moments_against_quadrature(dim):
    weight = lambda c: (1 - c * c) ** ((dim - 3) / 2)
    norm = integrate.quad(weight, -1, 1)[0]
    for m, value in enumerate(even_cosine_moments(dim, 5)):
        expected = integrate.quad(lambda c: c ** (2 * m) * weight(c), -1, 1)[0] / norm
        assert value == pytest.approx(expected, rel=1e-10)


def test_cosine_moments_infinite_dimension():
    assert even_cosine_moments(math.inf, 3).tolist() == [1.0, 0.0, 0.0, 0.0]
