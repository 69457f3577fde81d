"""Certificates of DD solutions (ddsolver.landscape.certify): the gap bounds the excess risk, it
falls to 0 along a DD that reaches the global minimum, and `ddsolver certify` stores them where
`show` and `load` find them."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

import ddsolver
from ddsolver.case import normalize_case
from ddsolver.cli import main
from ddsolver.landscape import certify, minimize

from .test_minimize import linear_case, radial_case

ROOT = Path(__file__).resolve().parents[2]


def test_gap_bounds_the_excess_along_a_run():
    """9.1 on a short grid: at every snapshot 0 ≤ R − R_min ≤ gap (λ = 0), and the certified
    minimiser itself has gap ≤ 1e-9."""
    case = radial_case(40, r_max=6.0, cells=600)
    case["training"]["t_final"] = 3.0
    case["pde"]["snapshot_times"] = np.linspace(0, 3, 7)
    with pytest.warns(UserWarning):
        minimum = minimize(case)
    result = certify(ddsolver.solve(case), float(minimum.risk[0]))
    assert np.all(result.excess >= -1e-12)
    assert np.all(result.excess <= result.gap + 1e-12)
    assert certify(minimum).gap[0] <= 1e-9


def test_gap_vanishes_along_a_run_that_reaches_the_minimum():
    """Linear units without noise or ridge: every law with mean b* is optimal and the DD's mean
    converges to b* exponentially (rates the eigenvalues 2ξ·{1.1, 0.4} of C), so the gap falls
    by orders of magnitude and ends below 1e-6."""
    case = linear_case(0.0)
    case["training"]["t_final"] = 20.0
    case["pde"]["snapshot_times"] = np.array([0.0, 5.0, 10.0, 20.0])
    result = certify(ddsolver.solve(case))
    assert np.all(np.diff(result.gap) < 0)
    assert result.gap[-1] < 1e-6 < result.gap[0] * 1e-4


def test_certify_command_stores_and_show_prints(tmp_path, capsys):
    case = tomllib.loads((ROOT / "examples" / "mmn_9_1.toml").read_text())
    case["training"]["t_final"] = 2.0
    case["pde"]["snapshot_times"] = [0.0, 1.0, 2.0]
    case["pde"]["grid"]["r"]["cells"] = 400
    case.pop("sgd", None)
    case = normalize_case(case)
    path = tmp_path / "run.h5"
    ddsolver.solve(case, output=path)
    assert main(["certify", str(path)]) == 0
    assert "R_min" in capsys.readouterr().out
    loaded = ddsolver.load(path)
    expected = certify(loaded)
    np.testing.assert_allclose(loaded.certificates["gap"], expected.gap, rtol=1e-12)
    # the risk of the stored (quantile-reconstructed) density on the grid, not the particles'
    np.testing.assert_allclose(loaded.risk[-1], loaded.certificates["risk"][-1], rtol=1e-4)
    assert loaded.certificates["r_min"] < loaded.certificates["risk"][-1]
    assert main(["show", str(path)]) == 0
    assert "optimality gap" in capsys.readouterr().out
    assert main(["certify", str(path), "--no-minimum"]) == 0       # replaces the group
    assert ddsolver.load(path).certificates["r_min"] is None
    assert main(["certify", str(tmp_path / "missing.h5")]) == 2
