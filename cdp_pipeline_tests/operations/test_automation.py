"""The nightly schedule and the drop sensor, evaluated against a real Dagster instance."""

import os
from pathlib import Path

import pytest
from dagster import (
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SensorResult,
    SkipReason,
    asset,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
)
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test, instance_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from cdp_pipeline.defs.automation import PUBLISH_TAG_KEY, build_automation, complete_drops
from cdp_pipeline.defs.retention import RAW_OUTPUT_ASSETS, scrub_raw_step_outputs
from cdp_pipeline.defs.resources import LandingResource


@asset
def segments():
    return 1


JOB = define_asset_job("nightly_job", selection=[segments])


def queued_run(instance, job_name: str):
    """A run waiting in the run queue (queued runs must name where their code lives)."""
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__)),
            repository_name="__repository__",
        ),
        job_name=job_name,
    )
    return create_run_for_test(instance, job_name=job_name, status=DagsterRunStatus.QUEUED, remote_job_origin=origin)


@pytest.fixture
def file_instance():
    """Schedules evaluate against an instance with an on-disk reference, as the daemon's is."""
    with instance_for_test(overrides={"telemetry": {"enabled": False}}) as test_instance:
        yield test_instance


def drop(landing: Path, source: str, day: str, *, complete: bool = True, mtime_ns: int | None = None) -> None:
    folder = landing / source / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contacts.csv").write_text("Record ID\n1\n")
    if complete:
        marker = folder / "_SUCCESS"
        marker.touch()
        if mtime_ns is not None:
            os.utime(marker, ns=(mtime_ns, mtime_ns))


def evaluate(sensor_def, instance, landing: Path, cursor: str | None = None):
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"landing": LandingResource(path=str(landing))})
    return sensor_def(context)


@pytest.fixture
def automation():
    return build_automation(JOB, cron="0 2 * * *", timezone="Europe/Madrid")


def test_complete_drops_lists_only_date_folders_with_a_success_marker(tmp_path):
    drop(tmp_path, "crm", "2026-11-01", mtime_ns=1_000)
    drop(tmp_path, "store", "2026-11-01", complete=False)
    drop(tmp_path, "crm", "not-a-date", mtime_ns=2_000)

    assert complete_drops(tmp_path) == {"crm/2026-11-01": 1_000}
    assert complete_drops(tmp_path / "missing") == {}


def test_sensor_skips_when_no_complete_drop_has_arrived(automation, instance, tmp_path):
    drop(tmp_path, "crm", "2026-11-01", complete=False)

    result = evaluate(automation[1], instance, tmp_path)

    assert isinstance(result, SkipReason) and "no new complete drop" in result.skip_message


def test_sensor_requests_one_run_keyed_by_the_drop_set_and_advances_its_cursor(automation, instance, tmp_path):
    drop(tmp_path, "crm", "2026-11-01", mtime_ns=1_000)
    drop(tmp_path, "store", "2026-11-01", mtime_ns=3_000)

    result = evaluate(automation[1], instance, tmp_path)

    assert isinstance(result, SensorResult) and result.cursor == "3000"
    [request] = result.run_requests
    assert request.run_key == "drops:crm/2026-11-01,store/2026-11-01"
    assert request.tags[PUBLISH_TAG_KEY] == "warehouse" and request.tags["cdp/newest_drop"] == "2026-11-01"


def test_sensor_never_requests_the_same_drop_twice(automation, instance, tmp_path):
    drop(tmp_path, "crm", "2026-11-01", mtime_ns=1_000)
    first = evaluate(automation[1], instance, tmp_path)

    again = evaluate(automation[1], instance, tmp_path, cursor=first.cursor)
    drop(tmp_path, "crm", "2026-11-02", mtime_ns=5_000)
    later = evaluate(automation[1], instance, tmp_path, cursor=first.cursor)

    assert isinstance(again, SkipReason)
    assert [r.run_key for r in later.run_requests] == ["drops:crm/2026-11-02"]


def test_sensor_waits_without_moving_its_cursor_while_a_run_is_queued_or_in_progress(automation, instance, tmp_path):
    drop(tmp_path, "crm", "2026-11-01", mtime_ns=1_000)
    run = queued_run(instance, "nightly_job")

    waiting = evaluate(automation[1], instance, tmp_path, cursor="500")
    instance.report_run_failed(instance.get_run_by_id(run.run_id))
    resumed = evaluate(automation[1], instance, tmp_path, cursor="500")

    assert isinstance(waiting, SkipReason) and run.run_id in waiting.skip_message
    assert isinstance(resumed, SensorResult) and resumed.cursor == "1000"


def test_runs_of_other_jobs_do_not_block_the_sensor(automation, instance, tmp_path):
    drop(tmp_path, "crm", "2026-11-01", mtime_ns=1_000)
    create_run_for_test(instance, job_name="some_other_job", status=DagsterRunStatus.STARTED)

    assert isinstance(evaluate(automation[1], instance, tmp_path), SensorResult)


def test_schedule_runs_nightly_in_the_configured_time_zone_with_the_publish_tag(automation, file_instance):
    schedule_def = automation[0]

    request = schedule_def(build_schedule_context(instance=file_instance))

    assert (schedule_def.cron_schedule, schedule_def.execution_timezone) == ("0 2 * * *", "Europe/Madrid")
    assert isinstance(request, RunRequest) and request.tags[PUBLISH_TAG_KEY] == "warehouse"


def test_schedule_skips_while_a_run_is_in_progress(automation, file_instance):
    create_run_for_test(file_instance, job_name="nightly_job", status=DagsterRunStatus.STARTED)

    assert isinstance(automation[0](build_schedule_context(instance=file_instance)), SkipReason)


def test_schedule_time_and_zone_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CDP_SCHEDULE_CRON", "30 5 * * 1-5")
    monkeypatch.setenv("CDP_SCHEDULE_TZ", "America/New_York")

    schedule_def, _ = build_automation(JOB)

    assert (schedule_def.cron_schedule, schedule_def.execution_timezone) == ("30 5 * * 1-5", "America/New_York")


def test_defaults_are_two_in_the_morning_utc(monkeypatch):
    monkeypatch.delenv("CDP_SCHEDULE_CRON", raising=False)
    monkeypatch.delenv("CDP_SCHEDULE_TZ", raising=False)

    schedule_def, _ = build_automation(JOB)

    assert (schedule_def.cron_schedule, schedule_def.execution_timezone) == ("0 2 * * *", "UTC")


def test_an_unknown_time_zone_or_cron_is_refused_when_definitions_load():
    with pytest.raises(Exception, match="Mars/Olympus"):
        build_automation(JOB, timezone="Mars/Olympus")
    with pytest.raises(Exception, match="cron"):
        build_automation(JOB, cron="every night")


def test_schedule_and_sensor_load_into_definitions_with_the_landing_resource(automation, tmp_path):
    defs = Definitions(
        assets=[segments], jobs=[JOB], schedules=[automation[0]], sensors=[automation[1]],
        resources={"landing": LandingResource(path=str(tmp_path))},
    )

    assert defs.resolve_schedule_def("nightly_job_nightly").job_name == "nightly_job"
    assert defs.resolve_sensor_def("nightly_job_on_drop").job_name == "nightly_job"


def test_a_successful_run_leaves_no_stored_raw_extract_behind(tmp_path):
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage = Path(instance.storage_directory())
        storage.mkdir(parents=True, exist_ok=True)
        for name in RAW_OUTPUT_ASSETS:
            (storage / name).mkdir()
            (storage / name / "table.arrow").write_bytes(b"raw rows")
        (storage / f"{RAW_OUTPUT_ASSETS[0]}.previous").mkdir()  # set aside by a write cut off
        (storage / "identity_resolution").mkdir()  # derived, not rows as delivered: it stays
        (storage / "identity_resolution" / "records.arrow").write_bytes(b"resolved records")
        assert sorted(scrub_raw_step_outputs(instance)) == sorted(RAW_OUTPUT_ASSETS)
        assert [p.name for p in storage.iterdir()] == ["identity_resolution"]
