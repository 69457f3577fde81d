"""Memory estimates of a run, checked against a budget before anything large is allocated.

:func:`estimate` lists the large arrays of a solve or an SGD run of a normalised case, each with
the case key that drives its size; :func:`check_memory` refuses a run whose total is above the
budget (by default ``BUDGET_FRACTION`` of the available memory; ``--max-memory`` on the command
line, ``max_memory=`` in :func:`ddsolver.solve` and :func:`ddsolver.sgd.simulate`) with one line
naming the key of the largest array. The estimates are upper bounds of the arrays' bytes
(measured against peak memory in tests/fuzz/test_resources.py), not of the interpreter's own.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from .errors import CaseError

BUDGET_FRACTION = 0.8           # default budget: this fraction of the available memory
FLOAT = 8                       # bytes of a float64
SERIES_ARRAYS = 4               # (orders × probes) arrays of the Mehler series truncation
SERIES_TERMS = 64               # terms a kernel series needs at most when it converges
RISK_MATRICES = 4               # N × N matrices of the exact SGD risk (cosines, their powers)
SGD_ARRAYS = 4                  # N × D arrays of an SGD step (W, W₀, noise, update)
UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


@dataclass(frozen=True)
class Item:
    """One large array (or group of arrays): the case key that drives it, what it is, bytes."""

    key: str
    what: str
    bytes: float


def available_memory() -> int:
    """Bytes of memory available to a new allocation (psutil, else /proc/meminfo, else the
    physical memory from os.sysconf)."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_size(key: str, text) -> int:
    """Bytes from a number or a text like ``"4GiB"``, ``"512M"``, ``"2e9"``; CaseError naming
    ``key`` otherwise."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    try:
        value = float(match[1]) * UNITS[match[2].lower()] if match else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0) or isinstance(text, bool):
        raise CaseError(f"{key}: expected a size such as 4GiB, 512MiB or a number of bytes, "
                        f"got {str(text)[:40]!r}")
    return int(value)


def size_text(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.3g} EiB"


def _grid_items(case: dict) -> list[Item]:
    """The scheme's arrays (:meth:`~ddsolver.scheme.base.Scheme.memory_items`), the kernel
    series and the model's own arrays (:meth:`~ddsolver.model.base.Model.memory_items`)."""
    from .model import model_of
    from .scheme import Scheme

    pde = case["pde"]
    axes = pde["grid"]
    cells = math.prod(a["cells"] for a in axes.values())
    widest = max(axes, key=lambda c: axes[c]["cells"])
    cells_key = f"pde.grid.{widest}.cells"
    terms = 1 if pde["kernel_dim"] == math.inf else pde["kernel_max_terms"]
    used = min(terms, SERIES_TERMS)
    model = model_of(case)
    features = 2 * FLOAT * model.feature_rank(used) * cells
    probes = math.prod(a["cells"] + 1 for c, a in axes.items() if c != "a")
    scheme = Scheme.from_name(pde["scheme"])
    items = [Item(*item) for item in scheme.memory_items(case, cells, cells_key, features)]
    items.append(Item("pde.kernel_max_terms" if terms > probes else cells_key,
                      "kernel series (terms × probes)",
                      SERIES_ARRAYS * FLOAT * 2 * terms * 2 * probes))
    return items + [Item(*item) for item in model.memory_items(case, cells, cells_key)]


def _sgd_items(case: dict) -> list[Item]:
    from .model import model_of

    sgd = case["sgd"]
    n, batch = sgd["neurons"], sgd["batch"]
    model = model_of(case)
    dim = model.parameter_dim(case)
    wide_key = "data.dim" if dim > n else "sgd.neurons"
    snaps = len(sgd["snapshot_times"])
    items = [Item(wide_key, "SGD weights (N × D)", SGD_ARRAYS * FLOAT * n * dim),
             Item("sgd.neurons", "exact-risk matrices (N × N)", RISK_MATRICES * FLOAT * n * n),
             Item("sgd.batch", "mini-batch (B × (D + N))", 2 * FLOAT * batch * (dim + n)),
             Item("sgd.neurons", "snapshots of the coordinates",
                  2 * FLOAT * snaps * n * len(model.coords))]
    if sgd["save_weights"]:
        items.append(Item(wide_key, "snapshots of W (sgd.save_weights)",
                          2 * FLOAT * snaps * n * dim))
    return items


def estimate(case: dict, kind: str = "solve") -> list[Item]:
    """The large arrays of a ``"solve"`` or ``"sgd"`` run of a normalised case."""
    return _grid_items(case) if kind == "solve" else _sgd_items(case)


def check_memory(case: dict, kind: str = "solve", max_memory=None) -> float:
    """Refuse (CaseError naming the key of the largest array) a run whose estimate exceeds
    ``max_memory`` (bytes or a size text; default BUDGET_FRACTION of the available memory);
    returns the estimate in bytes."""
    items = estimate(case, kind)
    total = sum(item.bytes for item in items)
    if max_memory is None:
        budget, origin = BUDGET_FRACTION * available_memory(), (
            f"{BUDGET_FRACTION:.0%} of the available memory; --max-memory to change it")
    else:
        budget, origin = parse_size("--max-memory", max_memory), "--max-memory"
    if total > budget:
        top = max(items, key=lambda item: item.bytes)
        raise CaseError(f"{top.key}: the run needs about {size_text(total)} ({top.what}: "
                        f"{size_text(top.bytes)}), above the memory budget of "
                        f"{size_text(budget)} ({origin})")
    return total
