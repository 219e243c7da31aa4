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
