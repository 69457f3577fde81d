"""The ``ddsolver`` command: ``solve``, ``stationary``, ``sgd``, ``demo``, ``validate``, ``show``,
``plot``, ``landscape``, ``ls`` and ``info`` (see docs/cli.md).

Errors a user can cause (bad case, missing or existing file, unreadable HDF5) are printed as
one line ``ddsolver: error: …`` and give exit code 2; Ctrl-C gives exit code 130 and SIGTERM 143
(a run in progress keeps its snapshots in its partial file, and the line says where); ``show``
gives exit code 1 on a corrupt file; ``validate``
gives exit code 1 when a comparison is outside its tolerance, ``stationary`` when the Gibbs
iteration did not converge. Warnings are printed as
``ddsolver: warning: …``.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tomllib
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from . import checks
from ._version import __version__
from .errors import CaseError, DdsolverError
from .signals import terminate_as_interrupt

WIDTH = 100
DEMO_FILES = ("pde.h5", "sgd.h5", "comparison.png")
SCHEDULER = re.compile(r"((tcp|tls|ws|wss|ucx|inproc)://)?([\w.\-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?/?")
QUICK_DEMO = {"neurons": 200, "eps": 1e-3, "t_final": 2.0}


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code
    terminate = terminate_as_interrupt()
    try:
        with warnings.catch_warnings(), terminate:
            warnings.showwarning = _show_warning
            for name in ("case", "file"):
                _refuse_same_file(getattr(args, name, None), getattr(args, "output", None))
            return args.run(args) or 0
    except KeyboardInterrupt as exc:
        return _interrupted(exc, getattr(exc, "signum", signal.SIGINT))
    except Exception as exc:
        if terminate.received:          # SIGTERM surfaced as another error (e.g. inside numba)
            return _interrupted(exc, signal.SIGTERM)
        if not isinstance(exc, DdsolverError | OSError):
            raise
        print(f"ddsolver: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _interrupted(exc: BaseException, signum: int) -> int:
    """Report an interrupted run in one line (where its partial file is); 128 + the signal."""
    notes = getattr(exc, "__notes__", ())
    rerun = ("; rerun with --resume to continue (solve, sgd), or --overwrite to start again"
             if notes else "")
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    detail = "; ".join(" ".join(note.split()) for note in notes)
    print(_printable(f"ddsolver: {what}{'; ' + detail if detail else ''}{rerun}"),
          file=sys.stderr)
    return 128 + signum


def _one_line(exc: BaseException, default: str = "") -> str:
    """An exception's message (or ``default``) and notes (where a run's partial file is) on one
    line, printable (:func:`_printable`)."""
    return _printable("; ".join(" ".join(part.split()) for part in
                                [str(exc) or default, *getattr(exc, "__notes__", ())]
                                if part.strip()))


def _printable(text) -> str:
    """``text`` with what the terminal cannot encode (e.g. lone surrogates decoded from damaged
    bytes of a file) escaped."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse_same_file(source, output) -> None:
    """Refuse an output that is the command's own input file."""
    if source is None or output is None:
        return
    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve() or (source.exists() and output.exists()
                                                and source.samefile(output)):
        raise DdsolverError(f"output {str(output)!r} is the input file: choose another output")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"ddsolver: warning: {_printable(message)}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddsolver", description="Solve the mean-field distributional dynamics of "
        "two-layer neural networks, simulate SGD, and compare the two.")
    parser.add_argument("--version", action="version", version=f"ddsolver {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    solve = commands.add_parser("solve", help="solve a case, streaming snapshots to HDF5")
    _case_argument(solve)
    _output_arguments(solve, "HDF5 file written as the run goes")
    _resume_argument(solve)
    solve.set_defaults(run=_solve)

    stationary = commands.add_parser("stationary", help="solve for the stationary (Gibbs) state "
                                     "of a noisy case; exit code 1 if not converged")
    _case_argument(stationary)
    _output_arguments(stationary, "HDF5 solution file with one snapshot at t = inf")
    stationary.set_defaults(run=_stationary)

    minimize = commands.add_parser("minimize", help="certified global minimum of the risk over "
                                   "laws on the case's grid (noisy cases: the Gibbs state); exit "
                                   "code 1 if the certificate is not reached")
    _case_argument(minimize)
    minimize.add_argument("-o", "--output", metavar="OUT.h5", help="HDF5 solution file with "
                          "one snapshot at t = inf (optional)")
    minimize.add_argument("--overwrite", action="store_true", help="replace an existing output")
    minimize.add_argument("--tol", type=float, default=1e-9, metavar="GAP",
                          help="certificate to reach: optimality gap in risk units (default "
                               "1e-9)")
    minimize.set_defaults(run=_minimize)

    certify = commands.add_parser("certify", help="optimality gap, stationarity and R - R_min "
                                  "of every snapshot of a solution file, stored in it")
    certify.add_argument("file", metavar="FILE.h5", help="solution file (ddsolver solve)")
    certify.add_argument("--no-minimum", dest="minimum", action="store_false",
                         help="skip R_min (the certified minimum on the file's grid)")
    certify.set_defaults(run=_certify)

    landscape = commands.add_parser("landscape", help="single-delta optimum, its certificate, "
                                    "the certified minimum and the DD's risk across Δ, with the "
                                    "threshold; a CSV table and a figure")
    _case_argument(landscape)
    landscape.add_argument("--deltas", metavar="START:STOP:COUNT", default="0.1:0.9:17",
                           help="Δ values: COUNT from START to STOP, or a comma-separated list "
                                "(default 0.1:0.9:17)")
    landscape.add_argument("-o", "--output", metavar="DIR", required=True,
                           help="folder for landscape.csv, landscape.json and landscape.png")
    landscape.add_argument("--sgd", action="store_true", help="also one SGD run per Δ")
    landscape.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _progress_argument(landscape)
    landscape.set_defaults(run=_landscape)

    sgd = commands.add_parser("sgd", help="simulate particle SGD of a case, streaming to HDF5")
    _case_argument(sgd)
    _output_arguments(sgd, "HDF5 file written as the run goes")
    sgd.add_argument("--seed", type=int, help="random seed, an integer in [0, 2^63 - 1] "
                     "(default: the first of sgd.seeds)")
    sgd.add_argument("--save-weights", action=argparse.BooleanOptionalAction, default=None,
                     help="also store the weights W at every snapshot (default: "
                     "sgd.save_weights)")
    _resume_argument(sgd)
    sgd.set_defaults(run=_sgd)

    demo = commands.add_parser("demo", help="PDE against SGD on MMN's example 9.1, with a "
                               "comparison figure")
    demo.add_argument("-o", "--output", metavar="DIR", default="ddsolver-demo",
                      help="folder for pde.h5, sgd.h5 and comparison.png "
                      "(default: ddsolver-demo; created if missing)")
    demo.add_argument("--quick", action="store_true",
                      help="a small version for tests: N = 200, eps = 1e-3, t_final = 2")
    demo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _memory_argument(demo)
    _progress_argument(demo)
    demo.set_defaults(run=_demo)

    validate = commands.add_parser("validate", help="check the PDE against SGD within "
                                   "tolerances; exit code 1 if a check fails")
    validate.add_argument("cases", metavar="CASE.toml", nargs="+",
                          help="case files with [sgd] and [validate] tables")
    validate.add_argument("--report", metavar="DIR", help="folder for the report")
    validate.add_argument("--scheduler", metavar="ADDRESS",
                          help="address of a running task scheduler, e.g. tcp://host:8786 "
                          "(default: local)")
    validate.add_argument("--workers", metavar="K", type=int,
                          help="number of local workers, >= 1 (default: all cores)")
    validate.add_argument("--cache", metavar="DIR", help="folder caching finished runs")
    validate.add_argument("--resume", action="store_true", help="also cache the solves, and "
                          "continue the solves and local SGD runs a killed validation left "
                          "unfinished from their last snapshot")
    _memory_argument(validate)
    _progress_argument(validate)
    validate.set_defaults(run=_validate)

    show = commands.add_parser("show", help="summary of a solution or SGD file")
    show.add_argument("file", metavar="OUT.h5")
    show.set_defaults(run=_show)

    plot = commands.add_parser("plot", help="figure of a solution or SGD file")
    plot.add_argument("file", metavar="OUT.h5")
    plot.add_argument("-o", "--output", metavar="FIG.png",
                      help="figure file, any matplotlib format (default: OUT.png)")
    plot.add_argument("--overwrite", action="store_true", help="replace an existing figure")
    plot.set_defaults(run=_plot)

    ls = commands.add_parser("ls", help="catalog of the ddsolver files under a folder")
    ls.add_argument("folder", metavar="DIR", nargs="?", default=".",
                    help="folder searched recursively (default: the current one), or one file")
    ls.add_argument("--depth", type=int, metavar="N",
                    help="at most N folders down (0: DIR itself only; default: no limit)")
    ls.add_argument("--glob", metavar="PATTERN", action="append",
                    help="file names to read (repeatable; default: *.h5 and *.hdf5)")
    ls.add_argument("--json", action="store_true", help="a JSON list of rows, for scripts")
    ls.set_defaults(run=_ls)

    info = commands.add_parser("info", help="versions, threads and caches, for bug reports")
    info.set_defaults(run=_info)
    return parser


def _case_argument(parser) -> None:
    parser.add_argument("case", metavar="CASE.toml", help="case file (see docs/case-file.md)")


def _output_arguments(parser, help: str) -> None:
    parser.add_argument("-o", "--output", metavar="OUT.h5", required=True, help=help)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _memory_argument(parser)
    _progress_argument(parser)


def _memory_argument(parser) -> None:
    parser.add_argument("--max-memory", metavar="SIZE", help="refuse a run whose memory "
                        "estimate exceeds SIZE, e.g. 4GiB or 512MiB (default: 80%% of the "
                        "available memory)")


def _resume_argument(parser) -> None:
    parser.add_argument("--resume", action="store_true", help="continue the run left in "
                        "OUT.partial.h5 (killed or interrupted) or, without one, the finished "
                        "OUT.h5 to a later t_final, from its last snapshot, bit for bit as an "
                        "uninterrupted run; the case may change only in t_final and later "
                        "snapshot times")


def _progress_argument(parser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")


# -- commands -------------------------------------------------------------------------------------

def _solve(args) -> None:
    from .solve import solve

    sol = solve(args.case, args.output, overwrite=args.overwrite, resume=args.resume,
                progress=args.progress, max_memory=args.max_memory)
    _print_rows(sol.summary_rows() + [("output", args.output)])


def _stationary(args) -> int:
    from .stationary import stationary

    sol = stationary(args.case, args.output, overwrite=args.overwrite, progress=args.progress,
                     max_memory=args.max_memory)
    _print_rows(sol.summary_rows() + [("output", args.output)])
    return 0 if sol.attrs["converged"] else 1


def _minimize(args) -> int:
    from .landscape import minimize

    if not args.tol > 0:
        raise CaseError(f"--tol: expected a positive number, got {args.tol!r}")
    sol = minimize(args.case, args.output, tol=args.tol, overwrite=args.overwrite)
    _print_rows(sol.summary_rows() + ([("output", args.output)] if args.output else []))
    return 0 if sol.attrs["converged"] else 1


def _certify(args) -> None:
    from .landscape import certify, minimize
    from .results import Solution
    from .storage import load
    from .storage.hdf5 import write_certificates

    sol = load(args.file)
    if not isinstance(sol, Solution) or np.isinf(sol.t).any():
        raise CaseError(f"{args.file}: certify needs a solution of 'ddsolver solve'")
    r_min = None
    if args.minimum:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # the minimum's edge is reported below
            minimum = minimize({**sol.case, "training": {**sol.case["training"],
                                                          "beta": float("inf")}})
        r_min = float(minimum.risk[0])
    result = certify(sol, r_min)
    write_certificates(args.file, result)
    rows = [("t", "R(rho_t)   optimality gap   stationarity" +
             ("   R - R_min" if r_min is not None else ""))]
    picks = sorted(set(np.linspace(0, len(result.t) - 1, min(len(result.t), 8)).astype(int)))
    for k in picks:
        excess = f"   {result.excess[k]:.3e}" if r_min is not None else ""
        rows.append((f"{result.t[k]:g}", f"{result.risk[k]:.6g}   {result.gap[k]:.3e}   "
                                         f"{result.stationarity[k]:.3e}{excess}"))
    if r_min is not None:
        rows.append(("R_min", f"{r_min:.12g} (gap {minimum.attrs['gap']:.2g}; mass on the "
                              f"grid's edge: {minimum.attrs['edge'] or 'none'})"))
    _print_rows(rows + [("stored", f"{args.file}: /landscape")])


def _landscape(args) -> None:
    from .landscape.sweep import parse_deltas, sweep

    result = sweep(args.case, parse_deltas(args.deltas), sgd=args.sgd, progress=args.progress)
    paths = result.write(args.output, overwrite=args.overwrite)
    th = result.threshold
    _print_rows([("deltas", f"{len(result.table['delta'])} values in "
                            f"[{result.table['delta'][0]:g}, {result.table['delta'][-1]:g}]"),
                 ("threshold", "none in the range" if th is None else
                  f"Δ = {th.delta:.6f} in [{th.lo:.6f}, {th.hi:.6f}] (single delta optimal "
                  "below)"),
                 ("output", ", ".join(str(p) for p in paths))])


def _sgd(args) -> None:
    from .sgd.run import simulate

    result = simulate(args.case, args.seed, output=args.output, overwrite=args.overwrite,
                      resume=args.resume, save_weights=args.save_weights,
                      progress=args.progress, max_memory=args.max_memory)
    _print_rows(result.summary_rows() + [("output", args.output)])


def _demo(args) -> None:
    from .case import normalize_case
    from .sgd.run import simulate
    from .solve import solve
    from .storage import check_output_path
    from .visualization import plot_comparison

    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise DdsolverError(f"output {str(folder)!r} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    pde_path, sgd_path, figure = (check_output_path(folder / name, args.overwrite)
                                  for name in DEMO_FILES)
    case = normalize_case(_demo_case(args.quick))
    sol = solve(case, pde_path, overwrite=args.overwrite, progress=args.progress,
                max_memory=args.max_memory)
    result = simulate(case, output=sgd_path, overwrite=args.overwrite, progress=args.progress,
                      max_memory=args.max_memory)
    plot_comparison(sol, result, figure)
    t_final = case["training"]["t_final"]
    _print_rows([
        ("case", f"MMN example 9.1 (d = {case['data']['dim']}) to t = {t_final:g}, "
                 f"SGD with N = {case['sgd']['neurons']}, eps = {case['sgd']['eps']:g}"),
        ("PDE", f"{pde_path}: final risk R(rho_t) = {sol.risk[-1]:.6g}, "
                f"{sol.attrs['run_time']:.3g} s"),
        ("SGD", f"{sgd_path}: final risk R_N = {result.risk[-1]:.6g}, "
                f"{result.attrs['run_time']:.3g} s"),
        ("figure", str(figure)),
    ])


def _demo_case(quick: bool) -> dict:
    """The bundled demo case (ddsolver/data/demo.toml), or its quick version."""
    case = tomllib.loads(resources.files("ddsolver").joinpath("data/demo.toml").read_text())
    if quick:
        t_final = QUICK_DEMO["t_final"]
        case["training"]["t_final"] = t_final
        case["sgd"].update(neurons=QUICK_DEMO["neurons"], eps=QUICK_DEMO["eps"])
        for table in (case["pde"], case["sgd"]):
            table["snapshot_times"] = [t for t in table["snapshot_times"] if t <= t_final]
    return case


def _validate(args) -> int:
    from .validation import validate

    if args.workers is not None:
        checks.integer("--workers", args.workers, lo=1)
    if args.scheduler is not None and not SCHEDULER.fullmatch(args.scheduler):
        checks.fail("--scheduler", "an address such as tcp://host:8786 or host:8786",
                    args.scheduler)
    report = validate(args.cases, report_dir=args.report, scheduler=args.scheduler,
                      workers=args.workers, cache_dir=args.cache, progress=args.progress,
                      resume=args.resume, max_memory=args.max_memory)
    print(report.table)
    return 0 if report.passed else 1


def _show(args) -> int:
    from .model import model_of
    from .results import Solution
    from .storage import CorruptFileWarning, load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptFileWarning)      # the status row says it
        result = load(args.file)
    attrs = result.attrs
    status = str(attrs.get("status"))
    if status.startswith("corrupt"):
        status = f"CORRUPT ({status.removeprefix('corrupt: ')}; stored status "
        status += f"{attrs.get('stored_status')!r})"
    elif status == "running":
        status = ("incomplete (running: still being written, or the run was killed; --resume "
                  "continues it)")
    elif status != "complete":
        status = f"incomplete ({status})"
    if attrs.get("resumed"):
        status += f"; resumed {attrs['resumed']}"
    versions = [f"{k.removesuffix('_version')} {v}" for k, v in attrs.items()
                if k.endswith("_version") and k != "format_version"]
    rows = [("file", args.file), ("status", status),
            ("format", f"{attrs['format']} version {attrs['format_version']}, "
                       f"created {attrs.get('created', '?')}"),
            ("model", model_of(result.case).summary()),
            ("case", "\n".join(_case_lines(result.case)))]
    if isinstance(result, Solution):
        rows.append(("grid", "; ".join(f"{a.name}: {a.cells} cells on [{a.lo:g}, {a.hi:g}]"
                                       for a in result.grid.axes)))
        rows += result.summary_rows()
    else:
        rows += result.summary_rows()
    _print_rows(rows + [("versions", _wrap(versions, sep=", ", indent=""))])
    return 1 if status.startswith("CORRUPT") else 0


def _plot(args) -> None:
    from .results import Solution
    from .storage import CorruptFileWarning, load
    from .visualization import plot_sgd, plot_solution

    output = Path(args.output or Path(args.file).with_suffix(".png"))
    _refuse_same_file(args.file, output)
    _check_figure_format(output)
    if output.exists() and not args.overwrite:
        raise DdsolverError(f"output {str(output)!r} already exists (pass --overwrite)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptFileWarning)      # refused below
        result = load(args.file)
    if str(result.attrs.get("status")).startswith("corrupt"):
        raise DdsolverError(f"{args.file!r}: {result.attrs['status']}; not plotted")
    (plot_solution if isinstance(result, Solution) else plot_sgd)(result, output)
    print(f"wrote {output}")


def _ls(args) -> None:
    from .catalog import PATTERNS, scan, to_json, to_table

    if args.depth is not None and args.depth < 0:
        raise CaseError(f"--depth: expected 0 or more, got {args.depth}")
    rows = scan(args.folder, depth=args.depth, patterns=args.glob or PATTERNS)
    print(to_json(rows) if args.json else to_table(rows))


def _check_figure_format(path) -> None:
    """Refuse a figure name whose extension matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if Path(path).suffix.lstrip(".").lower() not in formats:
        checks.fail("--output", "a figure file ending in ." + ", .".join(sorted(formats)),
                    str(path))


def _info(args) -> None:
    from .environment import environment

    env = environment()
    variables = env.pop("environment_variables")
    rows = list(env.items())
    rows.append(("environment", " ".join(f"{k}={v}" for k, v in variables.items()) or "(none)"))
    _print_rows(rows)


# -- formatting -----------------------------------------------------------------------------------

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
        return "[" + ", ".join(f"{v:g}" for v in values.ravel()) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _print_rows(rows: list[tuple[str, object]]) -> None:
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        first, *rest = _printable(value).splitlines() or [""]
        print(f"{key:<{width}}  {first}")
        for line in rest:
            print(" " * (width + 2) + line)
