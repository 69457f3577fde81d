"""Default tolerances of the validation: the parameter dimension of each model, and tolerances
that follow N, ε and the spread of each coordinate (or the case's own values)."""

import math

import pytest

from ddsolver.case import normalize_case
from ddsolver.model import model_of
from ddsolver.validation import runner

from .synthetic import NEURONS, custom_case, model_case, synthetic_pair


def test_parameter_dimension_of_each_model(tmp_path):
    """D = d, plus one for a and one for b; a custom problem's θ is its coordinates."""
    def dim(case):
        return model_of(case).parameter_dim(case)
    assert dim(model_case("aw")) == 9
    assert dim(model_case("awb")) == 10
    assert dim(model_case("anisotropic_w")) == 20
    assert dim(normalize_case(custom_case(tmp_path))) == 2


def test_tolerances_follow_n_eps_and_the_spread_of_each_coordinate():
    case = model_case("aw")
    cmp = runner.compare("synthetic", case, *synthetic_pair(case))
    rows = {r.metric: r for r in cmp.rows}
    dim = 9
    for c, m in cmp.coords.items():
        floor = 2 * math.sqrt(2 / math.pi / NEURONS) * m.cdf_spread.max()
        assert rows[f"w1_{c}"].tolerance == pytest.approx(
            floor + m.sd.max() * math.sqrt(1e-4 * dim))
        assert rows[f"mean_{c}_gap"].tolerance == pytest.approx(
            5 * m.se.max() + m.sd.max() * (0.1 / math.sqrt(NEURONS) + math.sqrt(1e-4 * dim)))
    given = model_case("aw", validate={"w1_tol": {"a": 0.123}, "mean_tol": 0.0456})
    rows = {r.metric: r for r in runner.check(runner.Comparison(**{**cmp.__dict__,
                                                                   "case": given}))}
    assert rows["w1_a"].tolerance == 0.123 and rows["w1_r"].tolerance != 0.123
    assert rows["mean_a_gap"].tolerance == rows["mean_r_gap"].tolerance == 0.0456
