"""Truncation of the kernel series of the biased and anisotropic reductions: the certified bound
holds, and a series stopped at its cap warns at the caller's line."""

import numpy as np
import pytest

from . import helpers
from .helpers import MMN, PROBE_AN, PROBE_B, PROBE_R, anisotropic, biased


@pytest.mark.parametrize("build, tols", [
    (lambda tol: biased("relu", {}, 5, tol=tol, max_terms=400), (1e-3, 1e-7)),
    (lambda tol: anisotropic("piecewise_linear", MMN, 30, 10, tol=tol), (1e-3, 1e-7)),
    (lambda tol: anisotropic("relu", {}, 6, 2, tol=tol, max_terms=80), (1e-3, 2e-5)),
], ids=["biased", "anisotropic", "anisotropic-slow"])
def test_truncation_meets_its_bound(build, tols):
    short, long = build(tols[0]), build(tols[1])
    assert short.tail_bound <= tols[0] and long.tail_bound <= tols[1]
    assert long.terms > short.terms
    probe = (np.meshgrid(PROBE_B, PROBE_R) if short.coords == ("b", "r")
             else np.meshgrid(*PROBE_AN))
    probe = [c.ravel() for c in probe]
    u_short = short.features(*probe).T @ short.features(*probe)
    u_long = long.features(*probe).T @ long.features(*probe)
    scale = np.max(np.diag(u_long))
    gap = np.max(np.abs(u_short - u_long))
    assert 0 < gap <= (short.tail_bound + long.tail_bound) * scale


def test_truncation_warns_at_the_cap():
    with pytest.warns(UserWarning, match="kernel series for d = 6 stopped at .* = 3 terms") as rec:
        red = anisotropic("relu", {}, 6, 2, max_terms=3)
    assert rec[0].filename == helpers.__file__              # reported at the caller's line
    with pytest.warns(UserWarning, match="kernel series for d = 5 stopped") as rec:
        biased("relu", {}, 5, max_terms=3)
    assert rec[0].filename == helpers.__file__
    assert red.terms == 3 and red.tail_bound > 1e-7 and red.rank == 2 * 6
