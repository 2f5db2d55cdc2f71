"""Atomic publication of a run's tables, and reading them back.

Every table of a run is written under a staging name, then one transaction drops the previous
tables and renames the staged ones into place. Staging and swap share that single transaction,
so a failure or a killed process at any point rolls everything back: the previous tables stay,
and no staging table survives. Readers of SQLite (WAL) keep reading the old run until commit;
readers of PostgreSQL wait for the short swap and then see the new run (each statement sees
one whole run; DDL is transactional on both engines).

Publishers are serialised: PostgreSQL by a transaction-level advisory lock per schema, SQLite by
its single write transaction (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    inspect,
    insert,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TIMESTAMP, TypeEngine

TABLE_NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PUBLICATIONS_TABLE = "_cdp_publications"
STAGING_PREFIX = "_stage_"
INDEXED_COLUMN = "person_id"
MAX_IDENTIFIER = 63  # PostgreSQL silently truncates longer names: never let it
COPY_CHUNK_ROWS = 200_000
SQLITE_CHUNK_ROWS = 100_000
DEFAULT_LOCK_TIMEOUT_S = 60.0
SWAP_LOCK_TIMEOUT_S = 2.0  # capped below the server's deadlock_timeout, see _swap_waiting_for_readers
SWAP_ATTEMPTS = 40
SWAP_PAUSE_S = 0.5
ADVISORY_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('cdp_pipeline.publish:' || current_schema()))"


class PublishError(RuntimeError):
    """A publication was refused before touching the warehouse (bad name, unsupported column)."""


class PublishLockTimeout(RuntimeError):
    """Another run held the publish lock for too long; transient, retrying later is right."""


@dataclass(frozen=True)
class PublishReport:
    run_id: str
    published_at: pd.Timestamp
    row_counts: dict[str, int]
    dropped_tables: tuple[str, ...]
    stale_staging_dropped: tuple[str, ...]
    stage_seconds: float
    swap_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    @property
    def rows_per_second(self) -> float:
        elapsed = self.stage_seconds + self.swap_seconds
        return self.total_rows / elapsed if elapsed > 0 else float("inf")


def validate_table_name(name: str) -> str:
    """Refuses anything but a plain lower-case identifier: names never carry SQL."""
    if not isinstance(name, str) or not TABLE_NAME_PATTERN.fullmatch(name):
        raise PublishError(f"invalid warehouse table name {name!r}: must match {TABLE_NAME_PATTERN.pattern}")
    if name.startswith(STAGING_PREFIX) or name == PUBLICATIONS_TABLE:
        raise PublishError(f"table name {name!r} is reserved for the publisher")
    return name


def staging_name(run_id: str, table: str) -> str:
    """``_stage_<run token>_<table>``, hashed when too long so PostgreSQL never truncates it."""
    token = hashlib.sha1(run_id.encode("utf-8")).hexdigest()[:8]
    return _bounded(f"{STAGING_PREFIX}{token}_", table)


def index_name(table: str) -> str:
    return _bounded("ix_", table, f"_{INDEXED_COLUMN}")


def publish_tables(
    engine: Engine,
    tables: Mapping[str, pd.DataFrame],
    run_id: str,
    *,
    published_at: date | datetime | pd.Timestamp,
    drop_missing: set[str] | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    swap_attempts: int = SWAP_ATTEMPTS,
    swap_lock_timeout_s: float = SWAP_LOCK_TIMEOUT_S,
) -> PublishReport:
    """Publishes ``tables`` together, replacing earlier versions, in one transaction.

    ``published_at`` is the run's reference date (never the wall clock). ``drop_missing`` names
    previously published tables that must disappear in the same swap when this run does not
    produce them (a deleted segment's ``segment_<slug>``). A run waits up to
    ``lock_timeout_s`` for another publisher, then raises :class:`PublishLockTimeout`. On
    PostgreSQL the swap waits for readers' open transactions at most ``swap_lock_timeout_s``
    per attempt (queries queue behind a waiting swap, so it must stay short), up to
    ``swap_attempts`` times, before giving up with :class:`PublishLockTimeout`.
    """
    names = [validate_table_name(name) for name in tables]
    to_drop = sorted({validate_table_name(name) for name in drop_missing or ()} - set(names))
    frames = {name: _storable(name, tables[name]) for name in names}
    stamp = _utc_timestamp(published_at)
    sqlite = engine.dialect.name == "sqlite"

    started = time.perf_counter()
    with _publish_transaction(engine, lock_timeout_s) as conn:
        stale = _drop_stale_staging(conn)
        staged = {}
        for name, frame in frames.items():
            staged[name] = staging_name(run_id, name)
            _stage_table(conn, staged[name], frame, sqlite=sqlite)
        stage_seconds = time.perf_counter() - started
        swap_started = time.perf_counter()
        if sqlite:
            dropped = _swap(conn, staged, frames, to_drop, sqlite=True)
        else:
            dropped = _swap_waiting_for_readers(conn, staged, frames, to_drop, swap_attempts, swap_lock_timeout_s)
        _record_publication(conn, run_id, stamp, {name: len(frame) for name, frame in frames.items()})
    swap_seconds = time.perf_counter() - swap_started
    return PublishReport(
        run_id=run_id,
        published_at=stamp,
        row_counts={name: len(frame) for name, frame in frames.items()},
        dropped_tables=dropped,
        stale_staging_dropped=stale,
        stage_seconds=stage_seconds,
        swap_seconds=swap_seconds,
    )


def read_table(engine: Engine, name: str) -> pd.DataFrame:
    """A published table with its pandas types restored (SQLite keeps timestamps as text)."""
    if name != PUBLICATIONS_TABLE:
        validate_table_name(name)
    with engine.connect() as conn:
        table = Table(name, MetaData(), autoload_with=conn)
        frame = pd.read_sql_query(select(table), conn)
    sqlite = engine.dialect.name == "sqlite"
    for column in table.columns:
        frame[column.name] = _restore(frame[column.name], column.type, sqlite=sqlite)
    return frame


def latest_publication(engine: Engine) -> pd.DataFrame:
    """The rows of ``_cdp_publications`` for the newest publication (empty before the first)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(PUBLICATIONS_TABLE):
            return pd.DataFrame(columns=[c.name for c in _publications_table().columns])
    publications = read_table(engine, PUBLICATIONS_TABLE)
    return publications[publications["seq"] == publications["seq"].max()].reset_index(drop=True)


# --- the transaction and its lock -------------------------------------------------------------


@contextmanager
def _publish_transaction(engine: Engine, lock_timeout_s: float) -> Iterator[Connection]:
    """One connection, one transaction, holding the publish lock until commit or rollback."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if not sqlite:
            with conn.begin():
                _advisory_lock(conn, lock_timeout_s)
                conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
                yield conn
            return
        # busy_timeout bounds the wait for the write lock that BEGIN IMMEDIATE takes; set on the
        # driver connection because any statement through SQLAlchemy would already begin.
        raw = conn.connection.driver_connection
        previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout = {int(lock_timeout_s * 1000)}")
        try:
            try:
                transaction = conn.execution_options(sqlite_immediate=True).begin()
            except OperationalError as exc:
                if "locked" in str(exc.orig):
                    raise PublishLockTimeout(
                        f"another writer holds this warehouse (waited {lock_timeout_s:g} s)"
                    ) from exc
                raise
            with transaction:
                yield conn
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(previous)}")


def _advisory_lock(conn: Connection, lock_timeout_s: float) -> None:
    """Per-schema lock, released by commit, rollback or a dropped connection (killed run)."""
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
    try:
        conn.execute(text(ADVISORY_LOCK_SQL))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":
            raise PublishLockTimeout(
                f"another run is publishing to this warehouse (waited {lock_timeout_s:g} s)"
            ) from exc
        raise


def _drop_stale_staging(conn: Connection) -> tuple[str, ...]:
    """Staging tables left by a run of another publisher version or a crashed session."""
    stale = tuple(sorted(n for n in inspect(conn).get_table_names() if n.startswith(STAGING_PREFIX)))
    for name in stale:
        _table(name).drop(conn)
    return stale


# --- staging ----------------------------------------------------------------------------------


def _stage_table(conn: Connection, name: str, frame: pd.DataFrame, *, sqlite: bool) -> None:
    table = Table(name, MetaData(), *(Column(c, _sql_type(frame[c])) for c in frame.columns))
    table.create(conn)
    if sqlite:
        if not frame.empty:
            _insert_sqlite(conn, table, frame)
        return
    if not frame.empty:
        _copy_postgres(conn, table, frame)
    if INDEXED_COLUMN in frame.columns:
        Index(_bounded("", name, "_ix"), table.c[INDEXED_COLUMN]).create(conn)
    conn.execute(text(f"ANALYZE {_quote(conn, name)}"))


def _copy_postgres(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """COPY in CSV chunks written by Arrow: quoted values, unquoted empty = NULL, no row loop."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = ", ".join(_quote(conn, c.name) for c in table.columns)
    statement = f"COPY {_quote(conn, table.name)} ({columns}) FROM STDIN (FORMAT csv)"
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(statement) as copy:
        for chunk in _chunks(_naive_utc(frame), COPY_CHUNK_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(pa.Table.from_pandas(chunk, preserve_index=False), buffer, options)
            copy.write(buffer.getbuffer())


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """UTC wall times without offsets: Arrow formats these 15x faster than tz-aware ones, and
    the publish transaction pins the session time zone to UTC so PostgreSQL reads them right."""
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_convert("UTC").dt.tz_localize(None) for c in aware})


def _insert_sqlite(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """executemany over column arrays already converted to SQLite-native Python values."""
    statement = str(insert(table).compile(dialect=conn.dialect))
    cursor = conn.connection.driver_connection.cursor()
    try:
        for chunk in _chunks(frame, SQLITE_CHUNK_ROWS):
            columns = [_sqlite_values(chunk[c]) for c in chunk.columns]
            cursor.executemany(statement, zip(*columns))
    finally:
        cursor.close()


def _sqlite_values(series: pd.Series) -> list:
    """Python values sqlite3 binds natively: ISO text for timestamps, ints for booleans."""
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        # "YYYY-MM-DD HH:MM:SS.ffffff": SQLAlchemy's SQLite format, and SQLite's date functions read it
        values = pa.Array.from_pandas(series.astype("datetime64[us]")).cast(pa.string()).to_numpy(zero_copy_only=False)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        values = series.astype("Int64").to_numpy(dtype=object, na_value=None)
    else:
        values = series.to_numpy(dtype=object, na_value=None)
    values = np.array(values, dtype=object, copy=True)
    values[series.isna().to_numpy()] = None
    return values.tolist()


# --- swap and bookkeeping ---------------------------------------------------------------------


def _rename_into_place(conn: Connection, staged: str, name: str, frame: pd.DataFrame, *, sqlite: bool) -> None:
    conn.execute(text(f"ALTER TABLE {_quote(conn, staged)} RENAME TO {_quote(conn, name)}"))
    if INDEXED_COLUMN not in frame.columns:
        return
    if sqlite:
        # SQLite cannot rename an index; building it inside the write transaction costs readers nothing.
        table = Table(name, MetaData(), Column(INDEXED_COLUMN))
        Index(index_name(name), table.c[INDEXED_COLUMN]).create(conn)
    else:
        old = _quote(conn, _bounded("", staged, "_ix"))
        conn.execute(text(f"ALTER INDEX {old} RENAME TO {_quote(conn, index_name(name))}"))


def _swap(conn: Connection, staged: dict[str, str], frames: dict[str, pd.DataFrame], to_drop: list[str], *, sqlite: bool) -> tuple[str, ...]:
    """Drops the previous tables (and ``to_drop``) and renames the staged ones into place."""
    existing = set(inspect(conn).get_table_names())
    for name in [*staged, *to_drop]:
        if name in existing:
            _table(name).drop(conn)
    for name, staged_name in staged.items():
        _rename_into_place(conn, staged_name, name, frames[name], sqlite=sqlite)
    return tuple(name for name in to_drop if name in existing)


def _swap_waiting_for_readers(
    conn: Connection,
    staged: dict[str, str],
    frames: dict[str, pd.DataFrame],
    to_drop: list[str],
    attempts: int,
    lock_timeout_s: float,
) -> tuple[str, ...]:
    """The PostgreSQL swap in a savepoint with a short lock timeout, retried without re-staging.

    DROP needs an exclusive lock, so it waits for any reader transaction still open on an old
    table, and every new query queues behind it: short waits keep analysts' queries flowing.
    The wait stays under half the server's ``deadlock_timeout``: a reader joining two published
    tables may hold one while it waits for another the swap already holds, and the swap must
    give way (roll back its savepoint, releasing its locks) before the server resolves that
    deadlock by cancelling the analyst's query. Each attempt takes the locks in another order,
    so a reader that keeps joining the same tables finds one that agrees with its own.
    """
    deadlock_s = conn.exec_driver_sql("SELECT setting::float / 1000 FROM pg_settings WHERE name = 'deadlock_timeout'").scalar()
    wait_ms = max(int(min(lock_timeout_s, float(deadlock_s or 1.0) / 2) * 1000), 1)
    existing = set(inspect(conn).get_table_names())
    published = [name for name in [*staged, *to_drop] if name in existing]
    for attempt in range(attempts):
        savepoint = conn.begin_nested()
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait_ms}ms'")
            if published:
                order = published if attempt == 0 else np.random.default_rng(attempt).permutation(published)
                tables = ", ".join(_quote(conn, name) for name in order)
                conn.execute(text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
            dropped = _swap(conn, staged, frames, to_drop, sqlite=False)
        except OperationalError as exc:
            savepoint.rollback()
            if getattr(exc.orig, "sqlstate", None) not in ("55P03", "40P01"):  # lock timeout, deadlock
                raise
            if attempt < attempts - 1:
                time.sleep(SWAP_PAUSE_S)
            continue
        savepoint.commit()
        return dropped
    raise PublishLockTimeout(
        f"readers kept the published tables open through {attempts} swap attempts of {lock_timeout_s:g} s "
        "(an idle transaction in an analyst's session?)"
    )


def _publications_table() -> Table:
    return Table(
        PUBLICATIONS_TABLE,
        MetaData(),
        Column("seq", Integer, nullable=False),
        Column("run_id", Text, nullable=False),
        Column("published_at", TIMESTAMP(timezone=True), nullable=False),
        Column("table_name", Text, nullable=False),
        Column("row_count", BigInteger, nullable=False),
    )


def _record_publication(conn: Connection, run_id: str, stamp: pd.Timestamp, counts: dict[str, int]) -> None:
    """One row per table; ``seq`` orders publications even when reference dates repeat."""
    publications = _publications_table()
    publications.create(conn, checkfirst=True)
    seq = (conn.execute(select(func.coalesce(func.max(publications.c.seq), 0))).scalar_one()) + 1
    moment = stamp.to_pydatetime()
    rows = [
        {"seq": seq, "run_id": run_id, "published_at": moment, "table_name": name, "row_count": count}
        for name, count in counts.items()
    ]
    if rows:
        conn.execute(insert(publications), rows)


# --- types ------------------------------------------------------------------------------------


def _storable(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Checks column names and turns object/categorical columns into typed ones."""
    if not isinstance(frame, pd.DataFrame):
        raise PublishError(f"table {name!r}: expected a DataFrame, got {type(frame).__name__}")
    for column in frame.columns:
        if not isinstance(column, str) or not TABLE_NAME_PATTERN.fullmatch(column):
            raise PublishError(f"table {name!r}: invalid column name {column!r}")
    if frame.columns.duplicated().any():
        raise PublishError(f"table {name!r}: duplicated column names")
    converted = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype("string")
        if series.dtype == object:
            kind = pd.api.types.infer_dtype(series, skipna=True)
            series = series.convert_dtypes() if kind in ("boolean", "integer", "floating", "datetime") else series.astype("string")
        if pd.api.types.is_timedelta64_dtype(series.dtype) or pd.api.types.is_complex_dtype(series.dtype):
            raise PublishError(f"table {name!r}: column {column!r} has unsupported type {series.dtype}")
        converted[column] = series
    return pd.DataFrame(converted, index=pd.RangeIndex(len(frame)))


def _sql_type(series: pd.Series) -> TypeEngine:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TIMESTAMP(timezone=True)  # TIMESTAMP WITH TIME ZONE; on SQLite a "TIMESTAMP" text column
    if pd.api.types.is_datetime64_dtype(dtype):
        return DateTime()
    if pd.api.types.is_bool_dtype(dtype):
        return Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return Float(53)
    return Text()


def _restore(series: pd.Series, sql_type: TypeEngine, *, sqlite: bool) -> pd.Series:
    if isinstance(sql_type, DateTime):
        aware = bool(getattr(sql_type, "timezone", False)) or (sqlite and isinstance(sql_type, TIMESTAMP))
        parsed = pd.to_datetime(series, format="ISO8601", utc=aware) if series.dtype == object or pd.api.types.is_string_dtype(series.dtype) else series
        if aware:
            parsed = parsed.dt.tz_convert("UTC") if isinstance(parsed.dtype, pd.DatetimeTZDtype) else parsed.dt.tz_localize("UTC")
        return parsed.astype("datetime64[us, UTC]" if aware else "datetime64[us]")
    if isinstance(sql_type, Boolean):
        return series.astype("boolean")
    if isinstance(sql_type, (BigInteger, Integer)):
        return series.astype("Int64")
    if isinstance(sql_type, Float):
        return series.astype("float64")
    if isinstance(sql_type, Text) or pd.api.types.is_string_dtype(series.dtype):
        return series.astype("string")
    return series


# --- small helpers ----------------------------------------------------------------------------


def _table(name: str) -> Table:
    return Table(name, MetaData())


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _bounded(prefix: str, name: str, suffix: str = "") -> str:
    candidate = f"{prefix}{name}{suffix}"
    if len(candidate) <= MAX_IDENTIFIER:
        return candidate
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
    keep = MAX_IDENTIFIER - len(prefix) - len(suffix) - len(digest) - 1
    return f"{prefix}{name[:keep]}_{digest}{suffix}"


def _chunks(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def _utc_timestamp(moment: date | datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
