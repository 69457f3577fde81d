"""Chebyshev collocation on bounded intervals (ddsolver.operator.chebyshev): differentiation,
Clenshaw–Curtis weights and cell averages against exact integrals of polynomials."""

import math
from itertools import pairwise

import numpy as np
from numpy.polynomial import chebyshev as cheb

from ddsolver.operator.chebyshev import (
    apply_blocks,
    cell_average_matrix,
    clenshaw_curtis_weights,
    differentiation_matrix,
    lobatto_nodes,
)


def test_chebyshev_blocks_are_exact_on_polynomials():
    n, lo, hi = 11, 0.3, 2.7
    rng = np.random.default_rng(1)
    coef = rng.standard_normal(n)                      # degree n − 1 in the mapped variable
    poly = cheb.Chebyshev(coef, domain=[lo, hi])
    r = lobatto_nodes(n, lo, hi)
    assert r[0] == lo and math.isclose(r[-1], hi) and np.all(np.diff(r) > 0)
    np.testing.assert_allclose(differentiation_matrix(n, lo, hi) @ poly(r), poly.deriv()(r),
                               atol=1e-11 * np.abs(poly.deriv()(r)).max())
    antiderivative = poly.integ()
    np.testing.assert_allclose(clenshaw_curtis_weights(n, lo, hi) @ poly(r),
                               antiderivative(hi) - antiderivative(lo), rtol=1e-13)
    edges = np.sort(np.concatenate([[lo, hi], rng.uniform(lo, hi, 7)]))
    exact = np.diff(antiderivative(edges)) / np.diff(edges)
    np.testing.assert_allclose(cell_average_matrix(n, lo, hi, edges) @ poly(r), exact,
                               atol=1e-12 * np.abs(exact).max())


def test_clenshaw_curtis_converges_on_smooth_functions():
    errors = [abs(clenshaw_curtis_weights(n, 0.0, 3.0) @ np.exp(-lobatto_nodes(n, 0.0, 3.0)**2)
                  - 0.5 * math.sqrt(math.pi) * math.erf(3.0)) for n in (6, 10, 14, 22)]
    assert errors[-1] < 1e-12 and all(b < a / 10 for a, b in pairwise(errors[:3]))


def test_apply_blocks_on_real_and_complex_vectors():
    """Σ_j B[m, i, j] v[m, j] by one batched real product, against einsum, also for complex v
    (the real/imaginary view), non-contiguous v and complex blocks."""
    rng = np.random.default_rng(4)
    blocks = rng.standard_normal((5, 7, 7))
    real = rng.standard_normal((5, 7))
    complex_v = rng.standard_normal((5, 7)) + 1j * rng.standard_normal((5, 7))
    for B in (blocks, blocks + 1j * rng.standard_normal((5, 7, 7))):
        for v in (real, complex_v, complex_v[:, ::-1], complex_v.T.copy().T):
            np.testing.assert_allclose(apply_blocks(B, v), np.einsum("mij,mj->mi", B, v),
                                       rtol=1e-13, atol=1e-13)
