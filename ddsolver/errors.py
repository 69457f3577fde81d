"""Exceptions raised by ddsolver.

Every error a user can cause by bad input derives from :class:`DdsolverError`; the CLI prints
its message on one line and exits non-zero.
"""


class DdsolverError(Exception):
    """Base class of the errors the CLI reports without a traceback."""


class CaseError(DdsolverError, ValueError):
    """A case (TOML file or dict) has an unknown key, a wrong type or an out-of-range value."""


class DomainError(DdsolverError, RuntimeError):
    """Mass reached the edge of the computational domain."""


class NumericalError(DdsolverError, RuntimeError):
    """The time stepper produced a negative or non-finite density."""
