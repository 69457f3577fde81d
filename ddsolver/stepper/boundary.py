"""What a run does when mass reaches an edge of the grid that is not a natural boundary."""

from __future__ import annotations

import warnings

from ..errors import DomainError


class EdgeGuard:
    """``on_boundary = "error"`` raises :class:`DomainError`; ``"warn"`` warns once per run."""

    def __init__(self, on_boundary: str = "error"):
        self.on_boundary = on_boundary
        self.warned = False

    def report(self, what: str, name: str, edge: float, side: str, t: float):
        message = (f"{what} reached {name} = {edge:g} (the grid's {side}) at t = {t:.6g}; "
                   f"widen pde.grid.{name}")
        if self.on_boundary == "error":
            raise DomainError(message)
        if not self.warned:
            warnings.warn(message, stacklevel=3)
            self.warned = True
