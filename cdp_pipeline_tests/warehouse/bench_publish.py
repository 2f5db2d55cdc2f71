"""Publish throughput benchmark: ``python -m cdp_pipeline_tests.warehouse.bench_publish --rows 1000000``.

Publishes a profiles-like table (text, numbers, booleans, timestamps) twice into a fresh SQLite
file and a fresh PostgreSQL schema, while a reader queries it in a loop, and prints rows/s,
the reader's longest wait and whether it ever saw a partial table.

``--from-warehouse URL --scale N`` publishes a whole run instead: every table of a published
warehouse (a 100k `make bench` run, say), its persons copied N times under new ids, so N=10
gives a 1M-person run with all its tables. The reader then checks, in one statement, that the
profiles, a segment table and the catalogue all belong to the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from cdp_pipeline.warehouse.engine import make_engine
from cdp_pipeline.warehouse.publish import publish_tables

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def profiles_like(rows: int, run: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed + run)
    ids = pd.Series(np.char.add("p", np.arange(rows).astype(str)), dtype="string")
    return pd.DataFrame(
        {
            "person_id": ids,
            "first_name": pd.Series(rng.choice(["Ana", "José", "Zoë", "Μαρία", "Li"], rows), dtype="string"),
            "primary_email": ids + "@example.com",
            "country": pd.Series(rng.choice(["ES", "DE", "FR", "US"], rows), dtype="string"),
            "orders": pd.array(rng.integers(0, 20, rows), dtype="Int64"),
            "total_spent": rng.gamma(2.0, 50.0, rows),
            "sendable": pd.array(rng.random(rows) < 0.7, dtype="boolean"),
            "last_activity_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86_400 * 300, rows), unit="s"),
            "run": np.full(rows, run, dtype="int64"),
        }
    )


def _publish_while_reading(engine, tables: dict[str, pd.DataFrame], query, is_whole) -> dict:
    """Publishes ``tables`` as run "bench-2" while a reader runs ``query`` in a loop, each time
    in its own transaction; ``is_whole(row)`` says whether a result shows one run, whole. The
    row's first column names the run it saw. Returns the publish's and the reader's figures."""
    stop = threading.Event()
    waits, partial, seen, errors = [], [], set(), []

    def reader():
        with engine.connect() as conn:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    row = tuple(conn.execute(query).one())
                except Exception as exc:  # noqa: BLE001 - an analyst's failed query is the finding
                    errors.append(type(getattr(exc, "orig", exc)).__name__)
                    conn.rollback()
                    continue
                conn.rollback()
                waits.append(time.perf_counter() - started)
                seen.add(row[0])
                if not is_whole(row):
                    partial.append(row)

    thread = threading.Thread(target=reader)
    thread.start()
    report = publish_tables(engine, tables, "bench-2", published_at=pd.Timestamp("2026-01-02"))
    stop.set()
    thread.join()
    return {
        "stage_s": round(report.stage_seconds, 2),
        "swap_s": round(report.swap_seconds, 3),
        "rows_per_s": round(report.rows_per_second),
        "reader_queries": len(waits),
        "reader_max_wait_s": round(max(waits), 3) if waits else None,
        "reader_saw_runs": sorted(seen),
        "reader_partial_views": len(partial),
        "reader_errors": errors,
    }


def bench(engine, rows: int) -> dict:
    """One profiles-like table published twice; the reader counts it and its run markers."""
    frames = [profiles_like(rows, run) for run in (1, 2)]
    publish_tables(engine, {"profiles": frames[0]}, "bench-1", published_at=pd.Timestamp("2026-01-01"))
    query = text("SELECT min(run), max(run), count(*) FROM profiles")
    figures = _publish_while_reading(
        engine, {"profiles": frames[1]}, query, lambda row: row[0] == row[1] and row[2] == rows
    )
    return {"rows": rows, **figures}


def scaled_run(warehouse_url: str, scale: int) -> dict[str, pd.DataFrame]:
    """Every published table of a warehouse, its persons copied ``scale`` times under new ids."""
    from sqlalchemy import inspect

    from cdp_pipeline.bench.scale import copies_of_persons
    from cdp_pipeline.warehouse.publish import read_table

    source = make_engine(warehouse_url)
    names = [n for n in inspect(source).get_table_names() if not n.startswith("_")]
    tables = {name: copies_of_persons(read_table(source, name), scale) for name in names}
    source.dispose()
    return tables


def bench_whole_run(engine, tables: dict[str, pd.DataFrame], segment: str = "segment_webinar_attendees") -> dict:
    """Publishes ``tables`` as run 1, then as run 2 (1% fewer profiles) while a reader checks
    in one statement that profiles, a segment table and the catalogue are of one run."""
    first = dict(tables, segments=tables["segments"].assign(run_id="bench-1"))
    second = dict(tables, segments=tables["segments"].assign(run_id="bench-2"),
                  profiles=tables["profiles"].iloc[: int(len(tables["profiles"]) * 0.99)])
    expected = {("bench-1", len(first["profiles"])), ("bench-2", len(second["profiles"]))}
    publish_tables(engine, first, "bench-1", published_at=pd.Timestamp("2026-01-01"))
    query = text(
        f'SELECT (SELECT min(run_id) FROM segments), (SELECT max(run_id) FROM segments), '
        f'(SELECT count(*) FROM profiles), (SELECT count(*) FROM "{segment}")'
    )
    figures = _publish_while_reading(
        engine, second, query, lambda row: row[0] == row[1] and (row[0], row[2]) in expected and row[3] > 0
    )
    return {"tables": len(tables), "rows": int(sum(len(t) for t in second.values())),
            "persons": int(len(second["profiles"])), **figures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--from-warehouse", help="publish this warehouse's tables instead of a synthetic table")
    parser.add_argument("--scale", type=int, default=1, help="with --from-warehouse: copies of its persons")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    if args.from_warehouse:
        tables = scaled_run(args.from_warehouse, args.scale)
        run = lambda engine: bench_whole_run(engine, tables)  # noqa: E731
    else:
        run = lambda engine: bench(engine, args.rows)  # noqa: E731
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            print("sqlite", run(engine))
            engine.dispose()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(f"{args.postgres_url}?options=-csearch_path%3D{schema}")
        print("postgresql", run(engine))
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
