"""Initial laws of the reduced coordinates (docs/theory.md §4.1–4.3), from the ``[init]`` table.

Law of w (coordinate r = |w|, or r1 = |w_{1:s₀}|, r2 = |w_{s₀+1:d}| for anisotropic data):

- ``gaussian``: w ~ N(0, κ²/d I_d), so r = κ χ_d/√d, and r1 = κ χ_{s₀}/√d, r2 = κ χ_{d−s₀}/√d
  independently (χ_k: the chi law with k degrees of freedom);
- ``point``:    all mass at r = κ (isotropic data only);
- ``density``:  a density given by its values on the grid cells (C order, normalised here);
- ``samples``:  the empirical law of given radii (isotropic data only).

Scalar coordinates (a, b, or the coordinates of a custom problem) are independent of w and of
each other, each with a :class:`ScalarLaw`: ``constant`` (value), ``uniform`` (low, high),
``normal`` (mean, std) or ``discrete`` (values, weights: point masses). The initial density
on a grid is the product of the per-coordinate cell masses divided by the cell volume (exact
cell masses for continuous laws; a mean-preserving linear deposit for point masses). The
Lagrangian scheme's particles: :meth:`InitialLaw.particles`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import CaseError
from ..grid import Axis, CartesianGrid


def deposit(positions, weights, grid: CartesianGrid) -> np.ndarray:
    """Cell densities of point masses (n,) or (n, D) on a D-dimensional grid: on every axis each
    mass splits linearly between its two nearest cell centres (positions beyond the first or last
    centre go to the end cell), so the tensor product splits it between 2^D cells and keeps the
    total mass and the mean of every coordinate."""
    mass = np.asarray(weights, float)
    points = np.asarray(positions, float).reshape(mass.size, grid.ndim)
    corners = [(np.zeros(mass.size, dtype=int), mass)]
    for k, axis in enumerate(grid.axes):
        x = np.clip((points[:, k] - axis.centres[0]) / axis.spacing, 0.0, axis.cells - 1)
        left = np.minimum(np.floor(x).astype(int), axis.cells - 2)
        frac = x - left
        corners = [(flat * axis.cells + left + step, part * (frac if step else 1 - frac))
                   for flat, part in corners for step in (0, 1)]
    cells = sum(np.bincount(flat, part, minlength=grid.size) for flat, part in corners)
    return cells.reshape(grid.shape) / grid.cell_volume


def axis_deposit(positions, weights, axis: Axis) -> np.ndarray:
    """Cell masses of point masses on one axis (:func:`deposit`)."""
    return deposit(positions, weights, CartesianGrid((axis,))) * axis.spacing


def quantile_density(positions, weights, grid: CartesianGrid) -> np.ndarray:
    """Cell densities of the law whose CDF interpolates particles linearly: the radii |r| sorted,
    r_1 ≤ … ≤ r_n, at levels u_i = Σ_{j<i} w_j + w_i/2, and u = 0, 1 half a spacing beyond the
    end particles (all clipped to the grid). Between consecutive particles the mass
    (w_i + w_{i+1})/2 is spread uniformly, density (w_i + w_{i+1})/(2(r_{i+1} − r_i)), the
    equal-mass analogue of the linear quantile function; mass is kept exactly. One particle (a
    point mass): :func:`deposit`."""
    if np.size(positions) < 2:
        return deposit(positions, weights, grid)
    order = np.argsort(np.abs(positions))
    r, w = np.abs(positions)[order], np.asarray(weights, float)[order]
    axis = grid.axes[0]
    ends = [r[0] - 0.5 * (r[1] - r[0]), r[-1] + 0.5 * (r[-1] - r[-2])]
    radii = np.clip(np.concatenate([ends[:1], r, ends[1:]]), axis.lo, axis.hi)
    levels = np.concatenate([[0.0], np.cumsum(w) - 0.5 * w, [w.sum()]])
    return np.diff(np.interp(axis.edges, radii, levels)) / axis.spacing


def _outside_error(key, what, outside, axis: Axis):
    raise CaseError(f"{key}: the {what} puts mass {outside:.2e} outside pde.grid.{axis.name} = "
                    f"[{axis.lo:g}, {axis.hi:g}]")


def _continuous_masses(law, axis: Axis, key: str, what: str, outside_tol: float) -> np.ndarray:
    mass = np.diff(law.cdf(axis.edges))
    outside = 1.0 - mass.sum()
    if outside > outside_tol:
        _outside_error(key, what, outside, axis)
    return mass / mass.sum()


class ScalarLaw:
    """Law of one scalar coordinate: {"kind": "constant", "value"} | {"kind": "uniform", "low",
    "high"} | {"kind": "normal", "mean", "std"} | {"kind": "discrete", "values", "weights"}
    (point masses; a normalised ``[init]`` sub-table)."""

    KINDS = ("constant", "uniform", "normal", "discrete")

    def __init__(self, spec: dict):
        self.spec = dict(spec)
        self.kind = spec["kind"]

    def __repr__(self):
        return f"ScalarLaw({self.spec})"

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n independent draws."""
        s = self.spec
        if self.kind == "constant":
            return np.full(n, float(s["value"]))
        if self.kind == "discrete":
            return rng.choice(np.asarray(s["values"]), size=n, p=np.asarray(s["weights"]))
        if self.kind == "uniform":
            return rng.uniform(s["low"], s["high"], n)
        return rng.normal(s["mean"], s["std"], n)

    def cell_masses(self, axis: Axis, key: str = "init", outside_tol: float = 1e-12) -> np.ndarray:
        """Masses of the cells of ``axis`` (summing to 1); CaseError naming ``key`` if the law
        puts more than ``outside_tol`` outside the axis."""
        if self.kind in ("constant", "discrete"):
            values, weights = self.atoms()
            if values.min() < axis.lo or values.max() > axis.hi:
                where = (f"point mass at {values[0]:g}" if values.size == 1
                         else f"point masses at {values.tolist()}")
                _outside_error(key, where, 1.0, axis)
            return axis_deposit(values, weights, axis)
        return _continuous_masses(self.frozen(key), axis, key, f"{self.kind} law", outside_tol)

    @property
    def mean(self) -> float:
        """The law's mean."""
        s = self.spec
        if self.kind in ("constant", "discrete"):
            values, weights = self.atoms()
            return float(values @ weights)
        return 0.5 * (s["low"] + s["high"]) if self.kind == "uniform" else float(s["mean"])

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, weights) of a constant or discrete law."""
        s = self.spec
        if self.kind == "constant":
            return np.array([float(s["value"])]), np.ones(1)
        return np.asarray(s["values"], float), np.asarray(s["weights"], float)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """F⁻¹(u): the frozen law's ppf, or for point masses the value whose cumulative weight
        first exceeds u."""
        if self.kind in ("constant", "discrete"):
            values, weights = self.atoms()
            return values[np.minimum(np.searchsorted(np.cumsum(weights), u, side="right"),
                                     values.size - 1)]
        return self.frozen().ppf(u)

    def frozen(self, key: str = "init"):
        """The law as a frozen ``scipy.stats`` distribution (continuous kinds only)."""
        s = self.spec
        if self.kind in ("constant", "discrete"):
            raise CaseError(f"{key}: a point mass has no density; the spectral scheme needs a "
                            "continuous law (use a narrow 'normal')")
        return (stats.uniform(s["low"], s["high"] - s["low"]) if self.kind == "uniform"
                else stats.norm(s["mean"], s["std"]))


class InitialLaw:
    """Initial law of the reduced coordinates built from a normalised ``[init]`` table.

    ``dim`` is the input dimension d and ``signal_dim`` s₀ for anisotropic data (None otherwise).
    """

    def __init__(self, spec: dict, dim: int | None, signal_dim: int | None = None):
        self.kind = spec["kind"]
        self.spec = spec
        self.dim = dim
        self.signal_dim = signal_dim

    @classmethod
    def from_case(cls, case: dict) -> InitialLaw:
        """The initial law of a normalised case (``[init]``, ``data.dim``, ``data.signal_dim``)."""
        return cls(case["init"], case["data"].get("dim"), case["data"].get("signal_dim"))

    def _radial_masses(self, axis: Axis, outside_tol: float) -> np.ndarray:
        """Cell masses of r = |w| (1-D law of w-kinds gaussian/point/samples)."""
        if self.kind == "gaussian":
            return _continuous_masses(self.axis_law("r"), axis, "init", "gaussian law",
                                      outside_tol)
        positions, weights = self.particles(1)
        if positions.min() < axis.lo or positions.max() > axis.hi:
            what = "the point mass at" if self.kind == "point" else "the samples span"
            raise CaseError(f"init: {what} [{positions.min():g}, {positions.max():g}] is not "
                            f"inside pde.grid.{axis.name} = [{axis.lo:g}, {axis.hi:g}]")
        return axis_deposit(positions, weights, axis)

    def axis_masses(self, axis: Axis, outside_tol: float = 1e-12) -> np.ndarray:
        """Marginal cell masses of the coordinate ``axis.name``: its scalar law when the spec has
        one (a, b, custom coordinates), else the law of r, r1 or r2 implied by the law of w."""
        if axis.name in self.spec:
            return ScalarLaw(self.spec[axis.name]).cell_masses(axis, f"init.{axis.name}",
                                                               outside_tol)
        if axis.name == "r":
            return self._radial_masses(axis, outside_tol)
        return _continuous_masses(self.axis_law(axis.name), axis, "init", "gaussian law",
                                  outside_tol)

    def axis_nodes(self, axis: Axis, outside_tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
        """(points, masses) integrating the marginal of ``axis.name``: the atoms of a point-mass
        law (a constant or discrete scalar law, a point or samples law of w for r) where they
        are, else the cell centres with the exact cell masses (the midpoint rule)."""
        spec = self.spec.get(axis.name)
        if spec is not None and spec["kind"] in ("constant", "discrete"):
            self.axis_masses(axis, outside_tol)                       # the range check
            return ScalarLaw(spec).atoms()
        if axis.name == "r" and self.kind in ("point", "samples"):
            self._radial_masses(axis, outside_tol)
            return self.particles(1)
        return axis.centres, self.axis_masses(axis, outside_tol)

    def axis_law(self, name: str):
        """The marginal law of coordinate ``name`` as a frozen ``scipy.stats`` distribution
        (continuous laws: scalar laws, and for ``gaussian`` w r = κ χ_d/√d, r1 = κ χ_{s₀}/√d,
        r2 = κ χ_{d−s₀}/√d)."""
        if name in self.spec:
            return ScalarLaw(self.spec[name]).frozen(f"init.{name}")
        dof = {"r": self.dim, "r1": self.signal_dim,
               "r2": None if self.signal_dim is None else self.dim - self.signal_dim}
        if self.kind == "gaussian" and dof.get(name) is not None:
            return stats.chi(dof[name], scale=self.spec["kappa"] / np.sqrt(self.dim))
        raise CaseError(f"init.kind: {self.kind!r} has no density for {name}; the spectral "
                        "scheme needs kind = 'gaussian' or continuous scalar laws")

    def nodal_density(self, nodes: dict, outside_tol: float = 1e-12) -> np.ndarray:
        """The product density at a tensor grid of nodes, ``nodes`` = {name: (points, lo, hi)}
        (not normalised: the caller applies its quadrature); CaseError if a marginal puts more
        than ``outside_tol`` outside [lo, hi]."""
        density = np.ones(())
        for name, (points, lo, hi) in nodes.items():
            law = self.axis_law(name)
            outside = law.cdf(lo) + law.sf(hi)
            if outside > outside_tol:
                _outside_error(f"init.{name}" if name in self.spec else "init",
                               f"{name} law", outside, Axis(name, lo, hi, 2))
            density = np.multiply.outer(density, law.pdf(points))
        return density

    def cell_density(self, grid: CartesianGrid, outside_tol: float = 1e-12) -> np.ndarray:
        """Cell averages of the initial density on ``grid`` (Σ density × cell volume = 1)."""
        if self.kind == "density":
            values = self.spec["values"]
            if values.size != grid.size:
                shape = " × ".join(map(str, grid.shape))
                raise CaseError(f"init.values: expected {grid.size} values (one per cell of the "
                                f"{shape} grid, C order), got {values.size}")
            total = values.sum() * grid.cell_volume
            if not total > 0:
                raise CaseError("init.values: the density has zero mass")
            return (values / total).reshape(grid.shape)
        mass = np.ones(())
        for axis in grid.axes:
            mass = np.multiply.outer(mass, self.axis_masses(axis, outside_tol))
        return mass / grid.cell_volume

    def particles(self, n: int, grid: CartesianGrid | None = None):
        """(positions, weights) of particles of the law on ``grid``'s coordinates.

        One coordinate: the quantiles at levels (i − ½)/n of r (gaussian, density), or of the
        coordinate's scalar law (product); the samples; one particle for a point mass (the atoms
        of a constant or discrete scalar law, with their weights). Several: the marginal
        quantiles u ↦ F⁻¹(u) of the 2^m ≥ n points of a scrambled Sobol' sequence in [0, 1)^D
        (seed 0), so each coordinate alone is stratified into 2^m equal-mass levels and the
        product law is integrated with quasi-Monte Carlo accuracy. Point-mass laws (constant,
        discrete) are not sampled: the particles are the tensor product of their atoms (with
        their weights) and the Sobol' points of the other coordinates. When the law of a is
        symmetric about 0 the second half of the points mirrors the first in a (levels 1 − u).
        Either way a law of a of mean 0 gives particles whose network output α∫a σ dρ₀ is
        exactly 0, as for the law itself (the kernel regime's expansion point)."""
        if grid is not None and grid.ndim > 1:
            return self._sobol_particles(n, grid)
        if self.kind == "product":
            law = ScalarLaw(self.spec[grid.names[0]])
            if law.kind in ("constant", "discrete"):
                return law.atoms()
            return law.quantile((np.arange(n) + 0.5) / n), np.full(n, 1.0 / n)
        kappa = self.spec.get("kappa")
        if self.kind == "point":
            return np.array([kappa]), np.ones(1)
        if self.kind == "samples":
            values = np.sort(self.spec["values"])
            return values, np.full(values.size, 1.0 / values.size)
        levels = (np.arange(n) + 0.5) / n
        if self.kind == "gaussian":
            positions = stats.chi.ppf(levels, self.dim) * kappa / np.sqrt(self.dim)
        else:
            cdf = np.concatenate([[0.0], np.cumsum(self.cell_density(grid))]) * grid.spacing[0]
            positions = np.interp(levels, cdf, grid.axes[0].edges)
        return positions, np.full(n, 1.0 / n)

    def _symmetric(self, name: str) -> bool:
        """Whether the scalar law of ``name`` is symmetric about 0 (then F⁻¹(1 − u) = −F⁻¹(u))."""
        spec = self.spec.get(name)
        if spec is None:
            return False
        if spec["kind"] in ("constant", "discrete"):
            values, weights = ScalarLaw(spec).atoms()
            return bool(np.allclose(values, -values[::-1], rtol=0, atol=0)
                        and np.allclose(weights, weights[::-1], rtol=0, atol=0))
        return (spec["kind"] == "normal" and spec["mean"] == 0.0) or (
            spec["kind"] == "uniform" and spec["low"] == -spec["high"])

    def _sobol_particles(self, n: int, grid: CartesianGrid):
        """:meth:`particles` on several coordinates (init kinds gaussian and product)."""
        if self.kind not in ("gaussian", "product"):
            raise CaseError(f"init.kind: {self.kind!r} on a {grid.ndim}-D grid; the particles "
                            "of the Lagrangian scheme on several coordinates need kind = "
                            "'gaussian' or 'product' (one scalar law per coordinate)")
        atomic = [axis.name for axis in grid.axes if axis.name in self.spec
                  and self.spec[axis.name]["kind"] in ("constant", "discrete")]
        atoms = [ScalarLaw(self.spec[name]).atoms() for name in atomic]
        per_point = int(np.prod([values.size for values, _ in atoms]))
        smooth = [axis.name for axis in grid.axes if axis.name not in atomic]
        if not smooth:                                              # atoms only
            count, levels = 1, np.empty((1, 0))
        else:
            count = 1 << max(int(np.ceil(np.log2(max(n / per_point, 1)))), 1)
            levels = stats.qmc.Sobol(len(smooth), scramble=True, seed=0).random(count)
        if self.kind == "gaussian" and "a" in smooth and self._symmetric("a"):   # pairs (±a, ϑ)
            k = smooth.index("a")
            levels[count // 2:] = levels[:count // 2]
            levels[count // 2:, k] = 1.0 - levels[:count // 2, k]
        points = {name: (ScalarLaw(self.spec[name]).quantile(levels[:, k]) if name in self.spec
                         else self.axis_law(name).ppf(levels[:, k]))
                  for k, name in enumerate(smooth)}
        weights = np.full(count, 1.0 / count)
        for name, (values, masses) in zip(atomic, atoms):             # tensor with the atoms
            points = {key: np.repeat(column, values.size) for key, column in points.items()}
            points[name] = np.tile(values, weights.size)
            weights = np.outer(weights, masses).ravel()
        return np.column_stack([points[axis.name] for axis in grid.axes]), weights
