"""docs/case-file.md's full example writes every key with its default: it normalises to the
same case as the example with only the keys that have no default."""

import tomllib
from pathlib import Path

from ddsolver.case import case_to_json, normalize_case

DOC = Path(__file__).resolve().parents[2] / "docs" / "case-file.md"
REQUIRED_PDE = ("grid", "snapshot_times", "kernel_dim")


def full_example() -> dict:
    text = DOC.read_text().split("## Full example", 1)[1]
    return tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])


def test_full_example_values_are_the_defaults():
    full = full_example()
    bare = {**full, "pde": {key: full["pde"][key] for key in REQUIRED_PDE}}
    assert case_to_json(normalize_case(full)) == case_to_json(normalize_case(bare))
