"""The landscape of the risk: certified global minima and certificates of any law
(docs/numerics.md §13)."""

from .certify import Certificates, certify
from .energy import Certificate, Energy, GridEnergy, energy_of
from .minimize import minimize

__all__ = ["Certificate", "Certificates", "Energy", "GridEnergy", "certify", "energy_of",
           "minimize"]
