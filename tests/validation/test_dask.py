"""SGD runs on a real Dask cluster (scheduler + worker on 127.0.0.1) equal local-pool runs."""

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from ddsolver.storage import load_sgd  # noqa: E402
from ddsolver.validation import validate  # noqa: E402

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def cluster(tmp_path):
    """Address of a one-worker cluster started for this test, always shut down after it."""
    if DASK is None:
        pytest.skip("the dask command is not installed")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    log = (tmp_path / "dask.log").open("w")
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", port,
                                   "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT)]
    try:
        processes.append(subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(tmp_path / "worker")], stdout=log, stderr=subprocess.STDOUT))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            stop(process)
        log.close()


def test_validation_on_a_dask_cluster_equals_the_local_pool(cluster, tmp_path, tiny_case):
    remote = validate([tiny_case()], scheduler=cluster, cache_dir=tmp_path / "dask",
                      progress=False)
    local = validate([tiny_case()], workers=2, cache_dir=tmp_path / "local", progress=False)
    assert remote.metrics == local.metrics
    files = sorted(p.name for p in (tmp_path / "dask").glob("*.h5"))
    assert len(files) == 2 and files == sorted(p.name for p in (tmp_path / "local").glob("*.h5"))
    for name in files:
        a, b = load_sgd(tmp_path / "dask" / name), load_sgd(tmp_path / "local" / name)
        assert a.seed == b.seed
        assert np.array_equal(a.t, b.t) and np.array_equal(a.risk, b.risk)
        assert np.array_equal(a.coords["r"], b.coords["r"])
