"""The ETDRK4 stepper (ddsolver.stepper.imex): its coefficients against direct formulas and
eigen-decompositions, its order in the eigenbasis of the polar blocks, the embedded error
control, and its argument checks."""

from itertools import pairwise

import numpy as np
import pytest
from scipy.linalg import expm

from ddsolver.operator.fourier import FourierOperator
from ddsolver.operator.polar import PolarOperator
from ddsolver.stepper.imex import (
    ETDRK4Stepper,
    etdrk4_coefficients,
    phi_functions,
    phi_scalars,
)

from ..operator.test_polar import BETA, LAM, LinearPlanar, exact_density


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


def test_phi_scalars_continuous_across_the_taylor_switch_and_complex():
    """The Taylor branch (|z| < 1) and the recursion (|z| ≥ 1) agree at |z| = 1 to round-off,
    for real and complex z; φ₁ matches expm1(z)/z."""
    for z in (1.0, -1.0, 1j, np.exp(2.3j)):
        inside, outside = phi_scalars(np.array([z * (1 - 1e-12)])), phi_scalars(np.array([z]))
        for a, b in zip(inside, outside):
            np.testing.assert_allclose(a, b, rtol=1e-11)
    z = np.array([-3e-3, 0.4 + 0.2j, -7.0, -600.0])
    np.testing.assert_allclose(phi_scalars(z)[1], np.expm1(z) / z, rtol=1e-13)


def polar_problem(n_r=16, n_phi=24):
    op = PolarOperator(LinearPlanar(), 0.2, 5.0, n_r, n_phi, -np.pi, alpha=1.0, lam=LAM,
                       beta=BETA)
    p0 = exact_density(op.r[:, None], op.phi[None, :], 0.0)
    return op, op.to_state(p0 / op.mass(p0))


def fixed_steps(stepper, v, t, n):
    for _ in range(n):
        v = stepper.step_state(v, t / n)
    return v


def test_etdrk4_fourth_order_in_the_eigenbasis():
    """Fixed steps on the polar operator (stepped in the eigenbasis of its blocks): the error
    against 512 steps falls by 2⁴ per halving (measured orders 4.2, 4.1); the mass stays to
    round-off (1.3e-13 after 512 steps: the eigenbasis conserves it only to cond(S)·ε a step)."""
    op, v0 = polar_problem()
    stepper = ETDRK4Stepper(op, 1.0)
    assert stepper.basis is not None
    ref = fixed_steps(stepper, v0, 0.2, 512)
    errors = [np.abs(fixed_steps(stepper, v0, 0.2, n) - ref).max() for n in (16, 32, 64)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(orders > 3.8), orders
    mass = [op.mass(op.from_state(v)) for v in (v0, ref)]
    assert abs(mass[1] - mass[0]) < 1e-12


def test_adaptive_steps_meet_the_tolerance():
    """advance (embedded third-order estimate, first same as last): the relative error at the
    stop is below tol and falls with it; repeated calls resume from the kept N."""
    op, v0 = polar_problem()
    ref = fixed_steps(ETDRK4Stepper(op, 1.0), v0, 0.2, 1024)
    errors = []
    for tol in (1e-5, 1e-7):
        stepper = ETDRK4Stepper(op, 0.1, tol=tol)
        v = v0
        for start, stop in pairwise((0.0, 0.05, 0.1, 0.2)):
            v, _ = stepper.advance(v, start, stop)
        errors.append(np.abs(v - ref).max() / np.abs(ref).max())
        assert errors[-1] < tol
    assert errors[1] < errors[0] / 20, errors
