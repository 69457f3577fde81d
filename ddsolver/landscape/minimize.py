"""``ddsolver.minimize``: the certified global minimiser of the DD's energy over laws on the grid
(docs/numerics.md §13).

Noiseless (β = ∞): min E(m) over cell masses m ≥ 0, Σ m = 1, with E(m) = R_#/(2α²) + bᵀm +
½ mᵀUm (R itself when λ = 0; the :class:`~ddsolver.landscape.base.Energy` of the model:
Um = F̄ᵀ(F̄m) for the low-rank kernels, :class:`~ddsolver.landscape.energy.GridEnergy`; an FFT
along φ for the planar teacher, :class:`~ddsolver.landscape.planar.PlanarEnergy`), by fully
corrective Frank–Wolfe:

    Ψ̄ = ∇E(m),   j* = argmin_j Ψ̄_j,   gap = Σ_j m_j Ψ̄_j − Ψ̄_{j*} ≥ E(m) − E_min,

stop when 2α²·gap ≤ ``tol``; else add cell j* to the active set S and re-solve E exactly over
the laws supported on S (a QP of |S| variables: min b_Sᵀw + ½ wᵀU_SSw, w ≥ 0, Σ w = 1, by the
interior-point solver Clarabel), dropping the cells it leaves empty. The iterates are atomic
(Carathéodory: an optimum has at most rank + 1 atoms) and every cost is that of one potential
evaluation (O(cells × rank) for a low-rank kernel); no cells × cells matrix is formed. Noisy
cases (β < ∞) minimise the free energy instead, whose minimiser is the Gibbs state:
:func:`ddsolver.stationary`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings

import numpy as np
from scipy import sparse

from ..case import as_case
from ..drive import Progress, drive
from ..errors import CaseError, NumericalError
from ..model import model_of
from ..results import Solution
from ..solve import solution_of
from ..threads import single_blas_thread
from .energy import Certificate, Energy, energy_of

log = logging.getLogger("ddsolver")

GAP_TOL = 1e-9          # default certificate, risk units
MAX_ITERATIONS = 500
EMPTY = 1e-14           # atoms lighter than this are dropped after a corrective solve
SUPPORT = 1e-7          # relative weight below which an interior-point atom is off the support


def simplex_qp(linear: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """argmin_w bᵀw + ½ wᵀHw over the simplex (w ≥ 0, Σ w = 1), H positive semi-definite, by
    Clarabel, then :func:`polish`."""
    import clarabel

    n = linear.size
    constraints = sparse.csc_matrix(np.vstack([np.ones((1, n)), -np.eye(n)]))
    bounds = np.concatenate([[1.0], np.zeros(n)])
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-12
    settings.tol_ktratio = 1e-10
    solver = clarabel.DefaultSolver(sparse.csc_matrix(np.triu(hessian)), linear, constraints,
                                    bounds, [clarabel.ZeroConeT(1), clarabel.NonnegativeConeT(n)],
                                    settings)
    result = solver.solve()
    if str(result.status) not in ("Solved", "AlmostSolved"):
        raise NumericalError(f"minimize: the corrective QP on {n} atoms failed: {result.status}")
    return polish(linear, hessian, np.clip(np.asarray(result.x), 0.0, None))


def polish(linear: np.ndarray, hessian: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The interior-point solution w made exact on its support S = {w > SUPPORT · max w}: the
    minimum over Σ w_S = 1 alone solves the KKT system [[H_SS, 1], [1ᵀ, 0]] [w_S; μ] =
    [−b_S; 1] (least squares if singular); kept if it is non-negative, so that the atoms off S
    are exactly 0 rather than the solver's 1e-10 residue. Else w renormalised."""
    support = np.flatnonzero(w > SUPPORT * w.max())
    k = support.size
    system = np.zeros((k + 1, k + 1))
    system[:k, :k] = hessian[np.ix_(support, support)]
    system[:k, k] = system[k, :k] = 1.0
    exact = np.linalg.lstsq(system, np.append(-linear[support], 1.0), rcond=None)[0][:k]
    if exact.min() < 0.0:
        return w / w.sum()
    out = np.zeros_like(w)
    out[support] = exact / exact.sum()
    return out


def frank_wolfe(energy: Energy, tol: float = GAP_TOL, max_iterations: int = MAX_ITERATIONS):
    """Fully corrective Frank–Wolfe (module docstring) from the best single cell: returns
    (m, certificate, iterations); ``certificate.gap`` ≤ tol unless ``max_iterations`` stopped
    it."""
    with single_blas_thread():      # products of ≲ 10⁴ numbers: woken BLAS threads only wait
        single = energy.linear + 0.5 * energy.diagonal()
        active = np.array([int(np.argmin(single))])
        weights = np.ones(1)
        m = np.zeros(energy.grid.size)
        for iteration in range(max_iterations + 1):
            m[:] = 0.0
            m[active] = weights
            certificate = energy.certify(m)
            log.debug("Frank-Wolfe %d: %d atoms, risk %.12g, gap %.3e", iteration, active.size,
                      certificate.risk, certificate.gap)
            if certificate.gap <= tol or iteration == max_iterations:
                return m, certificate, iteration
            if certificate.argmin in active:            # the QP was not solved to the tolerance
                return m, certificate, iteration
            active = np.append(active, certificate.argmin)
            weights = simplex_qp(energy.linear[active], energy.block(active))
            keep = weights > EMPTY
            active, weights = active[keep], weights[keep] / weights[keep].sum()


def boundary_mass(m: np.ndarray, grid, natural: tuple[str, ...],
                  periodic: tuple[str, ...] = ()) -> list[tuple[str, str, float]]:
    """(axis, "min"/"max", mass) for every edge layer of the grid that holds mass, except lower
    edges at 0 of the ``natural`` (radial) axes and the ``periodic`` axes (angles: no edge)."""
    cells = m.reshape(grid.shape)
    found = []
    for k, axis in enumerate(grid.axes):
        if axis.name in periodic:
            continue
        layers = np.moveaxis(cells, k, 0)
        for side, layer in (("min", layers[0]), ("max", layers[-1])):
            if side == "min" and axis.name in natural and axis.lo == 0.0:
                continue
            if layer.sum() > 0.0:
                found.append((axis.name, side, float(layer.sum())))
    return found


def minimize(case, output=None, *, tol: float = GAP_TOL, overwrite=False,
             progress=None, energy: Energy | None = None) -> Solution:
    """The global minimiser of the DD's energy over laws on the case's grid, with its
    certificate (module docstring): one snapshot at t = ∞ in the solution layout, an atom of
    mass m_j stored as the density m_j/|cell| on its cell. ``attrs`` hold ``gap`` (risk units,
    ≤ ``tol``), ``stationarity``, ``atoms``, ``iterations`` and ``kernel_rank_used``; the risk
    column is R_min. Noisy cases: :func:`ddsolver.stationary` (the Gibbs state; a
    CaseError for models that have no scheme for it, as the planar teacher). Mass in an edge
    layer of the grid means the minimum over a wider grid may lie beyond it (or the infimum is
    not attained): a warning, and the attribute ``edge`` says where (empty otherwise).
    ``energy``: the case's energy if the caller has built it (:func:`energy_of`)."""
    case = as_case(case)
    model = model_of(case)
    if math.isfinite(case["training"]["beta"]):
        from ..scheme import Scheme
        from ..stationary import stationary
        gibbs = [name for name, scheme in Scheme.registered().items() if scheme.gibbs]
        if not set(gibbs) & set(model.schemes):
            raise CaseError(f"training.beta = {case['training']['beta']:g}: the minimiser of a "
                            "noisy case is its Gibbs state, which ddsolver.stationary computes "
                            f"with scheme {' or '.join(map(repr, gibbs))} only, and "
                            f"data.kind = {model.kind!r} has scheme "
                            f"{' or '.join(map(repr, model.schemes))}; set training.beta = inf "
                            "for the certified minimum of the noiseless energy")
        return stationary(case, output, overwrite=overwrite, progress=progress)
    start = time.perf_counter()
    if output is not None:
        from ..storage import check_output_path
        check_output_path(output, overwrite)
    energy = energy_of(case) if energy is None else energy
    grid = energy.grid
    m, certificate, iterations = frank_wolfe(energy, tol)
    edge = "; ".join(f"mass {mass:.3g} in the {side} layer of pde.grid.{name}"
                     for name, side, mass in boundary_mass(m, grid, model.radial,
                                                               model.periodic))
    if edge:
        warnings.warn(f"the minimiser puts {edge}: the minimum over a wider grid may lie beyond "
                      "it; widen the grid", stacklevel=2)
    converged = certificate.gap <= tol
    attrs = {"scheme": "frank-wolfe", "method": "frank-wolfe", "converged": converged,
             "gap": certificate.gap, "stationarity": certificate.stationarity,
             "atoms": int(np.count_nonzero(m)), "iterations": iterations, "edge": edge,
             **energy.rank_attrs(),
             "status": "complete" if converged else
             f"failed: gap {certificate.gap:.2e} > tol {tol:.1e} after {iterations} iterations"}
    log.info("minimum: R = %.12g, gap %.2e, %d atoms, %d iterations", certificate.risk,
             certificate.gap, attrs["atoms"], iterations)
    density = m.reshape(grid.shape) / grid.cell_volume
    record = {"t": math.inf, "risk": certificate.risk, "density": density,
              "free_energy": energy.free_energy(m), "mass": float(m.sum())}
    writer = None
    if output is not None:
        from ..storage import SolutionWriter
        writer = SolutionWriter(output, grid, case, overwrite=overwrite,
                                attrs={"scheme": "frank-wolfe", "method": "frank-wolfe"})
    done = drive([math.inf], {math.inf}, lambda stop: None, lambda stop, elapsed: record,
                 Progress(None, "state", "ddsolver minimize", show=progress), writer=writer,
                 finish=lambda: attrs, position=lambda stop: 0)
    return solution_of(done.records, grid, case,
                       {**attrs, "run_time": time.perf_counter() - start})


__all__ = ["minimize", "frank_wolfe", "simplex_qp", "Certificate", "GAP_TOL"]
