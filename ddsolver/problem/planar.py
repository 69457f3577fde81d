"""Planar teacher–student data: V, U and R_# of units σ(⟨w, x⟩) on x ~ N(0, I₂) (MATH.md 1, 5.2).

Labels come from a teacher network, y = Σ_j c_j σ(⟨u_j, x⟩) with u_j ∈ R² (``teacher``) and
weights c_j (``teacher_weights``). For student units σ*(x; w) = σ(⟨w, x⟩) write w in polar form,
r = |w|, φ = atan2(w₂, w₁). The pre-activations ⟨w, x⟩ and ⟨w', x⟩ are jointly Gaussian with
standard deviations r, r' and correlation c = cos(φ − φ'), so everything reduces to one kernel

    K(r, r', δ) = E σ(⟨w, x⟩) σ(⟨w', x⟩) = E σ(r Z₁) σ(r'(c Z₁ + s Z₂)),   c = cos δ, s = √(1 − c²),

and (MATH.md 1)

    U(w, w')  = K(|w|, |w'|, φ − φ')
    V(r, φ)   = −E[y σ(⟨w, x⟩)] = −Σ_j c_j K(r, |u_j|, φ − ∠u_j)
    R_#       = E y² = Σ_{j,k} c_j c_k K(|u_j|, |u_k|, ∠u_j − ∠u_k)
    U(w, w)   = K(r, r, 0) = E σ(rG)²                    (:meth:`PlanarTeacher.diagonal`)

Circle units (w = (cos φ, sin φ)) are the slice r = 1: ``circle_kernel(δ) = K(1, 1, δ)`` and
``circle_v(φ) = V(1, φ)``.

How K is computed (``method="series"``, the default). Mehler's formula

    K(r, r', δ) = Σ_{n≥0} h_n(r) h_n(r') cⁿ,    h_n(s) = E[σ(sG) He_n(G)]/√(n!)

(odd n included: the angle is not averaged). Truncation rule: the coefficients are tabulated
for n ≤ K = ``max_terms``; with T_n(s) = Σ_{n<m≤K} h_m(s)² (summed from the end) and the tail
beyond the table B_K(s) = E σ(sG)² − Σ_{m≤K} h_m(s)² (clipped at 0, plus 16 ε_mach E σ(sG)² for
its rounding; exactly 0 when h_1 = h_2 = … = 0, as at s = 0), Cauchy–Schwarz gives

    |Σ_{m>n} h_m(r) h_m(r') cᵐ| ≤ |c|^(n+1) √((T_n(r) + B_K(r)) (T_n(r') + B_K(r'))),

and each value stops at the first n ≤ K where this bound is ≤ ``tol``: the series part is
within ``tol``. r = 0 is exact after one term (h_n(0) = σ(0)[n = 0]). Values that no n ≤ K
certifies (|c| close to 1 with slowly decaying h_n, e.g. ReLU, or large r) are redone:

1. smooth activations without a closed form (tanh, sigmoid; their h_n decay like exp(−a√n)):
   the same rule with K = EXTENDED_TERMS × ``max_terms``;
2. what is still left: the closed form (below), or for tanh and sigmoid 1-D quadrature of
   the conditional mean (:func:`pair_quadrature`),

       K = E[σ(r Z₁) g(Z₁)],   g(z) = E σ(r' c z + r' s G),

   g in closed form for ramps and erf and by an inner quadrature otherwise; both integrals
   use composite 16-point Gauss–Legendre panels on [−10, 10], broken at the kinks of σ and
   graded geometrically around its transitions (agrees with the closed forms to ≈ 1e−14).

Closed forms (``method="closed"``, and the fallback above), θ = arccos c:

    linear:  r r' c
    ReLU:    (r r'/(2π)) (sin θ + (π − θ) cos θ)                     (arc-cosine kernel)
    erf:     (2/π) arcsin(2 r r' c / √((1 + 2r²)(1 + 2r'²)))
    piecewise linear (a constant plus ramps): sums of E[(rU − t)₊ (r'V − t')₊], truncated
             bivariate normal moments with Φ₂ from Owen's T (:func:`ramp_pair`)

``method="auto"`` takes the closed form where there is one and the series otherwise (the
exact risk of SGD networks uses it; the series is the default of :meth:`PlanarTeacher.kernel`).

Compiled kernels: :func:`mehler_series` (twin :func:`mehler_series_numpy`) and
:func:`pair_quadrature` (twin :func:`pair_quadrature_numpy`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.polynomial.legendre import leggauss
from scipy.special import erf, ndtr, owens_t
from threadpoolctl import threadpool_limits

from .activations import Activation, Erf, Linear, _RampSum, make_activation
from .gaussian import std_normal_pdf
from .pointwise import pointwise_args, sigma_pair

QUAD_HALF_WIDTH = 10.0      # Gaussian integrals of the quadrature fallback over [−L, L]
QUAD_STEP = 1.0             # widest panel there
QUAD_UNIFORM = round(2 * QUAD_HALF_WIDTH / QUAD_STEP) + 1     # uniform breakpoints
QUAD_MIN_WIDTH = 1e-10      # finest grading around a transition
QUAD_POINTS = 640           # room for breakpoints per integral
GL_NODES, GL_WEIGHTS = leggauss(16)
CLOSED = ("linear", "relu", "erf", "piecewise_linear")   # activations with a closed-form K
TAIL_FLOOR = 16 * np.finfo(float).eps   # relative rounding error of E σ² − Σ h_n²
HERMITE_BLOCK = 256                     # Hermite orders per matrix product
PAIR_BLOCK = 1 << 20                    # pairs per block in PlanarTeacher.pair_sum
EXTENDED_TERMS = 10                     # smooth σ: second series pass with 10 × max_terms


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


def _ramp_mean_numpy(a, t):
    """E(aG − t)₊ = a φ(t/a) − t Φ̄(t/a) for a > 0, (−t)₊ for a = 0."""
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
    factor is a constant (−t)₊ times a one-dimensional mean."""
    a, b, rho = (np.array(v, dtype=float) for v in np.broadcast_arrays(a, b, rho))
    rho = np.clip(rho, -1.0, 1.0)
    out = np.array(_ramp_mean_numpy(a, t1) * _ramp_mean_numpy(b, t2))    # a = 0 or b = 0
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


def closed_kernel(activation, r, r2, c) -> np.ndarray:
    """K(r, r', δ) for c = cos δ in closed form for linear, ReLU, erf (module docstring) and
    piecewise-linear σ (a constant plus ramps, :func:`ramp_pair`); ``activation`` is an
    :class:`~ddsolver.problem.activations.Activation` or one of the names linear, relu, erf.
    Arrays broadcast."""
    name = activation if isinstance(activation, str) else activation.name
    r, r2 = np.asarray(r, dtype=float), np.asarray(r2, dtype=float)
    c = np.clip(np.asarray(c, dtype=float), -1.0, 1.0)
    if name == "linear":
        return r * r2 * c
    if name == "relu":
        theta = np.arccos(c)
        return r * r2 / (2.0 * math.pi) * (np.sin(theta) + (math.pi - theta) * c)
    if name == "erf":
        arg = 2.0 * r * r2 * c / np.sqrt((1.0 + 2.0 * r**2) * (1.0 + 2.0 * r2**2))
        return 2.0 / math.pi * np.arcsin(np.clip(arg, -1.0, 1.0))
    if isinstance(activation, _RampSum):
        offset, ramps = activation._ramps()
        out = np.full(np.broadcast_shapes(r.shape, r2.shape, c.shape), offset**2)
        for k, t in ramps:
            out = out + offset * k * (_ramp_mean_numpy(r, t) + _ramp_mean_numpy(r2, t))
        for k1, t1 in ramps:
            for k2, t2 in ramps:
                out = out + k1 * k2 * ramp_pair(r, r2, c, t1, t2)
        return out
    raise ValueError(f"no closed-form kernel for activation {name!r} (closed forms: {CLOSED})")


def _second_moment(activation: Activation, r) -> np.ndarray:
    """E σ(rG)²: closed forms for linear, ReLU, erf and piecewise-linear σ, the activation's
    quadrature otherwise."""
    r = np.asarray(r, dtype=float)
    if activation.name in CLOSED:
        return closed_kernel(activation, r, r, 1.0)
    return activation.second_moment(r)


# -- Hermite coefficients on many radii -----------------------------------------------------------

def _shared_rule(smax: float, nmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes g and weights w·φ(g) of one composite Gauss–Legendre rule on [−12, 12] for
    E f(sG) ψ_n(G), n ≤ nmax, s ≤ smax, f smooth with its transition at 0: panels at most
    min(1, 1.5 · 2π/√(nmax+1)) wide (1.5 Hermite wavelengths, as in
    :mod:`ddsolver.problem.gaussian`) and graded around 0 down to 1/smax."""
    width = min(1.0, 1.5 * 2.0 * math.pi / math.sqrt(nmax + 1))
    ends = list(np.linspace(-12.0, 12.0, math.ceil(24.0 / width) + 1))
    step = 1.0 / max(smax, 1e-300)
    while step < width:
        ends += [-step, step]
        step *= 2.0
    ends = np.unique(np.clip(np.array(ends + [0.0]), -12.0, 12.0))
    mid, half = 0.5 * (ends[1:] + ends[:-1]), 0.5 * (ends[1:] - ends[:-1])
    nodes = (mid[:, None] + half[:, None] * GL_NODES).ravel()
    weights = (half[:, None] * GL_WEIGHTS).ravel() * std_normal_pdf(nodes)
    return nodes, weights


def hermite_table(activation: Activation, radii, nmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(h, second): h (M, nmax+1) the coefficients h_n(r) of the M radii (1-D, ≥ 0) and second
    (M,) = E σ(rG)². Closed forms for erf, linear and sums of ramps (the activation's
    :meth:`~Activation.hermite`); for other activations without kinks (tanh, sigmoid) one shared
    quadrature rule for all radii (:func:`_shared_rule`; matrix products over blocks of orders),
    for the rest the activation's own quadrature. Radii r = 0 give h = (σ(0), 0, 0, …) exactly."""
    radii = np.asarray(radii, dtype=float)
    if isinstance(activation, (Erf, Linear, _RampSum)) or activation.kinks:
        return activation.hermite(radii, nmax).T.copy(), _second_moment(activation, radii)
    nodes, weights = _shared_rule(float(radii.max(initial=0.0)), nmax)
    values = activation.sigma(radii[:, None] * nodes[None, :])         # (M, Q)
    weighted = values * weights
    h = np.empty((radii.size, nmax + 1))
    prev, row = np.zeros_like(nodes), np.ones_like(nodes)            # ψ_{−1}, ψ_0
    with threadpool_limits(limits=1, user_api="blas"):     # small products: threads only cost
        for start in range(0, nmax + 1, HERMITE_BLOCK):
            rows = np.empty((min(HERMITE_BLOCK, nmax + 1 - start), nodes.size))
            for k in range(rows.shape[0]):
                n = start + k
                rows[k] = row
                prev, row = row, (nodes * row - math.sqrt(n) * prev) / math.sqrt(n + 1)
            h[:, start:start + rows.shape[0]] = weighted @ rows.T
    second = (values**2) @ weights
    zero = radii == 0
    h[zero] = 0.0
    h[zero, 0] = activation.sigma(0.0)
    second[zero] = activation.sigma(0.0) ** 2
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


# -- compiled Mehler series -----------------------------------------------------------------------

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


# -- compiled quadrature fallback -----------------------------------------------------------------

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
def _ramp_mean(m, eta, t):
    """E(m + ηG − t)₊ = η φ(u) + (m − t) Φ(u), u = (m − t)/η, for η > 0."""
    u = (m - t) / eta
    return (eta * math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
            + (m - t) * 0.5 * math.erfc(-u / math.sqrt(2.0)))


@njit(cache=True)
def smoothed_sigma(code, params, m, eta, gl_x, gl_w, buf):
    """E σ(m + ηG), η ≥ 0: closed forms for ramps, linear and erf, quadrature otherwise (``buf``
    is scratch for the breakpoints)."""
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
    count = _uniform_points(buf)
    count = _add_feature(buf, count, -m / eta, 1.0 / eta)
    points = np.sort(np.minimum(np.maximum(buf[:count], -QUAD_HALF_WIDTH), QUAD_HALF_WIDTH))
    total = 0.0
    for p in range(count - 1):
        half = 0.5 * (points[p + 1] - points[p])
        if half <= 0.0:
            continue
        mid = 0.5 * (points[p + 1] + points[p])
        for q in range(gl_x.size):
            g = mid + half * gl_x[q]
            total += (half * gl_w[q] * math.exp(-0.5 * g * g)
                      * sigma_pair(code, params, m + eta * g)[0])
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
    return np.array([0.0]), 1.0


@njit(cache=True)
def pair_quadrature(code, params, r1, r2, c, gl_x, gl_w, out):
    """out[e] = E σ(a Z₁) g(Z₁), g(z) = E σ(b z + ηG), a = r1[e], b = r2[e] c[e],
    η = r2[e] √(1 − c[e]²): K(r1, r2, arccos c) by 1-D quadrature (module docstring). The outer
    panels break at the kinks t/a and t/b and are graded around them on the scales
    smooth/a and (η + smooth)/|b|."""
    features, smooth = _features(code, params)
    buf = np.empty(QUAD_POINTS)
    inner = np.empty(QUAD_POINTS)
    for e in range(r1.size):
        ce = min(max(c[e], -1.0), 1.0)
        a, b, eta = r1[e], r2[e] * ce, r2[e] * math.sqrt(max((1.0 - ce) * (1.0 + ce), 0.0))
        count = _uniform_points(buf)
        for t in features:
            if a > 0.0:
                count = _add_feature(buf, count, t / a, smooth / a)
            if b != 0.0:
                count = _add_feature(buf, count, t / b, (eta + smooth) / abs(b))
        points = np.sort(np.minimum(np.maximum(buf[:count], -QUAD_HALF_WIDTH), QUAD_HALF_WIDTH))
        total = 0.0
        for p in range(count - 1):
            half = 0.5 * (points[p + 1] - points[p])
            if half <= 0.0:
                continue
            mid = 0.5 * (points[p + 1] + points[p])
            for q in range(gl_x.size):
                z = mid + half * gl_x[q]
                total += (half * gl_w[q] * math.exp(-0.5 * z * z)
                          * sigma_pair(code, params, a * z)[0]
                          * smoothed_sigma(code, params, b * z, eta, gl_x, gl_w, inner))
        out[e] = total / math.sqrt(2.0 * math.pi)


def _points_numpy(features):
    """Sorted, clipped breakpoints: uniform ones plus (z0, width) features, as in the compiled
    :func:`_add_feature`."""
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
    return np.sort(np.clip(points, -L, L))


def _integrate_numpy(points, f):
    """∫ f(z) φ(z) dz over the panels between ``points`` (16-point Gauss–Legendre each)."""
    mid, half = 0.5 * (points[1:] + points[:-1]), 0.5 * (points[1:] - points[:-1])
    keep = half > 0
    z = mid[keep, None] + half[keep, None] * GL_NODES
    return float(np.sum(half[keep, None] * GL_WEIGHTS * std_normal_pdf(z) * f(z)))


def _features_numpy(activation):
    if isinstance(activation, _RampSum):
        return [float(t) for t in activation.kinks], 0.0
    if isinstance(activation, Linear):
        return [], 0.0
    return [0.0], 1.0


def _smoothed_numpy(activation, m, eta):
    """Twin of :func:`smoothed_sigma` for an array m and a scalar η."""
    m = np.asarray(m, dtype=float)
    if eta == 0:
        return activation.sigma(m)
    if isinstance(activation, Linear):
        return m
    if isinstance(activation, _RampSum):
        return activation.smoothed(m, eta)
    if isinstance(activation, Erf):
        return erf(m / math.sqrt(1.0 + 2.0 * eta**2))
    return np.array([_integrate_numpy(_points_numpy([(-mi / eta, 1.0 / eta)]),
                                      lambda g, mi=mi: activation.sigma(mi + eta * g))
                     for mi in m.ravel()]).reshape(m.shape)


def pair_quadrature_numpy(activation, r1: float, r2: float, c: float) -> float:
    """Plain-numpy twin of :func:`pair_quadrature` for one (r1, r2, c)."""
    c = min(max(c, -1.0), 1.0)
    a, b, eta = r1, r2 * c, r2 * math.sqrt(max((1.0 - c) * (1.0 + c), 0.0))
    kinks, smooth = _features_numpy(activation)
    features = []
    for t in kinks:
        if a > 0:
            features.append((t / a, smooth / a))
        if b != 0:
            features.append((t / b, (eta + smooth) / abs(b)))
    return _integrate_numpy(_points_numpy(features),
                            lambda z: activation.sigma(a * z) * _smoothed_numpy(activation, b * z,
                                                                                eta))


# -- the problem ----------------------------------------------------------------------------------

class PlanarTeacher:
    """V, U, R_# and samples of the planar teacher model (module docstring).

    ``activation``: an :class:`~ddsolver.problem.activations.Activation` (or its name);
    ``teacher`` (J, 2) the teacher vectors u_j, ``teacher_weights`` (J,) their weights c_j
    (default ones); ``tol`` and ``max_terms`` the Mehler truncation (absolute error per value,
    and the largest order n used).
    """

    dim = 2

    def __init__(self, activation, teacher, teacher_weights=None, *, tol=1e-12, max_terms=400):
        self.activation = (make_activation(activation) if isinstance(activation, str)
                           else activation)
        teacher = np.array(teacher, dtype=float, ndmin=2)
        if teacher.ndim != 2 or teacher.shape[1] != 2 or teacher.shape[0] == 0:
            raise ValueError(f"teacher: expected a (J, 2) array, got shape {teacher.shape}")
        weights = (np.ones(len(teacher)) if teacher_weights is None
                   else np.array(teacher_weights, dtype=float).ravel())
        if weights.shape != (len(teacher),):
            raise ValueError(f"teacher_weights: expected {len(teacher)} numbers, got "
                             f"{weights.size}")
        if not (np.all(np.isfinite(teacher)) and np.all(np.isfinite(weights))):
            raise ValueError("teacher and teacher_weights must be finite")
        if not (tol > 0 and int(max_terms) >= 1):
            raise ValueError(f"tol must be > 0 and max_terms >= 1, got {tol!r}, {max_terms!r}")
        self.teacher, self.teacher_weights = teacher, weights
        self.radii = np.hypot(teacher[:, 0], teacher[:, 1])
        self.angles = np.arctan2(teacher[:, 1], teacher[:, 0])
        self.tol, self.max_terms = float(tol), int(max_terms)
        self._pointwise = pointwise_args(self.activation)
        self.label_second_moment = float(np.sum(
            weights[:, None] * weights[None, :]
            * self.kernel(self.radii[:, None], self.radii[None, :],
                          self.angles[:, None] - self.angles[None, :])))

    @classmethod
    def from_case(cls, case: dict, **options) -> PlanarTeacher:
        """The model of a normalised case with ``[data] kind = "planar_teacher"``; ``options``
        (tol, max_terms) go to the constructor."""
        data, net = case["data"], case["network"]
        if data["kind"] != "planar_teacher":
            raise ValueError(f"expected data.kind = 'planar_teacher', got {data['kind']!r}")
        activation = make_activation(net["activation"], net["activation_params"])
        return cls(activation, data["teacher"], data["teacher_weights"], **options)

    def __repr__(self):
        return (f"PlanarTeacher({self.activation!r}, teacher={self.teacher.tolist()}, "
                f"teacher_weights={self.teacher_weights.tolist()})")

    # -- data ------------------------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n samples: x (n, 2) ~ N(0, I₂) and y (n,) = Σ_j c_j σ(⟨u_j, x⟩)."""
        x = rng.standard_normal((n, 2))
        return x, self.activation.sigma(x @ self.teacher.T) @ self.teacher_weights

    # -- kernels ---------------------------------------------------------------------------------

    def kernel(self, r, r2, delta, *, method: str = "series") -> np.ndarray:
        """K(r, r', δ) = E σ(⟨w, x⟩) σ(⟨w', x⟩) for |w| = r, |w'| = r' ≥ 0 at angle δ between
        them, arrays broadcast. ``method``: "series" (Mehler series with the truncation rule of
        the module docstring, closed form or quadrature where it cannot meet ``tol``),
        "closed" (linear, relu, erf, piecewise_linear only) or "auto" (closed where possible).
        Negative radii are refused."""
        r, r2 = np.asarray(r, dtype=float), np.asarray(r2, dtype=float)
        c = np.cos(np.asarray(delta, dtype=float))
        if not (np.all(r >= 0) and np.all(r2 >= 0)):
            raise ValueError("kernel: radii must be >= 0")
        shape = np.broadcast_shapes(r.shape, r2.shape, c.shape)
        if method == "closed" or (method == "auto" and self.activation.name in CLOSED):
            return closed_kernel(self.activation, r, r2, c) * np.ones(shape)
        if method not in ("series", "auto"):
            raise ValueError(f"method: expected 'series', 'closed' or 'auto', got {method!r}")
        radii, inverse = np.unique(np.concatenate([r.ravel(), r2.ravel()]), return_inverse=True)
        first = np.broadcast_to(inverse[: r.size].reshape(r.shape), shape).ravel()
        second = np.broadcast_to(inverse[r.size:].reshape(r2.shape), shape).ravel()
        cos = np.broadcast_to(c, shape).ravel()
        return self.series(radii, first, second, cos).reshape(shape)

    def series(self, radii, first, second, c, *, table=None) -> np.ndarray:
        """K(radii[first], radii[second], arccos c) for flat index arrays (the work of
        :meth:`kernel`): Mehler series up to ``max_terms``; for smooth activations without a
        closed form (tanh, sigmoid, whose h_n decay like exp(−a√n)) a second pass with up to
        EXTENDED_TERMS × ``max_terms`` terms on the values the first could not certify; then
        the closed form or :func:`pair_quadrature` for what is left. ``table``: the result of
        :meth:`table` for ``radii``, if already computed."""
        radii = np.asarray(radii, dtype=float)
        first = np.asarray(first, dtype=np.int64)
        second = np.asarray(second, dtype=np.int64)
        c = np.ascontiguousarray(c, dtype=float)
        if table is None:
            table = self.table(radii, self.max_terms)
        out, certified = self._series_pass(table, first, second, c)
        rest = np.flatnonzero(~certified)
        smooth = not (self.activation.name in CLOSED or isinstance(self.activation, _RampSum)
                      or self.activation.kinks)
        if rest.size and smooth:
            used, index = np.unique(np.concatenate([first[rest], second[rest]]),
                                    return_inverse=True)
            more, ok = self._series_pass(self.table(radii[used], EXTENDED_TERMS * self.max_terms),
                                         index[: rest.size], index[rest.size:], c[rest])
            out[rest], certified[rest] = more, ok
            rest = np.flatnonzero(~certified)
        if rest.size:
            out[rest] = self._fallback(radii[first[rest]], radii[second[rest]], c[rest])
        return out

    def table(self, radii, nmax: int) -> tuple[np.ndarray, np.ndarray]:
        """(h, roots), each (M, nmax+1): the Hermite coefficients of the radii
        (:func:`hermite_table`) and their tail roots (:func:`tail_roots`)."""
        h, second_moment = hermite_table(self.activation, np.asarray(radii, dtype=float), nmax)
        return np.ascontiguousarray(h), np.ascontiguousarray(tail_roots(h, second_moment))

    def _series_pass(self, table, first, second, c):
        """(values, certified) of :func:`mehler_series` with a (h, roots) table."""
        out = np.empty(c.size)
        certified = np.empty(c.size, dtype=np.bool_)
        mehler_series(*table, np.ascontiguousarray(first), np.ascontiguousarray(second),
                      np.ascontiguousarray(c), self.tol, out, certified)
        return out, certified

    def _fallback(self, r, r2, c) -> np.ndarray:
        """K where the series stops short: closed form, or :func:`pair_quadrature` once per
        distinct (unordered radii, c)."""
        if self.activation.name in CLOSED:
            return closed_kernel(self.activation, r, r2, c)
        rows = np.stack([np.minimum(r, r2), np.maximum(r, r2), c], axis=1)
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        values = np.empty(len(unique))
        pair_quadrature(*self._pointwise, np.ascontiguousarray(unique[:, 0]),
                        np.ascontiguousarray(unique[:, 1]), np.ascontiguousarray(unique[:, 2]),
                        GL_NODES, GL_WEIGHTS, values)
        return values[inverse.ravel()]

    def v(self, r, phi, *, method: str = "series") -> np.ndarray:
        """V(r, φ) = −Σ_j c_j K(r, |u_j|, φ − ∠u_j), arrays broadcast (V of unit w = r(cos φ,
        sin φ)). ``method`` as for :meth:`kernel`."""
        r, phi = np.asarray(r, dtype=float), np.asarray(phi, dtype=float)
        shape = np.broadcast_shapes(r.shape, phi.shape)
        if not np.all(r >= 0):
            raise ValueError("v: radii must be >= 0")
        rows = np.cos(np.broadcast_to(phi, shape).ravel()[:, None] - self.angles[None, :])
        if method == "closed" or (method == "auto" and self.activation.name in CLOSED):
            values = closed_kernel(self.activation,
                                   np.broadcast_to(r, shape).ravel()[:, None],
                                   self.radii[None, :], rows)
        else:
            if method not in ("series", "auto"):
                raise ValueError(f"method: expected 'series', 'closed' or 'auto', got "
                                 f"{method!r}")
            radii, inverse = np.unique(np.concatenate([r.ravel(), self.radii]),
                                       return_inverse=True)
            first = np.broadcast_to(inverse[: r.size].reshape(r.shape), shape).ravel()
            second = inverse[r.size:]
            count = len(self.radii)
            values = self.series(radii, np.repeat(first, count), np.tile(second, first.size),
                                 rows.ravel()).reshape(-1, count)
        return -(values @ self.teacher_weights).reshape(shape)

    def pair_sum(self, r, phi, *, method: str = "auto") -> float:
        """Σ_{i,j} U(θ_i, θ_j) for units w_i = r_i (cos φ_i, sin φ_i) (1-D arrays), diagonal
        i = j included (:meth:`diagonal`). ``method`` as for :meth:`kernel` (default "auto")."""
        return self.unit_sums(r, phi, method=method)[1]

    def risk(self, r, phi, scale: float = 1.0, *, method: str = "auto") -> float:
        """R_N = R_# + (2α/N) Σ_i V(θ_i) + (α²/N²) Σ_{i,j} U(θ_i, θ_j) of the network of units
        w_i = r_i (cos φ_i, sin φ_i) with α = ``scale`` (MATH.md 1; diagonal included)."""
        sum_v, sum_u = self.unit_sums(r, phi, method=method)
        n = np.size(r)
        return float(self.label_second_moment + 2.0 * scale * sum_v / n
                     + scale**2 * sum_u / n**2)

    def unit_sums(self, r, phi, *, method: str = "auto") -> tuple[float, float]:
        """(Σ_i V(θ_i), Σ_{i,j} U(θ_i, θ_j)) for units w_i = r_i (cos φ_i, sin φ_i), with one
        Hermite table for all radii; off-diagonal pairs i < j in blocks of rows (at most
        PAIR_BLOCK values at a time), counted twice."""
        r, phi = np.asarray(r, dtype=float).ravel(), np.asarray(phi, dtype=float).ravel()
        if r.shape != phi.shape or not np.all(r >= 0):
            raise ValueError("r (>= 0) and phi must be 1-D arrays of one length")
        if method not in ("series", "closed", "auto"):
            raise ValueError(f"method: expected 'series', 'closed' or 'auto', got {method!r}")
        n, count = r.size, len(self.radii)
        closed = method == "closed" or (method == "auto" and self.activation.name in CLOSED)
        to_teacher = np.cos(phi[:, None] - self.angles[None, :])              # (N, J)
        if closed:
            def pairs(i, j, c):
                return closed_kernel(self.activation, r[i], r[j], c)

            teacher = closed_kernel(self.activation, r[:, None], self.radii[None, :],
                                    to_teacher)
        else:
            radii, index = np.unique(np.concatenate([r, self.radii]), return_inverse=True)
            table = self.table(radii, self.max_terms)

            def pairs(i, j, c):
                return self.series(radii, index[i], index[j], c, table=table)

            teacher = self.series(radii, np.repeat(index[:n], count),
                                  np.tile(index[n:], n), to_teacher.ravel(),
                                  table=table).reshape(n, count)
        directions = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        rows = max(1, PAIR_BLOCK // max(n, 1))
        total = 0.0
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            i, j = np.nonzero(np.arange(start, stop)[:, None] < np.arange(n)[None, :])
            i += start
            c = np.clip(np.einsum("ek,ek->e", directions[i], directions[j]), -1.0, 1.0)
            total += 2.0 * pairs(i, j, c).sum()
        return (float(-(teacher @ self.teacher_weights).sum()),
                float(total + self.diagonal(r).sum()))

    def circle_kernel(self, delta, *, method: str = "series") -> np.ndarray:
        """U of circle units: K(1, 1, δ)."""
        return self.kernel(1.0, 1.0, delta, method=method)

    def circle_v(self, phi, *, method: str = "series") -> np.ndarray:
        """V of circle units: V(1, φ)."""
        return self.v(1.0, phi, method=method)

    def diagonal(self, r) -> np.ndarray:
        """U(θ, θ) = K(r, r, 0) = E σ(rG)² (closed forms for linear, ReLU, erf; quadrature
        otherwise)."""
        return _second_moment(self.activation, np.asarray(r, dtype=float))
