"""Storage: runs streamed to and read back from HDF5 files.

Two formats share one streaming writer (:mod:`.stream`): PDE solutions (``ddsolver.solution``,
:class:`SolutionWriter`) and particle SGD runs (``ddsolver.sgd``, :class:`SgdWriter`).
:func:`load` reads either, dispatching on the file's ``format`` attribute, and checks what it
read.
"""

from .formats import CorruptFileWarning, load, load_sgd
from .hdf5 import FORMAT, FORMAT_VERSION, SolutionWriter
from .resume import ResumePoint, resume_point
from .sgd import SgdWriter
from .stream import check_output_path, partial_path

__all__ = ["SolutionWriter", "SgdWriter", "check_output_path", "partial_path", "load",
           "load_sgd", "CorruptFileWarning", "FORMAT", "FORMAT_VERSION", "ResumePoint",
           "resume_point"]
