"""User-defined problems on a box grid of dimension 1 to 4 (docs/theory.md §1 and 4.4; finite
volumes solve up to 3, the Lagrangian scheme all).

A problem is given in one of three ways; θ ∈ R^D with D = len(coords) ∈ {1, 2, 3, 4}:

- :meth:`UserProblem.from_data`: units σ*(x; θ) and a quadrature or sample (x_q, y_q, w_q) of
  the data, so that (docs/theory.md §1)

      V(θ) = −Σ_q w_q y_q σ*(x_q; θ),   U(θ, θ') = Σ_q w_q σ*(x_q; θ) σ*(x_q; θ'),
      R_# = Σ_q w_q y_q²,

  with the low-rank features f_q(θ) = √w_q σ*(x_q; θ) (rank Q). Only this form can run SGD.
- :meth:`UserProblem.from_lowrank`: V and features f_k with U(θ, θ') = Σ_k f_k(θ) f_k(θ').
- :meth:`UserProblem.from_dense`: V and a positive semidefinite kernel U(θ, θ'). On a grid the
  matrix Ū_jj' = U(c_j, c_j') at the cell centres c_j (second-order accurate cell averages) is
  factored as Ū = FᵀF by a symmetric eigendecomposition, which needs two dense
  (cells × cells) float64 matrices: the build refuses grids for which 16 · cells² bytes exceed
  ``memory_budget``.

:meth:`UserProblem.reduction` returns an object with the reduction interface of the solver
(Euclidean coordinates, so log J = 0; no series, so terms = 1 and tail_bound = 0).
:func:`load_problem` loads a problem from the Python file named in a case's ``[data]`` table.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import scipy.linalg

from ..errors import CaseError
from ..grid import CartesianGrid
from ..grid.cartesian import MAX_DIM
from ..reduction.base import Reduction

DENSE_MATRICES = 2          # Ū (factored in place by LAPACK) + its eigenvectors; see from_dense
KERNEL_BLOCK = 2**16        # kernel values per call when filling Ū or taking U(θ, θ)
REQUIRED_CALLABLES = {"data": ("sigma",), "lowrank": ("v", "features"), "dense": ("v", "kernel")}


class ProblemError(CaseError):
    """A user problem is malformed, or one of its functions failed or returned a wrong value:
    one line, naming the key ``data.file`` and the function."""

    def __init__(self, message: str):
        super().__init__(f"data.file: {message}")


def _finite(name: str, value: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(value)):
        raise ProblemError(f"{name}: got non-finite values")
    return value


def _call(name: str, fun, *args):
    """``fun(*args)``, any exception of the user's code (SystemExit too) as a ProblemError."""
    try:
        return fun(*args)
    except (Exception, SystemExit) as exc:
        if isinstance(exc, CaseError):
            raise
        message = " ".join(str(exc).split())[:200]
        raise ProblemError(f"{name} raised {type(exc).__name__}: {message}") from None


def _checked(name: str, value, expected: tuple) -> np.ndarray:
    """``value`` as a finite float array, or a ProblemError naming the callable and both
    shapes."""
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError(f"{name}: expected an array of numbers, got "
                           f"{type(value).__name__}") from None
    if value.shape != expected:
        raise ProblemError(f"{name}: expected an array of shape {expected}, got "
                           f"shape {value.shape}")
    return _finite(name, value)


def _nonnegative(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ProblemError(f"{name}: expected a finite number >= 0, got {value!r}")
    return value


def gaussian_quadrature(cov, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x (order^d, d) and weights w (summing to 1) with Σ_q w_q g(x_q) = E g(x) for
    x ~ N(0, cov) and every polynomial g of degree ≤ 2·order − 1 in each coordinate of
    C^(−½)x: tensor Gauss–Hermite in z ~ N(0, I), mapped by x = C^(½) z."""
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.allclose(cov, cov.T):
        raise ProblemError(f"cov: expected a symmetric (d, d) matrix, got {cov.tolist()!r}")
    values, vectors = np.linalg.eigh(cov)
    if values.min() < -1e-12 * max(values.max(), 0.0):
        raise ProblemError(f"cov: not positive semidefinite (eigenvalue {values.min():.3g})")
    root = vectors * np.sqrt(np.clip(values, 0.0, None)) @ vectors.T
    z, w = np.polynomial.hermite_e.hermegauss(int(order))
    d = cov.shape[0]
    nodes = np.stack(np.meshgrid(*([z] * d), indexing="ij"), axis=-1).reshape(-1, d)
    weights = np.ones(1)
    for _ in range(d):
        weights = np.multiply.outer(weights, w / w.sum()).ravel()
    return nodes @ root.T, weights


class UserProblem:
    """V, U and R_# of a problem given by the user; build it with :meth:`from_data`,
    :meth:`from_lowrank` or :meth:`from_dense`.

    Point functions take the coordinates as flat arrays, one per name in ``coords``
    (``v(*coords)`` -> (n,)), or θ as an (n, D) array (``kernel``, ``units``).
    """

    def __init__(self, coords, kind, label_second_moment, *, v=None, features=None, kernel=None,
                 sigma=None, grad=None, data=None, memory_budget=None, tol=None, psd_tol=None):
        coords = tuple(coords) if isinstance(coords, (tuple, list)) else (coords,)
        if not (1 <= len(coords) <= MAX_DIM and all(isinstance(c, str) and c for c in coords)
                and len(set(coords)) == len(coords)):
            raise ProblemError(f"coords: expected 1 to {MAX_DIM} distinct coordinate names, "
                             f"got {coords!r}")
        callables = {"v": v, "features": features, "kernel": kernel, "sigma": sigma, "grad": grad}
        for name, fun in callables.items():
            if (name in REQUIRED_CALLABLES[kind] or fun is not None) and not callable(fun):
                raise ProblemError(f"{name}: expected a callable, got {fun!r}")
        self.coords = coords
        self.kind = kind
        self.label_second_moment = _nonnegative("label_second_moment", label_second_moment)
        self._v, self._features, self._kernel = v, features, kernel
        self._sigma, self._grad = sigma, grad
        self.x, self.y, self.weights = data if data is not None else (None, None, None)
        self.memory_budget, self.tol, self.psd_tol = memory_budget, tol, psd_tol

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def from_data(cls, coords, sigma, x, y, weights=None, grad=None) -> UserProblem:
        """Units ``sigma(x, theta)`` -> (n, Q) for x (Q, dx), theta (n, D), on data nodes x with
        labels y (Q,) and weights (Q,) (default 1/Q; ≥ 0, summing to 1). ``grad(x, theta)`` ->
        (n, Q, D) = ∇_θ σ*(x_q; θ_i) is needed for SGD only."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ProblemError(f"x: expected a 2-D array (Q, dx) with Q >= 1, got shape {x.shape}")
        q = x.shape[0]
        y = _checked("y", y, (q,))
        weights = np.full(q, 1.0 / q) if weights is None else _checked("weights", weights, (q,))
        _finite("x", x)
        if not (np.all(weights >= 0) and abs(weights.sum() - 1.0) <= 1e-10):
            raise ProblemError(f"weights: expected non-negative values summing to 1, got sum "
                             f"{weights.sum()!r} and min {weights.min()!r}")
        return cls(coords, "data", float(weights @ y**2), sigma=sigma, grad=grad,
                   data=(x, y, weights))

    @classmethod
    def from_lowrank(cls, coords, v, features, label_second_moment) -> UserProblem:
        """``v(*coords)`` -> (n,) = V(θ); ``features(*coords)`` -> (K, n) with
        U(θ, θ') = Σ_k f_k(θ) f_k(θ'); label_second_moment = R_# = E y²."""
        return cls(coords, "lowrank", label_second_moment, v=v, features=features)

    @classmethod
    def from_dense(cls, coords, v, kernel, label_second_moment, memory_budget=2**30, *,
                   tol=1e-12, psd_tol=1e-8) -> UserProblem:
        """``v(*coords)`` -> (n,); ``kernel(theta, theta2)`` -> (n, m) = U(θ_i, θ2_j), positive
        semidefinite. On a grid, eigenvalues of Ū above tol · max|λ| are kept; one below
        −psd_tol · max|λ| is an error (U is not PSD); the ones between are dropped.
        ``memory_budget`` (bytes) bounds the 16 · cells² bytes of the factorisation."""
        return cls(coords, "dense", label_second_moment, v=v, kernel=kernel,
                   memory_budget=_nonnegative("memory_budget", memory_budget),
                   tol=_nonnegative("tol", tol), psd_tol=_nonnegative("psd_tol", psd_tol))

    # -- point functions -----------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """D, the number of coordinates of θ."""
        return len(self.coords)

    @property
    def has_data(self) -> bool:
        """Whether the problem has data to sample (built with :meth:`from_data`)."""
        return self.kind == "data"

    @property
    def has_grad(self) -> bool:
        """Whether the units' gradients are known (``grad`` given to :meth:`from_data`)."""
        return self._grad is not None

    def theta(self, *coords) -> np.ndarray:
        """θ (n, D) from one flat array per coordinate."""
        if len(coords) != self.dim:
            raise ProblemError(f"expected {self.dim} coordinate arrays {self.coords}, "
                             f"got {len(coords)}")
        return np.stack([np.asarray(c, dtype=float).ravel() for c in coords], axis=1)

    def units(self, x, theta) -> np.ndarray:
        """σ*(x_q; θ_i) as an (n, Q) array (data problems)."""
        return _checked("sigma(x, theta)", _call("sigma(x, theta)", self._sigma, x, theta),
                        (len(theta), len(x)))

    def unit_gradients(self, x, theta) -> np.ndarray:
        """∇_θ σ*(x_q; θ_i) as an (n, Q, D) array (data problems given ``grad``)."""
        return _checked("grad(x, theta)", _call("grad(x, theta)", self._grad, x, theta),
                        (len(theta), len(x), self.dim))

    def v(self, *coords) -> np.ndarray:
        """V(θ) (n,)."""
        theta = self.theta(*coords)
        if self.has_data:
            return -self.units(self.x, theta) @ (self.weights * self.y)
        return _checked("v(*coords)", _call("v(*coords)", self._v, *theta.T), (len(theta),))

    def features(self, *coords) -> np.ndarray:
        """f_k(θ) (K, n), U(θ, θ') = Σ_k f_k(θ) f_k(θ'); not for a dense kernel."""
        theta = self.theta(*coords)
        if self.has_data:
            return np.sqrt(self.weights)[:, None] * self.units(self.x, theta).T
        if self.kind == "dense":
            raise ProblemError("features: a problem given by a dense kernel has no feature "
                             "functions; its reduction provides cell_features(grid) instead")
        values = _call("features(*coords)", self._features, *theta.T)
        values = _checked("features(*coords)", values, np.shape(values))
        if values.ndim != 2 or values.shape[1] != len(theta):
            raise ProblemError(f"features(*coords): expected an array of shape (K, {len(theta)}), "
                             f"got shape {values.shape}")
        return _finite("features(*coords)", values)

    def kernel(self, theta, theta2) -> np.ndarray:
        """U(θ_i, θ2_j) (n, m) for θ (n, D), θ2 (m, D)."""
        theta = _checked("theta", theta, (len(theta), self.dim))
        theta2 = _checked("theta2", theta2, (len(theta2), self.dim))
        if self.kind == "dense":
            values = _call("kernel(theta, theta2)", self._kernel, theta, theta2)
            return _checked("kernel(theta, theta2)", values, (len(theta), len(theta2)))
        return self.features(*theta.T).T @ self.features(*theta2.T)

    def diagonal(self, *coords) -> np.ndarray:
        """U(θ, θ) (n,), exactly."""
        theta = self.theta(*coords)
        if self.kind != "dense":
            return np.sum(self.features(*theta.T) ** 2, axis=0)
        step = max(1, math.isqrt(KERNEL_BLOCK))
        return np.concatenate([np.diag(self.kernel(theta[i:i + step], theta[i:i + step]))
                               for i in range(0, len(theta), step)])

    def reduction(self, grid: CartesianGrid, *, scale=1.0, lam=0.0) -> UserReduction:
        """The reduction on ``grid`` (whose axes must be ``coords``, in order) for the network
        scale α = ``scale`` and ridge λ = ``lam``."""
        cls = DenseReduction if self.kind == "dense" else UserReduction
        return cls(self, grid, scale, lam)


class UserReduction(Reduction):
    """The reduction interface (see ddsolver.operator.lowrank) of a :class:`UserProblem`."""

    terms = 1
    tail_bound = 0.0
    kernel_dim = None

    def __init__(self, problem: UserProblem, grid: CartesianGrid, scale, lam):
        if grid.names != problem.coords:
            raise ProblemError(f"grid: axes {grid.names} do not match the problem's coordinates "
                             f"{problem.coords}")
        self.problem = self.data = problem
        self.coords = problem.coords
        self.grid = grid
        self.scale = float(scale)
        self.lam = _nonnegative("lam", lam)
        if not self.scale > 0:
            raise ProblemError(f"scale: expected a number > 0, got {scale!r}")
        self.rank = self._rank()

    def _rank(self) -> int:
        centre = [a.centres[:1] for a in self.grid.axes]
        return self.problem.features(*centre).shape[0]

    def v(self, *coords):
        return self.problem.v(*coords)

    def features(self, *coords):
        return self.problem.features(*coords)

    def diagonal(self, *coords):
        return self.problem.diagonal(*coords)

    def log_jacobian(self, *coords):
        """0: the coordinates are θ itself (Euclidean volume)."""
        return np.zeros(np.asarray(coords[0]).size)

    def risk(self, mean_v, moments) -> float:
        """R = R_# + 2α ∫V dp + α² Σ_k (∫f_k dp)²."""
        return (self.problem.label_second_moment + 2 * self.scale * mean_v
                + self.scale**2 * float(np.dot(moments, moments)))


class DenseReduction(UserReduction):
    """Reduction of a dense-kernel problem: cell features F with FᵀF = Ū, Ū_jj' = U(c_j, c_j')."""

    def _rank(self) -> int:
        self._cell_features = self._factor()
        return self._cell_features.shape[0]

    def _factor(self) -> np.ndarray:
        """F (rank, cells) from the eigendecomposition Ū = V diag(λ) Vᵀ, F = diag(√λ) Vᵀ over
        the kept eigenvalues. Peak memory: DENSE_MATRICES cells² float64 (Ū is factored in
        place, then freed before F is copied out of the eigenvectors)."""
        problem, grid, n = self.problem, self.grid, self.grid.size
        need = DENSE_MATRICES * 8 * n * n
        if need > problem.memory_budget:
            raise ProblemError(
                f"from_dense: a grid of {n} cells needs {need / 2**20:.1f} MiB for the dense "
                f"kernel matrix and its eigendecomposition, above memory_budget = "
                f"{problem.memory_budget / 2**20:.1f} MiB; raise the budget, use a coarser grid "
                "or give U in low-rank form (UserProblem.from_lowrank or from_data)")
        centres = np.stack([c.ravel() for c in grid.mesh()], axis=1)
        step = max(1, KERNEL_BLOCK // n)
        matrix, scale = np.empty((n, n)), 0.0
        for i in range(0, n, step):
            matrix[i:i + step] = problem.kernel(centres[i:i + step], centres)
            scale = max(scale, np.abs(matrix[i:i + step]).max())
        for i in range(0, n, step):
            asym = np.abs(matrix[i:i + step] - matrix[:, i:i + step].T).max()
            if asym > problem.psd_tol * scale:
                raise ProblemError(f"kernel: not symmetric at the cell centres (max |U - Uᵀ| = "
                                 f"{asym:.3g}, max |U| = {scale:.3g})")
        values, vectors = scipy.linalg.eigh(matrix.T, overwrite_a=True, check_finite=False)
        del matrix
        top = np.abs(values).max()
        if values[0] < -problem.psd_tol * top:
            raise ProblemError(f"kernel: not positive semidefinite on the grid (eigenvalue "
                             f"{values[0]:.3g}, largest {values[-1]:.3g})")
        first = int(np.searchsorted(values, problem.tol * top, side="right")) if top > 0 else n
        kept = vectors[:, first:]
        kept *= np.sqrt(values[first:])
        return kept.T.copy()

    def cell_features(self, grid: CartesianGrid, nodes: int = 4) -> np.ndarray:
        """F (rank, cells) with Σ_k F_kj F_kj' = U(c_j, c_j') at the cell centres (``nodes`` is
        unused: centre values are second-order accurate cell averages)."""
        if grid != self.grid:
            raise ProblemError(f"grid: the dense kernel was factored on {self.grid.to_dict()}, "
                             f"not on {grid.to_dict()}")
        return self._cell_features


def load_problem(case: dict) -> UserProblem:
    """The :class:`UserProblem` of a custom problem (:mod:`ddsolver.model.custom`): the Python
    file ``case["data"]["file"]`` defines ``make_problem(params)`` (called with
    ``case["data"]["params"]``) or a module-level ``problem``."""
    data = case["data"]
    path = Path(data["file"])
    params = data.get("params") or {}
    if not path.is_file():
        raise CaseError(f"data.file: no such file: {str(path)!r}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"ddsolver_custom_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CaseError(f"data.file: {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module              # lets dataclasses, pickling etc. find the module

    def failure(what, exc):
        message = " ".join(str(exc).split())
        return CaseError(f"data.file: {what} raised {type(exc).__name__}: {message}")

    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise failure(f"importing {str(path)!r}", exc) from exc
    if hasattr(module, "make_problem"):
        try:
            problem = module.make_problem(params)
        except (Exception, SystemExit) as exc:
            raise failure(f"make_problem(params) in {str(path)!r}", exc) from exc
        what = "make_problem(params)"
    elif hasattr(module, "problem"):
        if params:
            raise CaseError(f"data.params: {str(path)!r} has no make_problem(params) to take "
                            "them (it defines a fixed 'problem')")
        problem, what = module.problem, "problem"
    else:
        raise CaseError(f"data.file: {str(path)!r} defines neither make_problem(params) nor "
                        "problem")
    if not isinstance(problem, UserProblem):
        raise CaseError(f"data.file: {what} in {str(path)!r} gave {type(problem).__name__}, "
                        "expected a ddsolver.problem.user.UserProblem")
    return problem
