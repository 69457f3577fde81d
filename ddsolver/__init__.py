"""ddsolver: the mean-field distributional dynamics of two-layer neural networks.

    >>> import ddsolver
    >>> sol = ddsolver.solve("examples/mmn_9_1.toml", output="run.h5")
    >>> sol.t, sol.risk, sol.density, sol.grid
    >>> ddsolver.load("run.h5")
"""

from ._version import __version__
from .case import normalize_case, read_case
from .catalog import catalog
from .errors import CaseError, DdsolverError, DomainError, NumericalError
from .results import SgdResult, Solution  # noqa: F401 (public API)
from .solve import solve
from .stationary import stationary
from .storage import load

__all__ = ["__version__", "solve", "stationary", "load", "catalog", "read_case", "normalize_case",
           "Solution", "DdsolverError", "CaseError", "DomainError", "NumericalError"]
