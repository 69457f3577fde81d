"""Step-size schedules ξ(t): the SGD step is s_k = ε ξ(kε) and the DD runs at speed 2ξ(t).

- ``constant``: ξ(t) = value
- ``power``:    ξ(t) = value · (offset + t)^(−exponent)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

KIND_CODES = {"constant": 0, "power": 1}


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    value: float = 1.0
    exponent: float = 0.0
    offset: float = 1.0

    @classmethod
    def from_dict(cls, spec: dict) -> Schedule:
        return cls(**spec)

    def __call__(self, t):
        return schedule_value(KIND_CODES[self.kind], self.value, self.offset, self.exponent,
                              np.asarray(t, dtype=float))

    def integral(self, t):
        """τ(t) = ∫₀ᵗ ξ(s) ds, the time of the DD run at speed ξ = 1 (the spectral steppers):
        value·t, or value·((offset + t)^{1−e} − offset^{1−e})/(1 − e) (log ratio for e = 1)."""
        t = np.asarray(t, dtype=float)
        if self.kind == "constant":
            return self.value * t
        e, c = self.exponent, self.offset
        if e == 1.0:
            return self.value * np.log1p(t / c)
        return self.value * ((c + t) ** (1 - e) - c ** (1 - e)) / (1 - e)

    def args(self) -> tuple:
        """(code, value, offset, exponent): the scalars the compiled steppers take."""
        return KIND_CODES[self.kind], self.value, self.offset, self.exponent


@njit(cache=True)
def schedule_value(code, value, offset, exponent, t):
    """ξ(t) for the schedule with the given code (see module docstring)."""
    if code == 0:
        return value * (t * 0.0 + 1.0)
    return value * (offset + t) ** (-exponent)
