"""Products of an activation at two correlated Gaussian arguments.

For standard normals Z₁, Z₂ of correlation c (s = √(1 − c²)) and radii r, r' ≥ 0,

    K(r, r', c) = E σ(r Z₁) σ(r' Z₂),   Z₂ = c Z₁ + s G,

computed three ways:

- Mehler's series K = Σ_{n≥0} h_n(r) h_n(r') cⁿ, h_n(ρ) = E[σ(ρG) He_n(G)]/√(n!):
  :func:`hermite_table` tabulates h_n on many radii, :func:`tail_roots` bounds what a
  truncation leaves out (Cauchy–Schwarz), and the compiled :func:`mehler_series` (twin
  :func:`mehler_series_numpy`) sums each value up to the first order that the bound certifies;
- closed forms of sums of ramps: truncated bivariate normal moments (:func:`ramp_pair`, with
  Φ₂ from Owen's T, :func:`bivariate_cdf`); the activations' ``pair_kernel`` combines them;
- 1-D quadrature of the conditional mean (compiled :func:`pair_quadrature`, twin
  :func:`pair_quadrature_numpy`),

      K = E[σ(r Z₁) g(Z₁)],   g(z) = E σ(r' c z + r' s G)   (:func:`smoothed_sigma`),

  both integrals by composite 16-point Gauss–Legendre panels on [−10, 10], broken at the
  kinks of σ and graded geometrically around its transitions.

The compiled kernels take the activation as the (code, params) of
:mod:`ddsolver.problem.pointwise`; the rest takes an
:class:`~ddsolver.problem.activations.Activation`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit
from scipy.special import ndtr, owens_t

from ..threads import single_blas_thread
from .gaussian import common_rule, hermite_rows, panel_rule, std_normal_pdf
from .pointwise import sigma_pair, zigzag_ramps

QUAD_HALF_WIDTH = 10.0      # Gaussian integrals of the quadrature over [−L, L]
QUAD_STEP = 1.0             # widest panel there
QUAD_UNIFORM = round(2 * QUAD_HALF_WIDTH / QUAD_STEP) + 1     # uniform breakpoints
QUAD_MIN_WIDTH = 1e-10      # finest grading around a transition
QUAD_POINTS = 640           # room for breakpoints per integral
TAIL_FLOOR = 16 * np.finfo(float).eps   # relative rounding error of E σ² − Σ h_n²
HERMITE_BLOCK = 256                     # Hermite orders per matrix product


# -- closed forms ---------------------------------------------------------------------------------

def _skew(k, h, rho):
    """k − ρh without cancellation for |ρ| near 1: (k − h) + (1 − ρ)h for ρ ≥ 0 and
    (k + h) − (1 + ρ)h otherwise (1 ∓ ρ is exact there), so that (k − ρh)/√(1 − ρ²) keeps its
    relative accuracy as ρ → ±1."""
    return np.where(rho >= 0, (k - h) + (1.0 - rho) * h, (k + h) - (1.0 + rho) * h)


def bivariate_cdf(h, k, rho) -> np.ndarray:
    """Φ₂(h, k; ρ) = P(U ≤ h, V ≤ k) for standard normals of correlation |ρ| < 1, by Owen's T:

        Φ₂ = ½Φ(h) + ½Φ(k) − T(h, (k − ρh)/(h s)) − T(k, (h − ρk)/(k s)) − ½·[hk < 0]

    (s = √(1 − ρ²)); for h = 0 ≠ k it is ½Φ(k) − T(k, −ρ/s) (and symmetrically), and
    Φ₂(0, 0; ρ) = ¼ + arcsin(ρ)/(2π). Arrays broadcast."""
    h, k, rho = (np.array(v, dtype=float) for v in np.broadcast_arrays(h, k, rho))
    s = np.sqrt((1.0 - rho) * (1.0 + rho))
    out = np.empty(h.shape)
    general = (h != 0) & (k != 0)
    hg, kg, rg, sg = h[general], k[general], rho[general], s[general]
    out[general] = (0.5 * (ndtr(hg) + ndtr(kg)) - owens_t(hg, _skew(kg, hg, rg) / (hg * sg))
                    - owens_t(kg, _skew(hg, kg, rg) / (kg * sg)) - 0.5 * (hg * kg < 0))
    for zero, other in ((h == 0, k), (k == 0, h)):
        one = zero & (other != 0)
        out[one] = 0.5 * ndtr(other[one]) - owens_t(other[one], -rho[one] / s[one])
    both = (h == 0) & (k == 0)
    out[both] = 0.25 + np.arcsin(rho[both]) / (2.0 * math.pi)
    return out


def ramp_mean(a, t: float) -> np.ndarray:
    """E(aG − t)₊ = a φ(t/a) − t Φ̄(t/a) for a > 0, (−t)₊ for a = 0 (a an array, t a scalar)."""
    a = np.asarray(a, dtype=float)
    out = np.full(a.shape, max(-t, 0.0))
    live = a > 0
    u = t / a[live]
    out[live] = a[live] * std_normal_pdf(u) - t * ndtr(-u)
    return out


def ramp_pair(a, b, rho, t1, t2) -> np.ndarray:
    """E[(aU − t1)₊ (bV − t2)₊] for standard normals U, V of correlation ρ, a, b ≥ 0 (arrays
    broadcast, t1 and t2 scalars). With α = t1/a, β = t2/b, s = √(1 − ρ²),
    h = (β − ρα)/s, k = (α − ρβ)/s (truncated bivariate normal moments):

        ab [(αβ + ρ) Φ₂(−α, −β; ρ) − β φ(α) Φ̄(h) − α φ(β) Φ̄(k) + s φ(β) φ(k)];

    at ρ = 1: ab [(1 + αβ) Φ̄(m) − min(α, β) φ(m)], m = max(α, β); at ρ = −1:
    ab [(αβ − 1)(Φ(−β) − Φ(α)) − β φ(α) − α φ(β)] if α < −β, else 0; if a = 0 or b = 0 the
    factor is a constant (−t)₊ times a one-dimensional mean (:func:`ramp_mean`)."""
    a, b, rho = (np.array(v, dtype=float) for v in np.broadcast_arrays(a, b, rho))
    rho = np.clip(rho, -1.0, 1.0)
    out = np.array(ramp_mean(a, t1) * ramp_mean(b, t2))                  # a = 0 or b = 0
    live = (a > 0) & (b > 0)
    alpha, beta = t1 / a[live], t2 / b[live]
    r, scale = rho[live], a[live] * b[live]
    value = np.empty(r.shape)
    inside = np.abs(r) < 1.0
    al, be, ri = alpha[inside], beta[inside], r[inside]
    s = np.sqrt((1.0 - ri) * (1.0 + ri))
    h, k = _skew(be, al, ri) / s, _skew(al, be, ri) / s
    value[inside] = ((al * be + ri) * bivariate_cdf(-al, -be, ri)
                     - be * std_normal_pdf(al) * ndtr(-h) - al * std_normal_pdf(be) * ndtr(-k)
                     + s * std_normal_pdf(be) * std_normal_pdf(k))
    up = r == 1.0
    al, be = alpha[up], beta[up]
    top = np.maximum(al, be)
    value[up] = (1.0 + al * be) * ndtr(-top) - np.minimum(al, be) * std_normal_pdf(top)
    down = r == -1.0
    al, be = alpha[down], beta[down]
    value[down] = np.where(al < -be, (al * be - 1.0) * (ndtr(-be) - ndtr(al))
                           - be * std_normal_pdf(al) - al * std_normal_pdf(be), 0.0)
    out[live] = scale * value
    return out


def diagonal_kernel(activation, r) -> np.ndarray:
    """K(r, r, 1) = E σ(rG)²: the activation's closed pair kernel where it has one, its
    :meth:`~ddsolver.problem.activations.Activation.second_moment` otherwise."""
    r = np.asarray(r, dtype=float)
    if activation.has_closed_pair_kernel:
        return activation.pair_kernel(r, r, 1.0)
    return activation.second_moment(r)


# -- Mehler series --------------------------------------------------------------------------------

def hermite_table(activation, radii, nmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(h, second): h (M, nmax+1) the coefficients h_n(r) of the M radii (1-D, ≥ 0) and second
    (M,) = E σ(rG)² (:func:`diagonal_kernel`). The activation's :meth:`hermite` where it is
    exact or σ has kinks; otherwise (tanh, sigmoid) one rule for all radii
    (:func:`~ddsolver.problem.gaussian.common_rule`, nodes g, weights w φ(g)) and matrix
    products over blocks of orders,

        h_n(r) = Σ_q w_q φ(g_q) σ(r g_q) ψ_n(g_q),   E σ(rG)² = Σ_q w_q φ(g_q) σ(r g_q)²,

    with h(0) = (σ(0), 0, 0, …) and E σ(0·G)² = σ(0)² exactly."""
    radii = np.asarray(radii, dtype=float)
    if activation.exact_hermite or activation.kinks:
        return activation.hermite(radii, nmax).T.copy(), diagonal_kernel(activation, radii)
    h = np.zeros((radii.size, nmax + 1))
    h[:, 0] = activation.sigma(0.0)
    second = np.full(radii.size, activation.sigma(0.0) ** 2)
    live = np.flatnonzero(radii > 0)
    if live.size:
        nodes, weights = common_rule(radii[live].max(), nmax)
        values = activation.sigma(radii[live, None] * nodes[None, :])     # (M, Q)
        weighted = values * weights
        rows = hermite_rows(nodes, np.ones_like(nodes), nmax)
        with single_blas_thread():     # small products: threads only cost
            for start in range(0, nmax + 1, HERMITE_BLOCK):
                block = np.array(list(itertools.islice(rows, HERMITE_BLOCK)))
                h[live, start:start + len(block)] = weighted @ block.T
        second[live] = (values**2) @ weights
    return h, second


def tail_roots(h, second) -> np.ndarray:
    """√(T_n + B_K) per radius and order n ≤ K (shape of h): T_n = Σ_{n<m≤K} h_m² (summed from
    the end, no cancellation) and B_K = E σ² − Σ_{m≤K} h_m² ≥ 0 the tail beyond the table, plus
    TAIL_FLOOR · E σ² for its rounding error (0 where h has a single non-zero term, as at r = 0).
    By Cauchy–Schwarz |Σ_{m>n} h_m(r) h_m(r') cᵐ| ≤ |c|^(n+1) roots_n(r) roots_n(r')."""
    squares = h**2
    inner = np.cumsum(squares[:, ::-1], axis=1)[:, ::-1]             # Σ_{m≥n}
    inner = np.concatenate([inner[:, 1:], np.zeros((h.shape[0], 1))], axis=1)   # Σ_{m>n}
    exact = np.count_nonzero(h[:, 1:], axis=1) == 0
    beyond = np.maximum(second - squares.sum(axis=1), 0.0) + TAIL_FLOOR * second
    beyond[exact] = 0.0
    return np.sqrt(inner + beyond[:, None])


@njit(cache=True)
def mehler_series(h, roots, first, second, c, tol, out, certified):
    """out[e] = Σ_{n≤K} h[i, n] h[j, n] c[e]ⁿ for i = first[e], j = second[e], stopping at the
    first K with |c|^(K+1) roots[i, K] roots[j, K] ≤ tol (roots from :func:`tail_roots`);
    certified[e] says whether such K ≤ h.shape[1] − 1 exists."""
    terms = h.shape[1]
    for e in range(first.size):
        i, j, ce = first[e], second[e], c[e]
        total, power, ok = 0.0, 1.0, False
        for n in range(terms):
            total += h[i, n] * h[j, n] * power
            power *= ce
            if abs(power) * roots[i, n] * roots[j, n] <= tol:
                ok = True
                break
        out[e] = total
        certified[e] = ok


def mehler_series_numpy(h, roots, first, second, c, tol):
    """Plain-numpy twin of :func:`mehler_series`: returns (out, certified)."""
    c = np.asarray(c, dtype=float)
    n = np.arange(h.shape[1])
    powers = c[:, None] ** n                                        # cⁿ, (E, K+1)
    terms = h[first] * h[second] * powers
    bound = np.abs(powers * c[:, None]) * roots[first] * roots[second]
    ok = bound <= tol
    certified = ok.any(axis=1)
    stop = np.where(certified, ok.argmax(axis=1), h.shape[1] - 1)
    keep = n[None, :] <= stop[:, None]
    return np.where(keep, terms, 0.0).sum(axis=1), certified


# -- compiled quadrature --------------------------------------------------------------------------

@njit(cache=True)
def _add_feature(buf, count, z0, width):
    """Append the breakpoint z0 and, for width > 0, z0 ± width·2^j below the panel width."""
    if not (-QUAD_HALF_WIDTH < z0 < QUAD_HALF_WIDTH):
        return count
    buf[count] = z0
    count += 1
    if width > 0.0:
        step = max(width, QUAD_MIN_WIDTH)
        while step < QUAD_STEP and count + 2 <= buf.size:
            buf[count] = z0 - step
            buf[count + 1] = z0 + step
            count += 2
            step *= 2.0
    return count


@njit(cache=True)
def _uniform_points(buf):
    """Fill buf with the uniform breakpoints −L, −L + step, …, L; return their number."""
    count = QUAD_UNIFORM
    for q in range(count):
        buf[q] = -QUAD_HALF_WIDTH + q * QUAD_STEP
    return count


@njit(cache=True)
def _panel_rule(buf, count, gl_x, gl_w, rule):
    """Fill rule[0, :n] with nodes z_k = m + h x_q and rule[1, :n] with weights
    w_k = h w_q e^(−z_k²/2) of Gauss–Legendre (gl_x, gl_w) on the non-empty panels (midpoint m,
    half-width h) between the breakpoints buf[:count], sorted and clipped to [−L, L]; return n.
    Then ∫_{−L}^{L} f(z) φ(z) dz ≈ Σ_k w_k f(z_k)/√(2π)."""
    points = np.sort(np.minimum(np.maximum(buf[:count], -QUAD_HALF_WIDTH), QUAD_HALF_WIDTH))
    k = 0
    for p in range(count - 1):
        half = 0.5 * (points[p + 1] - points[p])
        if half <= 0.0:
            continue
        mid = 0.5 * (points[p + 1] + points[p])
        for q in range(gl_x.size):
            z = mid + half * gl_x[q]
            rule[0, k] = z
            rule[1, k] = half * gl_w[q] * math.exp(-0.5 * z * z)
            k += 1
    return k


@njit(cache=True)
def _ramp_mean(m, eta, t):
    """E(m + ηG − t)₊ = η φ(u) + (m − t) Φ(u), u = (m − t)/η, for η > 0."""
    u = (m - t) / eta
    return (eta * math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
            + (m - t) * 0.5 * math.erfc(-u / math.sqrt(2.0)))


@njit(cache=True)
def smoothed_sigma(code, params, m, eta, gl_x, gl_w, buf, rule):
    """E σ(m + ηG), η ≥ 0: closed forms for ramps (relu, piecewise linear, zigzag), linear and
    erf (E erf(m + ηG) = erf(m/√(1 + 2η²))), otherwise (1/√(2π)) Σ_k w_k σ(m + η g_k) on panels
    broken at −m/η and graded on the scale 1/η (:func:`_panel_rule`). ``buf`` (QUAD_POINTS,)
    and ``rule`` (2, QUAD_POINTS·len(gl_x)) are scratch."""
    if eta == 0.0:
        return sigma_pair(code, params, m)[0]
    if code == 2:
        return m
    if code == 1:
        return _ramp_mean(m, eta, 0.0)
    if code == 0:
        s1, s2, t1, t2 = params[0], params[1], params[2], params[3]
        k = (s2 - s1) / (t2 - t1)
        return s1 + k * (_ramp_mean(m, eta, t1) - _ramp_mean(m, eta, t2))
    if code == 3:
        return math.erf(m / math.sqrt(1.0 + 2.0 * eta * eta))
    if code == 6:
        total = params[0]
        for slope, t in zip(zigzag_ramps(params), params[4:]):
            total += slope * _ramp_mean(m, eta, t)
        return total
    count = _uniform_points(buf)
    count = _add_feature(buf, count, -m / eta, 1.0 / eta)
    total = 0.0
    for k in range(_panel_rule(buf, count, gl_x, gl_w, rule)):
        total += rule[1, k] * sigma_pair(code, params, m + eta * rule[0, k])[0]
    return total / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _features(code, params):
    """(points t where σ bends, smooth): kinks (smooth = 0) or a smooth transition of width ~1
    (smooth = 1)."""
    if code == 0:
        return np.array([params[2], params[3]]), 0.0
    if code == 1:
        return np.array([0.0]), 0.0
    if code == 2:
        return np.zeros(0), 0.0
    if code == 6:
        return params[4:].copy(), 0.0
    return np.array([0.0]), 1.0


@njit(cache=True)
def pair_quadrature(code, params, r1, r2, c, gl_x, gl_w, out):
    """out[e] = E σ(a Z₁) g(Z₁), g(z) = E σ(b z + ηG), a = r1[e], b = r2[e] c[e],
    η = r2[e] √(1 − c[e]²): K(r1, r2, c) by 1-D quadrature (module docstring) with g from
    :func:`smoothed_sigma`. The panels break at the kinks t/a and t/b and are graded around
    them on the scales smooth/a and (η + smooth)/|b| (:func:`_features`)."""
    features, smooth = _features(code, params)
    buf, rule = np.empty(QUAD_POINTS), np.empty((2, QUAD_POINTS * gl_x.size))
    inner_buf, inner_rule = np.empty(QUAD_POINTS), np.empty((2, QUAD_POINTS * gl_x.size))
    for e in range(r1.size):
        ce = min(max(c[e], -1.0), 1.0)
        a, b, eta = r1[e], r2[e] * ce, r2[e] * math.sqrt(max((1.0 - ce) * (1.0 + ce), 0.0))
        count = _uniform_points(buf)
        for t in features:
            if a > 0.0:
                count = _add_feature(buf, count, t / a, smooth / a)
            if b != 0.0:
                count = _add_feature(buf, count, t / b, (eta + smooth) / abs(b))
        total = 0.0
        for k in range(_panel_rule(buf, count, gl_x, gl_w, rule)):
            z = rule[0, k]
            total += (rule[1, k] * sigma_pair(code, params, a * z)[0]
                      * smoothed_sigma(code, params, b * z, eta, gl_x, gl_w, inner_buf,
                                       inner_rule))
        out[e] = total / math.sqrt(2.0 * math.pi)


# -- numpy twins of the quadrature ----------------------------------------------------------------

def _points_numpy(features):
    """Distinct sorted breakpoints in [−L, L]: the uniform ones plus, for each (z0, width)
    feature, those of the compiled :func:`_add_feature`."""
    L = QUAD_HALF_WIDTH
    points = list(-L + QUAD_STEP * np.arange(QUAD_UNIFORM))
    for z0, width in features:
        if not -L < z0 < L:
            continue
        points.append(z0)
        step = max(width, QUAD_MIN_WIDTH) if width > 0 else QUAD_STEP
        while step < QUAD_STEP:
            points += [z0 - step, z0 + step]
            step *= 2.0
    return np.unique(np.clip(points, -L, L))


def _integrate_numpy(points, f):
    """∫ f(z) φ(z) dz over the panels between ``points`` (Gauss–Legendre on each,
    :func:`~ddsolver.problem.gaussian.panel_rule`)."""
    z, w = panel_rule(points)
    return float(np.sum(w * std_normal_pdf(z) * f(z)))


def _smoothed_numpy(activation, m, eta):
    """Twin of :func:`smoothed_sigma` for an array m and a scalar η: σ(m) at η = 0, the exact
    q(η; m) = E σ(m + ηG) of activations with exact Hermite coefficients, quadrature otherwise."""
    m = np.asarray(m, dtype=float)
    if eta == 0:
        return activation.sigma(m)
    if activation.exact_hermite:
        return activation.q(eta, m)
    return np.array([_integrate_numpy(_points_numpy([(-mi / eta, 1.0 / eta)]),
                                      lambda g, mi=mi: activation.sigma(mi + eta * g))
                     for mi in m.ravel()]).reshape(m.shape)


def pair_quadrature_numpy(activation, r1: float, r2: float, c: float) -> float:
    """Plain-numpy twin of :func:`pair_quadrature` for one (r1, r2, c); the panels follow the
    activation's :attr:`~ddsolver.problem.activations.Activation.bends`."""
    c = min(max(c, -1.0), 1.0)
    a, b, eta = r1, r2 * c, r2 * math.sqrt(max((1.0 - c) * (1.0 + c), 0.0))
    kinks, smooth = activation.bends
    features = []
    for t in kinks:
        if a > 0:
            features.append((t / a, smooth / a))
        if b != 0:
            features.append((t / b, (eta + smooth) / abs(b)))
    return _integrate_numpy(_points_numpy(features),
                            lambda z: activation.sigma(a * z) * _smoothed_numpy(activation, b * z,
                                                                                eta))
