"""Planar teacher–student data: V, U and R_# of units σ(⟨w, x⟩) on x ~ N(0, I₂)
(docs/theory.md §1, §4.5).

Labels come from a teacher network, y = Σ_j c_j σ(⟨u_j, x⟩) with u_j ∈ R² (``teacher``) and
weights c_j (``teacher_weights``). For student units σ*(x; w) = σ(⟨w, x⟩) write w in polar form,
r = |w|, φ = atan2(w₂, w₁). The pre-activations ⟨w, x⟩ and ⟨w', x⟩ are jointly Gaussian with
standard deviations r, r' and correlation c = cos(φ − φ'), so everything reduces to one kernel

    K(r, r', δ) = E σ(⟨w, x⟩) σ(⟨w', x⟩) = E σ(r Z₁) σ(r'(c Z₁ + s Z₂)),   c = cos δ, s = √(1 − c²),

and (docs/theory.md §1)

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
   the conditional mean (:func:`~ddsolver.problem.bivariate.pair_quadrature`),

       K = E[σ(r Z₁) g(Z₁)],   g(z) = E σ(r' c z + r' s G),

   g in closed form for ramps and erf and by an inner quadrature otherwise; both integrals
   use composite 16-point Gauss–Legendre panels on [−10, 10], broken at the kinks of σ and
   graded geometrically around its transitions (agrees with the closed forms to ≈ 1e−14).

Closed forms (``method="closed"``, and the fallback above; the activation's
:meth:`~ddsolver.problem.activations.Activation.pair_kernel`), θ = arccos c:

    linear:  r r' c
    ReLU:    (r r'/(2π)) (sin θ + (π − θ) cos θ)                     (arc-cosine kernel)
    erf:     (2/π) arcsin(2 r r' c / √((1 + 2r²)(1 + 2r'²)))
    piecewise linear (a constant plus ramps): sums of E[(rU − t)₊ (r'V − t')₊], truncated
             bivariate normal moments with Φ₂ from Owen's T
             (:func:`~ddsolver.problem.bivariate.ramp_pair`)

``method="auto"`` takes the closed form where there is one and the series otherwise (the
exact risk of SGD networks uses it; the series is the default of :meth:`PlanarTeacher.kernel`).

The numerics (Hermite tables, tail bounds, the compiled Mehler series and quadrature) are in
:mod:`ddsolver.problem.bivariate`.
"""

from __future__ import annotations

import numpy as np

from .activations import make_activation
from .bivariate import diagonal_kernel, hermite_table, mehler_series, pair_quadrature, tail_roots
from .gaussian import GL_NODES, GL_WEIGHTS
from .pointwise import pointwise_args

PAIR_BLOCK = 1 << 20                    # pairs per block in PlanarTeacher.pair_sum
EXTENDED_TERMS = 10                     # smooth σ: second series pass with 10 × max_terms


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

    def __repr__(self):
        return (f"PlanarTeacher({self.activation!r}, teacher={self.teacher.tolist()}, "
                f"teacher_weights={self.teacher_weights.tolist()})")

    # -- data ------------------------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n samples: x (n, 2) ~ N(0, I₂) and y (n,) = Σ_j c_j σ(⟨u_j, x⟩)."""
        x = rng.standard_normal((n, 2))
        return x, self.activation.sigma(x @ self.teacher.T) @ self.teacher_weights

    # -- kernels ---------------------------------------------------------------------------------

    def _closed(self, method: str) -> bool:
        """Whether ``method`` ("series", "closed" or "auto") means the activation's closed form:
        "closed", or "auto" for an activation that has one."""
        if method not in ("series", "closed", "auto"):
            raise ValueError(f"method: expected 'series', 'closed' or 'auto', got {method!r}")
        return method == "closed" or (method == "auto" and self.activation.has_closed_pair_kernel)

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
        if self._closed(method):
            return self.activation.pair_kernel(r, r2, c) * np.ones(shape)
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
        the closed form or :func:`~ddsolver.problem.bivariate.pair_quadrature` for what is
        left. ``table``: the result of
        :meth:`table` for ``radii``, if already computed."""
        radii = np.asarray(radii, dtype=float)
        first = np.asarray(first, dtype=np.int64)
        second = np.asarray(second, dtype=np.int64)
        c = np.ascontiguousarray(c, dtype=float)
        if table is None:
            table = self.table(radii, self.max_terms)
        out, certified = self._series_pass(table, first, second, c)
        rest = np.flatnonzero(~certified)
        smooth = not (self.activation.has_closed_pair_kernel or self.activation.kinks)
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
        """(h, roots), each (M, nmax+1): the Hermite coefficients of the radii and their tail
        roots (:func:`~ddsolver.problem.bivariate.hermite_table`,
        :func:`~ddsolver.problem.bivariate.tail_roots`)."""
        h, second_moment = hermite_table(self.activation, np.asarray(radii, dtype=float), nmax)
        return np.ascontiguousarray(h), np.ascontiguousarray(tail_roots(h, second_moment))

    def _series_pass(self, table, first, second, c):
        """(values, certified) of :func:`~ddsolver.problem.bivariate.mehler_series` with a
        (h, roots) table."""
        out = np.empty(c.size)
        certified = np.empty(c.size, dtype=np.bool_)
        mehler_series(*table, np.ascontiguousarray(first), np.ascontiguousarray(second),
                      np.ascontiguousarray(c), self.tol, out, certified)
        return out, certified

    def _fallback(self, r, r2, c) -> np.ndarray:
        """K where the series stops short: closed form, or
        :func:`~ddsolver.problem.bivariate.pair_quadrature` once per distinct (unordered radii,
        c)."""
        if self.activation.has_closed_pair_kernel:
            return self.activation.pair_kernel(r, r2, c)
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
        if self._closed(method):
            values = self.activation.pair_kernel(np.broadcast_to(r, shape).ravel()[:, None],
                                                 self.radii[None, :], rows)
        else:
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
        w_i = r_i (cos φ_i, sin φ_i) with α = ``scale`` (docs/theory.md §1; diagonal included)."""
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
        n, count = r.size, len(self.radii)
        to_teacher = np.cos(phi[:, None] - self.angles[None, :])              # (N, J)
        if self._closed(method):
            def pairs(i, j, c):
                return self.activation.pair_kernel(r[i], r[j], c)

            teacher = self.activation.pair_kernel(r[:, None], self.radii[None, :], to_teacher)
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
        """U(θ, θ) = K(r, r, 0) = E σ(rG)² (:func:`~ddsolver.problem.bivariate.diagonal_kernel`:
        the closed form where there is one, quadrature otherwise)."""
        return diagonal_kernel(self.activation, np.asarray(r, dtype=float))

