"""The validation report of 2-D and 3-D comparisons: figures, metrics.json and report.md."""

import json

import pytest

from ddsolver.validation import runner
from ddsolver.validation.report import ValidationReport

from .synthetic import TIMES, model_case, synthetic_pair


def test_report_of_multid_comparisons(tmp_path):
    comparisons = []
    for model in ("aw", "awb"):
        case = model_case(model)
        comparisons.append(runner.compare(model, case, *synthetic_pair(case)))
    rows = [row for c in comparisons for row in c.rows]
    report = ValidationReport(rows, comparisons, [])
    report.write(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        f"{kind}_{m}.png" for m in ("aw", "awb") for kind in ("density", "joint", "risk"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    series = metrics["comparisons"]["awb"]
    for c in ("a", "b", "r"):
        assert len(series[f"w1_{c}"]) == len(TIMES)
        assert series[f"mean_{c}_pde"] == pytest.approx(comparisons[1].coords[c].mean_pde)
    text = (tmp_path / "report.md").read_text()
    assert "coordinates (a, b, r)" in text and "![joint awb](joint_awb.png)" in text
    assert "w1_b" in report.table
