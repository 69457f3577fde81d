"""Fourier pseudo-spectral circle DD (ddsolver.operator.fourier) and its ETDRK4 stepper
(ddsolver.stepper.imex), against exact answers: docs/theory.md §3 and 5.2."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import iv

from ddsolver.operator.fourier import FourierOperator
from ddsolver.operator.fourier import cell_average_matrix as fourier_average
from ddsolver.stepper.imex import ETDRK4Stepper

TWO_PI = 2 * np.pi


def kuramoto(n, K, beta, xi=1.0):
    return FourierOperator(n, U=lambda d: -K * np.cos(d), beta=beta, xi=xi)


def modes(rho):
    """Complex Fourier coefficients ρ̂_k = (1/n) Σ ρ_j e^{−ikφ_j}, k ≥ 0."""
    return np.fft.rfft(rho) / rho.size


# --- operator against closed forms ----------------------------------------------------------

def test_convolution_and_transport_exact():
    K, a, b, n = 1.3, 0.07, -0.04, 32
    op = kuramoto(n, K, beta=2.0)
    p = op.phi
    rho = 1 / TWO_PI + a * np.cos(p) + b * np.sin(p)
    # ∫ −K cos(φ−φ') ρ(φ') dφ' = −Kπ (a cos φ + b sin φ)
    psi = -K * np.pi * (a * np.cos(p) + b * np.sin(p))
    np.testing.assert_allclose(op.psi(rho), psi, atol=1e-15)
    # ∂(ρ Ψ') with ρ' , Ψ'' in closed form (the product has modes ≤ 2 < n/3: no truncation)
    dpsi = -K * np.pi * (-a * np.sin(p) + b * np.cos(p))
    drho = -a * np.sin(p) + b * np.cos(p)
    exact = drho * dpsi - rho * psi
    np.testing.assert_allclose(op.transport(rho), exact, atol=1e-14)


def test_transport_with_external_potential_against_closed_form():
    n, alpha = 64, 0.5
    op = FourierOperator(n, V=lambda p: np.cos(3 * p), alpha=alpha, beta=1.0)
    p = op.phi
    rho = np.exp(0.4 * np.cos(p))
    drho = -0.4 * np.sin(p) * rho
    dV, d2V = -3 * np.sin(3 * p) / alpha, -9 * np.cos(3 * p) / alpha
    np.testing.assert_allclose(op.transport(rho), drho * dV + rho * d2V, atol=1e-12)


def test_dealiasing_gives_exact_projection():
    # n = 24 keeps |k| ≤ 7; ρ, V' have modes up to 7, so ρV' has modes up to 14, which alias
    # onto 10..12 on this grid: outside the kept band. The result must equal the exact
    # ∂(ρV') projected onto |k| ≤ 7, computed alias-free on a fine grid.
    def rho(p):
        return 1 / TWO_PI + 0.05 * np.cos(7 * p) + 0.03 * np.sin(5 * p)

    def V(p):
        return np.cos(6 * p) + 0.5 * np.sin(7 * p)

    n, fine = 24, 240
    op = FourierOperator(n, V=V, beta=1.0)
    p = TWO_PI * np.arange(fine) / fine
    dV = -6 * np.sin(6 * p) + 3.5 * np.cos(7 * p)
    d2V = -36 * np.cos(6 * p) - 24.5 * np.sin(7 * p)
    drho = -0.35 * np.sin(7 * p) + 0.15 * np.cos(5 * p)
    c = np.fft.rfft(drho * dV + rho(p) * d2V) / fine
    c[8:] = 0.0
    projected = np.fft.irfft(c * fine, n=fine)[:: fine // n]
    np.testing.assert_allclose(op.transport(rho(op.phi)), projected, atol=1e-13)
    assert np.abs(c[1:8]).max() > 0.1                                  # not a trivial check


def test_free_energy_exact():
    K, beta, a = 1.5, 3.0, 0.1
    op = kuramoto(64, K, beta)
    rho = 1 / TWO_PI + a * np.cos(op.phi)
    entropy = 2 * np.pi * np.mean(rho * np.log(rho))        # trapezoid = exact integral here
    # ½∫∫ −K cos(φ−φ') ρρ' = −K π² a² / 2
    assert op.free_energy(rho) == pytest.approx(-K * np.pi**2 * a**2 / 2 + entropy / beta,
                                                rel=1e-14)
    uniform = np.full(64, 1 / TWO_PI)
    assert op.free_energy(uniform) == pytest.approx(-np.log(TWO_PI) / beta, rel=1e-14)
    assert np.isnan(op.free_energy(uniform - 1.0))
    assert op.min_density(rho) == pytest.approx(1 / TWO_PI - a, rel=1e-14)
    assert op.min_density(rho, refine=4) == pytest.approx(1 / TWO_PI - a, rel=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 3}, "n must be"), ({"n": 16, "alpha": 0.0}, "alpha"),
    ({"n": 16, "beta": -1}, "beta"), ({"n": 16, "xi": np.inf}, "xi"),
    ({"n": 16, "V": np.zeros(5)}, "V must"), ({"n": 16, "U": np.zeros(16)}, "U must"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FourierOperator(**kwargs)


def test_fourier_cell_averages_exact_for_trigonometric_polynomials():
    n, offset = 16, -math.pi + math.pi / 16
    phi = offset + 2 * math.pi * np.arange(n) / n
    edges = np.linspace(-math.pi, math.pi, 41)

    def f(x):
        return 1 + 0.3 * np.cos(3 * x) + 0.2 * np.sin(7 * x)

    def antiderivative(x):
        return x + 0.1 * np.sin(3 * x) - 0.2 / 7 * np.cos(7 * x)
    exact = np.diff(antiderivative(edges)) / np.diff(edges)
    np.testing.assert_allclose(fourier_average(n, offset, edges) @ f(phi), exact, atol=1e-14)


# --- (a) mass, (d) heat kernel ---------------------------------------------------------------

def test_mass_conserved(fixed_step_run):
    op = FourierOperator(48, V=lambda p: np.sin(2 * p), U=lambda d: -2 * np.exp(np.cos(d)),
                         beta=1.5, xi=0.8)
    rho0 = np.exp(np.cos(op.phi - 1.0) + 0.3 * np.sin(3 * op.phi))
    rho0 /= op.mass(rho0)
    rho, hist = fixed_step_run(ETDRK4Stepper(op, 0.01), rho0, 3.0, record_every=5)
    assert abs(op.mass(rho) - 1.0) < 1e-13
    assert np.abs(hist["mass"] - 1.0).max() < 1e-13


def test_heat_kernel_exact(fixed_step_run):
    xi, beta, t, n = 0.7, 0.5, 0.3, 32
    op = FourierOperator(n, beta=beta, xi=xi)
    rho0 = np.exp(2 * np.cos(op.phi))
    rho, _ = fixed_step_run(ETDRK4Stepper(op, 0.1), rho0, t)
    k = np.arange(n // 2 + 1)
    np.testing.assert_allclose(modes(rho), modes(rho0) * np.exp(-2 * xi * k**2 * t / beta),
                               rtol=0, atol=1e-15)


# --- (b) linear rates about the uniform state -----------------------------------------------

@pytest.mark.parametrize("K, beta", [(1.0, 1.0), (2.0, 2.0)])          # βK = 1 and βK = 4
def test_kuramoto_linear_rates(K, beta, fixed_step_run):
    xi, eps, T = 0.7, 1e-7, 1.0
    op = kuramoto(32, K, beta, xi)
    p = op.phi
    rho0 = 1 / TWO_PI + eps * (np.cos(p) + np.cos(2 * p) + np.sin(3 * p))
    rho, _ = fixed_step_run(ETDRK4Stepper(op, 0.01), rho0, T)
    measured = np.log(np.abs(modes(rho)[1:4]) / np.abs(modes(rho0)[1:4])) / T
    exact = np.array([2 * xi * (K / 2 - 1 / beta), -2 * xi * 4 / beta, -2 * xi * 9 / beta])
    np.testing.assert_allclose(measured, exact, rtol=1e-3)
    assert np.sign(measured[0]) == np.sign(beta * K - 2)


# --- (c) bifurcation at βK = 2, (f) free energy ----------------------------------------------

def perturbed(op):
    p = op.phi
    return (1 + 0.3 * np.cos(p - 0.4) + 0.2 * np.sin(2 * p)) / TWO_PI


def test_subcritical_converges_to_uniform(fixed_step_run):
    op = kuramoto(32, K=1.5, beta=1.0)                                  # βK = 1.5 < 2
    rho, hist = fixed_step_run(ETDRK4Stepper(op, 0.05), perturbed(op), 80.0, record_every=10)
    assert np.abs(rho - 1 / TWO_PI).max() < 1e-12
    assert np.diff(hist["free_energy"]).max() <= 1e-14


def test_supercritical_converges_to_gibbs_state(fixed_step_run):
    K, beta = 2.0, 2.0                                                 # βK = 4 > 2
    op = kuramoto(64, K, beta)
    rho, hist = fixed_step_run(ETDRK4Stepper(op, 0.05), perturbed(op), 80.0, record_every=10)
    assert np.ptp(rho) > 0.1                                            # non-uniform
    assert np.abs(op.gibbs(rho) - rho).max() < 1e-8 * rho.max()        # ρ = e^{−βΨ}/Z
    assert np.abs(op.rhs(rho)).max() < 1e-8
    # independent check: ρ ∝ exp(βK m cos(φ − φ₀)) with m = |∫e^{iφ}ρ| = I₁(βKm)/I₀(βKm)
    m = abs(op.h * np.sum(np.exp(1j * op.phi) * rho))
    m_exact = brentq(lambda x: iv(1, beta * K * x) / iv(0, beta * K * x) - x, 1e-3, 1.0)
    assert m == pytest.approx(m_exact, rel=1e-10)
    F = hist["free_energy"]
    assert np.diff(F).max() <= 1e-14                                    # non-increasing
    assert F[-1] < op.free_energy(np.full(64, 1 / TWO_PI))             # below the uniform state
    assert hist["min_density"].min() > 0


def test_free_energy_decreases_with_external_potential(fixed_step_run):
    op = FourierOperator(48, V=lambda p: np.sin(2 * p), U=lambda d: -2 * np.exp(np.cos(d)),
                         alpha=0.7, beta=1.5, xi=0.8)
    rho0 = np.exp(np.cos(op.phi - 1.0) + 0.3 * np.sin(3 * op.phi))
    rho0 /= op.mass(rho0)
    _, hist = fixed_step_run(ETDRK4Stepper(op, 0.01), rho0, 5.0, record_every=1)
    dF = np.diff(hist["free_energy"])
    assert dF.max() <= 1e-13
    assert dF.min() < -1e-3


# --- (e) spectral convergence ----------------------------------------------------------------

def test_spectral_convergence(fixed_step_run):
    def solve(n):
        op = FourierOperator(n, V=lambda p: 0.2 * np.sin(2 * p),
                             U=lambda d: -2 * np.exp(0.5 * np.cos(d)), beta=2.0, xi=1.0)
        p = op.phi
        rho0 = np.exp(0.5 * np.cos(p - 0.3) + 0.25 * np.sin(2 * p))
        rho, _ = fixed_step_run(ETDRK4Stepper(op, 2e-3), rho0 / op.mass(rho0), 0.5)
        return op.interpolate(rho, 128)

    ref = solve(128)
    ns = [8, 12, 16, 24, 32, 48]
    err = np.array([np.abs(solve(n) - ref).max() for n in ns])
    assert np.all(np.diff(err) < 0)
    assert err[-1] / err[0] < 1e-8
    # exponential, not algebraic: the error ratio on doubling n keeps shrinking
    doubling = [err[2] / err[0], err[4] / err[2], err[5] / err[3]]     # 8→16, 16→32, 24→48
    assert doubling[0] < 0.05 and doubling[1] < doubling[0] / 10 and doubling[2] < 1e-4
