"""Warehouse fixtures: a fresh SQLite file or a fresh PostgreSQL schema per test."""

from __future__ import annotations

import pytest

from cdp_pipeline.warehouse.engine import make_engine
from cdp_pipeline_tests.pgtools import postgres_unavailable_reason, temporary_schema


@pytest.fixture(scope="session")
def postgres_skip_reason():
    return postgres_unavailable_reason()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'warehouse' / 'warehouse.db'}"


@pytest.fixture
def postgres_schema_url(postgres_skip_reason):
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    with temporary_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request):
    """Every publish rule is checked on both engines the contract names."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    yield engine
    engine.dispose()
