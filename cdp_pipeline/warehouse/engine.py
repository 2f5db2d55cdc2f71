"""SQLAlchemy engines for the warehouse: SQLite (embedded default) and PostgreSQL (production).

Credentials come only from the URL, which comes only from the environment; the URL is shown
to people only through :func:`display_url`, which hides the password.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and real transactional DDL.

    ``postgresql://`` and ``postgres://`` URLs are routed to psycopg 3 so no second driver is
    needed. ``busy_timeout_ms`` is how long a SQLite writer waits for another writer before
    "database is locked" (a transient error the retry policy handles).
    """
    parsed = _normalise_url(make_url(url) if isinstance(url, str) else url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    return create_engine(parsed, pool_pre_ping=True)


def display_url(engine_or_url: Engine | str | URL) -> str:
    """The URL with its password hidden: the only form that may reach a log or metadata."""
    if isinstance(engine_or_url, Engine):
        url = engine_or_url.url
    else:
        url = make_url(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    return url.render_as_string(hide_password=True)


def _normalise_url(url: URL) -> URL:
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        try:
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the first connection then fails with SQLite's own "unable to open database file"
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # pysqlite's own transaction handling skips BEGIN before DDL, which would make the
        # table swap non-atomic; SQLAlchemy emits BEGIN itself instead (see the begin hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # IMMEDIATE takes the write lock up front: the lock that serialises publishers.
        mode = "BEGIN IMMEDIATE" if connection.get_execution_options().get("sqlite_immediate") else "BEGIN"
        connection.exec_driver_sql(mode)

    return engine
