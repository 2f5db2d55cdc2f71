"""Operations fixtures: Dagster instances in temporary folders, PostgreSQL availability."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from cdp_pipeline_tests.pgtools import postgres_unavailable_reason


@pytest.fixture(scope="session")
def postgres_skip_reason():
    return postgres_unavailable_reason()


@pytest.fixture
def instance():
    """A real Dagster instance (run, event and schedule storage in memory) per test."""
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral
