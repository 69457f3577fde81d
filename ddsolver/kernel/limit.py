"""The kernel regime (``training.regime = "kernel"``): the DD linearised about a law of zero output
as α → ∞, solved exactly in feature space (docs/theory.md §6).

With ∫σ*(x; θ) ρ₀(dθ) = 0 for every x, units move by θ_t = θ₀ + D_t(θ₀)/α + O(1/α²), the
law by ρ_t = ρ₀ + η_t/α with η_t = −∇·(ρ₀ D_t), and the network function f_t = ∫σ* dη_t does not
depend on α. With g = (V, f_1 … f_K) (V and the kernel's features) and the anchored penalty
(λ/2)|θ − θ₀|² (or λ = 0),

    Ḋ = −2ξ(t) [∇V + Σ_k c_k ∇f_k + λ D],   c_k = ∫ f_k dη = ∫ ∇f_k · D dρ₀,

so D_t = Σ_j z_j(t) ∇g_j and, with the tangent Gram matrix G_ij = ∫ ∇g_i · ∇g_j dρ₀,

    ż = −2ξ (A z + e₀),   A = [[λ, 0], [G_c0, G_cc + λ I]],   z(0) = 0,

solved exactly in τ = ∫ξ by the exponential of [[−2A, −2e₀], [0, 0]]. The risk is
R = R_# + 2 m₀ + |c|² with m₀ = ∫V dη = G_0·z and c = G_c·z; the units' root-mean-square
displacement is (zᵀGz)^½/α. As t → ∞ with λ > 0, c → −(G_cc + λI)⁻¹ G_c0: kernel ridge
regression with the tangent kernel (:meth:`KernelLimitRun.ridge_limit`).

The integrals over ρ₀ use a tensor quadrature on the case's grid, coordinate by coordinate: the
atoms of a point-mass law (constant or discrete a or b, a point or samples law of r) where they
are, else the cell centres with the exact cell masses (the midpoint rule, second order); g and its
gradient at these nodes by central differences of the reduction's point values (radial
coordinates at |x|; the Euclidean metric of the parameters is the identity in the reduced
coordinates a, b, r, r1, r2 and in a custom problem's θ), the features compressed to the kernel's
numerical rank at ``pde.kernel_tol``. The risk and the moments do not depend on α; the stored
density is the first-order law at α = ``network.scale``, the nodes moved to θ₀ + D_t(θ₀)/α
(radial coordinates at |·|) and deposited on the grid (ρ₀ at t = 0), the prediction for a
network at that scale whose means are exact to O(1/α²).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import expm

from ..errors import CaseError
from ..grid import CartesianGrid
from ..operator.lowrank import compression_basis
from ..problem.initial import InitialLaw, ScalarLaw, deposit
from ..problem.schedule import Schedule

DIFFERENCE_STEP = 1e-6          # central differences: this × the axis width
ZERO_OUTPUT = 1e-6              # |∫ f dρ₀| allowed, relative to the features' size on ρ₀


def check_zero_output(case: dict, model) -> None:
    """CaseError naming the initial law whose network output ∫σ* dρ₀ is not zero: a law of a
    (units a σ*) must have mean 0; models without a need a zero output checked numerically."""
    if "a" not in model.coords:
        return
    law = case["init"].get("a", model.scalar_laws.get("a"))
    if abs(ScalarLaw(law).mean) > 1e-14:
        raise CaseError(f"init.a: the kernel regime linearises about a law of zero output, "
                        f"∫σ* dρ₀ = E[a] ∫σ dρ₀ = 0: the law of a needs mean 0, got {law}")


class KernelLimitRun:
    """The run protocol for the kernel regime (module docstring): ``advance`` evaluates z at a
    time exactly; the stored density is the first-order law at α = ``scale``.

    ``nodes``: the quadrature points of each grid axis, ``weights`` their tensor-product masses
    (C order, summing to 1)."""

    def __init__(self, reduction, grid: CartesianGrid, nodes, weights: np.ndarray,
                 schedule: Schedule, lam: float, scale: float = 1.0, radial=(),
                 kernel_tol: float | None = 1e-10):
        self.reduction, self.grid, self.schedule, self.lam = reduction, grid, schedule, lam
        self.weights, self.scale = weights, scale
        self.points = np.column_stack([m.ravel() for m in np.meshgrid(*nodes, indexing="ij")])
        self.mirror = np.array([axis.name in radial for axis in grid.axes])
        values, grads = self._point_values(radial)
        mix = (np.eye(values.shape[0] - 1) if kernel_tol is None
               else compression_basis(values[1:], kernel_tol))
        self.kernel_rank = mix.shape[0]
        rows = np.vstack([values[:1], mix @ values[1:]])
        slopes = np.concatenate([grads[:, :1], np.einsum("kr,arn->akn", mix, grads[:, 1:])],
                                axis=1)
        output = np.abs(rows[1:] @ weights).max(initial=0.0)
        size = math.sqrt(float(np.sum(rows[1:] ** 2 @ weights)))
        if output > ZERO_OUTPUT * max(size, 1e-300):
            raise CaseError(f"init: the kernel regime linearises about a law of zero output, "
                            f"but the initial law's output moments reach {output:.3g} "
                            f"(features of size {size:.3g})")
        self.slopes = slopes
        self.gram = np.einsum("ain,ajn,n->ij", slopes, slopes, weights)
        k = self.gram.shape[0]
        self.system = self.gram.copy()
        self.system[0, :] = 0.0
        self.system += lam * np.eye(k)
        self.z = np.zeros(k)
        self.t, self.steps = 0.0, 0
        self.density = self._deposit()

    def _point_values(self, radial):
        """[v, f] (1 + rank, nodes) at the quadrature points and their gradients (axes,
        1 + rank, nodes) by central differences."""
        centres = list(self.points.T)

        def rows(points):
            points = [np.abs(x) if axis.name in radial else x
                      for x, axis in zip(points, self.grid.axes)]
            return np.vstack([np.asarray(self.reduction.v(*points), float).reshape(1, -1),
                              self.reduction.features(*points)])

        grads = []
        for k, axis in enumerate(self.grid.axes):
            step = DIFFERENCE_STEP * (axis.hi - axis.lo)
            shifted = [[x + sign * step if j == k else x for j, x in enumerate(centres)]
                       for sign in (1.0, -1.0)]
            grads.append((rows(shifted[0]) - rows(shifted[1])) / (2 * step))
        return rows(centres), np.array(grads)

    def warm_up(self) -> float:
        return 0.0

    def state_at(self, t: float) -> np.ndarray:
        """z(t) = the last column of exp(τ M), M = [[−2A, −2e₀], [0, 0]], τ = ∫₀ᵗ ξ."""
        k = self.system.shape[0]
        generator = np.zeros((k + 1, k + 1))
        generator[:k, :k] = -2.0 * self.system
        generator[0, k] = -2.0
        return expm(float(self.schedule.integral(t)) * generator)[:k, k]

    def advance(self, t_end: float, limit: float | None = None) -> None:
        """Evaluate the state at ``t_end`` (exact in t: ``limit`` is not needed)."""
        self.z = self.state_at(t_end)
        self.t = t_end
        self.density = self._deposit()

    def resume_state(self) -> dict:
        """The state is a function of t alone."""
        return {"t": self.t}

    def restore(self, state: dict) -> None:
        """Continue from a :meth:`resume_state` of a run of the same case."""
        self.advance(float(state["t"]))

    def moments(self) -> tuple[float, np.ndarray]:
        """(m₀, c) = (G_0·z, G_c·z)."""
        product = self.gram @ self.z
        return float(product[0]), product[1:]

    def risk(self) -> float:
        """R = R_# + 2m₀ + |c|² (the reduction's risk at α = 1 with these moments)."""
        mean_v, c = self.moments()
        return self.reduction.risk(mean_v / self.reduction.scale, c / self.reduction.scale)

    def displacement(self) -> float:
        """α × the root-mean-square displacement of the units, (zᵀGz)^½."""
        return math.sqrt(max(float(self.z @ self.gram @ self.z), 0.0))

    def free_energy(self) -> float:
        """R/2 + (λ/2) zᵀGz: α² times the DD's energy, decreasing along the flow."""
        return 0.5 * self.risk() + 0.5 * self.lam * self.displacement() ** 2

    def ridge_limit(self) -> np.ndarray:
        """c at t = ∞ (λ > 0): kernel ridge regression with the tangent kernel,
        c = −(G_cc + λI)⁻¹ G_c0 (the minimiser of R/2 + (λ/2)∫|D|² dρ₀ over D)."""
        if not self.lam > 0:
            raise ValueError("kernel ridge regression needs training.lambda > 0")
        g = self.gram
        return -np.linalg.solve(g[1:, 1:] + self.lam * np.eye(g.shape[0] - 1), g[1:, 0])

    def displacements(self) -> np.ndarray:
        """D_t at the quadrature points, (nodes, axes): Σ_j z_j ∇g_j."""
        return np.einsum("ajn,j->na", self.slopes, self.z)

    def _deposit(self) -> np.ndarray:
        """The density: the nodes at θ₀ + D_t(θ₀)/α deposited on the grid (mass and means
        kept), once per state."""
        moved = self.points + self.displacements() / self.scale
        moved[:, self.mirror] = np.abs(moved[:, self.mirror])
        return deposit(moved, self.weights, self.grid)

    def diagnostics(self) -> dict:
        mean_v, c = self.moments()
        return {"mass": float(self.weights.sum()), "min_density": float(self.density.min()),
                "steps": 0, "rejected_steps": 0, "dt": float("nan"),
                "displacement": self.displacement(), "output_v": mean_v,
                "output_norm": float(np.linalg.norm(c))}


def build(case: dict, model):
    """(grid, reduction, run) of a normalised case in the kernel regime."""
    training = case["training"]
    if math.isfinite(training["beta"]):
        raise CaseError("training.regime: the kernel regime is noiseless; set training.beta = "
                        "inf")
    if training["lambda"] > 0 and training["penalty"] != "anchored":
        raise CaseError("training.penalty: the kernel regime with training.lambda > 0 needs "
                        "penalty = 'anchored' ('origin' pulls every unit by λθ₀, of order one, "
                        "out of the linear regime)")
    check_zero_output(case, model)
    pde = case["pde"]
    grid = CartesianGrid.from_dict(pde["grid"])
    reduction = model.reduction(case, grid)
    law, tol = InitialLaw.from_case(case), pde["boundary_mass"]
    if law.kind == "density":                          # given cell values: the midpoint rule
        nodes = [axis.centres for axis in grid.axes]
        weights = law.cell_density(grid, outside_tol=tol).ravel() * grid.cell_volume
    else:
        nodes, factors = zip(*(law.axis_nodes(axis, tol) for axis in grid.axes))
        weights = np.ones(())
        for factor in factors:
            weights = np.multiply.outer(weights, factor)
        weights = weights.ravel() / weights.sum()
    run = KernelLimitRun(reduction, grid, nodes, weights,
                         Schedule.from_dict(training["schedule"]), training["lambda"],
                         scale=case["network"]["scale"], radial=model.radial,
                         kernel_tol=pde["kernel_tol"])
    return grid, reduction, run
