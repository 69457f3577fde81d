"""Figures of solutions and SGD runs (needs matplotlib: ``pip install 'ddsolver[plot]'``)."""

from .plot import plot_comparison, plot_sgd, plot_solution

__all__ = ["plot_solution", "plot_sgd", "plot_comparison"]
