"""Registries by subclassing: the pattern shared by the models and the schemes.

A class that sets ``registry_attribute`` (the class attribute whose value names a subclass) and
``registry_case_key`` (the case key that holds such a name) starts a registry; each subclass that
sets that attribute is added to it when it is defined. :meth:`Registry.from_name` looks a name
up, with a one-line :class:`~ddsolver.errors.CaseError` naming the case key for unknown names.
"""

from __future__ import annotations

from typing import ClassVar

from . import checks


class Registry:
    """Base of a registry (see the module docstring)."""

    registry_attribute: ClassVar[str]
    registry_case_key: ClassVar[str]
    _registry: ClassVar[dict[str, type]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "registry_attribute" in cls.__dict__:
            cls._registry = {}
        elif cls.__dict__.get(cls.registry_attribute):
            cls._registry[cls.__dict__[cls.registry_attribute]] = cls

    @classmethod
    def registered(cls) -> dict[str, type]:
        """{name: class} of every registered subclass."""
        return dict(cls._registry)

    @classmethod
    def from_name(cls, name: str, key: str | None = None) -> type:
        """The subclass registered as ``name``; ``key`` (default: the case key) names the
        offending key in the error for an unknown name."""
        key = cls.registry_case_key if key is None else key
        return cls._registry[checks.choice(key, name, tuple(cls._registry))]
