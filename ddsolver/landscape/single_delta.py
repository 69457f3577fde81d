"""The single-delta ansatz of the radial models and its optimality certificate
(docs/numerics.md §14.1, docs/theory.md §6b).

All units on one sphere, ρ = δ_r (units σ(⟨w, x⟩), coordinate r = |w|) or ρ = δ_(a, r) (units
a σ(⟨w, x⟩)), on isotropic Gaussian data. With v, the features f_k of u_d (at ``pde.kernel_dim``)
and u(r) = u_d(r, r) = Σ_k f_k(r)², the risk and the energy E = R/(2α²) + (λ/2)∫|θ|² dρ are

    w:   R(δ_r)      = R_# + 2α v(r) + α² u(r)
    aw:  R(δ_(a,r))  = R_# + 2α a v(r) + α² a² u(r),   a*(r) = clip(−v/(α(u + λ)), [a_lo, a_hi]),

minimised over the case's grid box (r ∈ [r_lo, r_hi], a ∈ [a_lo, a_hi]) by a scan and a bounded
refinement of every local minimum of the scan. The first variation of E at the delta is

    w:   Ψ(r)    = v(r)/α + λr²/2 + Σ_k f_k(r*) f_k(r)
    aw:  Ψ(a, r) = a g(r) + λ(a² + r²)/2,   g(r) = v(r)/α + a* Σ_k f_k(r*) f_k(r),

and, E being convex in ρ, the delta minimises E over laws on the box iff its certificate gap
Ψ(θ*) − min_box Ψ is 0 (E(δ) − E_min ≤ gap). For aw, Ψ is minimised over a in closed form
(a = clip(−g/λ), or the box end with the smaller a g when λ = 0), so the gap of an interior a*
with λ = 0 is max_r |g(r)| times the box half-width: positive unless g ≡ 0, and growing with the
box. Only units w have a threshold in Δ (:func:`delta_threshold`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ..case import as_case, normalize_case
from ..errors import CaseError
from ..grid import CartesianGrid
from ..model import IsotropicModel, model_of
from ..solve import build_reduction

SCAN = 4001                # points of the scans of E and Ψ over the r range
WELLS = 4                  # lowest local minima of a scan refined
GAP_TOL = 1e-9             # optimal: gap ≤ GAP_TOL · R_#/(2α²)
BRACKET_SCAN = np.linspace(0.05, 0.95, 19)      # Δ values searched for a bracket of the threshold


@dataclass(frozen=True)
class SingleDelta:
    """The best single delta: r*, a* (None for units w), R(δ*), its certificate gap (in units of
    E = R/(2α²) + λ-term), where Ψ(·; δ*) is smallest (coordinates as the model's: (r,) or
    (a, r)), and ``scale`` = R_#/(2α²), the unit of ``gap`` in :attr:`optimal`."""

    radius: float
    weight: float | None
    risk: float
    gap: float
    potential_min_at: tuple[float, ...]
    scale: float

    @property
    def optimal(self) -> bool:
        """Global minimiser within the certificate's tolerance: gap ≤ GAP_TOL · scale."""
        return self.gap <= GAP_TOL * self.scale


@dataclass(frozen=True)
class Threshold:
    """The Δ where the single delta stops being optimal: optimal at ``lo``, not at ``hi``;
    ``delta`` is the midpoint."""

    lo: float
    hi: float

    @property
    def delta(self) -> float:
        return 0.5 * (self.lo + self.hi)


def radial_reduction(case: dict):
    """(reduction of r, box {coordinate: (lo, hi)}) of a normalised noiseless case with units w
    or aw on isotropic data; anything else is a one-line CaseError naming the key."""
    model = model_of(case)
    if not isinstance(model, IsotropicModel):
        raise CaseError(f"data.kind: the single-delta ansatz needs the isotropic Gaussian data "
                        f"of the radial models, got {case['data']['kind']!r}")
    if model.coords not in (("r",), ("a", "r")):
        raise CaseError(f"network.unit: the single-delta ansatz needs units with coordinates "
                        f"(r) or (a, r), got {case['network']['unit']!r} with "
                        f"({', '.join(model.coords)})")
    if math.isfinite(case["training"]["beta"]):
        raise CaseError(f"training.beta: the single-delta ansatz is a landscape of the noiseless "
                        f"energy and needs beta = inf, got {case['training']['beta']:g}")
    grid = CartesianGrid.from_dict(case["pde"]["grid"])
    reduction = build_reduction(case, grid)
    box = {axis.name: (axis.lo, axis.hi) for axis in grid.axes}
    return getattr(reduction, "inner", reduction), box


def global_min(f, lo: float, hi: float, n: int = SCAN) -> tuple[float, float]:
    """(x, f(x)) minimising the vectorised f on [lo, hi]: scan n points, refine the WELLS
    lowest local minima of the scan with a bounded Brent search between their neighbours, keep
    the best."""
    x = np.linspace(lo, hi, n)
    y = f(x)
    padded = np.concatenate([[np.inf], y, [np.inf]])
    wells = np.flatnonzero((y < padded[:-2]) & (y <= padded[2:]))
    best = (float(x[np.argmin(y)]), float(y.min()))
    for i in wells[np.argsort(y[wells])[:WELLS]]:
        a, b = x[max(i - 1, 0)], x[min(i + 1, n - 1)]
        res = minimize_scalar(lambda s: float(f(np.array([s]))[0]), bounds=(a, b),
                              method="bounded", options={"xatol": 1e-12 * max(1.0, abs(b))})
        if res.fun < best[1]:
            best = (float(res.x), float(res.fun))
    return best


def polish(df, x: float, lo: float, hi: float, h: float) -> float:
    """x refined to the root of the derivative df in [x − h, x + h] ∩ [lo, hi] when df changes
    sign there (brentq, to round-off), else x (a minimum at an end of the range)."""
    a, b = max(x - h, lo), min(x + h, hi)
    fa, fb = df(a), df(b)
    return brentq(df, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps) if fa < 0 < fb else x


def single_delta(case) -> SingleDelta:
    """The single-delta optimum of a case (path or dict) with units w or aw on isotropic data,
    and its certificate (module doc)."""
    case = as_case(case)
    red, box = radial_reduction(case)
    alpha, lam = red.scale, red.lam
    r_box = box["r"]
    scale = red.data.label_second_moment / (2 * alpha**2)
    h = (r_box[1] - r_box[0]) / (SCAN - 1)

    def diag(r):
        return np.square(red.features(r)).sum(axis=0)

    if "a" not in box:
        def energy(r):
            return scale + red.v(r) / alpha + 0.5 * diag(r) + 0.5 * lam * r**2

        def denergy(r):
            r = np.array([r])
            return float(red.dv(r)[0] / alpha + red.features(r)[:, 0] @ red.dfeatures(r)[:, 0]
                         + lam * r[0])

        r_star = polish(denergy, global_min(energy, *r_box)[0], *r_box, h)
        c = red.features(np.array([r_star]))[:, 0]

        def potential(r):
            return red.v(r) / alpha + 0.5 * lam * r**2 + c @ red.features(r)

        psi_star = float(potential(np.array([r_star]))[0])
        r_min, psi_min = global_min(potential, *r_box)
        risk = (red.data.label_second_moment + 2 * alpha * float(red.v(np.array([r_star]))[0])
                + alpha**2 * float(c @ c))
        return SingleDelta(r_star, None, risk, max(psi_star - psi_min, 0.0), (r_min,), scale)

    a_box = box["a"]

    def best_a(r):
        """a*(r) = clip(−v/(α(u + λ))), 0 where u + λ = 0 (then v = 0 too)."""
        v, u = red.v(r), diag(r) + lam
        a = np.divide(-v, alpha * u, out=np.zeros_like(v), where=u > 0)
        return np.clip(a, *a_box)

    def profile(r):
        a = best_a(r)
        return scale + a * red.v(r) / alpha + 0.5 * a**2 * (diag(r) + lam) + 0.5 * lam * r**2

    def dprofile(r):
        """P'(r) = ∂_r E(a*(r), r) (envelope theorem)."""
        r = np.array([r])
        a = best_a(r)[0]
        return float(a * red.dv(r)[0] / alpha + a**2 * red.features(r)[:, 0]
                     @ red.dfeatures(r)[:, 0] + lam * r[0])

    r_star = polish(dprofile, global_min(profile, *r_box)[0], *r_box, h)
    a_star = float(best_a(np.array([r_star]))[0])
    c = a_star * red.features(np.array([r_star]))[:, 0]

    def slope(r):
        return red.v(r) / alpha + c @ red.features(r)

    def potential_a(r):
        """min over a in the box of a g(r) + λa²/2 (+ λr²/2), and the minimising a."""
        g = slope(r)
        if lam > 0:
            a = np.clip(-g / lam, *a_box)
        else:
            a = np.where(g > 0, a_box[0], a_box[1])
        return a * g + 0.5 * lam * (a**2 + r**2), a

    g_star = float(slope(np.array([r_star]))[0])
    psi_star = a_star * g_star + 0.5 * lam * (a_star**2 + r_star**2)
    r_min, psi_min = global_min(lambda r: potential_a(r)[0], *r_box)
    a_min = float(potential_a(np.array([r_min]))[1][0])
    v_star = float(red.v(np.array([r_star]))[0])
    risk = (red.data.label_second_moment + 2 * alpha * a_star * v_star
            + alpha**2 * a_star**2 * float(diag(np.array([r_star]))[0]))
    return SingleDelta(r_star, a_star, risk, max(psi_star - psi_min, 0.0), (a_min, r_min), scale)


def with_delta(case: dict, delta: float) -> dict:
    """A normalised copy of the case with ``data.delta`` = delta."""
    case = copy.deepcopy(case)
    case["data"]["delta"] = float(delta)
    return normalize_case(case)


def delta_threshold(case, lo: float | None = None, hi: float | None = None,
                    tol: float = 1e-4) -> Threshold:
    """Bisection in Δ on :attr:`SingleDelta.optimal` (units w) down to a bracket of width ≤ tol.
    Without lo and hi the bracket is the first change from optimal to not optimal over
    Δ = 0.05, 0.10, …, 0.95. ValueError if the single delta is not optimal at lo or is at hi."""
    case = as_case(case)
    if model_of(case).coords != ("r",):
        raise CaseError(f"network.unit: the single-delta threshold needs units with coordinate "
                        f"(r), got {case['network']['unit']!r}")

    def optimal(delta):
        return single_delta(with_delta(case, delta)).optimal

    if lo is None or hi is None:
        flags = [optimal(delta) for delta in BRACKET_SCAN]
        change = [i for i in range(1, len(flags)) if flags[i - 1] and not flags[i]]
        if not change:
            raise ValueError("the single delta does not stop being optimal between Δ = "
                             f"{BRACKET_SCAN[0]:g} and {BRACKET_SCAN[-1]:g}")
        lo, hi = BRACKET_SCAN[change[0] - 1], BRACKET_SCAN[change[0]]
    elif not optimal(lo) or optimal(hi):
        raise ValueError(f"[{lo:g}, {hi:g}] does not bracket the threshold: the single delta must "
                         "be optimal at Δ = lo and not at Δ = hi")
    lo, hi = float(lo), float(hi)
    for _ in range(math.ceil(math.log2(max((hi - lo) / tol, 1.0)))):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if optimal(mid) else (lo, mid)
    return Threshold(lo, hi)
