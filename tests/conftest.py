from __future__ import annotations

import pytest

from inferledger.analytics.warehouse import open_warehouse
from inferledger.config import Settings, load_settings


@pytest.fixture
def warehouse(tmp_path):
    wh = open_warehouse(tmp_path / "test.duckdb")
    yield wh
    wh.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return load_settings(None, environ={}, overrides={"warehouse.path": str(tmp_path / "test.duckdb")})


# Lake and Dask tests: one real `dask scheduler` with two `dask worker` processes, and one
# S3 API server on loopback, per test module.
@pytest.fixture(scope="module")
def scheduler():
    from tests.lake_servers import dask_cluster

    with dask_cluster(2) as address:
        yield address


@pytest.fixture(scope="module")
def s3_lake():
    from tests.lake_servers import s3_server

    with s3_server() as url:
        yield url


@pytest.fixture
def client(scheduler):
    from distributed import Client

    with Client(scheduler) as c:
        yield c
