"""Grids: cell-centred Cartesian grids in 1 to 3 dimensions."""

from .average import cell_average
from .cartesian import Axis, CartesianGrid

__all__ = ["Axis", "CartesianGrid", "cell_average"]
