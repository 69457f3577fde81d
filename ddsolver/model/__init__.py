"""The models ddsolver solves, registered by ``data.kind``; the protocol is in
:mod:`ddsolver.model.base`. Importing this package registers the built-in models:

==========================  ===============  ====================================
``data.kind``               ``network.unit``  reduced coordinates
==========================  ===============  ====================================
``isotropic_gaussians``     w, aw, awb       (r), (a, r), (a, b, r)
``anisotropic_gaussians``   w, aw            (r1, r2), (a, r1, r2)
``planar_teacher``          w, circle        (r, phi), (phi)
``custom``                  —                the problem's own coordinates
==========================  ===============  ====================================
"""

from .anisotropic import AnisotropicModel
from .base import Model
from .custom import CustomModel
from .isotropic import IsotropicModel
from .planar import PlanarTeacherModel


def model_class(case: dict) -> type[Model]:
    """The model class of a case (its class attributes, without loading anything)."""
    return Model.from_name(case["data"]["kind"])


def model_of(case: dict) -> Model:
    """The model of a normalised case (or of any dict with its ``data`` and ``network``)."""
    return model_class(case)(case["data"], case.get("network", {}))


__all__ = ["AnisotropicModel", "CustomModel", "IsotropicModel", "Model", "PlanarTeacherModel",
           "model_class", "model_of"]
