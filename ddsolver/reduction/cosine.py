"""Moments of the cosine c between two independent uniform directions in R^d.

c has density ∝ (1 − c²)^((d−3)/2) on [−1, 1]; its odd moments vanish and

    E c^(2m) = Π_{j<m} (2j + 1) / (d + 2j).

For d = ∞, c = 0: E c^0 = 1 and every other moment is 0.
"""

from __future__ import annotations

import math

import numpy as np


def even_cosine_moments(dim: float, mmax: int) -> np.ndarray:
    """[E c^0, E c^2, …, E c^(2 mmax)] for the cosine in dimension ``dim`` (math.inf allowed)."""
    if math.isinf(dim):
        return np.eye(1, mmax + 1).ravel()
    j = np.arange(mmax)
    return np.concatenate([[1.0], np.cumprod((2 * j + 1) / (dim + 2 * j))])
