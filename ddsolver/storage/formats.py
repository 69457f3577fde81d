"""``load``: read any ddsolver file, dispatching on its ``format`` attribute."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DdsolverError
from . import hdf5, sgd
from .stream import open_file, python_value, root_attrs

if TYPE_CHECKING:
    from ..results import SgdResult, Solution

# format name -> (newest version this ddsolver reads, reader(open file, checked root attrs))
READERS = {hdf5.FORMAT: (hdf5.FORMAT_VERSION, hdf5.read_solution),
           sgd.FORMAT: (sgd.FORMAT_VERSION, sgd.read_sgd)}


def load(path) -> Solution | SgdResult:
    """Read a ddsolver file (complete, still being written, or left by a killed run): a
    :class:`~ddsolver.Solution` for a solution file, an :class:`~ddsolver.results.SgdResult`
    for an SGD file."""
    return _load(path, tuple(READERS))


def load_sgd(path) -> SgdResult:
    """Read an SGD file (format ``ddsolver.sgd``) as an :class:`~ddsolver.results.SgdResult`."""
    return _load(path, (sgd.FORMAT,))


def _load(path, formats: tuple[str, ...]):
    path = Path(path)
    with open_file(path) as f:
        name = python_value(f.attrs.get("format"))
        if name not in formats:
            kinds = " or ".join(repr(k) for k in formats)
            what = "solution or SGD file" if len(formats) > 1 else "SGD file"
            raise DdsolverError(f"{str(path)!r}: not a ddsolver {what} "
                                f"(no attribute format = {kinds})")
        newest, reader = READERS[name]
        try:
            return reader(f, root_attrs(f, path, newest))
        except (KeyError, OSError) as exc:
            raise DdsolverError(f"{str(path)!r}: damaged {name} file ({exc})") from None
