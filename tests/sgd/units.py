"""Activations, unit kinds and data shared by the tests of units a σ(⟨w, x⟩ + b)."""

from ddsolver.problem.data import AnisotropicGaussians, IsotropicGaussians

MMN = {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}
ACTIVATIONS = [("piecewise_linear", MMN), ("relu", {}), ("tanh", {})]
UNITS = {"w": (False, False), "aw": (True, False), "awb": (True, True)}
CONSTANT = (0, 1.0, 1.0, 0.0)


def make_data(kind, dim=6, delta=0.7):
    """Isotropic or anisotropic (signal in 2 coordinates) labelled Gaussians."""
    return (IsotropicGaussians(delta, dim) if kind == "isotropic"
            else AnisotropicGaussians(delta, dim, 2))
