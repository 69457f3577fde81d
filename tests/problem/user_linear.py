"""The linear-units user problem of examples/user_linear.py and its exact solution (the module
docstring of tests/problem/test_user.py): shared by the problem and the SGD tests."""

from pathlib import Path

import numpy as np
from scipy.linalg import expm, sqrtm

from ddsolver.problem.user import UserProblem, load_problem

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_linear.py"
C2, B2 = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([1.0, -0.5])
C3 = np.array([[1.0, 0.2, 0.0], [0.2, 0.6, 0.1], [0.0, 0.1, 0.4]])
B3 = np.array([1.0, -0.5, 0.5])


def linear_problems(cov, b_star, noise=0.0):
    """The linear-units problem built three ways: from data (the example file's Gauss–Hermite
    quadrature), from features C^½θ, and from the dense kernel θᵀCθ'."""
    b, r2 = cov @ b_star, b_star @ cov @ b_star + noise**2
    coords = tuple(f"theta{k + 1}" for k in range(len(b)))
    root = np.real(sqrtm(cov))

    def v(*theta):
        return -np.stack(theta, axis=1) @ b

    params = {"C": cov.tolist(), "b_star": b_star.tolist(), "noise": noise, "order": 2}
    return {"data": load_problem({"data": {"file": str(EXAMPLE), "params": params}}),
            "lowrank": UserProblem.from_lowrank(coords, v, lambda *t: root @ np.stack(t), r2),
            "dense": UserProblem.from_dense(coords, v, lambda t, t2: t @ cov @ t2.T, r2)}


def exact_moments(t, cov, b_star, lam, beta, m0, var0, scale=1.0):
    """Mean and per-axis variance at time t (ξ ≡ 1) of the Gaussian solution."""
    d = len(m0)
    affine = np.zeros((d + 1, d + 1))
    affine[:d, :d] = -2 * (lam * np.eye(d) + cov)
    affine[:d, d] = 2 * cov @ b_star / scale
    mean = (expm(affine * t) @ np.append(m0, 1.0))[:d]
    decay = np.exp(-4 * lam * t)
    var = decay * np.asarray(var0) + (0.0 if np.isinf(beta) else (1 - decay) / (beta * lam))
    return mean, var


def linear_risk(mean, cov, b_star, noise=0.0, scale=1.0):
    """R = E(y − α⟨m, x⟩)² = b*ᵀCb* + noise² − 2α mᵀCb* + α² mᵀCm."""
    return (b_star @ cov @ b_star + noise**2 - 2 * scale * mean @ cov @ b_star
            + scale**2 * mean @ cov @ mean)
