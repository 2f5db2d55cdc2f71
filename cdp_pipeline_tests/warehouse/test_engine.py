"""Engines: SQLite is configured for concurrent readers and atomic DDL; URLs never show passwords."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from cdp_pipeline.warehouse.engine import display_url, make_engine


def test_sqlite_engine_creates_the_folder_and_uses_wal_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'w.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    assert (tmp_path / "deep" / "er" / "w.db").exists()


def test_sqlite_ddl_inside_a_transaction_is_rolled_back_with_it(sqlite_url):
    """pysqlite on its own would autocommit CREATE/DROP; the swap relies on this not happening."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (x INTEGER)"))
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("DROP TABLE kept"))
        conn.execute(text("CREATE TABLE discarded (x INTEGER)"))
        raise RuntimeError("abort")
    assert inspect(engine).get_table_names() == ["kept"]


def test_a_sqlite_read_transaction_keeps_its_snapshot_while_a_writer_commits(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 1
        with engine.begin() as writer:
            writer.execute(text("INSERT INTO t VALUES (2)"))
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 1
        reader.rollback()
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_postgresql_urls_use_psycopg_3_whatever_driver_they_name():
    for url in ("postgresql://u:p@h/db", "postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"):
        assert make_engine(url).url.drivername == "postgresql+psycopg"


def test_display_url_hides_the_password():
    shown = display_url("postgresql+psycopg://cdp:s3cr3t-pw@db.internal:5432/warehouse")
    assert "s3cr3t-pw" not in shown and shown == "postgresql+psycopg://cdp:***@db.internal:5432/warehouse"
    assert "s3cr3t-pw" not in display_url(make_engine("postgresql://cdp:s3cr3t-pw@h/w"))
