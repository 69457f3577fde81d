"""Time steppers: adaptive SSP Runge–Kutta for finite volumes, and the Lagrangian scheme."""
