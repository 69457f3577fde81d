"""Symmetry reductions: the DD of a high-dimensional problem on a few exact coordinates."""
