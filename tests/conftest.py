"""Shared helpers: small cases and the invariants every solve must satisfy."""

import copy

import numpy as np
import pytest

MMN_CASE = {
    "data": {"kind": "isotropic_gaussians", "delta": 0.8, "dim": 40},
    "network": {"unit": "w", "activation": "piecewise_linear",
                "activation_params": {"s1": -2.5, "s2": 7.5, "t1": 0.5, "t2": 1.5}},
    "training": {"t_final": 10.0},
    "init": {"kind": "gaussian", "kappa": 0.8},
    "pde": {"grid": {"r": {"min": 0.0, "max": 8.0, "cells": 800}}},
}


def make_case(**tables):
    """The MMN 9.1 case with some tables updated, e.g. make_case(pde={"scheme": "lagrangian"});
    the ``init`` table is replaced, not updated."""
    case = copy.deepcopy(MMN_CASE)
    for name, entries in tables.items():
        if name == "init":
            case[name] = {}
        case.setdefault(name, {}).update(entries)
    return case


def assert_invariants(sol, mass_tol=1e-11):
    """Mass conserved, density non-negative, risk non-increasing (ξ > 0)."""
    np.testing.assert_allclose(sol.mass, 1.0, atol=mass_tol, rtol=0)
    assert sol.density.min() >= 0.0
    assert np.all(np.diff(sol.risk) <= 1e-12 * np.abs(sol.risk[:-1])), np.diff(sol.risk).max()


@pytest.fixture
def mmn_case():
    return make_case()
