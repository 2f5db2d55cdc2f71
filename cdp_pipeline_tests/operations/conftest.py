"""Operations fixtures: Dagster instances in temporary folders, PostgreSQL availability."""

from __future__ import annotations

import pytest
from dagster import instance_for_test

from cdp_pipeline_tests.warehouse.pgtools import postgres_unavailable_reason


@pytest.fixture(scope="session")
def postgres_skip_reason():
    return postgres_unavailable_reason()


@pytest.fixture
def instance():
    """A real, file-backed Dagster instance in a temporary DAGSTER_HOME."""
    with instance_for_test(overrides={"telemetry": {"enabled": False}}) as test_instance:
        yield test_instance
