"""Uniform cell-centred grids on boxes in 1 to 4 dimensions (finite volumes: at most 3).

A grid is a product of :class:`Axis` objects; cell j of an axis is [edge_j, edge_{j+1}] with
centre (edge_j + edge_{j+1})/2. Densities on a grid are arrays of shape ``grid.shape`` holding
cell averages of a probability density in the grid coordinates, so that
``(density * grid.cell_volume).sum() == 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DIM = 4        # axes of a grid (4: the Lagrangian scheme's stored density)
PADDED_DIM = 3     # axes of the finite-volume kernels' layout: the most finite volumes solve


@dataclass(frozen=True)
class Axis:
    """One coordinate: ``cells`` uniform cells on [lo, hi]."""

    name: str
    lo: float
    hi: float
    cells: int

    def __post_init__(self):
        if not self.hi > self.lo:
            raise ValueError(f"axis {self.name!r}: max ({self.hi}) must exceed min ({self.lo})")
        if self.cells < 2:
            raise ValueError(f"axis {self.name!r}: needs at least 2 cells, got {self.cells}")

    @property
    def spacing(self) -> float:
        return (self.hi - self.lo) / self.cells

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.cells + 1)

    @property
    def centres(self) -> np.ndarray:
        return self.lo + (np.arange(self.cells) + 0.5) * self.spacing

    def to_dict(self) -> dict:
        return {"min": self.lo, "max": self.hi, "cells": self.cells}


@dataclass(frozen=True)
class CartesianGrid:
    """Tensor product of 1 to MAX_DIM uniform axes."""

    axes: tuple[Axis, ...]

    def __post_init__(self):
        if not 1 <= len(self.axes) <= MAX_DIM:
            raise ValueError(f"a grid has 1 to {MAX_DIM} axes, got {len(self.axes)}")

    @classmethod
    def from_dict(cls, spec: dict) -> CartesianGrid:
        """Build from ``{name: {"min":…, "max":…, "cells":…}, …}`` (axis order = dict order)."""
        return cls(tuple(Axis(n, float(a["min"]), float(a["max"]), int(a["cells"]))
                         for n, a in spec.items()))

    def to_dict(self) -> dict:
        return {a.name: a.to_dict() for a in self.axes}

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.cells for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> np.ndarray:
        return np.array([a.spacing for a in self.axes])

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.spacing))

    def axis(self, name: str) -> Axis:
        return self.axes[self.names.index(name)]

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Cell-centre coordinates, one array of shape ``self.shape`` per axis."""
        return tuple(np.meshgrid(*(a.centres for a in self.axes), indexing="ij"))

    def padded_shape(self) -> tuple[int, int, int]:
        """``self.shape`` padded with trailing 1s to PADDED_DIM axes (the layout of the
        finite-volume kernels; a grid of more axes is refused)."""
        if self.ndim > PADDED_DIM:
            raise ValueError(f"finite volumes solve grids of at most {PADDED_DIM} axes, not "
                             f"{self.ndim}")
        return tuple(self.shape) + (1,) * (PADDED_DIM - self.ndim)

    def padded_spacing(self) -> np.ndarray:
        """Spacings padded with 1.0 to PADDED_DIM axes (unused axes have a single cell, no
        faces)."""
        return np.concatenate([self.spacing, np.ones(PADDED_DIM - self.ndim)])

    def mass(self, density: np.ndarray) -> float:
        return float(density.sum() * self.cell_volume)
