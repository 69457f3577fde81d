"""Figures of solutions (needs matplotlib: ``pip install 'ddsolver[plot]'``)."""

from .plot import plot_solution

__all__ = ["plot_solution"]
