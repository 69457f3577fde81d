"""examples/dimension_free.py at its --quick size: the SGD–DD distance at the largest N does not
grow with d; the noisy DD's free energy decreases to its Gibbs state's."""

import numpy as np

from .gallery import load_example


def test_dimension_free_quick(tmp_path):
    result = load_example("dimension_free").main(tmp_path, quick=True)
    assert (tmp_path / "dimension_free.png").stat().st_size > 10_000
    table, dims, n = result["table"], result["dims"], result["neurons"][-1]
    _, _, w1_low, se_low = table[dims[0], n]
    _, _, w1_high, se_high = table[dims[-1], n]
    assert w1_high <= w1_low + 3 * np.hypot(se_low, se_high), (w1_low, w1_high)
    for d in dims:
        assert result["slopes"][d] < -0.2, (d, result["slopes"][d])   # sampling: about −1/2
    free, gibbs = result["free_energy"], result["gibbs_free_energy"]
    assert result["gibbs_converged"]
    assert np.all(np.diff(free) <= 1e-12)
    assert -1e-9 < free[-1] - gibbs < 1e-3 * (free[0] - gibbs)
    assert result["w1_dd_gibbs"] < result["gibbs_floor"]
    assert result["w1_sgd_gibbs"] < 1.5 * result["gibbs_floor"]
