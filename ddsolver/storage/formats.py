"""``load``: read any ddsolver file, dispatching on its ``format`` attribute, and check it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import DdsolverError
from . import hdf5, sgd
from .stream import case_rejection, open_file, python_value, read_error, root_attrs

if TYPE_CHECKING:
    from ..results import SgdResult, Solution

# format name -> (newest version this ddsolver reads, reader(open file, checked root attrs),
#                 check(open file, result) -> reason the result cannot be trusted, or None)
READERS = {hdf5.FORMAT: (hdf5.FORMAT_VERSION, hdf5.read_solution, hdf5.solution_problem),
           sgd.FORMAT: (sgd.FORMAT_VERSION, sgd.read_sgd, sgd.sgd_problem)}
# what reading a damaged file can raise (h5py, json, numpy): turned into one line naming the file
DAMAGE = (KeyError, OSError, ValueError, TypeError, AttributeError, IndexError, RecursionError,
          RuntimeError)          # h5py: "incorrect metadata checksum" of damaged metadata


class CorruptFileWarning(UserWarning):
    """A ddsolver file was read but fails a check: its ``status`` says ``corrupt: <reason>``."""


def load(path) -> Solution | SgdResult:
    """Read a ddsolver file (complete, still being written, or left by a killed run): a
    :class:`~ddsolver.Solution` for a solution file, an :class:`~ddsolver.results.SgdResult`
    for an SGD file.

    A file that cannot be read (truncated, foreign, failed checksum) raises a one-line
    :class:`~ddsolver.DdsolverError`; one that is read but fails a check (grid, shapes, finite
    values, mass) is returned with ``attrs["status"] = "corrupt: <reason>"`` (the
    stored status in ``attrs["stored_status"]``) and a :class:`CorruptFileWarning`. A stored
    case that the case validator no longer accepts gives a warning."""
    return _load(path, tuple(READERS))


def load_sgd(path) -> SgdResult:
    """Read an SGD file (format ``ddsolver.sgd``) as an :class:`~ddsolver.results.SgdResult`."""
    return _load(path, (sgd.FORMAT,))


def _load(path, formats: tuple[str, ...]):
    path = Path(path)
    with open_file(path) as f:
        try:
            name = python_value(f.attrs.get("format"))
        except DAMAGE as exc:
            raise DdsolverError(f"{str(path)!r}: corrupt file ({read_error(exc)})") from None
        if name not in formats:
            kinds = " or ".join(repr(k) for k in formats)
            what = "solution or SGD file" if len(formats) > 1 else "SGD file"
            raise DdsolverError(f"{str(path)!r}: not a ddsolver {what} "
                                f"(no attribute format = {kinds})")
        newest, reader, check = READERS[name]
        try:
            result = reader(f, root_attrs(f, path, newest))
            problem = check(f, result)
        except DAMAGE as exc:
            raise DdsolverError(f"{str(path)!r}: corrupt {name} file "
                                f"({read_error(exc)})") from None
    if problem is None and (rejected := case_rejection(result.case)):
        warnings.warn(f"{str(path)!r}: ddsolver {__version__} no longer accepts the stored case "
                      f"({rejected}); it is returned as stored", stacklevel=3)
    if problem:
        result.attrs["stored_status"] = result.attrs.get("status")
        result.attrs["status"] = f"corrupt: {problem}"
        warnings.warn(f"{str(path)!r}: corrupt: {problem}", CorruptFileWarning, stacklevel=3)
    return result
