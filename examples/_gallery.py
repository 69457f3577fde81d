"""Helpers shared by the gallery scripts (examples/mmn_9_*.py, examples/dimension_free.py): case
files, SGD runs written to HDF5, the validation's comparison of a DD with SGD, tables and
figures."""

from __future__ import annotations

import argparse
import copy
import tomllib
from pathlib import Path

import numpy as np

from ddsolver.case import normalize_case
from ddsolver.sgd.run import simulate
from ddsolver.validation.runner import compare

EXAMPLES = Path(__file__).resolve().parent
DPI = 90


def read_toml(path) -> dict:
    """The raw (not normalised) case of a TOML file; relative paths from examples/."""
    with open(EXAMPLES / path, "rb") as fh:
        return tomllib.load(fh)


def variant(case: dict, **changes) -> dict:
    """A deep copy of the raw ``case`` with dotted keys replaced, e.g.
    ``variant(case, **{"data.dim": 20, "sgd.eps": 1e-4})``."""
    case = copy.deepcopy(case)
    for key, value in changes.items():
        *tables, name = key.split(".")
        table = case
        for t in tables:
            table = table.setdefault(t, {})
        table[name] = value
    return case


def run_sgd(case: dict, seeds, folder: Path, stem: str) -> list:
    """One SGD run per seed, each written to folder/<stem>_seed<s>.h5."""
    folder.mkdir(parents=True, exist_ok=True)
    return [simulate(case, seed, output=folder / f"{stem}_seed{seed}.h5", overwrite=True,
                     progress=False) for seed in seeds]


def validation_rows(name: str, case: dict, solution, runs) -> tuple[dict, object]:
    """ddsolver's validation of ``solution`` against the SGD ``runs`` of ``case`` (its
    ``validate.t_max`` and ``sgd`` table; :func:`ddsolver.validation.runner.compare`, default
    tolerances): {metric: (value, tolerance, value <= tolerance)} of the rows with a tolerance,
    and the comparison itself."""
    cmp = compare(name, normalize_case(case), solution, runs)
    return {row.metric: (row.value, row.tolerance, row.value <= row.tolerance)
            for row in cmp.rows if row.tolerance is not None}, cmp


def print_table(header: list[str], rows: list[list]) -> None:
    """A fixed-width table: numbers as 4 significant digits, anything else as text."""
    cells = [[f"{x:.4g}" if isinstance(x, float | np.floating) else str(x) for x in row]
             for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def figure(nrows: int, ncols: int, size: tuple[float, float]):
    """(pyplot, figure, axes array) on the Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    return plt, fig, axes


def save(plt, fig, path: Path) -> None:
    """Grid lines, tight layout, PNG at the gallery's resolution."""
    for ax in fig.axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def command_line(main, doc: str, default_out: str) -> None:
    """``python examples/<script>.py [-o OUT_DIR] [--quick]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path(default_out))
    parser.add_argument("--quick", action="store_true", help="the small size of the tests")
    args = parser.parse_args()
    main(args.output, args.quick)
