"""The model protocol: everything ddsolver knows about one kind of data and its units.

A model is one module in :mod:`ddsolver.model` with one subclass of :class:`Model`. Setting the
class attribute ``kind`` (the case's ``data.kind``) registers it; :meth:`Model.from_name` and
:func:`ddsolver.model.model_of` look it up. The rest of the package (case checks, ``solve``,
``sgd``, ``validation``, the CLI) asks the model and never branches on model or unit names.

What a model provides (docs/architecture.md §3 walks through adding one):

====================  ==========================================================================
``kind``              the ``data.kind`` it answers to
``units``             its ``network.unit`` values (first is the default); ``()``: no unit key
``init_kinds``        its ``[init]`` kinds (first is the default)
``schemes``           the schemes that solve it, in order of preference
``default_scheme``    the scheme of a case that names none (first that solves its dynamics)
``radial``            coordinates that are norms (min >= 0, natural boundary at 0)
``periodic``          coordinates that are angles (a grid spans exactly 2π)
``default_ranges``    {coordinate: (min, max)} grid defaults (missing: ``min``/``max`` required)
``scalar_laws``       {coordinate: law} defaults of the per-coordinate initial laws
``runs_user_code``    whether validating its case imports a user's file (not re-checked on load)
``feature_rank``      features of a kernel series of a given number of terms (memory estimate)
``memory_items``      its own large arrays beyond the scheme's (memory estimate)
``check_data``        the ``[data]`` table, checked and filled (classmethod)
``check_network``     the ``[network]`` table, checked and filled (classmethod)
``coords``            the reduced coordinates, in grid-axis order
``check_init_kind``   refuses an ``[init]`` kind it cannot start from
``check``             checks that span several tables of the normalised case
``reduction``         V, the low-rank U and the Jacobian on a grid (:mod:`ddsolver.reduction`)
``sgd_model``         the particle model of :func:`ddsolver.sgd.simulate`
``parameter_dim``     D, the number of parameters of one unit
``summary``           one line for ``show`` and validation reports
``examples``          tiny raw cases, one per unit (the registry tests run them with every scheme)
====================  ==========================================================================
"""

from __future__ import annotations

import math
from typing import ClassVar

from .. import checks
from ..registry import Registry

MAX_SCALE = 1e12        # network.scale: α² and the risk's α² ∫∫U must stay far from overflow


def check_scale(key: str, value) -> float:
    """``network.scale``: a number in (0, MAX_SCALE]."""
    return checks.real(key, value, lo=0.0, hi=MAX_SCALE, lo_open=True)


class Model(Registry):
    """Base class and registry of the models (see the module docstring for the protocol)."""

    registry_attribute = "kind"
    registry_case_key = "data.kind"
    kind: ClassVar[str] = ""
    units: ClassVar[tuple[str, ...]] = ()
    init_kinds: ClassVar[tuple[str, ...]] = ("gaussian", "point", "density", "samples")
    schemes: ClassVar[tuple[str, ...]] = ("fv", "lagrangian")
    radial: ClassVar[tuple[str, ...]] = ()
    periodic: ClassVar[tuple[str, ...]] = ()
    default_ranges: ClassVar[dict[str, tuple[float, float]]] = {}
    scalar_laws: ClassVar[dict[str, dict]] = {}
    runs_user_code: ClassVar[bool] = False   # validating a case imports the user's file
    # -- case checks ------------------------------------------------------------------------------

    @classmethod
    def check_data(cls, key: str, table: dict, base_dir) -> dict:
        """The ``[data]`` table with its defaults filled in."""
        raise NotImplementedError

    @classmethod
    def check_network(cls, key: str, table: dict) -> dict:
        """The ``[network]`` table: ``unit`` (one of :attr:`units`), ``activation`` and its
        parameters (:mod:`ddsolver.problem.activations`), the output scale α."""
        from ..problem.activations import ACTIVATIONS

        out = checks.take(key, table, {
            "unit": (lambda k, v: checks.choice(k, v, cls.units), cls.units[0]),
            "activation": (lambda k, v: checks.choice(k, v, tuple(ACTIVATIONS)),
                           checks.REQUIRED),
            "activation_params": (checks.table, {}),
            "scale": (check_scale, 1.0),
        })
        out["activation_params"] = ACTIVATIONS[out["activation"]].check_params(
            out["activation_params"], f"{key}.activation_params")
        return out

    def __init__(self, data: dict, network: dict):
        self.data, self.network = data, network

    @property
    def coords(self) -> tuple[str, ...]:
        """The reduced coordinates, in grid-axis order."""
        raise NotImplementedError

    def default_scheme(self, training: dict) -> str:
        """The ``pde.scheme`` of a case that names none: the first of :attr:`schemes` that solves
        its dynamics (a noiseless-only scheme is passed over when ``training.beta`` < ∞, one
        without each unit's start when the mean-field dynamics has the anchored penalty)."""
        from ..scheme import Scheme

        anchored = training["penalty"] == "anchored" and training["regime"] == "mean_field"
        fits = [name for name in self.schemes
                if (Scheme.from_name(name).noisy or math.isinf(training["beta"]))
                and (Scheme.from_name(name).anchored or not anchored)]
        return fits[0] if fits else self.schemes[0]   # none fits: Scheme.check names the key

    def check_init_kind(self, key: str, kind) -> None:
        """Refuse an ``init.kind`` that is not one of :attr:`init_kinds`."""
        checks.choice(key, kind, self.init_kinds)

    def check(self, case: dict) -> None:
        """Checks across the tables of a normalised case (none by default)."""

    # -- what the solvers need --------------------------------------------------------------------

    def activation(self):
        """The activation σ of the units (:func:`~ddsolver.problem.activations.make_activation`)."""
        from ..problem.activations import make_activation
        return make_activation(self.network["activation"], self.network["activation_params"])

    def reduction(self, case: dict, grid):
        """V, the low-rank U and log J of the model on ``grid``."""
        raise NotImplementedError

    def sgd_model(self, case: dict):
        """The SGD model (``coords``, ``initial``, ``advance``, ``exact_risk``, ``reduced``,
        ``weights``: :mod:`ddsolver.sgd.run`)."""
        raise NotImplementedError

    def parameter_dim(self, case: dict) -> int:
        """D, the number of parameters of one unit."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line: data, units, activation and dimensions."""
        raise NotImplementedError

    def feature_rank(self, terms: int) -> int:
        """Features of a kernel series of ``terms`` terms (memory estimate): two per term
        (:mod:`ddsolver.resources`)."""
        return 2 * terms

    def memory_items(self, case: dict, cells: int, key: str) -> list[tuple]:
        """(case key, what, bytes) of the model's own large arrays on a grid of ``cells`` cells
        (memory estimate): none besides the scheme's."""
        return []

    @classmethod
    def examples(cls) -> dict[str, dict]:
        """{label: raw case}: a tiny case of every unit, solvable in about a second by each of
        its schemes. ``tests/test_registry.py`` runs them all."""
        raise NotImplementedError

    def unit_summary(self) -> str:
        """``unit <u>, σ = <activation>`` (shared by the models with a [network] unit)."""
        return f"unit {self.network['unit']}, σ = {self.network['activation']}"
