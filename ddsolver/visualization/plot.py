"""Overview figure of a solution: the risk curve and the evolution of the density.

matplotlib is imported only when a figure is drawn, and only through its Agg canvas, so the
global pyplot backend of the caller is left alone.
"""

from __future__ import annotations

import numpy as np

from ..errors import DdsolverError
from ..solution import Solution

MAX_LINES = 6


def plot_solution(sol: Solution, path=None):
    """Draw the risk against t and the density evolution; save to ``path`` if given.

    1-D grids: density profiles at a few snapshot times and a (t, coordinate) heatmap.
    2-D/3-D grids: the marginal density of each coordinate at a few snapshot times.
    Returns the matplotlib ``Figure``.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DdsolverError("plotting needs matplotlib: pip install 'ddsolver[plot]'") from None
    if len(sol.t) == 0:
        raise DdsolverError("nothing to plot: the solution has no snapshots yet")

    ncols = 3 if sol.grid.ndim == 1 else 1 + sol.grid.ndim
    fig = Figure(figsize=(5 * ncols, 4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    _risk(axes[0], sol)
    for i, ax in enumerate(axes[1:1 + sol.grid.ndim]):
        _profiles(ax, sol, i)
    if sol.grid.ndim == 1:
        _heatmap(fig, axes[2], sol)
    status = sol.attrs.get("status", "in memory")
    fig.suptitle(f"{len(sol.t)} snapshots, t ∈ [{sol.t[0]:g}, {sol.t[-1]:g}]"
                 + ("" if status == "complete" else f"  (status: {status})"))
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _time_axis(ax, sol: Solution) -> None:
    """A log t axis (linear below the first positive time, so t = 0 stays visible) when the
    positive times span more than two decades."""
    positive = sol.t[sol.t > 0]
    if positive.size > 1 and positive.max() > 100 * positive.min():
        lo, hi = np.log10([positive.min(), positive.max()])
        ax.set_xscale("symlog", linthresh=positive.min(), linscale=0.5)
        ax.set_xticks([0.0, *10.0 ** np.arange(np.ceil(lo), np.floor(hi) + 1)])


def _risk(ax, sol: Solution) -> None:
    _time_axis(ax, sol)
    ax.plot(sol.t, sol.risk, "-", marker=".", markersize=4)
    if np.all(sol.risk > 0) and sol.risk.max() > 10 * sol.risk.min():
        ax.set_yscale("log")
    ax.set(xlabel="t", ylabel="risk R(ρ_t)", title="risk (dots: snapshots)")
    ax.grid(True, which="both", alpha=0.3)


def _marginal(sol: Solution, i: int) -> np.ndarray:
    """(n, cells_i) marginal density of coordinate i (the density itself on a 1-D grid)."""
    others = tuple(1 + j for j in range(sol.grid.ndim) if j != i)
    spacing = np.prod([a.spacing for j, a in enumerate(sol.grid.axes) if j != i])
    return sol.density.sum(axis=others) * spacing


def _profiles(ax, sol: Solution, i: int) -> None:
    """The marginal of coordinate i at up to MAX_LINES snapshot times, dark to light."""
    from matplotlib import colormaps

    axis = sol.grid.axes[i]
    marginal = _marginal(sol, i)
    picks = np.unique(np.linspace(0, len(sol.t) - 1, min(len(sol.t), MAX_LINES)).round())
    colours = colormaps["viridis"](np.linspace(0, 0.9, len(picks)))
    for k, colour in zip(picks.astype(int), colours):
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
    _time_axis(ax, sol)
    t = sol.t
    t_edges = np.concatenate([t[:1], (t[1:] + t[:-1]) / 2, t[-1:]])
    vmax = sol.density.max()
    cmap = colormaps["magma"].with_extremes(bad=colormaps["magma"](0))
    mesh = ax.pcolormesh(t_edges, axis.edges, sol.density.T,
                         norm=LogNorm(vmax * 1e-4, vmax, clip=True), cmap=cmap)
    ax.set(xlabel="t", ylabel=axis.name, title="density over time (log colour)")
    fig.colorbar(mesh, ax=ax, label="density")
