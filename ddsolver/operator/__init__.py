"""Operators on grids: the nonlocal potential in low-rank form and the transport flux."""
