"""The ETDRK4 stepper (ddsolver.stepper.imex): its coefficients against direct formulas and
eigen-decompositions, and its argument checks."""

import numpy as np
import pytest
from scipy.linalg import expm

from ddsolver.operator.fourier import FourierOperator
from ddsolver.stepper.imex import ETDRK4Stepper, etdrk4_coefficients, phi_functions


def kuramoto(n, K, beta, xi=1.0):
    return FourierOperator(n, U=lambda d: -K * np.cos(d), beta=beta, xi=xi)


def test_etdrk4_coefficients_match_direct_formulas():
    L, h = np.array([-0.5, -3.0, -40.0]), 0.1
    z = L * h
    _, _, Q, f1, f2, f3 = etdrk4_coefficients(L, h)
    np.testing.assert_allclose(Q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    np.testing.assert_allclose(f1, h * (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3,
                               rtol=1e-9)
    np.testing.assert_allclose(f2, h * (2 + z + np.exp(z) * (z - 2)) / z**3, rtol=1e-9)
    np.testing.assert_allclose(f3, h * (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3,
                               rtol=1e-9)
    # z → 0 limits: Q = h/2, f1 = h/6, f2 = h/6, f3 = h/6
    np.testing.assert_allclose(etdrk4_coefficients(np.zeros(1), h)[2:],
                               [[h / 2], [h / 6], [h / 6], [h / 6]], rtol=1e-13)


def test_bad_stepper_arguments():
    op = kuramoto(16, 1.0, 1.0)
    with pytest.raises(ValueError, match="dt"):
        ETDRK4Stepper(op, 0.0)
    with pytest.raises(ValueError, match="rho must have shape"):
        op.to_state(op._check(np.ones(15)))


def test_phi_functions_match_eigen_formulas():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((6, 6))
    A = -(M @ M.T) - np.eye(6)                          # symmetric negative definite
    lam, S = np.linalg.eigh(A)
    phis = [np.exp(lam), np.expm1(lam) / lam, (np.expm1(lam) - lam) / lam**2,
            (np.expm1(lam) - lam - lam**2 / 2) / lam**3]
    for got, want in zip(phi_functions(A), phis):
        np.testing.assert_allclose(got, S @ np.diag(want) @ S.T, atol=1e-12)
    np.testing.assert_allclose(phi_functions(A)[0], expm(A), atol=1e-13)


def test_block_coefficients_equal_diagonal_contour_coefficients():
    symbols, h = -np.array([0.0, 0.3, 4.0, 90.0]), 0.07
    blocks = np.stack([np.diag(symbols)])
    for diagonal, block in zip(etdrk4_coefficients(symbols, h), etdrk4_coefficients(blocks, h)):
        np.testing.assert_allclose(np.diag(block[0]), diagonal, rtol=1e-10, atol=1e-14)
