"""Particle SGD on the full d-dimensional network, and the exact finite-N risk."""
