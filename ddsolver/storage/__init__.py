"""Storage: solutions streamed to and read back from HDF5 files."""

from .hdf5 import FORMAT, FORMAT_VERSION, SolutionWriter, check_output_path, load

__all__ = ["SolutionWriter", "check_output_path", "load", "FORMAT", "FORMAT_VERSION"]
