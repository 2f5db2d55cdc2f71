"""Retries in real job executions: a passing fault heals itself, a permanent one fails once, clearly."""

import threading

import pandas as pd
import pytest
from dagster import AssetExecutionContext, DagsterEventType, Definitions, asset, define_asset_job, in_process_executor
from sqlalchemy import text

from cdp_pipeline.defs.resources import WarehouseResource, warehouse_retry_policy
from cdp_pipeline.warehouse.engine import make_engine
from cdp_pipeline.warehouse.publish import ADVISORY_LOCK_SQL, read_table
from cdp_pipeline_tests.pgtools import postgres_url, temporary_schema

FRAME = pd.DataFrame({"person_id": pd.array(["p1", "p2"], dtype="string"), "score": [0.5, 0.25]})


def run_publish_job(instance, warehouse: WarehouseResource):
    @asset(retry_policy=warehouse_retry_policy(max_retries=4, delay_s=0.5))
    def engagement_scores(context: AssetExecutionContext, warehouse: WarehouseResource) -> None:
        warehouse.publish({"engagement_scores": FRAME}, context.run_id, published_at=pd.Timestamp("2026-11-02"))

    defs = Definitions(
        assets=[engagement_scores],
        jobs=[define_asset_job("publish_job", executor_def=in_process_executor)],
        resources={"warehouse": warehouse},
    )
    return defs.resolve_job_def("publish_job").execute_in_process(instance=instance, raise_on_error=False)


def events_of(result, event_type: DagsterEventType):
    return [event for event in result.all_events if event.event_type == event_type]


def error_chain(error) -> list[tuple[str, str]]:
    """(class, first line) of a serialised error and everything it wraps."""
    chain = []
    while error is not None:
        chain.append((error.cls_name, error.message.strip().splitlines()[0]))
        error = error.cause or error.context
    return chain


def hold_sqlite_write_lock_until_a_retry(url: str, instance) -> tuple[threading.Thread, threading.Event]:
    """An analyst's write transaction on the warehouse file, released once Dagster has scheduled
    a retry of the blocked step: the first attempt surely fails, the retry surely finds it free."""
    locked = threading.Event()

    def retry_scheduled() -> bool:
        return any(
            record.event_log_entry.dagster_event.event_type == DagsterEventType.STEP_UP_FOR_RETRY
            for run in instance.get_runs()
            for record in instance.get_records_for_run(run.run_id).records
            if record.event_log_entry.dagster_event is not None
        )

    def holder():
        engine = make_engine(url)
        with engine.connect().execution_options(sqlite_immediate=True) as conn:
            conn.begin()
            conn.execute(text("CREATE TABLE IF NOT EXISTS analyst_notes (x INTEGER)"))
            locked.set()
            for _ in range(600):  # at most 30 s
                if retry_scheduled():
                    break
                threading.Event().wait(0.05)
            conn.rollback()
        engine.dispose()

    thread = threading.Thread(target=holder)
    thread.start()
    return thread, locked


def test_a_publish_hitting_a_locked_sqlite_file_is_retried_with_backoff_and_succeeds(instance, tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    thread, locked = hold_sqlite_write_lock_until_a_retry(url, instance)
    locked.wait(timeout=10)
    try:
        result = run_publish_job(instance, WarehouseResource(url=url, publish_lock_timeout_s=0.2))
    finally:
        thread.join()

    assert result.success
    retries = events_of(result, DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) == 1
    chain = error_chain(retries[0].event_specific_data.error)
    assert (
        "TransientWarehouseError",
        "cdp_pipeline.warehouse.errors.TransientWarehouseError: "
        "PublishLockTimeout: another writer holds this warehouse (waited 0.2 s)",
    ) in chain
    assert read_table(make_engine(url), "engagement_scores")["score"].tolist() == [0.5, 0.25]


def test_a_permanent_error_fails_on_the_first_attempt_with_one_clear_line(instance, tmp_path):
    (tmp_path / "not_a_folder").write_text("")
    result = run_publish_job(instance, WarehouseResource(url=f"sqlite:///{tmp_path / 'not_a_folder' / 'w.db'}"))

    assert not result.success
    assert events_of(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    failure = events_of(result, DagsterEventType.STEP_FAILURE)[0].event_specific_data.error
    assert "warehouse error (not retried): OperationalError: unable to open database file" in failure.message
    assert failure.cause is None


@pytest.mark.postgres
def test_a_missing_postgres_database_fails_without_retry_and_without_showing_the_password(instance, postgres_skip_reason):
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    url = postgres_url().set(database="cdp_no_such_database", password="s3cr3t-pw").render_as_string(hide_password=False)
    result = run_publish_job(instance, WarehouseResource(url=url))

    assert not result.success
    assert events_of(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    failure = events_of(result, DagsterEventType.STEP_FAILURE)[0].event_specific_data.error
    assert 'database "cdp_no_such_database" does not exist' in failure.message
    all_text = " ".join(str(event) for event in instance.all_logs(result.run_id))
    assert "s3cr3t-pw" not in all_text


@pytest.mark.postgres
def test_a_publish_whose_database_connection_is_killed_recovers_on_retry(instance, postgres_skip_reason):
    """The publisher's backend is terminated while it waits for the publish lock (a server
    restart, as the publisher sees it); the step retries on a fresh connection and publishes."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    with temporary_schema() as url:
        holder_engine, killed = make_engine(url), []
        holder = holder_engine.connect()
        holder.execute(text(ADVISORY_LOCK_SQL))
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()

        def kill_the_waiting_publisher():
            # a separate autocommit session: inside a transaction pg_stat_activity is a frozen snapshot
            with holder_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
                for _ in range(600):  # at most 30 s
                    pids = watcher.execute(
                        text("SELECT pid FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                        {"holder": holder_pid},
                    ).scalars().all()
                    if pids:
                        watcher.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
                        killed.append(pids[0])
                        holder.rollback()  # releases the lock for the retry
                        return
                    threading.Event().wait(0.05)

        killer = threading.Thread(target=kill_the_waiting_publisher)
        killer.start()
        try:
            warehouse = WarehouseResource(url=url.render_as_string(hide_password=False), publish_lock_timeout_s=20)
            result = run_publish_job(instance, warehouse)
        finally:
            killer.join()
            holder.close()
            holder_engine.dispose()

        assert len(killed) == 1
        assert result.success
        assert len(events_of(result, DagsterEventType.STEP_UP_FOR_RETRY)) == 1
        assert read_table(make_engine(url), "engagement_scores")["score"].tolist() == [0.5, 0.25]
