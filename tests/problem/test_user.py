"""User-defined problems (ddsolver.problem.user) on the exact solution of
docs/theory.md §8: linear units σ*(x; θ) = ⟨θ, x⟩, x ~ N(0, C), y = ⟨b*, x⟩ + ν, so V = −⟨b, θ⟩ with
b = C b*, U = θᵀCθ', and a Gaussian density stays Gaussian under the DD:

    ṁ = −2ξ(λm + Cm − b/α),   Σ̇ = −4ξλΣ + (4ξ/β) I.

Moments of a grid density are taken at the cell centres; for cell averages of a smooth density
the centre variance exceeds the true one by h²/12 per axis, which is subtracted.
"""

import tracemalloc

import numpy as np
import pytest
from scipy import stats

from ddsolver.errors import CaseError
from ddsolver.grid import Axis, CartesianGrid
from ddsolver.operator.lowrank import LowRankPotential
from ddsolver.problem import user
from ddsolver.problem.schedule import Schedule
from ddsolver.problem.user import UserProblem, gaussian_quadrature, load_problem
from ddsolver.stepper.fv import FiniteVolumeRun
from ddsolver.validation.metrics import fit_slope

from .user_linear import B2, B3, C2, C3, EXAMPLE, exact_moments, linear_problems, linear_risk

pytestmark = pytest.mark.usefixtures("one_numba_thread")


def gaussian_cells(grid, mean, std):
    """Exact cell averages of N(mean, diag(std²)), renormalised to the grid."""
    masses = [np.diff(stats.norm.cdf(a.edges, m, s)) for a, m, s in zip(grid.axes, mean, std)]
    cells = masses[0]
    for m in masses[1:]:
        cells = np.multiply.outer(cells, m)
    return cells / (cells.sum() * grid.cell_volume)


def box_grid(cells, cov, b_star, lam, beta, m0, var0, t_final, margin=5.0):
    """A grid covering mean ± margin·std of the exact solution over [0, t_final]."""
    moments = [exact_moments(t, cov, b_star, lam, beta, m0, var0)
               for t in np.linspace(0, t_final, 21)]
    lo = np.min([m - margin * np.sqrt(v) for m, v in moments], axis=0)
    hi = np.max([m + margin * np.sqrt(v) for m, v in moments], axis=0)
    return CartesianGrid(tuple(Axis(f"theta{k + 1}", lo[k], hi[k], cells)
                               for k in range(len(m0))))


def centre_moments(grid, density):
    """Mean, per-axis variance (minus h²/12) and largest |covariance| off the diagonal."""
    mass = density * grid.cell_volume
    mesh = grid.mesh()
    mean = np.array([(mass * x).sum() for x in mesh])
    dev = [x - m for x, m in zip(mesh, mean)]
    cov = np.array([[(mass * a * b).sum() for b in dev] for a in dev])
    off = np.abs(cov - np.diag(np.diag(cov))).max()
    return mean, np.diag(cov) - grid.spacing**2 / 12, off


def run_fv(problem, grid, lam, beta, m0, std0, times, tol=1e-8):
    """Solve the DD from the Gaussian cell averages; returns (potential, densities, risks,
    free energies) at ``times``. No boundary guard: the comparison with the exact solution
    measures any effect of the walls."""
    potential = LowRankPotential(problem.reduction(grid, lam=lam), grid, beta=beta)
    run = FiniteVolumeRun(potential, gaussian_cells(grid, m0, std0), Schedule(), tol=tol)
    out = {"density": [], "risk": [], "free_energy": []}
    for t in times:
        run.advance(t)
        out["density"].append(run.density.copy())
        out["risk"].append(run.risk())
        out["free_energy"].append(run.free_energy())
    return potential, {k: np.array(v) for k, v in out.items()}


# -- the problem and its reductions ---------------------------------------------------------------

def test_gaussian_quadrature_is_exact_for_quadratics():
    x, w = gaussian_quadrature(C3, 2)
    assert x.shape == (8, 3) and np.all(w > 0)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(w @ x, 0.0, atol=1e-14)
    np.testing.assert_allclose(x.T @ (w[:, None] * x), C3, atol=1e-14)


@pytest.mark.parametrize("cov, b_star", [(C2, B2), (C3, B3)], ids=["2d", "3d"])
def test_three_constructions_agree(cov, b_star):
    """V, U, U(θ, θ) and R_# against the closed forms, and the same cell potential ψ̄ and risk
    from the three reductions (the cell average of a bilinear U is its value at the centres)."""
    d = len(b_star)
    problems = linear_problems(cov, b_star, noise=0.2)
    rng = np.random.default_rng(1)
    theta, theta2 = rng.normal(size=(7, d)), rng.normal(size=(5, d))
    for problem in problems.values():
        np.testing.assert_allclose(problem.v(*theta.T), -theta @ cov @ b_star, atol=1e-13)
        np.testing.assert_allclose(problem.kernel(theta, theta2), theta @ cov @ theta2.T,
                                   atol=1e-13)
        np.testing.assert_allclose(problem.diagonal(*theta.T),
                                   np.einsum("ij,jk,ik->i", theta, cov, theta), atol=1e-13)
        np.testing.assert_allclose(problem.label_second_moment, b_star @ cov @ b_star + 0.04,
                                   rtol=1e-14)
    grid = CartesianGrid(tuple(Axis(f"theta{k + 1}", -1.0 - k, 2.0, 6 - k) for k in range(d)))
    density = rng.random(grid.shape)
    density /= density.sum() * grid.cell_volume
    mean = centre_moments(grid, density)[0]
    results = {}
    for name, problem in problems.items():
        reduction = problem.reduction(grid, scale=2.0, lam=0.3)
        pot = LowRankPotential(reduction, grid)
        psi = pot.base + pot.features.T @ pot.moments(density)
        results[name] = psi, pot.risk(density), reduction.rank
        np.testing.assert_allclose(pot.risk(density), linear_risk(mean, cov, b_star, 0.2, 2.0),
                                   rtol=1e-12)
    assert results["data"][2] == 2 * 2**d and results["lowrank"][2] == d
    assert results["dense"][2] == d                  # Ū = XᵀCX has rank d; the rest is dropped
    for name in ("lowrank", "dense"):
        np.testing.assert_allclose(results[name][0], results["data"][0], rtol=1e-11, atol=1e-12)


def test_reduction_interface_facts():
    problem = linear_problems(C2, B2)["data"]
    grid = CartesianGrid((Axis("theta1", -1, 1, 4), Axis("theta2", 0, 1, 3)))
    red = problem.reduction(grid, scale=1.5, lam=0.1)
    assert red.coords == ("theta1", "theta2") and red.terms == 1 and red.tail_bound == 0.0
    assert (red.scale, red.lam, red.data.label_second_moment) == (1.5, 0.1, pytest.approx(0.825))
    np.testing.assert_array_equal(red.log_jacobian(np.ones(3), np.ones(3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"grid: axes \('a', 'b'\) do not match"):
        problem.reduction(CartesianGrid((Axis("a", 0, 1, 2), Axis("b", 0, 1, 2))))


def test_shape_and_input_errors_name_the_callable():
    coords = ("u", "v")

    def first(u, *rest):
        return u

    bad_v = UserProblem.from_lowrank(coords, lambda u, v: np.zeros(3), lambda u, v: np.stack([u]),
                                     1.0)
    with pytest.raises(ValueError, match=r"v\(\*coords\): expected an array of shape \(2,\), "
                                         r"got shape \(3,\)"):
        bad_v.v(np.zeros(2), np.zeros(2))
    bad_f = UserProblem.from_lowrank(coords, lambda u, v: -u, lambda u, v: u, 1.0)
    with pytest.raises(ValueError, match=r"features\(\*coords\): expected an array of shape "
                                         r"\(K, 2\), got shape \(2,\)"):
        bad_f.features(np.zeros(2), np.zeros(2))
    x = np.ones((4, 2))
    bad_sigma = UserProblem.from_data(coords, lambda x, t: (t @ x.T).T, x, np.ones(4))
    with pytest.raises(ValueError, match=r"sigma\(x, theta\): expected an array of shape "
                                         r"\(3, 4\), got shape \(4, 3\)"):
        bad_sigma.v(np.zeros(3), np.zeros(3))
    bad_k = UserProblem.from_dense(coords, lambda u, v: -u, lambda t, t2: t @ t2.T[:, :1], 1.0)
    with pytest.raises(ValueError, match=r"kernel\(theta, theta2\): expected an array of shape "
                                         r"\(2, 3\), got shape \(2, 1\)"):
        bad_k.kernel(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="weights: expected non-negative values summing to 1"):
        UserProblem.from_data(coords, lambda x, t: t @ x.T, x, np.ones(4), np.full(4, 0.3))
    with pytest.raises(ValueError, match=r"y: expected an array of shape \(4,\)"):
        UserProblem.from_data(coords, lambda x, t: t @ x.T, x, np.ones(5))
    with pytest.raises(ValueError, match="coords: expected 1 to 4 distinct coordinate names"):
        UserProblem.from_lowrank(("a", "b", "c", "d", "e"), first, first, 1.0)
    with pytest.raises(ValueError, match="coords"):
        UserProblem.from_lowrank(("a", "a"), first, first, 1.0)
    with pytest.raises(ValueError, match="kernel: expected a callable, got None"):
        UserProblem.from_dense(coords, first, None, 1.0)
    with pytest.raises(ValueError, match="grad: expected a callable, got 3"):
        UserProblem.from_data(coords, lambda x, t: t @ x.T, x, np.ones(4), grad=3)


def test_dense_kernel_checks(monkeypatch):
    """Not PSD, not symmetric: clear errors; the memory rule is checked before the kernel is
    called, and the measured peak of the factorisation stays within it (with kernel blocks
    much smaller than the matrix, as on large grids)."""
    grid = CartesianGrid((Axis("u", -1, 1, 12), Axis("v", -1, 1, 12)))
    calls = []

    def kernel(t, t2):
        calls.append(len(t))
        return t @ t2.T

    problem = UserProblem.from_dense(("u", "v"), lambda u, v: u, kernel, 1.0, memory_budget=2**17)
    with pytest.raises(ValueError, match=r"from_dense: a grid of 144 cells needs 0\.3 MiB .* "
                                         r"above memory_budget = 0\.1 MiB; .*from_lowrank"):
        problem.reduction(grid)
    assert calls == []
    not_psd = UserProblem.from_dense(("u", "v"), lambda u, v: u, lambda t, t2: -t @ t2.T, 1.0)
    with pytest.raises(ValueError, match="kernel: not positive semidefinite on the grid"):
        not_psd.reduction(grid)
    skew = UserProblem.from_dense(("u", "v"), lambda u, v: u,
                                  lambda t, t2: np.outer(t[:, 0], t2[:, 1]), 1.0)
    with pytest.raises(ValueError, match="kernel: not symmetric at the cell centres"):
        skew.reduction(grid)
    with pytest.raises(ValueError, match="features: a problem given by a dense kernel"):
        problem.features(np.zeros(1), np.zeros(1))

    linear = UserProblem.from_dense(("u", "v"), lambda u, v: u, lambda t, t2: t @ t2.T, 1.0)
    monkeypatch.setattr(user, "KERNEL_BLOCK", 1024)
    tracemalloc.start()
    linear.reduction(grid)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"dense factorisation peak: {peak / (8 * grid.size**2):.2f} cells² float64")
    # two matrices, plus kernel blocks and LAPACK's O(cells) workspace (about 40 cells floats)
    assert peak <= 2 * 8 * grid.size**2 + 4 * 8 * user.KERNEL_BLOCK + 64 * 8 * grid.size
    gauss = UserProblem.from_dense(("u", "v"), lambda u, v: u, lambda t, t2: np.exp(-(
        (t[:, None, :] - t2[None, :, :]) ** 2).sum(-1)), 1.0)              # PSD, full rank
    reduction = gauss.reduction(grid)
    features = reduction.cell_features(grid)
    centres = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    np.testing.assert_allclose(features.T @ features, gauss.kernel(centres, centres), atol=1e-10)
    with pytest.raises(ValueError, match="grid: the dense kernel was factored on"):
        reduction.cell_features(CartesianGrid((Axis("u", -1, 1, 3), Axis("v", -1, 1, 3))))


# -- the DD against the exact Gaussian solution ---------------------------------------------------

def test_2d_noiseless_convergence_order():
    """L1 error of the density against the exact cell averages on three grids, mean and variance
    against the ODE, mass, positivity and the decay of the Lyapunov functional R/2 + λ∫|θ|²/2."""
    lam, t_final, m0, std0 = 0.25, 0.5, np.array([0.0, 0.2]), np.array([0.25, 0.2])
    problem = linear_problems(C2, B2)["data"]
    times = np.linspace(0.1, t_final, 5)
    mean, var = exact_moments(t_final, C2, B2, lam, np.inf, m0, std0**2)
    spacings, errors = [], []
    for cells in (16, 32, 48):
        grid = box_grid(cells, C2, B2, lam, np.inf, m0, std0**2, t_final)
        _, out = run_fv(problem, grid, lam, np.inf, m0, std0, times)
        density = out["density"][-1]
        spacings.append(grid.spacing.max())
        errors.append(np.abs(density - gaussian_cells(grid, mean, np.sqrt(var))).sum()
                      * grid.cell_volume)
        np.testing.assert_allclose(out["density"].sum(axis=(1, 2)) * grid.cell_volume, 1.0,
                                   rtol=0, atol=1e-13)
        assert out["density"].min() >= 0
        assert np.all(np.diff(out["free_energy"]) <= 1e-13 * np.abs(out["free_energy"]).max())
    order = fit_slope(spacings, errors)[0]
    print(f"2-D noiseless: L1 errors {errors} for h = {spacings}; fitted order {order:.2f}")
    assert order > 1.8
    m, v, off = centre_moments(grid, density)
    h2 = grid.spacing.max() ** 2
    print(f"48 cells: mean error {np.abs(m - mean).max():.1e}, variance error "
          f"{np.abs(v - var).max():.1e}, h²/12 = {h2 / 12:.1e}")
    assert np.abs(m - mean).max() < h2 / 12 and np.abs(v - var).max() < h2 / 12 and off < h2 / 12


def test_3d_noiseless_against_exact():
    lam, t_final = 0.25, 0.2
    m0, std0 = np.array([0.0, 0.2, -0.1]), np.array([0.25, 0.2, 0.2])
    problem = linear_problems(C3, B3)["lowrank"]
    mean, var = exact_moments(t_final, C3, B3, lam, np.inf, m0, std0**2)
    spacings, errors = [], []
    for n in (12, 20):
        grid = box_grid(n, C3, B3, lam, np.inf, m0, std0**2, t_final)
        _, out = run_fv(problem, grid, lam, np.inf, m0, std0, [t_final], tol=1e-6)
        density = out["density"][-1]
        spacings.append(grid.spacing.max())
        errors.append(np.abs(density - gaussian_cells(grid, mean, np.sqrt(var))).sum()
                      * grid.cell_volume)
        np.testing.assert_allclose(density.sum() * grid.cell_volume, 1.0, rtol=0, atol=1e-13)
        assert density.min() >= 0
    order = fit_slope(spacings, errors)[0]
    m, v, off = centre_moments(grid, density)
    print(f"3-D noiseless: L1 errors {errors}, order {order:.2f}; mean error "
          f"{np.abs(m - mean).max():.1e}, variance error {np.abs(v - var).max():.1e}")
    assert order > 1.5
    h2 = grid.spacing.max() ** 2
    assert np.abs(m - mean).max() < h2 / 12 and np.abs(v - var).max() < h2 / 12 and off < h2 / 12


@pytest.mark.parametrize("cov, b_star, m0, std0, cells", [
    (C2, B2, [0.0, 0.2], [0.25, 0.2], (24, 48)),
    (C3, B3, [0.0, 0.2, -0.1], [0.25, 0.2, 0.2], (12,))], ids=["2d", "3d"])
def test_noisy_moments_against_ode(cov, b_star, m0, std0, cells):
    """Scharfetter–Gummel: mean and covariance follow the ODE with errors O(h²) (checked to be
    below h²/2 and, in 2-D, to drop by more than 2.5 when h halves); free energy decreases."""
    lam, beta, t_final = 0.5, 20.0, 0.3
    m0, std0 = np.array(m0), np.array(std0)
    problem = linear_problems(cov, b_star, noise=0.1)["data"]
    mean, var = exact_moments(t_final, cov, b_star, lam, beta, m0, std0**2)
    errors = []
    for n in cells:
        grid = box_grid(n, cov, b_star, lam, beta, m0, std0**2, t_final)
        _, out = run_fv(problem, grid, lam, beta, m0, std0, np.linspace(0.1, t_final, 3),
                          tol=1e-7)
        m, v, off = centre_moments(grid, out["density"][-1])
        errors.append(max(np.abs(m - mean).max(), np.abs(v - var).max(), off))
        assert errors[-1] < grid.spacing.max() ** 2 / 2
        np.testing.assert_allclose(out["density"].sum(axis=tuple(range(1, grid.ndim + 1)))
                                   * grid.cell_volume, 1.0, rtol=0, atol=1e-13)
        assert out["density"].min() >= 0
        assert np.all(np.diff(out["free_energy"]) <= 1e-13 * np.abs(out["free_energy"]).max())
    print(f"noisy {len(m0)}-D: moment errors {errors} for {cells} cells per axis")
    assert len(errors) == 1 or errors[0] / errors[1] > 2.5


@pytest.mark.parametrize("beta", [np.inf, 20.0])
def test_swap_symmetry_and_risk_decay(beta):
    """C = I, b = (1, 1): a density symmetric under θ1 ↔ θ2 on a square grid stays symmetric;
    its mean follows the ODE (any density does; error bounds as in the Gaussian tests); noiseless
    with λ = 0 the risk decreases, noisy the free energy."""
    cov, b_star, lam = np.eye(2), np.array([1.0, 1.0]), 0.0 if np.isinf(beta) else 0.25
    problem = linear_problems(cov, b_star)["lowrank"]
    grid = CartesianGrid((Axis("theta1", -1.5, 2.5, 40), Axis("theta2", -1.5, 2.5, 40)))
    lump = [np.diff(stats.norm.cdf(grid.axes[0].edges, c, 0.2)) for c in (0.0, 0.8)]
    density = np.multiply.outer(*lump) + np.multiply.outer(*lump[::-1])
    density /= density.sum() * grid.cell_volume
    potential = LowRankPotential(problem.reduction(grid, lam=lam), grid, beta=beta)
    run = FiniteVolumeRun(potential, density, Schedule(), tol=1e-8)
    m0 = centre_moments(grid, density)[0]
    lyapunov = []
    for t in np.linspace(0.1, 0.5, 5):
        run.advance(t)
        lyapunov.append(run.risk() if np.isinf(beta) else run.free_energy())
        mean = exact_moments(t, cov, b_star, lam, beta, m0, [0, 0])[0]
        np.testing.assert_allclose(centre_moments(grid, run.density)[0], mean, rtol=0,
                                   atol=grid.spacing[0] ** 2 / (12 if np.isinf(beta) else 2))
    p = run.density
    assert np.abs(p - p.T).max() <= 1e-12 * p.max()
    assert np.all(np.diff(lyapunov) < 0)


# -- loading from a case --------------------------------------------------------------------------

def test_load_problem_from_example_and_errors(tmp_path):
    problem = load_problem({"data": {"kind": "custom", "file": str(EXAMPLE),
                                     "params": {"C": C3.tolist(), "b_star": B3.tolist()}}})
    assert problem.coords == ("theta1", "theta2", "theta3") and problem.has_data
    np.testing.assert_allclose(problem.label_second_moment, B3 @ C3 @ B3, rtol=1e-13)

    def load(source, params=None):
        path = tmp_path / "problem.py"
        path.write_text(source)
        return load_problem({"data": {"file": str(path), "params": params or {}}})

    with pytest.raises(CaseError, match="data.file: no such file"):
        load_problem({"data": {"file": str(tmp_path / "missing.py"), "params": {}}})
    with pytest.raises(CaseError, match="defines neither make_problem"):
        load("x = 1\n")
    with pytest.raises(CaseError, match="make_problem\\(params\\) in .* gave int, expected"):
        load("def make_problem(params):\n    return 3\n")
    with pytest.raises(CaseError, match="make_problem.* raised KeyError: 'C'"):
        load("def make_problem(params):\n    return params['C']\n")
    with pytest.raises(CaseError, match="importing .* raised ZeroDivisionError"):
        load("1 / 0\n")
    with pytest.raises(CaseError, match="unknown params"):
        load_problem({"data": {"file": str(EXAMPLE), "params": {"bogus": 1}}})
    fixed = ("from ddsolver.problem.user import UserProblem\n"
             "problem = UserProblem.from_lowrank(('u',), lambda u: -u, lambda u: u[None], 1.0)\n")
    assert load(fixed).coords == ("u",)
    with pytest.raises(CaseError, match="data.params: .* has no make_problem"):
        load(fixed, {"a": 1})


def test_example_case_file_reads():
    from ddsolver.case import read_case
    case = read_case(EXAMPLE.with_suffix(".toml"))
    problem = load_problem(case)
    assert tuple(case["pde"]["grid"]) == problem.coords
    assert set(problem.coords) <= set(case["init"])
