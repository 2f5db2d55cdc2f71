"""PostgreSQL helpers for tests: a private schema or database per test, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from cdp_pipeline.warehouse.errors import describe_error, is_transient

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> URL:
    return make_url(os.environ.get("CDP_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)).set(
        drivername="postgresql+psycopg"
    )


def postgres_unavailable_reason() -> str | None:
    """None when the server answers; why PostgreSQL tests must skip when none does.

    A server that answers but refuses us (credentials, missing database) is an error, not a skip.
    """
    engine = create_engine(postgres_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        if not is_transient(exc):
            raise
        return f"no PostgreSQL server answers at {postgres_url().render_as_string(hide_password=True)}: {describe_error(exc)}"
    finally:
        engine.dispose()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def temporary_schema() -> Iterator[URL]:
    """A URL whose search_path is a fresh schema, so unqualified tables land only there."""
    schema = unique_name("cdp_test")
    admin = create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url().update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def temporary_database() -> Iterator[URL]:
    """A fresh database on the test server, dropped (connections and all) afterwards."""
    name = unique_name("cdp_test")
    admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url().set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
