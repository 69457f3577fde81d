"""The ``ddsolver`` command: ``solve``, ``show``, ``plot`` and ``info`` (see docs/cli.md).

Errors a user can cause (bad case, missing or existing file, unreadable HDF5) are printed as
one line ``ddsolver: error: …`` and give exit code 2; Ctrl-C gives exit code 130. Warnings are
printed as ``ddsolver: warning: …``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__
from .errors import DdsolverError

WIDTH = 100


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args.run(args)
    except (DdsolverError, OSError) as exc:
        print(f"ddsolver: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ddsolver: interrupted", file=sys.stderr)
        return 130
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"ddsolver: warning: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddsolver", description="Solve the mean-field distributional dynamics of "
        "two-layer neural networks, and look at the results.")
    parser.add_argument("--version", action="version", version=f"ddsolver {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    solve = commands.add_parser("solve", help="solve a case, streaming snapshots to HDF5")
    solve.add_argument("case", metavar="CASE.toml", help="case file (see docs/case-file.md)")
    solve.add_argument("-o", "--output", metavar="OUT.h5", required=True,
                       help="HDF5 file written as the run goes")
    solve.add_argument("--overwrite", action="store_true", help="replace an existing output")
    solve.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: only on a terminal)")
    solve.set_defaults(run=_solve)

    show = commands.add_parser("show", help="summary of a solution file")
    show.add_argument("file", metavar="OUT.h5")
    show.set_defaults(run=_show)

    plot = commands.add_parser("plot", help="figure of the risk and the density evolution")
    plot.add_argument("file", metavar="OUT.h5")
    plot.add_argument("-o", "--output", metavar="FIG.png",
                      help="figure file, any matplotlib format (default: OUT.png)")
    plot.set_defaults(run=_plot)

    info = commands.add_parser("info", help="versions, threads and caches, for bug reports")
    info.set_defaults(run=_info)
    return parser


# -- commands -------------------------------------------------------------------------------------

def _solve(args) -> None:
    from .solve import solve

    sol = solve(args.case, args.output, overwrite=args.overwrite, progress=args.progress)
    _print_rows(_run_rows(sol) + [("output", args.output)])


def _show(args) -> None:
    from .storage import load

    sol = load(args.file)
    status = sol.attrs.get("status")
    if status == "running":
        status = "incomplete (running: still being written, or the run was killed)"
    elif status != "complete":
        status = f"incomplete ({status})"
    versions = [f"{k.removesuffix('_version')} {v}" for k, v in sol.attrs.items()
                if k.endswith("_version") and k != "format_version"]
    rows = [("file", args.file), ("status", status),
            ("format", f"{sol.attrs['format']} version {sol.attrs['format_version']}, "
                       f"created {sol.attrs.get('created', '?')}"),
            ("case", "\n".join(_case_lines(sol.case))),
            ("grid", "; ".join(f"{a.name}: {a.cells} cells on [{a.lo:g}, {a.hi:g}]"
                               for a in sol.grid.axes))]
    rows += _run_rows(sol) + [("versions", _wrap(versions, sep=", ", indent=""))]
    _print_rows(rows)


def _plot(args) -> None:
    from .storage import load
    from .visualization import plot_solution

    output = args.output or Path(args.file).with_suffix(".png")
    plot_solution(load(args.file), output)
    print(f"wrote {output}")


def _info(args) -> None:
    from .environment import environment

    env = environment()
    variables = env.pop("environment_variables")
    rows = list(env.items())
    rows.append(("environment", " ".join(f"{k}={v}" for k, v in variables.items()) or "(none)"))
    _print_rows(rows)


# -- formatting -----------------------------------------------------------------------------------

def _run_rows(sol) -> list[tuple[str, str]]:
    """Snapshots, risk, mass, steps and times of a solution."""
    if len(sol.t) == 0:
        return [("snapshots", "0")]
    diag, attrs = sol.diagnostics, sol.attrs
    mass = sol.mass
    rows = [("snapshots", f"{len(sol.t)}, t in [{sol.t[0]:g}, {sol.t[-1]:g}]"),
            ("risk", f"{sol.risk[0]:.6g} at t = {sol.t[0]:g}  ->  "
                     f"{sol.risk[-1]:.6g} at t = {sol.t[-1]:g}"),
            ("mass", f"min {mass.min():.15g}, max {mass.max():.15g}")]
    if "steps" in diag:
        rejected = f" ({diag['rejected_steps'][-1]} rejected)" if "rejected_steps" in diag else ""
        rows.append(("steps", f"{diag['steps'][-1]}{rejected}"))
    run_time = attrs.get("run_time", diag["wall_time"][-1] if "wall_time" in diag else None)
    if run_time is not None:
        compile_time = attrs.get("compile_time")
        rows.append(("wall time", f"{run_time:.3g} s"
                     + ("" if compile_time is None else f" (+ {compile_time:.3g} s compile/load)")))
    return rows


def _case_lines(case: dict) -> list[str]:
    """One ``table: key=value …`` line per case table, nested tables flattened with dots."""
    lines = []
    for name, table in case.items():
        lines.append(_wrap([f"{name}:"] + [f"{k}={_short(v)}" for k, v in _flatten(table)]))
    return lines


def _wrap(items: list[str], sep: str = " ", indent: str = "    ", width: int = WIDTH - 12) -> str:
    """Join ``items`` into lines of at most ``width`` characters, never splitting an item."""
    lines = [items[0]]
    for item in items[1:]:
        if len(lines[-1]) + len(sep) + len(item) > width:
            lines[-1] += sep.rstrip()
            lines.append(indent + item)
        else:
            lines[-1] += sep + item
    return "\n".join(lines)


def _flatten(table: dict, prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _short(value) -> str:
    """A value in a few characters: long arrays as their length and range."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value, dtype=float)
        if values.size > 4:
            return f"[{values.size} values in {values.min():g}..{values.max():g}]"
        return "[" + ", ".join(f"{v:g}" for v in values) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _print_rows(rows: list[tuple[str, object]]) -> None:
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        first, *rest = str(value).splitlines() or [""]
        print(f"{key:<{width}}  {first}")
        for line in rest:
            print(" " * (width + 2) + line)
