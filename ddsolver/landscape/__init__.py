"""The landscape of the risk: certified global minima and certificates of any law
(docs/numerics.md §13)."""

from .certify import Certificates, certify
from .energy import Certificate, GridEnergy
from .minimize import minimize

__all__ = ["Certificate", "Certificates", "GridEnergy", "certify", "minimize"]
