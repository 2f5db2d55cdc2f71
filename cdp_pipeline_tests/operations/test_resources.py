"""Resources read their locations from the environment at run time; errors are sorted for retry."""

import pandas as pd
import pytest
from dagster import Backoff, Failure, Jitter

from cdp_pipeline.defs.resources import (
    WAREHOUSE_RETRY_POLICY,
    LandingResource,
    StateResource,
    WarehouseResource,
    default_resources,
    raise_for_failure,
)
from cdp_pipeline.warehouse.errors import TransientWarehouseError


def test_warehouse_url_comes_from_the_environment_when_not_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("CDP_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    warehouse = WarehouseResource()

    warehouse.publish({"profiles": pd.DataFrame({"person_id": ["p1"]})}, "run-1", published_at=pd.Timestamp("2026-11-02"))

    assert (tmp_path / "env.db").exists()
    assert warehouse.read("profiles")["person_id"].tolist() == ["p1"]


def test_warehouse_defaults_to_the_embedded_sqlite_file(monkeypatch):
    monkeypatch.delenv("CDP_WAREHOUSE_URL", raising=False)
    assert WarehouseResource().resolved_url() == "sqlite:///data/warehouse.db"


def test_the_warehouse_url_shown_to_people_hides_the_password(monkeypatch):
    monkeypatch.setenv("CDP_WAREHOUSE_URL", "postgresql+psycopg://cdp:s3cr3t@db:5432/wh")
    assert WarehouseResource().display_url() == "postgresql+psycopg://cdp:***@db:5432/wh"


def test_folders_come_from_the_environment_unless_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("CDP_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CDP_STATE_DIR", str(tmp_path / "state"))

    assert LandingResource().folder == tmp_path / "landing"
    assert StateResource().folder == tmp_path / "state"
    assert LandingResource(path="/srv/drops").folder.as_posix() == "/srv/drops"


def test_default_resources_name_the_keys_assets_and_sensors_use():
    assert set(default_resources()) == {"warehouse", "landing", "state", "io_manager", "frame_folders"}


def test_retry_policy_backs_off_exponentially_with_jitter():
    assert WAREHOUSE_RETRY_POLICY.backoff == Backoff.EXPONENTIAL
    assert WAREHOUSE_RETRY_POLICY.jitter == Jitter.PLUS_MINUS
    assert WAREHOUSE_RETRY_POLICY.max_retries >= 3


def test_transient_errors_are_re_raised_for_the_retry_policy_with_a_masked_message():
    with pytest.raises(TransientWarehouseError) as raised:
        raise_for_failure(ConnectionResetError("connection reset while sending jane@example.com"))
    assert "jane@example.com" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_permanent_errors_become_a_failure_that_is_not_retried():
    with pytest.raises(Failure) as raised:
        raise_for_failure(PermissionError("permission denied for postgresql://cdp:pw123@db/wh"))
    assert raised.value.allow_retries is False
    assert "pw123" not in raised.value.description
    assert raised.value.description.startswith("warehouse error (not retried): PermissionError: permission denied")
