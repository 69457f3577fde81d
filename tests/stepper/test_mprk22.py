"""The second-order positive stepper mprk22 (ddsolver/stepper/semi_implicit.py) beyond the
shared noisy-integrator tests of test_noisy_integrators.py: its compiled 1-D kernels against their
numpy twins, positivity and mass for steps far above the explicit bound, the free energy, a 2-D
grid, a time-dependent schedule, and the ``auto`` rule that selects it."""

import copy

import numpy as np
import pytest

import ddsolver
from ddsolver.case import as_case
from ddsolver.errors import CaseError
from ddsolver.operator.noise import (
    sg_bands,
    sg_bands_into,
    solve_mmatrix_banded,
    solve_mmatrix_banded_numpy,
)
from ddsolver.scheme.fv import FiniteVolumes
from ddsolver.solve import build_run
from ddsolver.stepper.semi_implicit import PatankarStepper

from .test_fv_models import RELU_ISO, A, R, case
from .test_noisy_integrators import forced_steps


def test_compiled_bands_match_numpy():
    """sg_bands_into = sg_bands, including potential jumps z = βΔΦ up to ±60 (B(±z) over 1e-24
    to 60)."""
    rng = np.random.default_rng(0)
    phi = np.cumsum(rng.normal(scale=0.3, size=300))
    phi[100:110] += np.linspace(0, 1.5, 10)          # a steep stretch
    for beta in (1.0, 40.0):
        bands = np.empty((3, phi.size))
        sg_bands_into(phi, 0.02, 0.05, beta, bands)
        np.testing.assert_allclose(bands, sg_bands(phi, 0.02, 0.05, beta), rtol=1e-13, atol=0)


@pytest.mark.parametrize("c0, c1, mass_rel", [(1e-3, 0.0, 1e-14), (0.5, 2.0, 1e-13),
                                               (1e4, 1e4, 1e-9)])
def test_compiled_mmatrix_solve_matches_lapack_and_is_positive(c0, c1, mass_rel):
    """(I − c₀A₀ diag(s) − c₁A₁) x = b on two SG generators with weights s ∈ [0.1, 10]: the Thomas
    solve agrees with LAPACK's banded solve, keeps x ≥ 0 exactly for b ≥ 0 (zeros and 1e-200
    entries included) and Σx = Σb (unit column sums) to round-off, also at c = 1e4 (c·rate up to
    1e9, Δt 1e9 times the explicit bound: the unit surplus of the diagonal over the column's
    off-diagonals, 1 against 1e9, then carries 1e-7 relative round-off; measured mass error
    6e-11)."""
    rng = np.random.default_rng(1)
    n = 400
    bands0 = sg_bands(np.cumsum(rng.normal(scale=0.5, size=n)), 0.01, 0.02, 30.0)
    bands1 = sg_bands(np.cumsum(rng.normal(scale=0.5, size=n)), 0.01, 0.02, 30.0)
    weights = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))
    rhs = rng.exponential(size=n)
    rhs[50:80] = 0.0
    rhs[200:210] = 1e-200
    x = np.empty(n)
    solve_mmatrix_banded(c0, bands0, weights, c1, bands1, rhs, x)
    twin = solve_mmatrix_banded_numpy(c0, bands0, weights, c1, bands1, rhs)
    np.testing.assert_allclose(x, twin, rtol=1e-8, atol=1e-12 * np.abs(twin).max())
    assert x.min() >= 0.0
    assert x.sum() == pytest.approx(rhs.sum(), rel=mass_rel)


def test_huge_steps_stay_positive_conserve_mass_and_dissipate(noisy_mmn_case):
    """Forced steps of Δt = 0.5 on the noisy 9.1 case (200 cells), ~80 times the explicit
    positivity bound: the density stays ≥ 0, the mass is 1 to round-off, and the free energy
    decreases at every step (it is a Lyapunov functional of the exact flow; here also of the
    scheme's steps), towards the stationary value."""
    case = as_case(noisy_mmn_case(t_final=10.0, cells=200))
    grid, _, run = build_run(case)
    pot, p = run.potential, run.p.copy()
    stepper = PatankarStepper(pot.base, pot.features, grid.cell_volume, run.spacing, pot.beta,
                              run.schedule.args(), np.inf, p.shape)
    energies = [pot.free_energy(p.reshape(grid.shape))]
    t = 0.0
    for k in range(20):
        t, _, steps, _, status = stepper.advance(p, t, 0.5 * (k + 1), 0.5 * (k + 1), 0.5, 1)
        assert status == 0 and steps == 1
        assert p.min() >= 0.0
        assert p.sum() * grid.cell_volume == pytest.approx(1.0, abs=1e-13)
        energies.append(pot.free_energy(p.reshape(grid.shape)))
    print("free energy", energies)
    assert np.all(np.diff(energies) < 0), np.diff(energies)


def test_2d_agrees_with_ssprk3(assert_invariants):
    """The noisy (a, r) ReLU model on a 32 × 32 grid (SuperLU solves): mprk22 at tol 1e-8 and
    ssprk3 at tol 1e-11 agree in risk and density; mass, positivity, F decreasing."""
    noisy = case(RELU_ISO, "aw", {"a": A, "r": R}, beta=200.0, **{"lambda": 0.1})
    runs = {}
    for integrator, tol in (("ssprk3", 1e-11), ("mprk22", 1e-8)):
        c = copy.deepcopy(noisy)
        c["pde"].update(integrator=integrator, tol=tol)
        runs[integrator] = ddsolver.solve(c, progress=False)
        assert_invariants(runs[integrator])
    ref, sol = runs["ssprk3"], runs["mprk22"]
    risk_err = np.abs(sol.risk - ref.risk).max()
    l1_err = (np.abs(sol.density - ref.density).sum(axis=(1, 2)) * sol.grid.cell_volume).max()
    print("2-D mprk22: risk err", risk_err, "L1 err", l1_err, "steps",
          sol.diagnostics["steps"][-1], "ssprk3 steps", ref.diagnostics["steps"][-1])
    assert risk_err < 1e-6 and l1_err < 1e-5


def test_order_two_with_a_power_schedule(noisy_mmn_case):
    """ξ(t) = (1 + t)^(−1/2): forced steps of mprk22 against a fine ssprk3 run with the same
    schedule fall at order ≈ 2 in L1 and risk (ξ at both ends of the step; freezing it at the
    start would leave an O(Δt) error)."""
    case = noisy_mmn_case(t_final=1.0, cells=200)
    case["training"]["schedule"] = {"kind": "power", "value": 1.0, "exponent": 0.5,
                                    "offset": 1.0}
    ref, ref_risk, vol = forced_steps(case, "ssprk3", 2.5e-4, 1.0)
    errors, risk_errors = [], []
    for dt in (0.005, 0.0025, 0.00125):
        p, risk, _ = forced_steps(case, "mprk22", dt, 1.0)
        errors.append(np.abs(p - ref).sum() * vol)
        risk_errors.append(abs(risk - ref_risk))
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    risk_orders = np.log2(np.array(risk_errors[:-1]) / risk_errors[1:])
    print("power schedule L1", errors, orders, "risk", risk_errors, risk_orders)
    assert np.all((orders >= 1.8) & (orders <= 2.3)), orders
    assert np.all(risk_orders >= 1.6), risk_orders


@pytest.mark.parametrize("beta, cells, expected", [
    (80.0, 800, "mprk22"), (400.0, 400, "ssprk3"), (400.0, 800, "ssprk3"),
    (200.0, 800, "mprk22"), (200.0 * (1 + 1e-9), 800, "ssprk3"), (np.inf, 800, "ssprk3")])
def test_auto_follows_the_cell_peclet_number(beta, cells, expected, noisy_mmn_case):
    """auto: mprk22 when the cell Péclet number βh/2 (h = 8/cells) is ≤ 1, else ssprk3 (and
    always ssprk3 without noise); an explicit choice is kept. (80, 800): the strong-diffusion
    case, βh/2 = 0.4; (400, 400): the mild case of benchmarks/bench_noisy.py, βh/2 = 4;
    (400, 800): validation/noisy.toml."""
    c = as_case(noisy_mmn_case(beta=beta, cells=cells))
    assert FiniteVolumes.integrator(c) == expected
    c["pde"]["integrator"] = "semi_implicit" if np.isfinite(beta) else "ssprk3"
    assert FiniteVolumes.integrator(c) == c["pde"]["integrator"]


def test_auto_stays_explicit_in_2d():
    """The 2-D noisy (a, r) model at Pe = βh/2 = 0.08 (β = 1, h = 5/32): ssprk3 (the sparse
    solves of mprk22 cost more than the explicit steps they save on multi-dimensional grids)."""
    noisy = case(RELU_ISO, "aw", {"a": A, "r": R}, beta=1.0)
    assert FiniteVolumes.integrator(as_case(noisy)) == "ssprk3"


def test_auto_runs_mprk22_on_the_stiff_case(noisy_mmn_case, assert_invariants):
    """Through ``solve``: the stiff case runs the MPRK22 stepper and records it."""
    c = noisy_mmn_case(beta=80.0, cells=800, lam=0.1, t_final=0.2)
    grid, _, run = build_run(as_case(c))
    assert isinstance(run.implicit, PatankarStepper)
    sol = ddsolver.solve(c, progress=False)
    assert sol.attrs["integrator"] == "mprk22"
    assert_invariants(sol)


def test_mprk22_needs_noise(noisy_mmn_case):
    c = noisy_mmn_case(integrator="mprk22", beta=np.inf)
    c["pde"]["scheme"] = "fv"               # noiseless radial cases default to lagrangian
    with pytest.raises(CaseError, match="'mprk22' needs training.beta < inf"):
        as_case(c)
