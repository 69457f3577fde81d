"""Data models: the law of (x, y)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IsotropicGaussians:
    """y = ±1 with probability ½; x | y = ±1 ~ N(0, τ_±² I_d), τ_± = 1 ± Δ (MATH.md 4.1)."""

    delta: float
    dim: int

    @property
    def taus(self) -> tuple[float, float]:
        """(τ_+, τ_−): the standard deviations of x given y = +1 and y = −1."""
        return 1.0 + self.delta, 1.0 - self.delta

    @property
    def label_second_moment(self) -> float:
        """R_# = E y² = 1."""
        return 1.0

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n samples: x of shape (n, dim) and y of shape (n,)."""
        y = rng.choice([1.0, -1.0], size=n)
        scale = np.where(y > 0, self.taus[0], self.taus[1])
        return scale[:, None] * rng.standard_normal((n, self.dim)), y
