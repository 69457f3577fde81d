"""What a bug report needs: versions, platform, threads and numba's on-disk cache.

``ddsolver info`` prints :func:`environment`; solution files record :func:`package_versions`.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

from ._version import __version__

DEPENDENCIES = ("numpy", "scipy", "numba", "h5py", "tqdm", "matplotlib")
PACKAGE_DIR = Path(__file__).parent


def package_versions() -> dict[str, str]:
    """Versions of ddsolver, Python, the dependencies and the HDF5 library."""
    import h5py

    versions = {"ddsolver": __version__, "python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["hdf5"] = h5py.version.hdf5_version
    return versions


def environment() -> dict:
    """Versions, platform, CPUs, numba threads and numba's cache for ddsolver (takes ~1 s)."""
    import numba

    where, cache_dirs = numba_cache()
    files = [f for d in cache_dirs for f in d.glob("*.nb[ic]")]
    return {
        **package_versions(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": _threading_layer(),
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "(unset)"),
        "numba_cache": where,
        "numba_cache_files": f"{len(files)} ({sum(f.suffix == '.nbi' for f in files)} .nbi, "
                             f"{sum(f.suffix == '.nbc' for f in files)} .nbc)",
        "environment_variables": {k: v for k, v in sorted(os.environ.items())
                                  if k.startswith("NUMBA_") or k.endswith("_NUM_THREADS")},
    }


def numba_cache() -> tuple[str, list[Path]]:
    """Where numba caches ddsolver's compiled functions: a description and one folder per
    source folder.

    Numba's rule: ``$NUMBA_CACHE_DIR/<folder>_<sha1 of the folder path>`` if that variable is
    set, else ``__pycache__`` next to the source if writable, else the same sub-path of the
    user cache.
    """
    import numba
    from numba.misc.appdirs import AppDirs

    folders = sorted({p.parent for p in PACKAGE_DIR.rglob("*.py")})
    if not numba.config.CACHE_DIR and os.access(PACKAGE_DIR, os.W_OK):
        return f"{PACKAGE_DIR}/**/__pycache__", [f / "__pycache__" for f in folders]
    root = Path(numba.config.CACHE_DIR or AppDirs(appname="numba", appauthor=False).user_cache_dir)
    return (f"{root}/<folder>_<sha1>",
            [root / f"{f.name}_{hashlib.sha1(str(f).encode()).hexdigest()}" for f in folders])


def _threading_layer() -> str:
    """The layer numba actually uses, found by running a tiny parallel function."""
    import numba

    @numba.njit(parallel=True, cache=False)
    def probe(n):
        total = 0
        for i in numba.prange(n):
            total += i
        return total

    try:
        probe(4)
        return numba.threading_layer()
    except Exception as exc:  # report, never fail: this is a diagnostic
        return f"unavailable ({type(exc).__name__}: {exc})"
