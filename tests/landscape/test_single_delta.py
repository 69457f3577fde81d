"""The single-delta ansatz (ddsolver.landscape.single_delta) against independent computations:
closed forms of the 9.1 activation at d = ∞ (risk, potential, the threshold where the curve
r ↦ (q(τ₊r), q(τ₋r)) passes through (1, −1)), 1-D quadratures over the chi law at d = 40, the
(a, r) units' optimal weight, and one-line errors."""

import copy
import math

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.special import beta as beta_function
from scipy.special import betainc, gammaln, roots_genlaguerre

from ddsolver.case import normalize_case
from ddsolver.errors import CaseError
from ddsolver.landscape.single_delta import (
    GAP_TOL,
    delta_threshold,
    single_delta,
    with_delta,
)

from ..mmn_reference import MMN, ramp_q

SLOPE = (MMN["s2"] - MMN["s1"]) / (MMN["t2"] - MMN["t1"])


def mmn_case(kernel_dim, delta=0.3, unit="w", cells=800, **pde):
    grid = {"r": {"min": 0.0, "max": 8.0, "cells": cells}}
    init = {"kind": "gaussian", "kappa": 0.8}
    if unit == "aw":
        grid = {"a": {"min": -4.0, "max": 4.0, "cells": 16}, **grid}
        init["a"] = {"kind": "uniform", "low": -0.5, "high": 0.5}
    return normalize_case({
        "data": {"kind": "isotropic_gaussians", "delta": delta, "dim": 40},
        "network": {"unit": unit, "activation": "piecewise_linear", "activation_params": MMN},
        "training": {"t_final": 1.0}, "init": init,
        "pde": {"kernel_dim": kernel_dim, "grid": grid, **pde}})


def dense_min(f, lo=0.0, hi=8.0, n=8001):
    """Brute force: the best of n points, refined by a bounded search between its neighbours."""
    r = np.linspace(lo, hi, n)
    values = np.array([f(x) for x in r])
    i = int(np.argmin(values))
    a, b = r[max(i - 1, 0)], r[min(i + 1, n - 1)]
    res = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-12})
    return (res.x, res.fun) if res.fun < values[i] else (r[i], values[i])


# -- d = ∞: R(δ_r) = ½(1 − q(τ₊r))² + ½(1 + q(τ₋r))², q in closed form ----------------------

def infinite_d_risk(r, delta):
    return 0.5 * (1 - ramp_q((1 + delta) * r)) ** 2 + 0.5 * (1 + ramp_q((1 - delta) * r)) ** 2


@pytest.mark.parametrize("delta", [0.3, 0.4, 0.6, 0.8])
def test_infinite_d_optimum_is_the_brute_force_minimum(delta):
    found = single_delta(mmn_case(math.inf, delta))
    r, risk = dense_min(lambda x: float(infinite_d_risk(x, delta)))
    assert found.weight is None
    assert found.risk == pytest.approx(risk, abs=1e-12)
    assert found.radius == pytest.approx(r, abs=1e-6)
    # the convex-hull reference values of docs/theory.md §6b (to their digits)
    reference = {0.3: 0.13924, 0.4: 0.025568, 0.6: 0.0750, 0.8: 0.4928}[delta]
    assert found.risk == pytest.approx(reference, abs=0.6 * 10 ** -(len(str(reference)) - 2))


@pytest.mark.parametrize("delta", [0.3, 0.5, 0.8])
def test_infinite_d_certificate_is_a_projection(delta):
    """Ψ(r) = −½ ⟨(1 − Q₊*, −1 − Q₋*), (q(τ₊r), q(τ₋r))⟩ at d = ∞, α = 1: the gap is Ψ(r*) minus
    its minimum on [0, 8]."""
    found = single_delta(mmn_case(math.inf, delta))
    taus = (1 + delta, 1 - delta)
    q_star = [ramp_q(t * found.radius) for t in taus]
    psi = lambda r: -0.5 * ((1 - q_star[0]) * ramp_q(taus[0] * r)
                            + (-1 - q_star[1]) * ramp_q(taus[1] * r))
    r_min, psi_min = dense_min(lambda x: float(psi(x)))
    gap = float(psi(found.radius)) - psi_min
    if delta < 0.47:
        assert gap < 1e-12 and found.gap < 1e-12 and found.optimal
    else:
        assert found.gap == pytest.approx(gap, rel=1e-8)
        assert not found.optimal
        assert float(psi(found.potential_min_at[0])) == pytest.approx(psi_min, abs=1e-10)


def test_infinite_d_threshold_is_where_the_curve_meets_the_target():
    """At d = ∞ the single delta is optimal until R* = 0: q(τ₊r) = 1 and q(τ₋r) = −1 for one r,
    i.e. (1 + Δ)/(1 − Δ) = q⁻¹(1)/q⁻¹(−1), Δ_h = (a − b)/(a + b) with a = q⁻¹(1), b = q⁻¹(−1)."""
    a = brentq(lambda s: ramp_q(s) - 1, 0.1, 20, xtol=1e-15)
    b = brentq(lambda s: ramp_q(s) + 1, 0.1, 20, xtol=1e-15)
    exact = (a - b) / (a + b)
    found = delta_threshold(mmn_case(math.inf), tol=1e-6)        # bracket from the coarse scan
    assert found.lo <= exact <= found.hi
    assert found.hi - found.lo <= 1e-6
    assert exact == pytest.approx(0.474219, abs=1e-6)


# -- d = 40: quadrature over |x| = τ S, S ~ χ_d, and the cosine law of the directions ----------

def cosine_ramp(dim):
    """g(a) = E_c σ(a c), c the cosine of two uniform directions in R^d ((1 + c)/2 ~ Beta(m+1,
    m+1), m = (d − 3)/2), in closed form for the ramp σ (as in tests/mmn_reference.py)."""
    m = (dim - 3) / 2
    norm = beta_function(0.5, m + 1)
    cdf = lambda u: betainc(m + 1, m + 1, (np.clip(u, -1, 1) + 1) / 2)
    first = lambda lo, hi: (((1 - np.clip(lo, -1, 1) ** 2) ** (m + 1)
                             - (1 - np.clip(hi, -1, 1) ** 2) ** (m + 1)) / (2 * (m + 1) * norm))

    def g(a):
        with np.errstate(divide="ignore"):
            lo, hi = MMN["t1"] / a, MMN["t2"] / a
        clip = MMN["t1"] * cdf(lo) + MMN["t2"] * (1 - cdf(hi)) + a * first(lo, hi)
        return MMN["s1"] + SLOPE * (clip - MMN["t1"])
    return g


def chi_expectation(dim, nodes=80):
    """E f(S), S ~ χ_d, by generalised Gauss–Laguerre in S²/2 ~ Γ(d/2) (80 nodes agree with
    adaptive quadrature to 2e-15 on these integrands)."""
    x, w = roots_genlaguerre(nodes, dim / 2 - 1)
    s, w = np.sqrt(2 * x), w / math.exp(gammaln(dim / 2))
    return lambda f: float(w @ f(s))


def finite_d_functions(delta, dim=40):
    """R(δ_r) = ½ Σ_± E(±1 − g(r τ_± S))², and Ψ(r; δ_ρ) = ½ Σ_± E[g(r τ S)(g(ρ τ S) ∓ 1)]: a unit
    of radius r against the network ŷ(x) = g(ρ|x|) of the delta at ρ (α = 1)."""
    g, expect = cosine_ramp(dim), chi_expectation(dim)
    labels = ((1 + delta, 1.0), (1 - delta, -1.0))

    def risk(r):
        return sum(0.5 * expect(lambda s: (y - g(r * tau * s)) ** 2) for tau, y in labels)

    def potential(r, rho):
        return sum(0.5 * expect(lambda s: g(r * tau * s) * (g(rho * tau * s) - y))
                   for tau, y in labels)
    return risk, potential


@pytest.mark.parametrize("delta", [0.3, 0.5])
def test_finite_d_optimum_and_gap_by_quadrature(delta):
    found = single_delta(mmn_case(40, delta))
    risk, potential = finite_d_functions(delta)
    res = minimize_scalar(risk, bounds=(1.3, 2.0), method="bounded", options={"xatol": 1e-9})
    assert found.risk == pytest.approx(res.fun, abs=1e-9)
    assert found.radius == pytest.approx(res.x, abs=1e-5)
    r = np.linspace(0.0, 8.0, 801)
    psi = np.array([potential(x, found.radius) for x in r]) - potential(found.radius,
                                                                        found.radius)
    if delta < 0.43:
        assert psi.min() > -1e-9 and found.optimal
    else:                             # the best competitor is r = 0, an end of the grid
        assert np.argmin(psi) == 0 and found.potential_min_at == (0.0,)
        assert found.gap == pytest.approx(-psi.min(), rel=1e-9)


def test_finite_d_threshold_by_quadrature():
    """Around the d = 40 threshold the competitor is the grid's end r = 8: by quadrature,
    Ψ(8) − Ψ(r*) (r* minimising the quadrature risk) is ≥ 0 below the bracket and < 0 above,
    and no r on [0, 8] beats r* below it."""
    case = mmn_case(40, cells=3200)
    found = delta_threshold(case, 0.42, 0.44, tol=1e-5)
    assert found.hi - found.lo <= 1e-5 and 0.43 < found.delta < 0.435
    sides = []
    for delta in (found.lo - 1e-4, found.hi + 1e-4):
        risk, potential = finite_d_functions(delta)
        r_star = minimize_scalar(risk, bounds=(1.5, 1.9), method="bounded",
                                 options={"xatol": 1e-10}).x
        psi = lambda r: potential(r, r_star) - potential(r_star, r_star)
        sides.append(psi(8.0))
        if delta < found.lo:
            assert min(psi(r) for r in np.linspace(0, 8, 401)) > -1e-9
    assert sides[0] > 1e-6 and sides[1] < -1e-6


# -- units a σ(⟨w, x⟩): a*(r) = −v/(α u), clipped to the grid's a range ---------------------

def test_second_layer_units_at_infinite_d():
    """R(δ_(a,r)) = ½(1 − a q₊)² + ½(1 + a q₋)², minimised over |a| ≤ 4 by a = clip((q₊ − q₋)/
    (q₊² + q₋²)), then over r by brute force (Δ = 0.1: a* = 4, the grid's end)."""
    delta = 0.1
    taus = (1 + delta, 1 - delta)

    def best(r):
        qp, qm = ramp_q(taus[0] * r), ramp_q(taus[1] * r)
        a = np.clip((qp - qm) / (qp**2 + qm**2), -4, 4)
        return a, 0.5 * (1 - a * qp) ** 2 + 0.5 * (1 + a * qm) ** 2

    found = single_delta(mmn_case(math.inf, delta, unit="aw"))
    r, risk = dense_min(lambda x: float(best(x)[1]))
    assert found.risk == pytest.approx(risk, abs=1e-12)
    assert found.radius == pytest.approx(r, abs=1e-6)
    assert found.weight == 4.0 == float(best(r)[0])


def test_second_layer_units_at_finite_d():
    """d = 40 by quadrature: R(δ_(a,r)) = ½ Σ_± E(±1 − a g(rτ_±S))², a*(r) = Σ_± ±E g / Σ_± E g²;
    the box certificate min over |a| ≤ 4 of a Ψ₁(r), Ψ₁(r) = ½ Σ_± E[g(rτS)(a* g(r*τS) ∓ 1)], is
    −4 max |Ψ₁|, while Ψ(a*, r*) = a* Ψ₁(r*) = 0: gap = 4 max |Ψ₁| > 0."""
    delta = 0.3
    g, expect = cosine_ramp(40), chi_expectation(40)
    labels = ((1 + delta, 1.0), (1 - delta, -1.0))

    def best(r):
        a = (sum(y * expect(lambda s: g(r * tau * s)) for tau, y in labels)
             / sum(expect(lambda s: g(r * tau * s) ** 2) for tau, y in labels))
        a = float(np.clip(a, -4, 4))
        return a, sum(0.5 * expect(lambda s: (y - a * g(r * tau * s)) ** 2) for tau, y in labels)

    found = single_delta(mmn_case(40, delta, unit="aw"))
    r, risk = dense_min(lambda x: best(x)[1], 1.0, 2.5, 151)
    assert found.risk == pytest.approx(risk, abs=1e-10)
    assert found.radius == pytest.approx(r, abs=1e-5)
    assert found.weight == pytest.approx(best(r)[0], abs=1e-6) and abs(found.weight) < 4
    psi1 = lambda x: sum(0.5 * expect(lambda s: g(x * tau * s) * (found.weight
                                                                   * g(found.radius * tau * s) - y))
                         for tau, y in labels)
    assert abs(psi1(found.radius)) < 1e-9
    r_far, most = dense_min(lambda x: -abs(psi1(x)), n=801)
    assert found.gap == pytest.approx(-4 * most, rel=1e-9)
    assert found.potential_min_at[1] == pytest.approx(r_far, abs=1e-5)
    assert found.gap > 0.01 and not found.optimal
    assert abs(found.potential_min_at[0]) == 4.0


# -- errors ------------------------------------------------------------------------------------

def test_errors_name_the_key():
    case = mmn_case(math.inf)
    noisy = copy.deepcopy(case)
    noisy["training"].update(beta=100.0, **{"lambda": 0.1})
    noisy["pde"]["scheme"] = "fv"
    with pytest.raises(CaseError, match=r"^training\.beta: .*beta = inf, got 100$"):
        single_delta(normalize_case(noisy))
    biased = copy.deepcopy(case)
    biased["network"]["unit"] = "awb"
    biased["init"].update(a={"kind": "uniform", "low": -0.5, "high": 0.5},
                          b={"kind": "uniform", "low": -0.5, "high": 0.5})
    biased["pde"]["grid"] = {}
    with pytest.raises(CaseError, match=r"^network\.unit: .*\(a, b, r\)"):
        single_delta(normalize_case(biased))
    anisotropic = {"data": {"kind": "anisotropic_gaussians", "delta": 0.5, "dim": 10,
                            "signal_dim": 2},
                   "network": {"activation": "relu"}, "training": {"t_final": 1.0},
                   "init": {"kind": "gaussian", "kappa": 1.0}}
    with pytest.raises(CaseError, match=r"^data\.kind: .*'anisotropic_gaussians'"):
        single_delta(anisotropic)
    with pytest.raises(CaseError, match=r"^network\.unit: .*coordinate \(r\)"):
        delta_threshold(mmn_case(math.inf, unit="aw"))
    with pytest.raises(CaseError, match=r"^data\.delta"):
        with_delta(case, 1.2)
    with pytest.raises(ValueError, match="does not bracket"):
        delta_threshold(case, 0.5, 0.6)
    assert GAP_TOL * single_delta(case).scale == pytest.approx(5e-10)
