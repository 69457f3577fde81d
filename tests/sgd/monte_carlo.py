"""The population risk of a finite network by Monte Carlo: the independent reference of the
exact risk (ddsolver.sgd.risk)."""

import math

import numpy as np


def monte_carlo_risk(W, activation, data, scale=1.0, a=None, b=None, samples=100_000, rng=None,
                     batch=10_000):
    """(mean, standard error) of (y − ŷ(x))² over ``samples`` fresh draws of ``data.sample``."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    n = W.shape[0]
    a = np.ones(n) if a is None else np.asarray(a, dtype=float)
    b = np.zeros(n) if b is None else np.asarray(b, dtype=float)
    rng = np.random.default_rng(rng)
    count, mean, m2 = 0, 0.0, 0.0
    while count < samples:
        x, y = data.sample(min(batch, samples - count), rng)
        loss = (y - scale * (activation.sigma(x @ W.T + b) * a).mean(axis=1)) ** 2
        k, mu = loss.size, loss.mean()
        # Chan et al.: merge (count, mean, m2) with the batch's (k, mu, Σ(loss − mu)²)
        m2 += np.sum((loss - mu) ** 2) + (mu - mean) ** 2 * count * k / (count + k)
        mean += (mu - mean) * k / (count + k)
        count += k
    return float(mean), float(math.sqrt(m2 / (count - 1) / count))
