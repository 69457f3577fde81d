"""Opening HDF5 files that may be damaged without letting HDF5 hang.

HDF5 (up to 2.0 at least) decodes a global heap collection (``GCOL``: where variable-length
strings such as ddsolver's root attributes are stored) without a checksum and without checking
that its walk over the collection's objects moves on: an object of size 0 with index 0 (free
space), e.g. where a damaged size sends the walk into the collection's zero-filled free space,
makes it loop forever in C, out of reach of signals and Python timeouts. No file-access option
bounds that loop (it is not the metadata read retry loop).

:func:`open_guarded` therefore opens a file for a plain read through a :class:`GuardedFile`
(h5py's file-object driver, about 4 µs a read): every read that starts a global heap collection
first walks it in Python, with bounds, and a collection HDF5 could not walk to its end raises
an :class:`OSError` before HDF5 sees its bytes. A file flagged as open for writing needs an
SWMR read, which that driver cannot do: :func:`swmr_problem` reads it in a child process within
a time limit first (docs/hdf5-format.md, "Damaged files").
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import h5py

SIGNATURE = b"\x89HDF\r\n\x1a\n"
COLLECTION = b"GCOL"
ALIGN = 8
SWMR_SECONDS = 5.0
# the root attributes, and the last element of every dataset, read in SWMR mode
SWMR_READ = """import sys, h5py
def last(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.shape and len(obj):
        obj[-1]
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    dict(f.attrs)
    f.visititems(last)
"""


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def length_size(fh) -> int:
    """The "size of lengths" of an HDF5 file open in ``fh`` (bytes of a size field; 8 unless
    written otherwise), from its superblock (at byte 0, 512, 1024, … after a user block); 8 if
    none is found."""
    where, end = 0, fh.seek(0, os.SEEK_END)
    while where + 16 <= end:
        fh.seek(where)
        head = fh.read(16)
        if head[:8] == SIGNATURE:
            return head[14] if head[8] < 2 else head[10]
        where = 512 if where == 0 else 2 * where
    return 8


def collection_problem(data: bytes, length: int, start: int = 0) -> str | None:
    """Why HDF5 cannot decode the global heap collection at byte ``start`` of a file, whose
    bytes from there to the end of the collection or of the file are ``data``, or None.
    ``length``: the file's size of lengths. Only what would make HDF5 loop forever, read past
    the collection or fail is reported: an intact collection ends exactly at its size."""
    def number(at: int, size: int) -> int:
        return int.from_bytes(data[at:at + size], "little")

    header = _aligned(8 + length)    # of the collection (signature, version, size) and of an
    total = number(8, length)        # object (index, reference count, reserved, size)
    if total < header:
        return f"its size, {total} bytes, is smaller than its header"
    if total > len(data):
        return f"its size, {total} bytes, runs past the end of the file"
    at = header
    while at + header <= total:      # HDF5 takes a shorter tail for free space
        index, size = number(at, 2), number(at + 8, length)
        need = size if index == 0 else header + _aligned(size)
        if need == 0:
            return (f"the free-space object at byte {start + at} has size 0, on which HDF5 "
                    "would loop forever")
        if at + need > total:
            return (f"object {index} at byte {start + at}, {need} bytes long, runs past its "
                    f"end at {total} bytes")
        at += need
    return None


class GuardedFile(io.FileIO):
    """A file opened for reading whose reads of global heap collections are checked first
    (:func:`collection_problem`); h5py reads through it with ``h5py.File(GuardedFile(path))``."""

    def __init__(self, path):
        super().__init__(path, "rb")
        self._length = length_size(self)
        self._checked = set()
        self.seek(0)

    def readinto(self, buffer) -> int:
        count = io.FileIO.readinto(self, buffer)   # the cheap test first: called for every read
        if count >= 4 and buffer[0] == COLLECTION[0] and memoryview(buffer)[:4] == COLLECTION:
            start = self.tell() - count
            if start not in self._checked:
                self._check(start)
        return count

    def _check(self, start: int) -> None:
        here = self.tell()
        try:
            self.seek(start)
            head = self.read(8 + self._length)
            if len(head) < 8 or head[4] != 1:    # not a version-1 collection: HDF5 refuses it
                return
            total = int.from_bytes(head[8:], "little")
            end = self.seek(0, os.SEEK_END)
            self.seek(start)
            data = self.read(max(min(total, end - start), len(head)))
        finally:
            self.seek(here)
        problem = collection_problem(data, self._length, start)
        if problem:
            raise OSError(f"damaged global heap collection at byte {start}: {problem}")
        self._checked.add(start)


class GuardedH5File(h5py.File):
    """An :class:`h5py.File` read through a :class:`GuardedFile`, closed with it."""

    def __init__(self, path):
        self._guard = GuardedFile(path)
        try:
            super().__init__(self._guard, "r")
        except BaseException:
            self._guard.close()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._guard.close()


def open_guarded(path) -> h5py.File:
    """Open an HDF5 file for a plain (not SWMR) read, its global heap collections checked
    before HDF5 decodes them; raises :class:`OSError` as :class:`h5py.File` does.

    HDF5 opens it plainly first, and closes it at once (opening reads no global heap), for its
    refusals: not HDF5, truncated, or flagged as open for writing, which it checks only with
    file locking, and the file-object driver has none."""
    h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY).close()
    return GuardedH5File(path)


def swmr_problem(path, seconds: float | None = None) -> str | None:
    """Read ``path`` in SWMR mode in a child process (root attributes, the last element of
    every dataset): why that failed or did not end within ``seconds`` (default
    :data:`SWMR_SECONDS`; SWMR retries a damaged metadata read up to 100 times, and a damaged
    global heap makes HDF5 loop), or None."""
    seconds = SWMR_SECONDS if seconds is None else seconds
    try:
        child = subprocess.run([sys.executable, "-c", SWMR_READ, str(path)],
                               capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return f"not readable in SWMR mode within {seconds:g} s: damaged?"
    if child.returncode:
        lines = child.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        return f"not readable in SWMR mode ({hdf5_reason(lines[-1])})"
    return None


def hdf5_reason(message: str) -> str:
    """The innermost reason of an HDF5 error message: ``Unable to … (truncated file: …)``."""
    head, paren, reason = message.partition("(")
    return reason.removesuffix(")") if paren else head
