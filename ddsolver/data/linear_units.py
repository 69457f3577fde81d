"""Linear units σ*(x; θ) = θ x on x ~ N(0, 1) with labels y = x: the smallest custom problem
(V(θ) = −θ, U(θ, θ') = θθ', R_# = 1), used by ``CustomModel.examples``."""

import numpy as np

from ddsolver.problem.user import UserProblem

x, w = np.polynomial.hermite_e.hermegauss(4)
problem = UserProblem.from_data(("theta",), lambda x, theta: theta @ x.T, x[:, None], x,
                                w / w.sum(), grad=lambda x, theta: np.broadcast_to(
                                    x, (len(theta),) + x.shape))
