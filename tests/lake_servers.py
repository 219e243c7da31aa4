"""Real servers for the lake tests and the scale benchmark: a Dask scheduler with worker
processes (`dask scheduler`, `dask worker`), and an S3 API (moto's server) on loopback."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

from tests.harness import free_port

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
          "AWS_EC2_METADATA_DISABLED": "true"}
# the `dask` command line, run by this interpreter (a venv sharing packages through a .pth has no script)
DASK = [sys.executable, "-m", "dask"]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


@contextlib.contextmanager
def dask_cluster(workers: int = 2, memory_limit: str = "2GB", env: dict | None = None) -> Iterator[str]:
    """A `dask scheduler` and `workers` `dask worker` processes (one thread each); yields tcp://127.0.0.1:PORT."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    penv = {**os.environ, **S3_ENV, **(env or {}), "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([*DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              env=penv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [*DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--memory-limit", memory_limit, "--host", "127.0.0.1"],
                env=penv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        _stop(procs)


@contextlib.contextmanager
def s3_server(bucket: str = "lake") -> Iterator[str]:
    """moto's S3 API on loopback with one bucket; yields the lake URL pyarrow opens (credentials via S3_ENV)."""
    import boto3
    from moto.server import ThreadedMotoServer

    for k, v in S3_ENV.items():
        os.environ.setdefault(k, v)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        yield f"s3://{bucket}/lake?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    finally:
        server.stop()
