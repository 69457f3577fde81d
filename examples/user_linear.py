"""Linear units with ridge (docs/theory.md §8) as a ddsolver custom problem.

Units σ*(x; θ) = ⟨θ, x⟩ with θ, x ∈ R^d (d = 1 to 4, 4 with the Lagrangian scheme only; 2 by
default), inputs x ~ N(0, C) and
labels y = ⟨b*, x⟩ + ν, with ν = ±noise with probability ½ each, independent of x. Then

    V(θ) = −⟨C b*, θ⟩,   U(θ, θ') = θᵀ C θ',   R_# = b*ᵀ C b* + noise²,

and the DD keeps a Gaussian Gaussian: its mean follows ṁ = −2ξ(λm + Cm − Cb*/α) (see
docs/user-problems.md). The data are a tensor Gauss–Hermite quadrature of x (``order`` nodes per
axis; order ≥ 2 is exact for V, U and R_#) times the two values of ν.

params (the ``[data] params`` table of a case): C (d × d, positive semidefinite; default
[[1, 0.3], [0.3, 0.5]]), b_star (length d; default [1, −0.5]), order (default 3), noise
(default 0). The coordinates are named theta1 … theta_d.
"""

import numpy as np

from ddsolver.problem.user import UserProblem, gaussian_quadrature

DEFAULTS = {"C": [[1.0, 0.3], [0.3, 0.5]], "b_star": [1.0, -0.5], "order": 3, "noise": 0.0}


def units(x, theta):
    """σ*(x_q; θ_i) = ⟨θ_i, x_q⟩: (n, Q) for x (Q, d), theta (n, d)."""
    return theta @ x.T


def unit_gradients(x, theta):
    """∇_θ σ*(x_q; θ_i) = x_q: (n, Q, d)."""
    return np.broadcast_to(x, (len(theta),) + x.shape)


def make_problem(params):
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown params {sorted(unknown)} (allowed: {sorted(DEFAULTS)})")
    p = {**DEFAULTS, **params}
    cov = np.atleast_2d(np.asarray(p["C"], dtype=float))
    b_star = np.atleast_1d(np.asarray(p["b_star"], dtype=float))
    if b_star.shape != (cov.shape[0],):
        raise ValueError(f"b_star: expected {cov.shape[0]} numbers, got {b_star.tolist()}")
    x, w = gaussian_quadrature(cov, int(p["order"]))
    signs = np.array([1.0, -1.0]) if p["noise"] else np.zeros(1)       # the values of ν/noise
    y = np.concatenate([x @ b_star + s * float(p["noise"]) for s in signs])
    coords = tuple(f"theta{k + 1}" for k in range(cov.shape[0]))
    return UserProblem.from_data(coords, units, np.tile(x, (signs.size, 1)), y,
                                 np.tile(w, signs.size) / signs.size, grad=unit_gradients)
