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


def bench(engine, rows: int) -> dict:
    frames = [profiles_like(rows, run) for run in (1, 2)]
    publish_tables(engine, {"profiles": frames[0]}, "bench-1", published_at=pd.Timestamp("2026-01-01"))
    stop = threading.Event()
    waits, bad = [], []

    def reader():
        with engine.connect() as conn:
            while not stop.is_set():
                started = time.perf_counter()
                count, low, high = conn.execute(text("SELECT count(*), min(run), max(run) FROM profiles")).one()
                conn.rollback()
                waits.append(time.perf_counter() - started)
                if count != rows or low != high:
                    bad.append((count, low, high))

    thread = threading.Thread(target=reader)
    thread.start()
    report = publish_tables(engine, {"profiles": frames[1]}, "bench-2", published_at=pd.Timestamp("2026-01-02"))
    stop.set()
    thread.join()
    return {
        "rows": rows,
        "stage_s": round(report.stage_seconds, 2),
        "swap_s": round(report.swap_seconds, 3),
        "rows_per_s": round(report.rows_per_second),
        "reader_queries": len(waits),
        "reader_max_wait_s": round(max(waits), 3) if waits else None,
        "reader_partial_views": len(bad),
    }


def scaled_run(warehouse_url: str, scale: int) -> dict[str, pd.DataFrame]:
    """Every published table of a warehouse, its persons copied ``scale`` times under new ids."""
    from sqlalchemy import inspect

    from cdp_pipeline.warehouse.publish import read_table

    source = make_engine(warehouse_url)
    names = [n for n in inspect(source).get_table_names() if not n.startswith("_")]
    tables = {}
    for name in names:
        frame = read_table(source, name)
        if "person_id" not in frame.columns:
            tables[name] = frame
            continue
        copies = [frame.assign(person_id=frame["person_id"].astype("string") + f"-{k}") if k else frame
                  for k in range(scale)]
        tables[name] = pd.concat(copies, ignore_index=True)
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
    stop = threading.Event()
    waits, bad, seen, errors = [], [], set(), []

    def reader():
        with engine.connect() as conn:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    low, high, profiles, members = conn.execute(query).one()
                except Exception as exc:  # noqa: BLE001 - an analyst's failed query is the finding
                    errors.append(type(getattr(exc, "orig", exc)).__name__)
                    conn.rollback()
                    continue
                conn.rollback()
                waits.append(time.perf_counter() - started)
                seen.add(low)
                if low != high or (low, profiles) not in expected or members == 0:
                    bad.append((low, high, profiles, members))

    thread = threading.Thread(target=reader)
    thread.start()
    report = publish_tables(engine, second, "bench-2", published_at=pd.Timestamp("2026-01-02"))
    stop.set()
    thread.join()
    return {
        "tables": len(tables),
        "rows": int(sum(len(t) for t in second.values())),
        "persons": int(len(second["profiles"])),
        "stage_s": round(report.stage_seconds, 2),
        "swap_s": round(report.swap_seconds, 3),
        "rows_per_s": round(report.rows_per_second),
        "reader_queries": len(waits),
        "reader_max_wait_s": round(max(waits), 3) if waits else None,
        "reader_saw_runs": sorted(seen),
        "reader_mixed_or_partial_views": len(bad),
        "reader_errors": errors,
    }


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
