"""Default tolerances of the validation checks, from N, the number of seeds S and ε.

A ``[validate]`` value (risk_tol; mean_tol and w1_tol per coordinate) replaces the default. Each
default is a sampling term plus a step-size term (docs/validation.md explains and calibrates
them); for every reduced coordinate x of the model:

    risk:     5 SE_S + C_N / √N + C_ε √ε
    mean x:   5 SE_S + s_x (C_N / √N + C_ε √(ε D))
    W1(x):    2 √(2/π) J_x / √N + C_ε s_x √(ε D)

SE_S is the measured seed-to-seed standard error of the compared mean (largest over t ≤ t_max),
s_x the largest standard deviation of x under the PDE marginal and J_x = ∫ √(F(1 − F)) dx the
largest CDF spread of that marginal (E W1 of N iid samples ≈ √(2/(πN)) J_x). D is the number of
parameters of a unit (the model's ``parameter_dim``); for the radial model D = d.
"""

from __future__ import annotations

import math

C_N = 0.1       # O(1/√N) fluctuation not seen by the seed average (one seed: all of it)
C_EPS = 1.0     # SGD step-size error, MMN/MMM: O(√(ε (D + log(N/ε))))
SE_FACTOR = 5.0
W1_FACTOR = 2.0


def risk_tolerance(neurons, eps, se):
    """5 SE_S + C_N/√N + C_ε √ε."""
    return SE_FACTOR * se + C_N / math.sqrt(neurons) + C_EPS * math.sqrt(eps)


def mean_tolerance(neurons, eps, dim, se, spread):
    """5 SE_S + C_N s/√N + C_ε s √(ε D), s the standard deviation of the coordinate."""
    return SE_FACTOR * se + spread * (C_N / math.sqrt(neurons) + C_EPS * math.sqrt(eps * dim))


def w1_tolerance(neurons, eps, dim, cdf_spread, spread):
    """2 √(2/π) J/√N + C_ε s √(ε D)."""
    return (W1_FACTOR * math.sqrt(2 / math.pi / neurons) * cdf_spread
            + C_EPS * spread * math.sqrt(eps * dim))
