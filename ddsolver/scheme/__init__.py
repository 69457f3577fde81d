"""The schemes that solve a case, registered by name (``pde.scheme``); the protocol is in
:mod:`ddsolver.scheme.base`. Importing this package registers the built-in schemes."""

from .base import Run, Scheme
from .fv import FiniteVolumes
from .lagrangian import Lagrangian
from .spectral import Spectral

__all__ = ["FiniteVolumes", "Lagrangian", "Run", "Scheme", "Spectral"]
