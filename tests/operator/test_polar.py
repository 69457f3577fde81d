"""The polar (r, φ) spectral operator against the exact solution of the noisy planar DD with
linear units: w ~ N(m(t), s(t) I₂) with ṁ = 2u/α − 2(1 + λ)m and ṡ = −4λs + 4/β (docs/theory.md §3),
so the law of (r, φ) is r · N(w; m, s) and the risk is |u − m|² (U = ⟨w, w'⟩, V = −⟨u, w⟩)."""

import numpy as np
import pytest

from ddsolver.operator.polar import PolarOperator
from ddsolver.problem.schedule import Schedule
from ddsolver.stepper.spectral import SpectralRun

TEACHER = np.array([5.0, 2.0])
BETA, LAM = 10.0, 1.0
M0, S0 = np.array([2.0, -1.0]), 0.1


class LinearPlanar:
    """V, K and R_# of linear units σ(t) = t with labels y = ⟨u, x⟩, x ~ N(0, I₂)."""

    label_second_moment = float(TEACHER @ TEACHER)

    def kernel(self, r, r2, delta):
        return r * r2 * np.cos(delta)

    def v(self, r, phi):
        return -r * (TEACHER[0] * np.cos(phi) + TEACHER[1] * np.sin(phi))


def moments(t):
    m_inf, s_inf = TEACHER / (1 + LAM), 1 / (BETA * LAM)
    return (m_inf + (M0 - m_inf) * np.exp(-2 * (1 + LAM) * t),
            s_inf + (S0 - s_inf) * np.exp(-4 * LAM * t))


def exact_density(r, phi, t):
    m, s = moments(t)
    w1, w2 = r * np.cos(phi), r * np.sin(phi)
    return r * np.exp(-((w1 - m[0])**2 + (w2 - m[1])**2) / (2 * s)) / (2 * np.pi * s)


def solve_polar(n_r, n_phi, t=1.0):
    op = PolarOperator(LinearPlanar(), 0.2, 5.0, n_r, n_phi, -np.pi, alpha=1.0, lam=LAM,
                       beta=BETA)
    R, P = op.r[:, None], op.phi[None, :]
    p0 = exact_density(R, P, 0.0)
    run = SpectralRun(op, p0 / op.mass(p0), Schedule(), lambda p: p, tol=1e-8)
    energies = [run.free_energy()]
    for stop in np.linspace(0, t, 5)[1:]:
        run.advance(stop)
        energies.append(run.free_energy())
    return op, run, np.abs(run.nodal - exact_density(R, P, t)).max(), np.array(energies)


@pytest.fixture(scope="module")
def resolutions():
    return {n: solve_polar(*n) for n in ((24, 48), (32, 64), (40, 80))}


def test_polar_converges_spectrally_to_the_exact_law(resolutions):
    errors = [resolutions[n][2] for n in ((24, 48), (32, 64), (40, 80))]
    assert errors[-1] < 1e-2 and errors[0] / errors[1] > 4 and errors[1] / errors[2] > 4, errors


def test_polar_risk_mass_and_free_energy(resolutions):
    op, run, _, energies = resolutions[(40, 80)]
    m, _ = moments(1.0)
    assert abs(run.risk() - float((TEACHER - m) @ (TEACHER - m))) < 1e-6
    assert abs(op.mass(run.nodal) - 1) < 1e-12
    assert np.all(np.diff(energies) < 0)


def test_polar_psi_matches_direct_quadrature():
    op = PolarOperator(LinearPlanar(), 0.2, 5.0, 12, 16, 0.3, lam=LAM)
    R, P = op.r[:, None], op.phi[None, :]
    p = exact_density(R, P, 0.5)
    # Ψ(θ) = V + λr²/2 + ⟨w, ∫w' p⟩ by explicit double sums over the nodes
    mean = np.array([op.integrate(R * np.cos(P) * p), op.integrate(R * np.sin(P) * p)])
    direct = (LinearPlanar().v(R, P) + 0.5 * LAM * R**2
              + R * (mean[0] * np.cos(P) + mean[1] * np.sin(P)))
    np.testing.assert_allclose(op.psi(p), direct, atol=1e-12)


def test_polar_rejects_the_pole():
    with pytest.raises(ValueError, match="r_lo"):
        PolarOperator(LinearPlanar(), 0.0, 5.0, 12, 16)
