"""Kill -9 at random moments, then ``--resume``: the file of an uninterrupted run, bit for bit
(two trials of each command here; ``python tests/fuzz/kill_trials.py`` runs twenty)."""

import pytest

from tests.fuzz.kill_trials import trials


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["solve", "sgd"])
def test_killed_runs_resume_bit_identical(tmp_path, kind):
    rows = trials(kind, 2, seed=1, folder=tmp_path)
    for row in rows:
        assert row.resume_code == 0 and row.difference == 0, row
        assert "unreadable" not in row.left, row
