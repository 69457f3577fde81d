"""Solution files (format ``ddsolver.solution``): the streaming writer and the reader.

The layout is documented in ``docs/hdf5-format.md``; the streaming (flush per snapshot, SWMR,
final status) is :class:`~ddsolver.storage.stream.StreamWriter`'s. The writer never holds more
than one snapshot in memory.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from ..case import case_from_json
from ..grid import CartesianGrid
from ..solution import Solution
from .stream import StreamWriter, complete_snapshots, diagnostics_of

FORMAT = "ddsolver.solution"
FORMAT_VERSION = 1


class SolutionWriter(StreamWriter):
    """Stream snapshots of a solve to an HDF5 file (a context manager).

    >>> with SolutionWriter("run.h5", grid, case, attrs={"scheme": "fv"}) as w:
    ...     w.append(t, risk, density, mass=1.0, steps=10)
    ...     w.close(status="complete", run_time=3.2)

    The diagnostics (keyword arguments of :meth:`append`) must have the same names at every
    snapshot. If the ``with`` block exits on an exception the file is closed with status
    ``"interrupted"`` (KeyboardInterrupt) or ``"failed: <message>"``, keeping every snapshot.
    """

    FORMAT = FORMAT
    FORMAT_VERSION = FORMAT_VERSION

    def __init__(self, path, grid: CartesianGrid, case: dict, *, overwrite: bool = False,
                 attrs: dict | None = None):
        super().__init__(path, case, header={"grid": json.dumps(grid.to_dict())},
                         overwrite=overwrite, attrs=attrs)
        self.grid = grid
        f = self._file
        self._series("risk", (), "population risk R(rho_t)")
        density = self._series("density", grid.shape,
                               "probability density in the grid coordinates "
                               "(sum of density[k] * cell volume = 1)", labels=grid.names)
        for i, axis in enumerate(grid.axes, start=1):
            centres = f.create_dataset(f"grid/{axis.name}", data=axis.centres)
            f.create_dataset(f"grid/{axis.name}_edges", data=axis.edges)
            centres.make_scale(axis.name)
            density.dims[i].attach_scale(centres)

    def append(self, t: float, risk: float, density: np.ndarray, **diagnostics) -> None:
        """Write one snapshot and flush it to disk."""
        density = np.asarray(density, dtype=float)
        if density.shape != self.grid.shape:
            raise ValueError(f"density has shape {density.shape}, the grid {self.grid.shape}")
        self._write({"t": t, "risk": risk, "density": density}, diagnostics)


def read_solution(f: h5py.File, attrs: dict) -> Solution:
    """Every complete snapshot of an open solution file whose root ``attrs`` were checked."""
    grid = CartesianGrid.from_dict(json.loads(attrs.pop("grid")))
    case = case_from_json(attrs.pop("case"))
    data = complete_snapshots({"t": f["t"], "risk": f["risk"], "density": f["density"],
                               **diagnostics_of(f)})
    return Solution(t=data.pop("t"), risk=data.pop("risk"), density=data.pop("density"),
                    grid=grid, case=case,
                    diagnostics={k.split("/", 1)[1]: v for k, v in data.items()}, attrs=attrs)
