"""Data models: the law of (x, y).

Both built-in models have y = ±1 with probability ½ and x | y ~ N(0, diag(s_y²)) with a per-label
vector of standard deviations ``scales[y]`` (row 0 for y = +1, row 1 for y = −1), τ_± = 1 ± Δ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class _LabelledGaussians:
    """Shared behaviour: labels ±1 with probability ½, x | y ~ N(0, diag(scales[y]²))."""

    delta: float
    dim: int

    @property
    def taus(self) -> tuple[float, float]:
        """(τ_+, τ_−) = (1 + Δ, 1 − Δ)."""
        return 1.0 + self.delta, 1.0 - self.delta

    @property
    def label_second_moment(self) -> float:
        """R_# = E y² = 1."""
        return 1.0

    @property
    def scales(self) -> np.ndarray:
        """(2, dim) standard deviations of the coordinates of x given y = +1 (row 0), −1 (row 1)."""
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n samples: x of shape (n, dim) and y of shape (n,)."""
        y = rng.choice([1.0, -1.0], size=n)
        scale = np.where(y[:, None] > 0, self.scales[0], self.scales[1])
        return scale * rng.standard_normal((n, self.dim)), y


@dataclass(frozen=True)
class IsotropicGaussians(_LabelledGaussians):
    """x | y = ±1 ~ N(0, τ_±² I_d) (docs/theory.md §4.1)."""

    delta: float
    dim: int

    @property
    def scales(self) -> np.ndarray:
        return np.outer(self.taus, np.ones(self.dim))


@dataclass(frozen=True)
class AnisotropicGaussians(_LabelledGaussians):
    """x | y = ±1 ~ N(0, Σ_±), Σ_± = diag(τ_±² on the first s₀ = ``signal_dim`` coordinates,
    1 on the other d − s₀) (docs/theory.md §4.3): only the first s₀ coordinates carry signal."""

    delta: float
    dim: int
    signal_dim: int

    def __post_init__(self):
        if not 1 <= self.signal_dim < self.dim:
            raise ValueError(f"signal_dim must be in [1, dim), got {self.signal_dim} with "
                             f"dim = {self.dim}")

    @property
    def scales(self) -> np.ndarray:
        rows = np.ones((2, self.dim))
        rows[:, : self.signal_dim] = np.array(self.taus)[:, None]
        return rows


def make_data(spec: dict):
    """The data model of a normalised ``[data]`` table of labelled Gaussians: anisotropic when
    it has a ``signal_dim``, isotropic otherwise."""
    if "signal_dim" in spec:
        return AnisotropicGaussians(spec["delta"], spec["dim"], spec["signal_dim"])
    return IsotropicGaussians(spec["delta"], spec["dim"])
