"""Figures: a solution (risk curve with the free energy, evolution of the density; the density
alone for a stationary state), an SGD run (risk R_N, histograms of the reduced coordinate) and
the two side by side (:func:`plot_comparison`).

matplotlib is imported only when a figure is drawn, and only through its Agg canvas, so the
global pyplot backend of the caller is left alone.
"""

from __future__ import annotations

import numpy as np

from ..errors import DdsolverError
from ..solution import Solution

MAX_LINES = 6
MAX_HISTOGRAMS = 4


def plot_solution(sol: Solution, path=None):
    """Draw the risk against t (with the free energy on a twin axis when it differs from
    R/(2α²), i.e. λ > 0 or β < ∞) and the density evolution; save to ``path`` if given.

    1-D grids: density profiles at a few snapshot times and a (t, coordinate) heatmap.
    2-D/3-D grids: the marginal density of each coordinate at a few snapshot times.
    A stationary state (one snapshot at t = inf): the density of each coordinate only.
    Returns the matplotlib ``Figure``.
    """
    if np.isinf(sol.t).all():
        return _plot_stationary(sol, path)
    ncols = 3 if sol.grid.ndim == 1 else 1 + sol.grid.ndim
    fig, axes = _figure(ncols, [sol])
    _risk(axes[0], [(sol.t, sol.risk, None)], "risk R(ρ_t)")
    training = sol.case["training"]
    if sol.free_energy is not None and (float(training["beta"]) < np.inf
                                        or training["lambda"] > 0):
        _free_energy(axes[0], sol)
    for i, ax in enumerate(axes[1:1 + sol.grid.ndim]):
        _profiles(ax, sol, i)
    if sol.grid.ndim == 1:
        _heatmap(fig, axes[2], sol)
    return _finish(fig, path, f"{len(sol.t)} snapshots, t ∈ [{sol.t[0]:g}, {sol.t[-1]:g}]",
                   sol.attrs)


def _plot_stationary(sol: Solution, path):
    """The density of each coordinate of a stationary state, its risk and free energy."""
    fig, axes = _figure(sol.grid.ndim, [sol])
    energy = "" if sol.free_energy is None else f", F = {sol.free_energy[0]:.6g}"
    for i, ax in enumerate(np.atleast_1d(axes)):
        axis = sol.grid.axes[i]
        ax.plot(axis.centres, _marginal(sol, i)[0], color="C0")
        ax.set(xlabel=axis.name, ylabel=f"density of {axis.name}", xlim=(axis.lo, axis.hi),
               title=f"R = {sol.risk[0]:.6g}{energy}")
        ax.grid(True, alpha=0.3)
    converged = {True: "", False: ", NOT converged"}.get(sol.attrs.get("converged"), "")
    return _finish(fig, path, f"stationary (Gibbs) state{converged}", sol.attrs)


def plot_sgd(result, path=None):
    """Draw an SGD run (:class:`~ddsolver.sgd.run.SgdResult`): the exact risk R_N against t,
    and histograms of the reduced coordinate r at a few snapshot times; save to ``path`` if
    given. Returns the matplotlib ``Figure``."""
    fig, axes = _figure(2, [result])
    _risk(axes[0], [(result.t, result.risk, None)], "risk R_N")
    r = result.coords["r"]
    picks = _picks(len(result.t), MAX_HISTOGRAMS)
    for k, colour in zip(picks, _colours(len(picks))):
        _histogram(axes[1], r[k], histtype="step", color=colour, label=f"t = {result.t[k]:.3g}")
    axes[1].set(xlabel="r = |w|", ylabel="density of r",
                title=f"histograms of r at {len(picks)} times")
    axes[1].legend(fontsize="small")
    n, d = r.shape[1], result.case["data"]["dim"]
    return _finish(fig, path, f"SGD, N = {n} units in d = {d}, seed {result.seed}: "
                              f"{len(result.t)} snapshots, t ∈ [{result.t[0]:g}, "
                              f"{result.t[-1]:g}]", result.attrs)


def plot_comparison(solution: Solution, sgd_result, path=None):
    """Draw the PDE solution against an SGD run of the same case (radial grid): the risk
    R(ρ_t) with R_N, and the density of r with the SGD histogram of r at up to four snapshot
    times of the SGD run that the solution has too; save to ``path`` if given. Returns the
    matplotlib ``Figure``."""
    if solution.grid.names != ("r",):
        raise DdsolverError(f"the comparison needs a radial grid (r), not {solution.grid.names}")
    fig, axes = _figure(2, [solution, sgd_result])
    n = sgd_result.coords["r"].shape[1]
    _risk(axes[0], [(solution.t, solution.risk, "PDE R(ρ_t)"),
                    (sgd_result.t, sgd_result.risk, f"SGD R_N, N = {n}")], "risk")
    nearest = np.abs(solution.t[None, :] - sgd_result.t[:, None]).argmin(axis=1)
    common = np.flatnonzero(np.isclose(solution.t[nearest], sgd_result.t, rtol=1e-9,
                                       atol=1e-12))
    if common.size == 0:
        raise DdsolverError("the solution and the SGD run have no snapshot time in common")
    picks = common[_picks(common.size, MAX_HISTOGRAMS)]
    r = sgd_result.coords["r"]
    axis = solution.grid.axes[0]
    ax = axes[1]
    for k, colour in zip(picks, _colours(len(picks))):
        _histogram(ax, r[k], color=colour, alpha=0.3)
        ax.plot(axis.centres, solution.density[nearest[k]], color=colour,
                label=f"t = {sgd_result.t[k]:.3g}")
    ax.set(xlabel="r = |w|", ylabel="density of r", xlim=(0.0, 1.05 * r[picks].max()),
           title="density of r: PDE (lines), SGD (histograms)")
    ax.legend(fontsize="small")
    return _finish(fig, path, f"PDE against SGD (N = {n}, seed {sgd_result.seed})",
                   sgd_result.attrs)


def _figure(ncols: int, results: list):
    """An Agg figure with one row of ``ncols`` axes, once every result has a snapshot."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DdsolverError("plotting needs matplotlib: pip install 'ddsolver[plot]'") from None
    if any(len(result.t) == 0 for result in results):
        raise DdsolverError("nothing to plot: no snapshots yet")
    fig = Figure(figsize=(5 * ncols, 4), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols)


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


def _marginal(sol: Solution, i: int) -> np.ndarray:
    """(n, cells_i) marginal density of coordinate i (the density itself on a 1-D grid)."""
    others = tuple(1 + j for j in range(sol.grid.ndim) if j != i)
    spacing = np.prod([a.spacing for j, a in enumerate(sol.grid.axes) if j != i])
    return sol.density.sum(axis=others) * spacing


def _profiles(ax, sol: Solution, i: int) -> None:
    """The marginal of coordinate i at up to MAX_LINES snapshot times, dark to light."""
    axis = sol.grid.axes[i]
    marginal = _marginal(sol, i)
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
