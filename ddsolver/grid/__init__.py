"""Grids: cell-centred Cartesian grids in 1 to 3 dimensions."""

from .cartesian import Axis, CartesianGrid

__all__ = ["Axis", "CartesianGrid"]
