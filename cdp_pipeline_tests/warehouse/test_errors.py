"""Transient versus permanent warehouse errors, checked against errors real servers raise."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text

from cdp_pipeline.warehouse.engine import make_engine
from cdp_pipeline.warehouse.errors import TransientWarehouseError, describe_error, is_transient
from cdp_pipeline.warehouse.publish import PublishLockTimeout
from cdp_pipeline_tests.pgtools import postgres_url, unique_name


def error_of(engine, sql: str = "SELECT 1") -> Exception:
    with pytest.raises(Exception) as raised, engine.connect() as conn:
        conn.execute(text(sql))
    return raised.value


def test_sqlite_database_is_locked_is_transient(sqlite_url):
    writer, waiter = make_engine(sqlite_url), make_engine(sqlite_url, busy_timeout_ms=20)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with writer.connect().execution_options(sqlite_immediate=True) as holder:
        holder.begin()
        holder.execute(text("INSERT INTO t VALUES (1)"))
        exc = error_of(waiter, "INSERT INTO t VALUES (2)")
    assert "database is locked" in str(exc) and is_transient(exc)


def test_sqlite_file_that_cannot_be_opened_is_permanent(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    exc = error_of(make_engine(f"sqlite:///{tmp_path / 'a_file' / 'w.db'}"))
    assert not is_transient(exc)


def test_sqlite_schema_error_is_permanent(sqlite_url):
    assert not is_transient(error_of(make_engine(sqlite_url), "SELECT * FROM no_such_table"))


@pytest.mark.postgres
def test_postgres_connection_killed_mid_session_is_transient(postgres_skip_reason):
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    engine, admin = make_engine(postgres_url()), make_engine(postgres_url())
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(Exception) as raised:
            conn.execute(text("SELECT 1"))
    assert is_transient(raised.value)


@pytest.mark.postgres
def test_postgres_server_not_listening_is_transient(postgres_skip_reason):
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    closed_port = postgres_url().set(port=1)
    assert is_transient(error_of(create_engine(closed_port)))


@pytest.mark.postgres
def test_postgres_missing_database_unknown_role_and_missing_table_are_permanent(postgres_skip_reason):
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    assert not is_transient(error_of(make_engine(postgres_url().set(database="cdp_no_such_database"))))
    assert not is_transient(error_of(make_engine(postgres_url().set(username="cdp_no_such_role"))))
    assert not is_transient(error_of(make_engine(postgres_url()), "SELECT * FROM cdp_no_such_table"))


@pytest.mark.postgres
def test_postgres_permission_denied_is_permanent(postgres_schema_url):
    engine, role = make_engine(postgres_schema_url), unique_name("cdp_nobody")
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        conn.execute(text("CREATE TABLE guarded (x INTEGER)"))
        conn.execute(text(f'CREATE ROLE "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
    try:
        with pytest.raises(Exception) as raised, engine.begin() as conn:
            conn.execute(text(f'SET LOCAL ROLE "{role}"'))
            conn.execute(text("SELECT * FROM guarded"))
        assert "permission denied" in str(raised.value) and not is_transient(raised.value)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE guarded"))
            conn.execute(text(f'REVOKE USAGE ON SCHEMA "{schema}" FROM "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_authentication_failure_is_permanent():
    exc = psycopg.OperationalError('connection failed: FATAL:  password authentication failed for user "cdp"')
    assert not is_transient(exc)


def test_lock_timeouts_and_already_classified_errors_are_transient():
    assert is_transient(PublishLockTimeout("busy"))
    assert is_transient(TransientWarehouseError("connection lost"))
    assert not is_transient(RuntimeError("a bug, not a fault"))


def test_a_cause_chain_is_followed_to_the_driver_error():
    try:
        try:
            raise ConnectionResetError("connection reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("publish failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_described_errors_are_one_line_without_passwords_or_personal_data():
    exc = ValueError(
        "cannot reach postgresql+psycopg://cdp:pa55word@db.internal:5432/wh password=hunter2\n"
        "DETAIL: Key (email)=(jane.doe@example.com) already exists"
    )
    message = describe_error(exc)
    assert "\n" not in message and message.startswith("ValueError: cannot reach")
    assert "pa55word" not in message and "hunter2" not in message
    detail = describe_error(ValueError("Key (email)=(jane.doe@example.com) exists, phone 612.34.56.78 or +34 612 34 56 78"))
    assert "jane.doe@example.com" not in detail and "612.34.56" not in detail and "612 34 56" not in detail


def test_the_server_a_connection_error_names_stays_readable():
    message = describe_error(OSError('connection failed: connection to server at "10.0.0.7", port 5432 failed: Connection refused'))
    assert 'server at "10.0.0.7"' in message
