"""validate() end to end: the report, noisy cases against their Gibbs state, failing
tolerances, the seed cache, resume, sweeps, and the quick validation cases (``-m slow``)."""

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

import ddsolver.sgd.run as sgd_run
from ddsolver import normalize_case
from ddsolver.storage import load_sgd, partial_path
from ddsolver.validation import runner, validate

QUICK = sorted((Path(__file__).parents[2] / "validation" / "quick").glob("*.toml"))


def test_validate_end_to_end_writes_the_report(tmp_path, tiny_case):
    report = validate([tiny_case()], report_dir=tmp_path / "report", workers=2,
                      cache_dir=tmp_path / "cache", progress=False)
    out = tmp_path / "report"
    assert {"report.md", "metrics.json"} <= {p.name for p in out.iterdir()}
    assert sorted(p.name for p in out.glob("*.png")) == ["density_case0.png", "risk_case0.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] == report.passed
    assert set(metrics["comparisons"]) == {"case0", "case0 [kernel d=inf]"}
    checked = [r for r in metrics["rows"] if r["result"] != "info"]
    assert [r["metric"] for r in checked] == ["risk_gap", "mean_r_gap", "w1_r"]
    assert all(r["result"] == "pass" for r in checked), report.table
    assert "case0 [kernel d=inf]" in report.table
    text = (out / "report.md").read_text()
    assert "![risk case0](risk_case0.png)" in text and "d = ∞ kernel" in text
    assert len(list((tmp_path / "cache").glob("*.h5"))) == 2


def test_noisy_case_is_compared_with_its_gibbs_state(tmp_path, tiny_case):
    case = tiny_case(extra_kernel_dims=[])
    case["training"].update({"lambda": 0.2, "beta": 100.0})
    report = validate([case], report_dir=tmp_path / "report", workers=2,
                      cache_dir=tmp_path / "cache", progress=False)
    rows = {r["metric"]: r for r in report.metrics["rows"]}
    assert {"w1_gibbs", "risk_gibbs"} <= set(rows)
    assert rows["w1_gibbs"]["result"] == rows["risk_gibbs"]["result"] == "info"
    assert all(r["result"] == "pass" for r in rows.values() if r["result"] != "info"), \
        report.table
    comparison = report.metrics["comparisons"]["case0"]
    gibbs, free_energy = comparison["gibbs"], np.array(comparison["free_energy"])
    assert gibbs["converged"] and len(free_energy) == 3
    assert np.all(np.diff(free_energy) <= 1e-12) and free_energy[-1] >= gibbs["free_energy"]
    assert rows["w1_gibbs"]["value"] == pytest.approx(gibbs["w1_sgd"])
    out = tmp_path / "report"
    assert (out / "free_energy_case0.png").is_file()
    assert "Gibbs state p* from `ddsolver.stationary`" in (out / "report.md").read_text()


def test_failing_tolerance_fails(tmp_path, tiny_case):
    report = validate([tiny_case(risk_tol=1e-9)], workers=1, cache_dir=tmp_path,
                      progress=False)
    assert not report.passed
    assert "risk_gap" in report.table and "FAIL" in report.table
    assert report.metrics["rows"][0]["result"] == "FAIL"


def test_cache_is_reused(tmp_path, monkeypatch, tiny_case):
    first = validate([tiny_case()], workers=1, cache_dir=tmp_path, progress=False)

    def no_simulation(*args, **kwargs):
        raise AssertionError("a cached run was simulated again")

    monkeypatch.setattr(runner, "simulate", no_simulation)
    second = validate([tiny_case()], workers=1, cache_dir=tmp_path, progress=False)
    assert second.metrics == first.metrics
    changed = tiny_case()
    changed["sgd"]["eps"] = 5e-4
    with pytest.raises(AssertionError, match="simulated again"):
        validate([changed], workers=1, cache_dir=tmp_path, progress=False)


def test_sweep_fits_slopes(tmp_path, tiny_case):
    case = tiny_case(sweep={"key": "sgd.neurons", "values": [20, 40, 80]}, slope=-0.5,
                     slope_tol=10.0, extra_kernel_dims=[])
    report = validate([case], report_dir=tmp_path, workers=2, cache_dir=tmp_path / "cache",
                      progress=False)
    sweep = report.metrics["sweeps"]["case0"]
    assert sweep["values"] == [20, 40, 80] and set(sweep["slopes"]) == {"w1", "risk"}
    assert sweep["slopes"]["w1"]["slope"] < 0
    assert "case0[neurons=80]" in report.table
    assert (tmp_path / "sweep_case0.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("path", QUICK, ids=[p.stem for p in QUICK])
def test_quick_validation_cases_pass(path, tmp_path):
    report = validate([path], cache_dir=tmp_path, progress=False)
    assert report.passed, report.table


def test_resume_reuses_solves_and_continues_unfinished_seeds(tmp_path, monkeypatch, tiny_case):
    """``resume``: solves are cached too; a seed left unfinished (its run interrupted after
    two snapshots) continues from its last snapshot to the result of an uninterrupted run."""
    reference = validate([tiny_case()], workers=1, cache_dir=tmp_path / "ref", progress=False)
    cache = tmp_path / "cache"
    seed_key = runner.sgd_key(normalize_case(tiny_case()), 1)
    with monkeypatch.context() as patch:
        original = sgd_run.drive
        patch.setattr(sgd_run, "drive",
                      lambda stops, *a, **k: original(list(stops)[:2] + [None], *a, **k))
        with pytest.raises(TypeError):                          # stopped after two snapshots
            sgd_run.simulate(tiny_case(), 1, output=cache_file(cache, seed_key),
                             save_weights=False, progress=False)
    assert len(load_sgd(partial_path(cache_file(cache, seed_key))).t) == 2
    first = validate([tiny_case()], workers=1, cache_dir=cache, progress=False, resume=True)
    assert first.metrics == reference.metrics
    assert "snapshot 1" in load_sgd(cache_file(cache, seed_key)).attrs["resumed"]
    assert len(list(cache.glob("solve-*.h5"))) == 2               # the case and kernel_dim inf

    def no_run(*args, **kwargs):
        raise AssertionError("a cached run was computed again")

    monkeypatch.setattr(runner, "simulate", no_run)
    monkeypatch.setattr(importlib.import_module("ddsolver.solve"), "drive", no_run)
    again = validate([tiny_case()], workers=1, cache_dir=cache, progress=False, resume=True)
    assert again.metrics == reference.metrics


def cache_file(cache, key):
    cache.mkdir(exist_ok=True)
    return cache / f"{key}.h5"
