"""The global heap check of storage.guard on hand-made collections, the guarded open on a real
file, and a killed writer's file: read in SWMR mode, after a child process, even when damaged
(the end-to-end regression of a damaged heap is in tests/fuzz/test_hdf5_corpus.py)."""

import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from ddsolver.errors import DdsolverError
from ddsolver.storage import guard
from ddsolver.storage.guard import collection_problem, length_size, open_guarded
from ddsolver.storage.stream import open_file

# a writer killed in SWMR mode: the file stays flagged open for writing
KILL_IN_SWMR = textwrap.dedent("""
    import os, sys, h5py
    f = h5py.File(sys.argv[1], "w", libver="latest")
    f.attrs.update({"format": "ddsolver.sgd", "status": "running"})
    f.create_dataset("t", data=[0.0], maxshape=(None,))
    f.swmr_mode = True
    os._exit(0)
""")


def _collection(*objects: tuple[int, bytes], size: int = 4096) -> bytes:
    """A version-1 collection of ``size`` bytes holding ``objects`` (index, data), then the
    free-space object, as HDF5 writes it (8-byte lengths)."""
    body = b""
    for index, data in objects:
        padded = data.ljust(-(-len(data) // 8) * 8, b"\0")
        body += index.to_bytes(2, "little") + bytes(6) + len(data).to_bytes(8, "little") + padded
    free = size - 16 - len(body)
    body += bytes(8) + free.to_bytes(8, "little")
    return (b"GCOL\x01" + bytes(3) + size.to_bytes(8, "little") + body).ljust(size, b"\0")


def _set_size(data: bytes, at: int, size: int) -> bytes:
    """``data`` with the size field of the object at byte ``at`` (0: of the collection) set."""
    return data[:at + 8] + size.to_bytes(8, "little") + data[at + 16:]


def test_an_intact_collection_passes():
    assert collection_problem(_collection((1, b"complete"), (2, b"ddsolver.sgd")), 8) is None
    assert collection_problem(_collection(size=4096), 8) is None


@pytest.mark.parametrize("damage, reason", [
    (lambda c: _set_size(c, 16, 247), "free-space object at byte 280 has size 0"),
    (lambda c: _set_size(c, 16, 5000), "object 1 at byte 16, 5016 bytes long, runs past"),
    (lambda c: _set_size(c, 40, 0), "free-space object at byte 40 has size 0"),
    (lambda c: _set_size(c, 0, 4096 * 3), "runs past the end of the file"),
    (lambda c: c[:2048], "runs past the end of the file"),
    (lambda c: _set_size(c, 0, 8), "smaller than its header"),
], ids=["into-free-space", "past-its-end", "empty-free-space", "size-past-eof", "cut",
        "tiny"])
def test_a_collection_hdf5_cannot_walk_is_named(damage, reason):
    collection = _collection((1, b"complete"))
    problem = collection_problem(damage(collection), 8, 0)
    assert problem is not None and reason in problem


def test_guarded_open_reads_like_h5py(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs.update({f"text{k}": f"value {k}" for k in range(12)})
        f["x"] = np.arange(5.0)
    with open(path, "rb") as fh:
        assert length_size(fh) == 8
    with open_guarded(path) as f:
        assert dict(f.attrs) == {f"text{k}": f"value {k}" for k in range(12)}
        assert list(f["x"][:]) == [0.0, 1.0, 2.0, 3.0, 4.0]


def loop_damage(data: bytearray, at: int) -> None:
    """Grow by 16 bytes the size of the last object of the global heap collection at byte
    ``at`` (the object before its free space; 8-byte lengths): HDF5's walk over the objects
    then lands in the zero-filled free space and reads an object of size 0 there, on which it
    loops forever."""
    p, last = at + 16, None
    while int.from_bytes(data[p:p + 2], "little"):          # index 0: the free space
        last = p
        p += 16 + -(-int.from_bytes(data[p + 8:p + 16], "little") // 8) * 8
    size = int.from_bytes(data[last + 8:last + 16], "little")
    data[last + 8:last + 16] = (size + 16).to_bytes(8, "little")


def _killed_writer(path):
    subprocess.run([sys.executable, "-c", KILL_IN_SWMR, str(path)], check=True)
    return path


def test_a_killed_writers_file_is_read_in_swmr_mode(tmp_path):
    """The file-object driver has no file locking, with which alone HDF5 refuses a plain read
    of a file flagged as open for writing: the guarded open keeps that refusal."""
    path = _killed_writer(tmp_path / "killed.h5")
    with pytest.raises(OSError, match="already open for write"):
        open_guarded(path)
    with open_file(path) as f:
        assert f.swmr_mode and f.attrs["status"] == "running"


def test_a_killed_writers_damaged_heap_is_refused_in_time(tmp_path, monkeypatch):
    """HDF5 loops on the damaged heap in the child process, which is killed: one line."""
    path = _killed_writer(tmp_path / "killed.h5")
    data = bytearray(path.read_bytes())
    loop_damage(data, data.find(b"GCOL"))
    path.write_bytes(bytes(data))
    monkeypatch.setattr(guard, "SWMR_SECONDS", 2.0)
    start = time.perf_counter()
    with pytest.raises(DdsolverError, match="open for writing .* not readable in SWMR mode "
                                            "within 2 s"):
        open_file(path)
    assert time.perf_counter() - start < 10
