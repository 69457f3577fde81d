"""Random finite-volume problems shared by the operator and stepper tests: a density with some
empty cells on 1-, 2- and 3-D grids (stored as (n0, n1, n2) with unit trailing axes), low-rank
features or a potential, the cell spacings, and face arrays."""

import numpy as np

SHAPES = [(40, 1, 1), (12, 9, 1), (6, 5, 7)]
SPACINGS = {1: [0.1, 1, 1], 2: [0.1, 0.2, 1], 3: [0.1, 0.2, 0.3]}


def _density(shape, rng):
    return rng.random(shape) * (rng.random(shape) > 0.3)            # some empty cells


def random_problem(shape, seed=0, rank=4):
    """(p, features (rank, cells), base potential (cells,), spacings)."""
    rng = np.random.default_rng(seed)
    ndim = sum(n > 1 for n in shape)
    p = _density(shape, rng)
    features = rng.standard_normal((rank, p.size))
    base = rng.standard_normal(p.size)
    return p, features, base, np.array(SPACINGS[ndim], float)


def random_potential_problem(shape, seed=0):
    """(p, potential φ (shape), spacings)."""
    rng = np.random.default_rng(seed)
    ndim = sum(n > 1 for n in shape)
    p = _density(shape, rng)
    return p, rng.standard_normal(shape), np.array(SPACINGS[ndim], float)


def faces(shape):
    """Empty face arrays of the three axes."""
    n0, n1, n2 = shape
    return np.empty((n0 + 1, n1, n2)), np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1))
