"""Checks of case-file values: each returns the checked value or raises a one-line
:class:`~ddsolver.errors.CaseError` naming the key, e.g. ``pde.grid.r.cells: expected an integer
>= 2, got -3``. Shared by :mod:`ddsolver.case`, the models and the schemes. Infinite values may
be written as TOML's ``inf`` or as the string ``"inf"``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from .errors import CaseError

INF = math.inf
REQUIRED = object()
MAX_INT = 2**63 - 1          # integers above do not fit the int64 of numpy and HDF5
SHOWN = 60                   # characters of a rejected value quoted in a message


def fail(key, expected, value):
    """Raise ``key: expected <expected>, got <value>`` (a long value cut to its start)."""
    if isinstance(value, int) and value.bit_length() > 256:   # str() of huge ints is slow
        shown = f"an integer of about {int(value.bit_length() * math.log10(2))} digits"
    else:
        shown = repr(value)
        shown = shown if len(shown) <= SHOWN else shown[:SHOWN - 4] + " ..."
    raise CaseError(f"{key}: expected {expected}, got {shown}")


def real(key, value, *, lo=-INF, hi=INF, lo_open=False, hi_open=False, allow_inf=False):
    """A float in the given bounds (``inf`` only with ``allow_inf``)."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf"):
        value = INF
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(key, "a number", value)
    value = float(value)
    bounds = f"{'>' if lo_open else '>='} {lo:g}" if lo > -INF else ""
    if hi < INF:
        bounds += (" and " if bounds else "") + f"{'<' if hi_open else '<='} {hi:g}"
    what = "a number" + (f" {bounds}" if bounds else "") + (" or inf" if allow_inf else "")
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        fail(key, what, value)
    if value < lo or (lo_open and value == lo) or value > hi or (hi_open and value == hi):
        fail(key, what, value)
    return value


def positive(key, value):
    """A finite number > 0."""
    return real(key, value, lo=0.0, lo_open=True)


def integer(key, value, *, lo=1, hi=MAX_INT, allow_inf=False):
    """An integer in [``lo``, ``hi``] (or ``inf`` with ``allow_inf``)."""
    if allow_inf and (value == INF or (isinstance(value, str) and value.strip().lower() == "inf")):
        return INF
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or not lo <= value <= hi:
        bounds = f">= {lo}" if hi == MAX_INT and not (ok and value > hi) else f"in [{lo}, {hi}]"
        fail(key, f"an integer {bounds}" + (" or inf" if allow_inf else ""), value)
    return int(value)


def fraction(key, value):
    """A number in the open interval (0, 1): tolerances and mass fractions."""
    return real(key, value, lo=0.0, hi=1.0, lo_open=True, hi_open=True)


def choice(key, value, options):
    """One of ``options``."""
    if value not in options:
        fail(key, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def anything(key, value):
    """The value as it is (for keys checked elsewhere)."""
    return value


def table(key, value):
    """A TOML table (dict)."""
    if not isinstance(value, dict):
        fail(key, "a table", value)
    return value


def kind(key, value, options, default=REQUIRED):
    """The ``kind`` entry of a table, checked against ``options``."""
    if "kind" not in table(key, value) and default is REQUIRED:
        raise CaseError(f"{key}.kind: required key is missing")
    return choice(f"{key}.kind", value.get("kind", default), options)


def reject_unknown(key, value, allowed):
    """Refuse keys of ``value`` not in ``allowed``."""
    for name in value:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise CaseError(f"{where}: unknown key (allowed: {', '.join(sorted(allowed))})")


def take(key, value, spec):
    """Check ``value`` against ``spec`` = {name: (check, default)}; return the filled table.
    A default of :data:`REQUIRED` makes the key mandatory; ``None`` makes it optional."""
    value = table(key, value)
    reject_unknown(key, value, spec)
    out = {}
    for name, (check, default) in spec.items():
        sub = f"{key}.{name}"
        if name in value and value[name] is None and default is None:
            out[name] = None                    # an unset optional key of a normalised case
        elif name in value:
            out[name] = check(sub, value[name])
        elif default is REQUIRED:
            raise CaseError(f"{sub}: required key is missing")
        else:
            out[name] = copy.deepcopy(default)
    return out


def numeric(value):
    """Whether ``value`` is a number or (nested) lists of numbers, with no string or bool."""
    if isinstance(value, (list, tuple)):
        return all(numeric(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf"
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def float_array(key, value):
    """A non-empty 1-D array of finite numbers (strings and booleans refused, even "1")."""
    if not numeric(value):
        fail(key, "an array of numbers", value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(key, "an array of numbers", value)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        fail(key, "a non-empty 1-D array of finite numbers", value)
    return arr


def path(key, value, base_dir):
    """A path, relative to ``base_dir`` (the case file's folder) unless absolute."""
    if not isinstance(value, str):
        fail(key, "a path", value)
    out = Path(value)
    return str(out if out.is_absolute() or base_dir is None else Path(base_dir) / out)
