"""deploy/dagster.yaml against the real PostgreSQL server: a run is recorded and read back."""

import shutil
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, Definitions, asset, define_asset_job, in_process_executor

from cdp_pipeline.defs.automation import PUBLISH_TAG_KEY, PUBLISH_TAGS
from cdp_pipeline_tests.pgtools import temporary_database

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@asset
def heartbeat() -> int:
    return 1


@pytest.fixture(scope="module")
def production_instance(postgres_skip_reason, tmp_path_factory):
    """The production yaml, unchanged, on a fresh database; values only through env vars."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    home = tmp_path_factory.mktemp("dagster_home")
    with temporary_database() as url, pytest.MonkeyPatch.context() as env:
        for name, value in {
            "DAGSTER_PG_HOST": url.host,
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": url.database,
            "DAGSTER_PG_USER": url.username,
            "DAGSTER_PG_PASSWORD": url.password or "",
            "DAGSTER_COMPUTE_LOG_DIR": str(home / "logs"),
        }.items():
            env.setenv(name, value)
        shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
        instance = DagsterInstance.from_config(str(home))
        try:
            yield instance
        finally:
            instance.dispose()


@pytest.mark.postgres
def test_runs_events_and_schedules_are_stored_in_postgres_and_read_back(production_instance):
    job = Definitions(
        assets=[heartbeat], jobs=[define_asset_job("heartbeat_job", executor_def=in_process_executor, tags=PUBLISH_TAGS)]
    ).resolve_job_def("heartbeat_job")

    result = job.execute_in_process(instance=production_instance)

    for storage in (production_instance.run_storage, production_instance.event_log_storage, production_instance.schedule_storage):
        assert type(storage).__module__.startswith("dagster_postgres")
    run = production_instance.get_run_by_id(result.run_id)
    assert run.status == DagsterRunStatus.SUCCESS and run.tags[PUBLISH_TAG_KEY] == "warehouse"
    materialization = production_instance.get_latest_materialization_event(heartbeat.key)
    assert materialization is not None and materialization.run_id == result.run_id
    event_types = {record.event_log_entry.dagster_event_type for record in production_instance.get_records_for_run(result.run_id).records}
    assert {DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS} <= event_types


@pytest.mark.postgres
def test_runs_that_publish_are_queued_one_at_a_time_and_telemetry_is_off(production_instance):
    queue = production_instance.run_coordinator.get_run_queue_config()

    assert type(production_instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert {"key": PUBLISH_TAG_KEY, "limit": 1} in queue.tag_concurrency_limits
    assert production_instance.get_settings("telemetry") == {"enabled": False}
    assert production_instance.run_monitoring_enabled and production_instance.run_retries_enabled
