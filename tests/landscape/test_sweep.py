"""The landscape sweep (ddsolver.landscape.sweep) and ``ddsolver landscape``: R_min against the
single delta on both sides of the threshold, the DD's long-time risk against the single delta
below it, SGD above R_min, the files, and one-line errors."""

import csv
import json
import math

import numpy as np
import pytest

from ddsolver.cli import main
from ddsolver.errors import CaseError, DdsolverError
from ddsolver.landscape.sweep import COLUMNS, parse_deltas, sweep

from ..mmn_reference import MMN, ramp_q
from .test_single_delta import mmn_case

CELLS = 800
H = 8.0 / CELLS


def test_parse_deltas():
    np.testing.assert_allclose(parse_deltas("0.1:0.9:17"), np.linspace(0.1, 0.9, 17))
    np.testing.assert_allclose(parse_deltas("0.6,0.3"), [0.3, 0.6])
    for bad in ("0.1:0.9", "a,b", "0.1:0.9:0", "0:0.5:3", "0.5,1.2"):
        with pytest.raises(CaseError, match=r"^--deltas: "):
            parse_deltas(bad)


@pytest.fixture(scope="module")
def infinite_d():
    """The 9.1 case at d = ∞ to t = 200 over Δ on both sides of the threshold (~0.4742)."""
    case = mmn_case(math.inf, cells=CELLS, scheme="lagrangian")
    case["training"]["t_final"] = 200.0
    case["pde"]["snapshot_times"] = np.array([0.0, 200.0])
    return sweep(case, [0.3, 0.45, 0.5, 0.8], tol=1e-5)


def test_minimum_against_the_single_delta(infinite_d):
    """R_min (over cell-uniform laws on the grid) ≤ R* up to the cost of spreading an atom over
    a cell, O(h²); below the threshold R_min ≥ R* − 2α²·gap (the single delta's certificate), so
    the two agree; above it the target (1, −1) is inside the hull of the curve (docs/theory.md
    §6b): R_min = 0 < R*."""
    t = infinite_d.table
    assert np.all(t["min_gap"] <= 1e-9)
    assert np.all(t["min_risk"] <= t["single_risk"] + H**2)
    below = t["delta"] < infinite_d.threshold.lo
    assert below.tolist() == [True, True, False, False]
    assert np.all(t["single_optimal"][below] == 1.0) and np.all(t["single_optimal"][~below] == 0)
    assert np.all(t["min_risk"][below] >= t["single_risk"][below] - 2 * t["single_gap"][below]
                  - 1e-12)
    np.testing.assert_allclose(t["min_risk"][~below], 0.0, atol=1e-12)
    assert np.all(t["single_risk"][~below] > 3e-3)


def test_threshold_and_dd(infinite_d):
    """The bracket holds the closed form Δ_h = (a − b)/(a + b), q(a) = 1, q(b) = −1
    (tests/landscape/test_single_delta.py); the DD from the chi law of 9.1 converges to the
    single delta below it (independent: R(δ_r) = ½(1 − q(τ₊r))² + ½(1 + q(τ₋r))² at the DD's
    limit radius is the minimum), and never goes below R_min."""
    th = infinite_d.threshold
    assert th.lo <= 0.4742190 <= th.hi and th.hi - th.lo <= 1e-5
    t = infinite_d.table
    for delta, dd, radius in zip(t["delta"][:2], t["dd_risk"][:2], t["single_radius"][:2]):
        exact = (0.5 * (1 - ramp_q((1 + delta) * radius)) ** 2
                 + 0.5 * (1 + ramp_q((1 - delta) * radius)) ** 2)
        assert dd == pytest.approx(exact, abs=1e-6)
    assert np.all(t["dd_risk"] >= t["min_risk"] - H**2)
    assert np.isnan(t["sgd_risk"]).all() and np.isnan(t["single_weight"]).all()


def test_files_and_overwrite(infinite_d, tmp_path):
    paths = infinite_d.write(tmp_path / "out")
    assert [p.name for p in paths] == ["landscape.csv", "landscape.json", "landscape.png"]
    with paths[0].open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 5
    np.testing.assert_allclose(np.array(rows[1:], float),
                               np.column_stack([infinite_d.table[c] for c in COLUMNS]))
    meta = json.loads(paths[1].read_text())
    assert meta["threshold"]["lo"] == infinite_d.threshold.lo and meta["kernel_dim"] == "inf"
    assert paths[2].stat().st_size > 10_000
    with pytest.raises(DdsolverError, match="already exists"):
        infinite_d.write(tmp_path / "out")
    infinite_d.write(tmp_path / "out", overwrite=True)


@pytest.mark.slow
def test_sgd_column_lies_above_the_minimum():
    """A finite network's exact risk R_N is the risk of a law on R^d, so ≥ the minimum over
    rotation-invariant laws (R is convex and rotation invariant), ≥ R_min up to O(h²)."""
    case = mmn_case(40, cells=CELLS)
    case["training"]["t_final"] = 1.0
    case["sgd"].update(neurons=50, eps=1e-3)
    result = sweep(case, [0.3, 0.6], sgd=True)
    t = result.table
    assert np.all(np.isfinite(t["sgd_risk"]))
    assert np.all(t["sgd_risk"] >= t["min_risk"] - H**2)
    assert result.threshold is not None and 0.43 < result.threshold.delta < 0.435


def test_command(tmp_path, capsys):
    case = tmp_path / "case.toml"
    case.write_text(f"""\
[data]
kind = "isotropic_gaussians"
delta = 0.5
dim = 40
[network]
activation = "piecewise_linear"
activation_params = {{ s1 = {MMN['s1']}, s2 = {MMN['s2']}, t1 = {MMN['t1']}, t2 = {MMN['t2']} }}
[training]
t_final = 1.0
[init]
kind = "gaussian"
kappa = 0.8
[pde]
kernel_dim = "inf"
grid = {{ r = {{ max = 8.0, cells = {CELLS} }} }}
""")
    assert main(["landscape", str(case), "--deltas", "0.4,0.5", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "threshold  Δ = 0.4742" in out and "landscape.png" in out
    assert main(["landscape", str(case), "--deltas", "0.5:1.5:3", "-o", str(tmp_path)]) == 2
    assert "ddsolver: error: --deltas: every Δ must lie in (0, 1)" in capsys.readouterr().err
    case.write_text(case.read_text().replace('activation = "piecewise_linear"',
                                             'activation = "relu"\nunit = "awb"')
                    .replace("activation_params", "# "))
    assert main(["landscape", str(case), "-o", str(tmp_path / "p")]) == 2
    assert "ddsolver: error: network.unit: the single-delta ansatz needs units" in \
        capsys.readouterr().err
