"""Figures: a solution (risk curve with the free energy, evolution of the density; the density
alone for a stationary state), an SGD run (risk R_N, histograms of the reduced coordinates) and
the two side by side (:func:`plot_comparison`), on 1-D, 2-D and 3-D grids.

matplotlib is imported only when a figure is drawn, and only through its Agg canvas, so the
global pyplot backend of the caller is left alone. :func:`draw_pairs` and
:func:`coordinate_label` are shared with the validation report.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..errors import DdsolverError
from ..model import model_class
from ..results import Solution

MAX_LINES = 6
MAX_HISTOGRAMS = 4
MAX_IMAGES = 3          # density images of a 2-D solution (first, middle and last snapshot)
MAX_SCATTER = 4000      # particles drawn on a density image (a random subset beyond that)
LABELS = {"r": "r = |w|", "r1": "r1 = |w[:s0]|", "r2": "r2 = |w[s0:]|"}


def coordinate_label(name: str) -> str:
    """Axis label of a reduced coordinate (e.g. "r = |w|"; other names as they are)."""
    return LABELS.get(name, name)


def plot_solution(sol: Solution, path=None):
    """Draw the risk against t (with the free energy on a twin axis when it differs from
    R/(2α²), i.e. λ > 0 or β < ∞) and the density evolution; save to ``path`` if given.

    1-D grids: density profiles at a few snapshot times and a (t, coordinate) heatmap.
    2-D grids: the marginal of each coordinate at a few times, and below, the density as an
    image at the first, a middle and the last snapshot.
    3-D grids: the marginal of each coordinate at a few times, and below, the pairwise marginal
    densities at the last snapshot.
    A stationary state (one snapshot at t = inf): the marginals (and pairwise images) only.
    Returns the matplotlib ``Figure``.
    """
    if np.isinf(sol.t).all():
        return _plot_stationary(sol, path)
    ndim = sol.grid.ndim
    ncols = 3 if ndim < 3 else 1 + ndim
    fig, axes = _figure(ncols, [sol], nrows=1 if ndim == 1 else 2)
    top = axes[0]
    _risk(top[0], [(sol.t, sol.risk, None)], "risk R(ρ_t)")
    training = sol.case["training"]
    if sol.free_energy is not None and (float(training["beta"]) < np.inf
                                        or training["lambda"] > 0):
        _free_energy(top[0], sol)
    for i, ax in enumerate(top[1:1 + ndim]):
        _profiles(ax, sol, i)
    if ndim == 1:
        _heatmap(fig, top[2], sol)
    elif ndim == 2:
        for ax, k in zip(axes[1], _picks(len(sol.t), MAX_IMAGES)):
            draw_pairs(fig, [ax], sol.grid, sol.density[k], title=f"t = {sol.t[k]:.3g}")
    else:
        draw_pairs(fig, axes[1], sol.grid, sol.density[-1], title=f"t = {sol.t[-1]:.3g}")
    _hide_unused(axes)
    return _finish(fig, path, f"{len(sol.t)} snapshots, t ∈ [{sol.t[0]:g}, {sol.t[-1]:g}]",
                   sol.attrs)


def _plot_stationary(sol: Solution, path):
    """The marginal density of each coordinate of a stationary state (and, on 2-D and 3-D
    grids, the pairwise marginal densities), its risk and free energy. A global minimum
    (``ddsolver minimize``: atoms) shows the atoms' marginal masses as stems instead."""
    ndim = sol.grid.ndim
    pairs = ndim * (ndim - 1) // 2
    atomic = sol.attrs.get("method") == "frank-wolfe"
    fig, axes = _figure(ndim, [sol], nrows=1 if ndim == 1 else 2)
    energy = "" if sol.free_energy is None else f", F = {sol.free_energy[0]:.6g}"
    for ax, axis in zip(axes[0], sol.grid.axes):
        marginal = sol.marginal(axis.name)[0]
        if atomic:
            masses = marginal * axis.spacing
            atoms = masses > 0
            ax.stem(axis.centres[atoms], masses[atoms], basefmt=" ")
            ax.set(ylabel=f"mass of {axis.name}")
        else:
            ax.plot(axis.centres, marginal, color="C0")
            ax.set(ylabel=f"density of {axis.name}")
        ax.set(xlabel=axis.name, xlim=(axis.lo, axis.hi), title=f"R = {sol.risk[0]:.6g}{energy}")
        ax.grid(True, alpha=0.3)
    if pairs:
        draw_pairs(fig, axes[1], sol.grid, sol.density[0],
                   title="minimiser" if atomic else "stationary")
    _hide_unused(axes)
    if atomic:
        title = f"global minimum on the grid, certificate gap {sol.attrs['gap']:.1e}"
    else:
        converged = {True: "", False: ", NOT converged"}.get(sol.attrs.get("converged"), "")
        title = f"stationary (Gibbs) state{converged}"
    return _finish(fig, path, title, sol.attrs)


def plot_sgd(result, path=None):
    """Draw an SGD run (:class:`~ddsolver.results.SgdResult`): the exact risk R_N against t,
    and histograms of each reduced coordinate at a few snapshot times; save to ``path`` if
    given. Returns the matplotlib ``Figure``."""
    names = list(result.coords)
    fig, axes = _figure(1 + len(names), [result])
    top = axes[0]
    _risk(top[0], [(result.t, result.risk, None)], "risk R_N")
    picks = _picks(len(result.t), MAX_HISTOGRAMS)
    for ax, name in zip(top[1:], names):
        values = result.coords[name]
        for k, colour in zip(picks, _colours(len(picks))):
            _histogram(ax, values[k], histtype="step", color=colour,
                       label=f"t = {result.t[k]:.3g}")
        ax.set(xlabel=coordinate_label(name), ylabel=f"density of {name}",
               title=f"histograms of {name} at {len(picks)} times")
        ax.legend(fontsize="small")
    n = result.coords[names[0]].shape[1]
    return _finish(fig, path, f"SGD, N = {n} units {_network_text(result.case, names)}, seed "
                              f"{result.seed}: {len(result.t)} snapshots, t ∈ [{result.t[0]:g}, "
                              f"{result.t[-1]:g}]", result.attrs)


def plot_comparison(solution: Solution, sgd_result, path=None):
    """Draw the PDE solution against an SGD run of the same case: the risk R(ρ_t) with R_N,
    and for every reduced coordinate its PDE marginal with the SGD histogram at up to four
    snapshot times of the SGD run that the solution has too; on 2-D grids also the density
    image at the last common time with the SGD units on top (3-D grids: the three pairwise
    marginals, in a second row). Saves to ``path`` if given and returns the matplotlib
    ``Figure``."""
    grid = solution.grid
    missing = [c for c in grid.names if c not in sgd_result.coords]
    if missing:
        raise DdsolverError(f"the SGD run has no coordinates {missing} of the solution's grid "
                            f"{grid.names}")
    pairs = grid.ndim * (grid.ndim - 1) // 2
    fig, axes = _figure(1 + grid.ndim + (pairs == 1), [solution, sgd_result],
                        nrows=1 + (pairs > 1))
    nearest = np.abs(solution.t[None, :] - sgd_result.t[:, None]).argmin(axis=1)
    common = np.flatnonzero(np.isclose(solution.t[nearest], sgd_result.t, rtol=1e-9,
                                       atol=1e-12))
    if common.size == 0:
        raise DdsolverError("the solution and the SGD run have no snapshot time in common")
    top = axes[0]
    n = sgd_result.coords[grid.names[0]].shape[1]
    _risk(top[0], [(solution.t, solution.risk, "PDE R(ρ_t)"),
                   (sgd_result.t, sgd_result.risk, f"SGD R_N, N = {n}")], "risk")
    picks = common[_picks(common.size, MAX_HISTOGRAMS)]
    radial = model_class(solution.case).radial
    for ax, axis in zip(top[1:], grid.axes):
        values, marginal = sgd_result.coords[axis.name], solution.marginal(axis.name)
        for k, colour in zip(picks, _colours(len(picks))):
            _histogram(ax, values[k], color=colour, alpha=0.3)
            ax.plot(axis.centres, marginal[nearest[k]], color=colour,
                    label=f"t = {sgd_result.t[k]:.3g}")
        ax.set(xlabel=coordinate_label(axis.name), ylabel=f"density of {axis.name}",
               xlim=_sample_range(axis, values[picks], radial),
               title=f"density of {axis.name}: PDE (lines), SGD (histograms)")
        ax.legend(fontsize="small")
    if pairs:
        last, pair_axes = common[-1], top[-1:] if pairs == 1 else axes[1]
        draw_pairs(fig, pair_axes, grid, solution.density[nearest[last]],
                   {c: sgd_result.coords[c][last] for c in grid.names},
                   title=f"t = {sgd_result.t[last]:.3g}, SGD units (dots)")
    _hide_unused(axes)
    return _finish(fig, path, f"PDE against SGD (N = {n}, seed {sgd_result.seed})",
                   sgd_result.attrs)


def draw_pairs(fig, axes, grid, density, points=None, title="") -> None:
    """For every pair of coordinates (i < j; one pair on a 2-D grid), in consecutive ``axes``:
    the marginal density of (x_i, x_j) of one snapshot ``density`` (grid.shape) as an image,
    with the particles ``points`` {coordinate: values} on top (a random subset of at most
    MAX_SCATTER, reproducible); each axis is zoomed to where the density exceeds 1e-3 of its
    maximum and the particles lie (:func:`_zoom`)."""
    for ax, (i, j) in zip(axes, combinations(range(grid.ndim), 2)):
        others = tuple(k for k in range(grid.ndim) if k not in (i, j))
        pair = density.sum(axis=others) * np.prod([grid.axes[k].spacing for k in others])
        xi, xj = grid.axes[i], grid.axes[j]
        mesh = ax.pcolormesh(xi.edges, xj.edges, pair.T, cmap="magma", shading="flat")
        fig.colorbar(mesh, ax=ax, label="density")
        u = v = None
        if points is not None:
            u, v = np.asarray(points[xi.name]), np.asarray(points[xj.name])
            if u.size > MAX_SCATTER:
                keep = np.random.default_rng(0).choice(u.size, MAX_SCATTER, replace=False)
                u, v = u[keep], v[keep]
            ax.scatter(u, v, s=2, c="cyan", alpha=float(np.clip(400 / u.size, 0.15, 0.8)),
                       linewidths=0)
        ax.set(xlabel=coordinate_label(xi.name), ylabel=coordinate_label(xj.name),
               xlim=_zoom(xi, pair.max(axis=1), u), ylim=_zoom(xj, pair.max(axis=0), v),
               title=title)


def _zoom(axis, profile, values=None) -> tuple[float, float]:
    """Limits on ``axis`` covering the cells where ``profile`` exceeds 1e-3 of its maximum and
    the ``values``, padded by 10 % of that span and clipped to the axis."""
    cells = np.flatnonzero(profile > 1e-3 * profile.max())
    lo, hi = axis.edges[cells[0]], axis.edges[cells[-1] + 1]
    if values is not None and values.size:
        lo, hi = min(lo, values.min()), max(hi, values.max())
    pad = 0.1 * (hi - lo)
    return max(axis.lo, lo - pad), min(axis.hi, hi + pad)


def _network_text(case: dict, names) -> str:
    """"in d = …" for the built-in models, the coordinates for a custom problem."""
    dim = case["data"].get("dim")
    return f"in d = {dim}" if dim is not None else f"with coordinates ({', '.join(names)})"


def _sample_range(axis, values, radial) -> tuple[float, float]:
    """x-limits covering the samples: from 0 for a norm (a name in ``radial``, as the radial
    figure always had), else padded by 5 % of their span (at least 5 % of the axis)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if axis.name in radial:
        return 0.0, 1.05 * hi
    pad = 0.05 * max(hi - lo, axis.hi - axis.lo)
    return lo - pad, hi + pad


def _figure(ncols: int, results: list, nrows: int = 1):
    """An Agg figure with ``nrows`` × ``ncols`` axes (a 2-D array), once every result has a
    snapshot."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DdsolverError("plotting needs matplotlib: pip install 'ddsolver[plot]'") from None
    if any(len(result.t) == 0 for result in results):
        raise DdsolverError("nothing to plot: no snapshots yet")
    fig = Figure(figsize=(5 * ncols, 4 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _hide_unused(axes) -> None:
    """Switch off the axes nothing was drawn in."""
    for ax in np.ravel(axes):
        if not ax.has_data():
            ax.set_axis_off()


def _finish(fig, path, title: str, attrs: dict):
    """Title the figure (with the status of an incomplete run), save it if ``path`` is given."""
    status = attrs.get("status", "complete")
    fig.suptitle(title + ("" if status == "complete" else f"  (status: {status})"))
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _picks(n: int, most: int) -> np.ndarray:
    """Up to ``most`` indices spread evenly over range(n), first and last included."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round()).astype(int)


def _colours(n: int):
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0, 0.9, n))


def _histogram(ax, values: np.ndarray, **style) -> None:
    """Histogram of one snapshot's values as a density, about √n bins (10 to 60) over their own
    range, so narrow and wide laws are both resolved."""
    ax.hist(values, bins=int(np.clip(np.sqrt(values.size), 10, 60)), density=True, **style)


def _time_axis(ax, t: np.ndarray) -> None:
    """A log t axis (linear below the first positive time, so t = 0 stays visible) when the
    positive times span more than two decades."""
    positive = t[t > 0]
    if positive.size > 1 and positive.max() > 100 * positive.min():
        lo, hi = np.log10([positive.min(), positive.max()])
        ax.set_xscale("symlog", linthresh=positive.min(), linscale=0.5)
        ax.set_xticks([0.0, *10.0 ** np.arange(np.ceil(lo), np.floor(hi) + 1)])


def _risk(ax, curves: list, ylabel: str) -> None:
    """Risk curves ``(t, risk, label or None)``, log scales when they span decades."""
    _time_axis(ax, np.concatenate([t for t, _, _ in curves]))
    for t, risk, label in curves:
        ax.plot(t, risk, "-", marker=".", markersize=4, label=label)
    risks = np.concatenate([risk for _, risk, _ in curves])
    if np.all(risks > 0) and risks.max() > 10 * risks.min():
        ax.set_yscale("log")
    ax.set(xlabel="t", ylabel=ylabel, title="risk (dots: snapshots)")
    ax.grid(True, which="both", alpha=0.3)
    if any(label for _, _, label in curves):
        ax.legend(fontsize="small")


def _free_energy(ax, sol: Solution) -> None:
    """The free energy F(ρ_t) on a twin (right, linear) axis of the risk panel."""
    twin = ax.twinx()
    twin.plot(sol.t, sol.free_energy, "C3--", lw=1.2)
    twin.set_ylabel("free energy F(ρ_t) (dashed)", color="C3")
    twin.tick_params(axis="y", colors="C3")
    ax.set_title("risk and free energy (dots: snapshots)")


def _profiles(ax, sol: Solution, i: int) -> None:
    """The marginal of coordinate i at up to MAX_LINES snapshot times, dark to light."""
    axis = sol.grid.axes[i]
    marginal = sol.marginal(axis.name)
    picks = _picks(len(sol.t), MAX_LINES)
    for k, colour in zip(picks, _colours(len(picks))):
        ax.plot(axis.centres, marginal[k], color=colour, label=f"t = {sol.t[k]:.3g}")
    ax.set(xlabel=axis.name, ylabel=f"density of {axis.name}", xlim=(axis.lo, axis.hi),
           title=f"density of {axis.name} at {len(picks)} times")
    ax.legend(fontsize="small")


def _heatmap(fig, ax, sol: Solution) -> None:
    """Density over (t, coordinate), log colour scale over four decades below the maximum.

    Snapshot k fills the time cell between the midpoints to its neighbours."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    axis = sol.grid.axes[0]
    _time_axis(ax, sol.t)
    t = sol.t
    t_edges = np.concatenate([t[:1], (t[1:] + t[:-1]) / 2, t[-1:]])
    vmax = sol.density.max()
    cmap = colormaps["magma"].with_extremes(bad=colormaps["magma"](0))
    mesh = ax.pcolormesh(t_edges, axis.edges, sol.density.T,
                         norm=LogNorm(vmax * 1e-4, vmax, clip=True), cmap=cmap)
    ax.set(xlabel="t", ylabel=axis.name, title="density over time (log colour)")
    fig.colorbar(mesh, ax=ax, label="density")
