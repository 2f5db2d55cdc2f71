"""Publishers and crashes: one publisher at a time, and a killed publisher leaves the last run whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import text

from cdp_pipeline.warehouse.engine import make_engine
from cdp_pipeline.warehouse.errors import is_transient
from cdp_pipeline.warehouse.publish import (
    ADVISORY_LOCK_SQL,
    PUBLICATIONS_TABLE,
    PublishLockTimeout,
    latest_publication,
    publish_tables,
    read_table,
)
from cdp_pipeline_tests.warehouse.test_publish import REFERENCE, run_tables, table_names


def url_text(url) -> str:
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


def hold_publish_lock(engine):
    """Another session holding what a publisher needs: the advisory lock, or SQLite's write lock."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn = conn.execution_options(sqlite_immediate=True)
        conn.begin()
    else:
        conn.begin()
        conn.execute(text(ADVISORY_LOCK_SQL))
    return conn


def test_a_second_publisher_waits_for_the_lock_then_gives_up_with_a_transient_error(engine):
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)
    holder = hold_publish_lock(engine)
    try:
        started = time.perf_counter()
        with pytest.raises(PublishLockTimeout) as raised:
            publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE, lock_timeout_s=0.5)
        waited = time.perf_counter() - started
    finally:
        holder.rollback()
        holder.close()

    assert 0.4 <= waited < 10
    assert is_transient(raised.value)
    assert set(read_table(engine, "profiles")["run"]) == {1}
    publish_tables(engine, run_tables(3), "run-3", published_at=REFERENCE, lock_timeout_s=5)
    assert set(read_table(engine, "profiles")["run"]) == {3}


def test_two_simultaneous_publishers_are_serialised_and_both_land_whole(engine):
    errors = []

    def publisher(run: int):
        try:
            publish_tables(engine, run_tables(run, 5_000), f"run-{run}", published_at=REFERENCE)
        except Exception as exc:  # recorded for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(run,)) for run in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    history = read_table(engine, PUBLICATIONS_TABLE)
    assert sorted(history["seq"].unique()) == [1, 2]
    last_run = int(latest_publication(engine)["run_id"].iloc[0].split("-")[1])
    assert set(read_table(engine, "profiles")["run"]) == {last_run}
    assert set(read_table(engine, "segment_active")["run"]) == {last_run}


CHILD = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from cdp_pipeline.warehouse.engine import make_engine
    from cdp_pipeline.warehouse.publish import publish_tables
    from cdp_pipeline_tests.warehouse.test_publish import run_tables
    engine = make_engine(sys.argv[1])
    for run in range(2, 1000):
        print(f"publishing {run}", flush=True)
        publish_tables(engine, run_tables(run, int(sys.argv[2])), f"run-{run}", published_at=pd.Timestamp("2026-11-02"))
    """
)


def test_a_publisher_killed_with_sigkill_leaves_the_last_complete_run_and_the_next_run_publishes(engine, warehouse_url):
    rows, delay_s = 30_000, 0.1  # a publish of this size takes 0.15-0.3 s: the kill lands inside one
    publish_tables(engine, run_tables(1, rows), "run-1", published_at=REFERENCE)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url_text(warehouse_url), str(rows)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for line in child.stdout:
            if line.strip() == "publishing 3":  # run 2 is committed, run 3 is under way
                break
        time.sleep(delay_s)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()

    assert child.returncode == -signal.SIGKILL
    run = int(latest_publication(engine)["run_id"].iloc[0].split("-")[1])
    assert run >= 2
    profiles, segment = read_table(engine, "profiles"), read_table(engine, "segment_active")
    assert set(profiles["run"]) == {run} and len(profiles) == rows + run
    assert set(segment["run"]) == {run} and len(segment) == (rows + run) // 2

    publish_tables(engine, run_tables(100, 10), "run-100", published_at=REFERENCE, lock_timeout_s=30)

    assert set(read_table(engine, "profiles")["run"]) == {100}
    assert not [name for name in table_names(engine) if name.startswith("_stage_")]


@pytest.mark.postgres
def test_an_analyst_transaction_left_open_delays_the_swap_only_in_short_waits_then_it_lands(postgres_schema_url):
    engine = make_engine(postgres_schema_url)
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)
    analyst, reader_waits = engine.connect(), []
    analyst.execute(text("SELECT count(*) FROM profiles"))  # holds its lock until the transaction ends
    release = threading.Timer(1.5, analyst.rollback)
    release.start()

    def other_reader():
        with engine.connect() as conn:
            for _ in range(10):
                started = time.perf_counter()
                conn.execute(text("SELECT count(*) FROM profiles"))
                conn.rollback()
                reader_waits.append(time.perf_counter() - started)
                time.sleep(0.3)

    reader = threading.Thread(target=other_reader)
    reader.start()
    try:
        report = publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE, swap_lock_timeout_s=0.5)
    finally:
        release.join()
        reader.join()
        analyst.close()

    assert set(read_table(engine, "profiles")["run"]) == {2}
    assert report.swap_seconds >= 1.0
    assert max(reader_waits) < 1.5, "queries queue behind a waiting swap for at most one attempt"
    engine.dispose()


@pytest.mark.postgres
def test_a_reader_transaction_that_never_ends_makes_the_publish_give_up_transiently_leaving_the_old_run(postgres_schema_url):
    engine = make_engine(postgres_schema_url)
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)
    with engine.connect() as analyst:
        analyst.execute(text("SELECT count(*) FROM profiles"))
        with pytest.raises(PublishLockTimeout, match="2 swap attempts of 0.3 s") as raised:
            publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE, swap_attempts=2, swap_lock_timeout_s=0.3)
        analyst.rollback()

    assert is_transient(raised.value)
    assert set(read_table(engine, "profiles")["run"]) == {1}
    assert not [name for name in table_names(engine) if name.startswith("_stage_")]
    engine.dispose()
