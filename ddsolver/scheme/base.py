"""The scheme protocol and the run protocol.

A scheme turns a normalised case and its model (:mod:`ddsolver.model`) into a grid, the model's
reduction on it and a *run*. Setting the class attribute ``name`` (the case's ``pde.scheme``)
registers a subclass of :class:`Scheme`; :meth:`Scheme.from_name` looks it up.

What a scheme provides:

=======================  =======================================================================
``name``                 the ``pde.scheme`` it answers to
``integrators``          the ``pde.integrator`` values it accepts (``auto`` first)
``positive``             whether its density is non-negative by construction
``noisy``                whether it solves noisy dynamics (β < ∞)
``gibbs``                whether ``ddsolver.stationary`` can compute Gibbs states on its grid
``anchored``             whether it carries each unit's start θ₀ (``training.penalty =
                         "anchored"``, the penalty (λ/2)|θ − θ₀|²)
``default_cells``        cells (or collocation points) per axis when the case gives none
``example_pde``          ``pde`` keys that keep the models' tiny examples tiny with this scheme
``check``                its case checks (model, noise, integrator, grid), at ``normalize_case``
``integrator``           the time integrator a case runs with (``auto`` resolved)
``build``                (grid of the stored density, reduction, run) of a normalised case
``particles``            (positions (n, D), weights) of a particle run, or None (a density)
``tolerance_key``        the ``[pde]`` key of its time-stepping tolerance (``tol`` or ``rtol``)
``memory_items``         its large arrays for the memory estimate (``memory_arrays`` grid-sized
                         arrays, features, stored snapshots: :mod:`ddsolver.resources`)
=======================  =======================================================================

A run (:class:`Run`) is what the drive loop advances:

=======================  =======================================================================
``t``, ``steps``         its time and the number of accepted steps so far
``kernel_rank``          the rank of U it evaluates per step (None: no low-rank form)
``warm_up()``            compile or load the kernels; returns the seconds it took
``advance(t_end, limit)`` move the state to time ``t_end`` (steps may go past it, up to
                         ``limit``, the next snapshot time, but never depend on ``t_end``: a
                         pause for the progress bar does not change the numbers)
``resume_state()``       {name: array or number}: what ``restore`` needs to continue bit for bit
``restore(state)``       continue from a ``resume_state()`` of a run of the same case
``density``              the density on the stored grid (cells × cell volume sums to 1)
``risk()``               R(ρ_t)
``free_energy()``        F(ρ_t) (docs/numerics.md)
``diagnostics()``        {name: number}: at least ``mass``, ``min_density``, ``steps``
=======================  =======================================================================
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

import numpy as np

from .. import checks
from ..errors import CaseError
from ..registry import Registry


class Run(Protocol):
    """The run protocol (see the module docstring)."""

    t: float
    kernel_rank: int | None

    @property
    def steps(self) -> int: ...

    def warm_up(self) -> float: ...

    def advance(self, t_end: float, limit: float | None = None) -> None: ...

    def resume_state(self) -> dict: ...

    def restore(self, state: dict) -> None: ...

    @property
    def density(self) -> np.ndarray: ...

    def risk(self) -> float: ...

    def free_energy(self) -> float: ...

    def diagnostics(self) -> dict: ...


class Scheme(Registry):
    """Base class and registry of the schemes (see the module docstring for the protocol)."""

    registry_attribute = "name"
    registry_case_key = "pde.scheme"
    name: ClassVar[str] = ""
    integrators: ClassVar[tuple[str, ...]] = ("auto",)
    positive: ClassVar[bool] = True
    noisy: ClassVar[bool] = True
    example_pde: ClassVar[dict] = {}
    gibbs: ClassVar[bool] = False
    anchored: ClassVar[bool] = False
    memory_arrays: ClassVar[int] = 0    # grid-sized float arrays of a step (memory estimate)
    tolerance_key: ClassVar[str] = "tol"    # pde key of the time-stepping tolerance
    @classmethod
    def all_integrators(cls) -> tuple[str, ...]:
        """Every integrator some scheme accepts, ``auto`` first."""
        names = [name for scheme in cls._registry.values() for name in scheme.integrators]
        return tuple(dict.fromkeys(names))

    @classmethod
    def default_cells(cls, ndim: int, coord: str) -> int:
        """Cells of an axis named ``coord`` on a grid of ``ndim`` axes when the case gives none."""
        raise NotImplementedError

    @classmethod
    def check(cls, key: str, pde: dict, model, training: dict) -> None:
        """Refuse a scheme or integrator that does not fit the model or the noise."""
        if not cls.noisy and training["beta"] < math.inf:
            raise CaseError(f"{key}.scheme: the {cls.__name__} scheme is noiseless only "
                            "(training.beta = inf); use a scheme that solves noisy dynamics")
        if (training["penalty"] == "anchored" and training["regime"] == "mean_field"
                and not cls.anchored):
            raise CaseError(f"training.penalty: 'anchored' penalises each unit's distance to its "
                            f"own start, which the {cls.name!r} scheme (a density) does not "
                            "carry; use pde.scheme = 'lagrangian'")
        if cls.name not in model.schemes:
            checks.fail(f"{key}.scheme", " or ".join(repr(s) for s in model.schemes)
                        + f" for coordinates {model.coords} of {model.kind} data", cls.name)
        if pde["integrator"] not in cls.integrators:
            checks.fail(f"{key}.integrator", " or ".join(repr(i) for i in cls.integrators)
                        + f" with scheme = {cls.name!r}", pde["integrator"])

    @classmethod
    def check_grid(cls, key: str, grid: dict) -> None:
        """Scheme-specific checks of the filled ``pde.grid`` (none by default)."""

    @classmethod
    def integrator(cls, case: dict) -> str:
        """The time integrator of a normalised case."""
        raise NotImplementedError

    @classmethod
    def build(cls, case: dict, model):
        """(grid of the stored density, reduction, run) of a normalised case."""
        raise NotImplementedError

    @classmethod
    def memory_items(cls, case: dict, cells: int, key: str, features: float) -> list[tuple]:
        """(case key, what, bytes) of the scheme's large arrays for
        :func:`ddsolver.resources.estimate`: ``memory_arrays`` float arrays of the ``cells``
        of the grid, the kernel features (``features`` bytes) and the stored densities."""
        snapshots = len(case["pde"]["snapshot_times"])
        stored = cls.stored_values(cells, len(case["pde"]["grid"]))
        return [(key, f"{cls.name} step arrays", cls.memory_arrays * 8 * cells),
                (key, "kernel features (rank × cells)", features),
                ("pde.snapshot_times" if snapshots > stored else key,
                 "snapshots of the density", 2 * 8 * snapshots * stored)]

    @classmethod
    def stored_values(cls, cells: int, ndim: int) -> int:
        """Numbers of the density stored per snapshot on a grid of ``cells`` cells."""
        return cells

    @classmethod
    def particles(cls, run) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions (n, D) in the grid's coordinates, weights (n,)) of a particle run, stored
        with every snapshot; None for a scheme whose state is a density."""
        return None
