"""Fixtures of the validation tests."""

import pytest


@pytest.fixture(name="tiny_case", scope="session")
def tiny_case_fixture(make_case):
    def tiny_case(**validate_table):
        """d = 10, N = 40, two seeds, t = 0.5: a full validation in a few seconds."""
        return make_case(data={"dim": 10}, training={"t_final": 0.5},
                         pde={"snapshot_times": [0, 0.25, 0.5], "grid": {"r": {"max": 4.0,
                                                                               "cells": 200}}},
                         sgd={"neurons": 40, "eps": 1e-3, "seeds": [0, 1]},
                         validate={"extra_kernel_dims": ["inf"], **validate_table})

    return tiny_case
