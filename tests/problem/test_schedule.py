"""Step-size schedules ξ(t) (ddsolver.problem.schedule): the integral ∫₀ᵗ ξ against quadrature."""

import math

from scipy import integrate

from ddsolver.problem.schedule import Schedule


def test_schedule_integral_matches_quadrature():
    for schedule in (Schedule("constant", 1.7), Schedule("power", 2.0, 0.25, 1.0),
                     Schedule("power", 0.5, 1.0, 3.0), Schedule("power", 1.0, 1.5, 0.5)):
        for t in (0.3, 2.0, 11.0):
            want = integrate.quad(schedule, 0, t, epsabs=1e-13)[0]
            assert math.isclose(float(schedule.integral(t)), want, rel_tol=1e-11)
