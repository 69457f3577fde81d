"""``ddsolver.stationary``: the Gibbs fixed point of the noisy DD on the grid (docs/theory.md §3).

The stationary states of the noisy DD solve ρ* ∝ exp(−β Ψ_λ(θ; ρ*)). On the grid, with the
effective potential Φ_j(c) = base_j + Σ_k F̄_kj c_k of the finite-volume scheme (entropic term
included) and the feature moments c = |cell| F̄ p, the discrete Gibbs state is

    p_j(c) = exp(−β Φ_j(c)) / Z(c),    c = |cell| F̄ p(c),

which is exactly steady under the Scharfetter–Gummel flux. The moments solve ∇H(c) = 0 for the
strictly convex H(c) = ½|c|² + (1/β) log Z(c), whose gradient is c − |cell| F̄ p(c) and whose
Hessian is I + β Cov_p(F̄): Newton's method with backtracking on H converges from any start.
The unknowns are the rank K of the kernel, not the cells.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy.special import logsumexp

from .case import as_case
from .drive import Progress, drive
from .errors import CaseError
from .model import model_of
from .resources import check_memory
from .results import Solution
from .scheme import Scheme
from .solve import scheme_of, solution_of

log = logging.getLogger("ddsolver")


def gibbs_density(c, base, features, volume, beta):
    """p(c) ∝ exp(−β(base + F̄ᵀc)) normalised on the grid, and log Z(c)."""
    exponent = -beta * (base + features.T @ c)
    log_z = logsumexp(exponent) + math.log(volume)
    return np.exp(exponent - log_z), log_z


def solve_moments(base, features, volume, beta, c0, tol, max_iter):
    """Newton with backtracking on H(c) = ½|c|² + log Z(c)/β; returns (c, iterations, residual).
    A trial step is accepted when it decreases H enough (Armijo), up to the round-off of H: near
    the solution the decrease (about |∇H|²) falls below what double precision resolves."""
    def state(c):
        p, log_z = gibbs_density(c, base, features, volume, beta)
        weighted = features * (p * volume)
        return 0.5 * c @ c + log_z / beta, weighted, c - weighted.sum(axis=1)

    c = np.asarray(c0, float).copy()
    value, weighted, grad = state(c)
    for iteration in range(max_iter + 1):
        residual = float(np.max(np.abs(grad), initial=0.0))
        if residual <= tol or iteration == max_iter:
            return c, iteration, residual
        mean = weighted.sum(axis=1)
        covariance = weighted @ features.T - np.outer(mean, mean)
        step = -np.linalg.solve(np.eye(c.size) + beta * covariance, grad)
        length = 1.0
        while True:
            trial = state(c + length * step)
            allowance = 1e-13 * max(1.0, abs(value))
            if trial[0] <= value + 1e-4 * length * (grad @ step) + allowance or length < 1e-10:
                break
            length *= 0.5
        c = c + length * step
        value, weighted, grad = trial
    return c, max_iter, residual


def stationary(case, output=None, *, overwrite=False, progress=None,
               max_memory=None) -> Solution:
    """The discrete Gibbs state of a noisy case (one snapshot at t = ∞), by Newton's method on
    the kernel moments; ``output`` writes it in the solution layout (docs/hdf5-format.md).
    ``progress`` is accepted for symmetry with :func:`ddsolver.solve` (the solve is instant);
    ``max_memory`` as for :func:`ddsolver.solve`."""
    start = time.perf_counter()
    case = as_case(case)
    check_memory(case, "solve", max_memory)
    beta = case["training"]["beta"]
    if math.isinf(beta):
        raise CaseError("training.beta: a stationary (Gibbs) state needs beta < inf; the "
                        "noiseless DD has a continuum of stationary points")
    scheme = scheme_of(case)
    if not scheme.gibbs:
        gibbs = [name for name, s in Scheme.registered().items() if s.gibbs]
        raise CaseError(f"pde.scheme: stationary states are computed on the grid of scheme = "
                        f"{' or '.join(map(repr, gibbs))}, not {scheme.name!r}")
    if output is not None:
        from .storage import check_output_path
        check_output_path(output, overwrite)
    grid, reduction, run = scheme.build(case, model_of(case))
    pde = case["pde"]
    report = {}

    def advance(stop):
        pot = run.potential
        c, iterations, residual = solve_moments(pot.base, pot.features, grid.cell_volume, beta,
                                                pot.moments(run.density), pde["stationary_tol"],
                                                pde["stationary_max_iter"])
        run.p[...] = gibbs_density(c, pot.base, pot.features, grid.cell_volume,
                                   beta)[0].reshape(run.p.shape)
        run.t = stop
        run.check_boundaries()
        report.update(iterations=iterations, residual=residual,
                      converged=residual <= pde["stationary_tol"])
        log.info("Gibbs state: %d Newton iterations, residual %.2e", iterations, residual)

    def observe(stop, elapsed):
        return {"t": stop, "risk": run.risk(), "density": run.density.copy(),
                "free_energy": run.free_energy(), "mass": grid.mass(run.density)}

    def finish():
        status = ("complete" if report["converged"] else f"failed: not converged after "
                  f"{report['iterations']} iterations (residual {report['residual']:.2e})")
        return {**report, "kernel_rank": reduction.rank, "kernel_rank_used": run.kernel_rank,
                "status": status}

    writer = None
    if output is not None:
        from .storage import SolutionWriter
        writer = SolutionWriter(output, grid, case, overwrite=overwrite,
                                attrs={"scheme": scheme.name, "method": "newton"})
    done = drive([math.inf], {math.inf}, advance, observe,
                 Progress(None, "state", "ddsolver stationary", show=progress), writer=writer,
                 finish=finish, position=lambda stop: 0)
    attrs = {"scheme": scheme.name, "method": "newton", **finish(),
             "run_time": time.perf_counter() - start}
    return solution_of(done.records, grid, case, attrs)
