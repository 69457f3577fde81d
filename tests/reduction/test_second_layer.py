"""Reductions with a second-layer weight, a bias, or anisotropic data (MATH.md 4.2, 4.3) against
Monte Carlo in the full dimension, their d = ∞ limits and their truncation bounds."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr, roots_jacobi

from ddsolver.problem.activations import make_activation
from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians
from ddsolver.reduction.anisotropic import AnisotropicReduction
from ddsolver.reduction.radial import RadialReduction
from ddsolver.reduction.second_layer import BiasedRadialReduction, SecondLayerReduction

MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ACTIVATIONS = [("relu", {}), ("piecewise_linear", MMN), ("tanh", {}), ("erf", {})]
IDS = [name for name, _ in ACTIVATIONS]
N_MC = 200_000
PROBE_B, PROBE_R = np.linspace(-2, 2, 5), np.linspace(0, 3, 16)
PROBE_AN = (np.linspace(0, 3, 13), np.linspace(0, 3, 13))


def biased(name, params, dim, kernel_dim=None, **kw):
    kw = {"tol": 1e-7, "max_terms": 100, **kw}
    return BiasedRadialReduction(make_activation(name, params), IsotropicGaussians(0.6, dim),
                                 dim if kernel_dim is None else kernel_dim, probe_b=PROBE_B,
                                 probe_r=PROBE_R, **kw)


def anisotropic(name, params, dim, signal_dim, kernel_dim=None, **kw):
    kw = {"tol": 1e-7, "max_terms": 60, "probe": PROBE_AN, **kw}
    return AnisotropicReduction(make_activation(name, params),
                                AnisotropicGaussians(0.6, dim, signal_dim),
                                dim if kernel_dim is None else kernel_dim, **kw)


# -- Monte Carlo in the full dimension ------------------------------------------------------------

def directions(rng, n, dim):
    u = rng.standard_normal((n, dim))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def random_units(rng, n, data, radii):
    """(n, d) weights with uniformly random directions and block norms ``radii``: (r,) for
    isotropic data, (r₁, r₂) for anisotropic data (blocks of sizes s₀, d − s₀)."""
    if len(radii) == 1:
        return radii[0] * directions(rng, n, data.dim)
    s0 = data.signal_dim
    return np.concatenate([radii[0] * directions(rng, n, s0),
                           radii[1] * directions(rng, n, data.dim - s0)], axis=1)


def assert_mc(values, exact, label="", slack=0.0):
    """exact within 5 standard errors (plus ``slack``) of the sample mean of values."""
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(values.size)
    assert abs(mean - exact) <= 5 * se + slack + 1e-12, \
        f"{label}: MC {mean:.6g} ± {se:.2g}, exact {exact:.6g}"


def check_against_monte_carlo(red, theta, theta2, bias=None, seed=0, truncation=0.0):
    """V(θ), the direction-averaged U(θ, θ') and the diagonal U(θ, θ) against Monte Carlo.

    θ, θ' are tuples of reduced coordinates; ``bias`` picks the b coordinate (index 0) of them.
    U may differ from the exact kernel by the certified ``truncation`` error besides the MC error.
    """
    rng = np.random.default_rng(seed)
    data, act = red.data, red.activation
    split = (lambda t: (t[0], t[1:])) if bias else (lambda t: (0.0, t))
    (b1, radii1), (b2, radii2) = split(theta), split(theta2)
    x, y = data.sample(N_MC, rng)
    w1, w2 = random_units(rng, N_MC, data, radii1), random_units(rng, N_MC, data, radii2)
    s1 = act.sigma(np.einsum("ij,ij->i", w1, x) + b1)
    s2 = act.sigma(np.einsum("ij,ij->i", w2, x) + b2)
    point = [np.array([c]) for c in theta]
    assert_mc(-y * s1, red.v(*point)[0], "V")
    assert_mc(s1**2, red.diagonal(*point)[0], "diagonal")
    u = (red.features(*point).T @ red.features(*(np.array([c]) for c in theta2)))[0, 0]
    assert_mc(s1 * s2, u, "U", truncation)


@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("theta, theta2", [((-0.7, 1.2), (0.5, 0.4)), ((1.0, 2.0), (-1.5, 1.5))])
def test_biased_radial_against_monte_carlo(name, params, theta, theta2):
    red = biased(name, params, 5)
    assert red.coords == ("b", "r") and red.tail_bound <= 1e-7
    check_against_monte_carlo(red, theta, theta2, bias=True)


@pytest.mark.parametrize("name, params", ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("theta, theta2", [((1.2, 0.5), (0.3, 1.4)), ((2.0, 0.0), (1.0, 1.0))])
def test_anisotropic_against_monte_carlo(name, params, theta, theta2):
    """d = 6, s₀ = 2: the series converges slowly (E c₁^(2m) ~ 1/√m), so the kernel is checked
    up to its certified truncation error, the bound times the largest averaged diagonal over the
    probe (all (r₁, r₂) pairs of the two points)."""
    probe = tuple(np.array(pair) for pair in zip(theta, theta2))
    red = anisotropic(name, params, 6, 2, tol=1e-3, max_terms=80, probe=probe)
    assert red.coords == ("r1", "r2") and red.tail_bound <= 1e-3
    corners = [c.ravel() for c in np.meshgrid(*probe)]
    scale = np.max(np.sum(red.features(*corners) ** 2, axis=0))
    check_against_monte_carlo(red, theta, theta2, truncation=red.tail_bound * scale)


def test_radial_diagonal_against_monte_carlo():
    red = RadialReduction(make_activation("piecewise_linear", MMN), IsotropicGaussians(0.6, 5), 5,
                          probe_r=PROBE_R, tol=1e-6, max_terms=100)
    check_against_monte_carlo(red, (1.3,), (0.6,))


# -- independent quadrature --------------------------------------------------------------------

def cosine_rule(dim, nodes):
    """Gauss–Jacobi rule for the cosine of two uniform directions in R^dim, density
    ∝ (1 − c²)^((dim−3)/2)."""
    c, w = roots_jacobi(nodes, (dim - 3) / 2, (dim - 3) / 2)
    return c, w / w.sum()


def certified(red, theta, theta2):
    """(U(θ, θ') from the features, its certified truncation error for the probe θ, θ')."""
    corners = [c.ravel() for c in np.meshgrid(*zip(theta, theta2))]
    scale = np.max(np.sum(red.features(*corners) ** 2, axis=0))
    u = red.features(*(np.array([c]) for c in theta)).T @ red.features(
        *(np.array([c]) for c in theta2))
    return u[0, 0], red.tail_bound * scale


def test_anisotropic_relu_kernel_against_arccos_formula():
    """E[ReLU(γZ) ReLU(γ'Z')] = γγ'/(2π) (√(1−ρ²) + (π − arccos ρ) ρ) averaged over the cosines c₁
    (in R^4) and c₂ (in R^6) by tensor Gauss–Jacobi quadrature (smooth: |ρ| < 1 here)."""
    data, theta, theta2 = AnisotropicGaussians(0.6, 10, 4), (1.2, 0.5), (0.3, 1.4)
    red = AnisotropicReduction(make_activation("relu"), data, 10, tol=1e-6, max_terms=80,
                               probe=tuple(np.array(p) for p in zip(theta, theta2)))
    (c1, w1), (c2, w2) = cosine_rule(4, 40), cosine_rule(6, 40)
    c1, c2 = np.meshgrid(c1, c2, indexing="ij")
    expected = 0.0
    for tau in data.taus:
        g, g2 = math.hypot(tau * theta[0], theta[1]), math.hypot(tau * theta2[0], theta2[1])
        rho = (tau**2 * theta[0] * theta2[0] * c1 + theta[1] * theta2[1] * c2) / (g * g2)
        arccos = g * g2 / (2 * np.pi) * (np.sqrt(1 - rho**2) + (np.pi - np.arccos(rho)) * rho)
        expected += 0.5 * np.sum(np.outer(w1, w2) * arccos)
    u, error = certified(red, theta, theta2)
    assert 0 < error < 1e-6 and abs(u - expected) <= error + 1e-13


def test_biased_relu_kernel_against_conditional_quadrature():
    """U = ½ Σ_τ E_c ∫ ReLU(a z + b) E[ReLU(a'(c z + √(1−c²) G) + b')] φ(z) dz, the inner
    expectation in closed form (E(m + ŝG)₊ = ŝ φ(m/ŝ) + m Φ(m/ŝ)), z by adaptive quadrature from
    the kink, c by Gauss–Jacobi quadrature."""
    data, (b, r), (b2, r2) = IsotropicGaussians(0.6, 5), (-0.7, 1.2), (0.5, 0.4)
    red = BiasedRadialReduction(make_activation("relu"), data, 5, tol=1e-10, max_terms=400,
                                probe_b=[b, b2], probe_r=[r, r2])
    phi = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    expected = 0.0
    for tau in data.taus:
        for c, w in zip(*cosine_rule(5, 40)):
            spread = tau * r2 * math.sqrt(1 - c * c)

            def integrand(z, tau=tau, c=c, spread=spread):
                m = tau * r2 * c * z + b2
                inner = spread * phi(m / spread) + m * ndtr(m / spread)
                return (tau * r * z + b) * inner * phi(z)

            expected += 0.5 * w * integrate.quad(integrand, -b / (tau * r), 14, epsabs=1e-14,
                                                 epsrel=1e-13, limit=200)[0]
    u, error = certified(red, (b, r), (b2, r2))
    assert error < 1e-10 and u == pytest.approx(expected, abs=error + 1e-10)


# -- d = ∞ ----------------------------------------------------------------------------------------

def test_biased_infinite_dimension_limit():
    b, r = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(0.1, 3, 6))
    b, r = b.ravel(), r.ravel()
    act = make_activation("relu")
    kernel = lambda red: red.features(b, r).T @ red.features(b, r)
    u_inf = kernel(biased("relu", {}, 5, kernel_dim=math.inf))
    closed = 0.5 * sum(np.outer(act.q(t * r, b), act.q(t * r, b)) for t in (1.6, 0.4))
    np.testing.assert_allclose(u_inf, closed, rtol=0, atol=1e-13)
    gaps = [np.max(np.abs(kernel(biased("relu", {}, d)) - u_inf)) for d in (50, 500, 5000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)          # the gap is O(1/d)


def test_anisotropic_infinite_dimension_limit():
    r1, r2 = np.meshgrid(np.linspace(0, 3, 5), np.linspace(0.2, 3, 5))
    r1, r2 = r1.ravel(), r2.ravel()
    act = make_activation("piecewise_linear", MMN)
    kernel = lambda red: red.features(r1, r2).T @ red.features(r1, r2)
    u_inf = kernel(anisotropic("piecewise_linear", MMN, 6, 2, kernel_dim=math.inf))
    gammas = [np.hypot(t * r1, r2) for t in (1.6, 0.4)]
    closed = 0.5 * sum(np.outer(act.q(g), act.q(g)) for g in gammas)
    np.testing.assert_allclose(u_inf, closed, rtol=0, atol=1e-12)
    gaps = [np.max(np.abs(kernel(anisotropic("piecewise_linear", MMN, d, d // 3)) - u_inf))
            for d in (30, 300, 3000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.1)


def test_anisotropic_kernel_dim_must_match_data():
    with pytest.raises(ValueError, match=r"kernel_dim: expected inf or data.dim = 6.*got 40"):
        anisotropic("relu", {}, 6, 2, kernel_dim=40)


# -- truncation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("build, tols", [
    (lambda tol: biased("relu", {}, 5, tol=tol, max_terms=400), (1e-3, 1e-7)),
    (lambda tol: anisotropic("piecewise_linear", MMN, 30, 10, tol=tol), (1e-3, 1e-7)),
    (lambda tol: anisotropic("relu", {}, 6, 2, tol=tol, max_terms=80), (1e-3, 2e-5)),
], ids=["biased", "anisotropic", "anisotropic-slow"])
def test_truncation_meets_its_bound(build, tols):
    short, long = build(tols[0]), build(tols[1])
    assert short.tail_bound <= tols[0] and long.tail_bound <= tols[1]
    assert long.terms > short.terms
    probe = (np.meshgrid(PROBE_B, PROBE_R) if short.coords == ("b", "r")
             else np.meshgrid(*PROBE_AN))
    probe = [c.ravel() for c in probe]
    u_short = short.features(*probe).T @ short.features(*probe)
    u_long = long.features(*probe).T @ long.features(*probe)
    scale = np.max(np.diag(u_long))
    gap = np.max(np.abs(u_short - u_long))
    assert 0 < gap <= (short.tail_bound + long.tail_bound) * scale


def test_truncation_warns_at_the_cap():
    with pytest.warns(UserWarning, match="kernel series for d = 6 stopped at .* = 3 terms") as rec:
        red = anisotropic("relu", {}, 6, 2, max_terms=3)
    assert rec[0].filename == __file__                      # reported at the caller's line
    with pytest.warns(UserWarning, match="kernel series for d = 5 stopped") as rec:
        biased("relu", {}, 5, max_terms=3)
    assert rec[0].filename == __file__
    assert red.terms == 3 and red.tail_bound > 1e-7 and red.rank == 2 * 6


# -- second-layer weights -------------------------------------------------------------------------

def test_second_layer_scales_the_inner_reduction():
    inner = biased("piecewise_linear", MMN, 5)
    red = SecondLayerReduction(inner)
    a, b, r = np.array([-1.5, 0.0, 0.7]), np.array([0.3, -1.0, 2.0]), np.array([1.0, 0.2, 2.5])
    assert red.coords == ("a", "b", "r")
    for key in ("scale", "lam", "data", "kernel_dim", "terms", "tail_bound", "rank"):
        assert getattr(red, key) == getattr(inner, key)
    np.testing.assert_array_equal(red.v(a, b, r), a * inner.v(b, r))
    np.testing.assert_array_equal(red.features(a, b, r), a * inner.features(b, r))
    np.testing.assert_array_equal(red.diagonal(a, b, r), a**2 * inner.diagonal(b, r))
    np.testing.assert_array_equal(red.log_jacobian(a, b, r), inner.log_jacobian(b, r))
    assert red.features(a, b, r).shape == (red.rank, 3)


@pytest.mark.parametrize("model", ["aw", "awb", "aw-anisotropic"])
def test_point_mass_risk_against_finite_network(model):
    """R for ρ = δ_θ, with directions averaged, against Monte Carlo of ŷ = (α/N) Σ_i a σ(⟨w_i, x⟩
    + b) with N units of the same reduced coordinates and independent uniform directions:

        E R_N = R_# + 2α V(θ) + α² [(1 − 1/N) Ū(θ, θ) + U(θ, θ)/N],

    Ū from the features (risk(v, f)), U(θ, θ) the diagonal. The probe is θ itself, so the
    certified truncation error of Ū is tail_bound · Ū."""
    scale, units = 1.5, 10
    act = make_activation("relu")
    if model == "aw-anisotropic":
        data = AnisotropicGaussians(0.6, 6, 2)
        theta, bias = (0.8, 1.2, 0.6), 0.0
        inner = AnisotropicReduction(act, data, 6, scale=scale, probe=([1.2], [0.6]), tol=1e-4)
    elif model == "awb":
        data = IsotropicGaussians(0.6, 5)
        theta, bias = (0.8, -0.4, 1.3), -0.4
        inner = BiasedRadialReduction(act, data, 5, scale=scale, probe_b=[-0.4], probe_r=[1.3],
                                      tol=1e-7)
    else:
        data = IsotropicGaussians(0.6, 5)
        theta, bias = (0.8, 1.3), 0.0
        inner = RadialReduction(act, data, 5, scale=scale, probe_r=[1.3], tol=1e-7)
    red = SecondLayerReduction(inner)
    point = [np.array([c]) for c in theta]
    averaged = red.risk(red.v(*point)[0], red.features(*point)[:, 0])
    u_bar = (averaged - 1 - 2 * scale * red.v(*point)[0]) / scale**2
    expected = averaged + scale**2 * (red.diagonal(*point)[0] - u_bar) / units

    rng = np.random.default_rng(3)
    n = N_MC // 2
    x, y = data.sample(n, rng)
    radii = theta[2:] if model == "awb" else theta[1:]
    w = random_units(rng, n * units, data, radii).reshape(n, units, data.dim)
    yhat = scale / units * theta[0] * act.sigma(np.einsum("iud,id->iu", w, x) + bias).sum(axis=1)
    assert_mc((y - yhat) ** 2, expected, "risk", scale**2 * red.tail_bound * u_bar)


def test_log_jacobians_give_chi_distributions():
    """With w ~ N(0, I_d) the reduced law is ∝ J e^(−|θ|²/2): E r² = d, E r₁² = s₀,
    E r₂² = d − s₀."""
    r = np.linspace(1e-4, 12, 6001)
    weight = lambda logj: np.exp(logj - logj.max())
    iso = SecondLayerReduction(biased("relu", {}, 5))
    p = weight(iso.log_jacobian(np.zeros_like(r), np.zeros_like(r), r) - r**2 / 2)
    assert np.sum(r**2 * p) / np.sum(p) == pytest.approx(5, rel=1e-6)
    an = anisotropic("relu", {}, 6, 2, kernel_dim=math.inf)
    r1, r2 = np.meshgrid(r[::10], r[::10], indexing="ij")
    p = weight(an.log_jacobian(r1, r2) - (r1**2 + r2**2) / 2)
    assert np.sum(r1**2 * p) / np.sum(p) == pytest.approx(2, rel=1e-4)
    assert np.sum(r2**2 * p) / np.sum(p) == pytest.approx(4, rel=1e-4)
