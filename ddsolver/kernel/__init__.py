"""The kernel (lazy) limit of the DD as α → ∞ (docs/theory.md §6)."""

from .limit import KernelLimitRun, build

__all__ = ["KernelLimitRun", "build"]
