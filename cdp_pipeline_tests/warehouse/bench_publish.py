"""Publish throughput benchmark: ``python -m cdp_pipeline_tests.warehouse.bench_publish --rows 1000000``.

Publishes a profiles-like table (text, numbers, booleans, timestamps) twice into a fresh SQLite
file and a fresh PostgreSQL schema, while a reader queries it in a loop, and prints rows/s,
the reader's longest wait and whether it ever saw a partial table.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        print("sqlite", bench(engine, args.rows))
        engine.dispose()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(f"{args.postgres_url}?options=-csearch_path%3D{schema}")
        print("postgresql", bench(engine, args.rows))
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
