"""Atomic publication: every rule holds on SQLite and on PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, inspect, text

from cdp_pipeline.warehouse.publish import (
    PUBLICATIONS_TABLE,
    PublishError,
    index_name,
    latest_publication,
    publish_tables,
    read_table,
    staging_name,
)

REFERENCE = pd.Timestamp("2026-11-02")


def run_tables(run: int, rows: int = 50) -> dict[str, pd.DataFrame]:
    """Two tables whose every row names the run that wrote them, with per-run sizes."""
    size = rows + run
    ids = pd.Series([f"p{i}" for i in range(size)], dtype="string")
    profiles = pd.DataFrame({"person_id": ids, "run": np.full(size, run, dtype="int64")})
    segment = pd.DataFrame({"person_id": ids[: size // 2], "run": np.full(size // 2, run, dtype="int64")})
    return {"profiles": profiles, "segment_active": segment}


def table_names(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_publishes_every_table_and_records_the_run_with_row_counts(engine):
    report = publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)

    assert table_names(engine) == {"profiles", "segment_active", PUBLICATIONS_TABLE}
    assert report.row_counts == {"profiles": 51, "segment_active": 25}
    publication = latest_publication(engine).set_index("table_name")
    assert set(publication["run_id"]) == {"run-1"}
    assert publication.loc["profiles", "row_count"] == 51
    assert (publication["published_at"] == pd.Timestamp("2026-11-02", tz="UTC")).all()


def test_types_round_trip_including_missing_values_and_awkward_text(engine):
    frame = pd.DataFrame(
        {
            "person_id": pd.array(["a", "b", "c", "d"], dtype="string"),
            "note": pd.array(['comma, "quote"', "line\nbreak", "", None], dtype="string"),
            "score": [0.125, np.nan, 1e-300, 0.1 + 0.2],
            "orders": pd.array([1, None, 3, 2**40], dtype="Int64"),
            "sendable": pd.array([True, None, False, True], dtype="boolean"),
            "last_order_at": pd.to_datetime(
                ["2026-01-02T03:04:05.123456Z", None, "2025-12-31T23:59:59Z", "2026-06-01T00:00:00+02:00"],
                utc=True,
                format="ISO8601",
            ).astype("datetime64[us, UTC]"),
            "birth_date": pd.to_datetime(["1980-02-29", None, "2001-01-01", "1999-12-31"]).astype("datetime64[us]"),
        }
    )
    publish_tables(engine, {"profiles": frame}, "run-1", published_at=REFERENCE)

    back = read_table(engine, "profiles").sort_values("person_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_object_columns_are_stored_as_text_and_python_bools_as_booleans(engine):
    frame = pd.DataFrame({"segment": ["vip", None], "holdout": [True, False]}).astype({"segment": object})
    publish_tables(engine, {"segments": frame}, "run-1", published_at=REFERENCE)

    back = read_table(engine, "segments")

    assert back["segment"].dtype == "string" and back["segment"].isna().tolist() == [False, True]
    assert back["holdout"].dtype == "boolean" and back["holdout"].tolist() == [True, False]


def test_republishing_replaces_all_tables_and_drops_the_ones_named_missing(engine):
    publish_tables(engine, {**run_tables(1), "segment_gone": run_tables(1)["segment_active"]}, "run-1", published_at=REFERENCE)

    report = publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE, drop_missing={"segment_gone", "never_existed"})

    assert table_names(engine) == {"profiles", "segment_active", PUBLICATIONS_TABLE}
    assert report.dropped_tables == ("segment_gone",)
    assert set(read_table(engine, "profiles")["run"]) == {2}
    assert len(read_table(engine, "segment_active")) == 26
    assert latest_publication(engine)["run_id"].unique().tolist() == ["run-2"]


def test_tables_not_in_the_run_and_not_named_missing_are_left_alone(engine):
    publish_tables(engine, {"quarantine": run_tables(1)["profiles"]}, "run-1", published_at=REFERENCE)
    publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE)

    assert set(read_table(engine, "quarantine")["run"]) == {1}


def test_person_tables_get_a_person_id_index_with_a_stable_name(engine):
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)
    publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE)

    indexes = inspect(engine).get_indexes("profiles")
    assert [(ix["name"], ix["column_names"]) for ix in indexes] == [(index_name("profiles"), ["person_id"])]


def test_an_empty_table_is_published_with_its_columns(engine):
    empty = pd.DataFrame({"person_id": pd.array([], dtype="string"), "score": pd.array([], dtype="float64")})
    publish_tables(engine, {"engagement_scores": empty}, "run-1", published_at=REFERENCE)

    back = read_table(engine, "engagement_scores")
    assert back.empty and list(back.columns) == ["person_id", "score"]


def test_longest_allowed_table_name_publishes_without_truncation(engine):
    name = "segment_" + "x" * 55  # 63 characters, PostgreSQL's limit
    publish_tables(engine, {name: run_tables(1)["segment_active"]}, "a-dagster-run-id-0123456789abcdef", published_at=REFERENCE)
    publish_tables(engine, {name: run_tables(2)["segment_active"]}, "another-run", published_at=REFERENCE)

    assert name in table_names(engine)
    assert len(staging_name("a-dagster-run-id-0123456789abcdef", name)) <= 63
    assert set(read_table(engine, name)["run"]) == {2}


@pytest.mark.parametrize(
    "bad_name",
    ["profiles; DROP TABLE profiles", "Profiles", "segment-vip", "1st", "a" * 64, "", "_stage_x", PUBLICATIONS_TABLE, "x y"],
)
def test_table_names_that_are_not_plain_identifiers_are_refused_before_any_write(engine, bad_name):
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)

    with pytest.raises(PublishError):
        publish_tables(engine, {**run_tables(2), bad_name: run_tables(2)["profiles"]}, "run-2", published_at=REFERENCE)

    assert set(read_table(engine, "profiles")["run"]) == {1}


def test_columns_named_like_sql_keywords_are_quoted_not_refused(engine):
    frame = pd.DataFrame({"order": [1, 2], "user": ["a", "b"], "select": [True, False]})
    publish_tables(engine, {"orders": frame}, "run-1", published_at=REFERENCE)

    assert read_table(engine, "orders")["order"].tolist() == [1, 2]


def test_column_names_that_are_not_plain_identifiers_are_refused(engine):
    frame = pd.DataFrame({'x" text); DROP TABLE profiles; --': [1]})
    with pytest.raises(PublishError, match="invalid column name"):
        publish_tables(engine, {"profiles": frame}, "run-1", published_at=REFERENCE)
    assert table_names(engine) == set()


@pytest.mark.parametrize("fail_on", ["CREATE TABLE", "CREATE INDEX", "DROP TABLE", "RENAME TO", "INSERT INTO _cdp_publications"])
def test_a_failure_at_any_step_leaves_the_previous_run_and_no_staging_tables(engine, fail_on):
    publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)
    seen = []

    def fault(conn, cursor, statement, parameters, context, executemany):
        if fail_on in statement:
            seen.append(statement)
            if len(seen) == 2 or fail_on.startswith("INSERT"):  # the second table, or the bookkeeping
                raise RuntimeError(f"injected fault at {fail_on}")

    event.listen(engine, "before_cursor_execute", fault)
    try:
        with pytest.raises(RuntimeError, match="injected fault"):
            publish_tables(engine, run_tables(2), "run-2", published_at=REFERENCE)
    finally:
        event.remove(engine, "before_cursor_execute", fault)

    assert table_names(engine) == {"profiles", "segment_active", PUBLICATIONS_TABLE}
    assert set(read_table(engine, "profiles")["run"]) == {1}
    assert set(read_table(engine, "segment_active")["run"]) == {1}
    assert latest_publication(engine)["run_id"].unique().tolist() == ["run-1"]
    assert [ix["name"] for ix in inspect(engine).get_indexes("profiles")] == [index_name("profiles")]


def test_stale_staging_tables_of_a_killed_run_are_removed_by_the_next_publish(engine):
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "_stage_deadbeef_profiles" (person_id TEXT)'))
        conn.execute(text('CREATE TABLE "_stage_deadbeef_segment_active" (person_id TEXT)'))

    report = publish_tables(engine, run_tables(1), "run-1", published_at=REFERENCE)

    assert report.stale_staging_dropped == ("_stage_deadbeef_profiles", "_stage_deadbeef_segment_active")
    assert not [name for name in table_names(engine) if name.startswith("_stage_")]


def test_publication_sequence_orders_runs_even_when_reference_dates_repeat(engine):
    for run in (1, 2, 3):
        publish_tables(engine, run_tables(run), f"run-{run}", published_at=REFERENCE)

    history = read_table(engine, PUBLICATIONS_TABLE)
    assert history.groupby("seq")["run_id"].first().tolist() == ["run-1", "run-2", "run-3"]


def test_a_reader_querying_during_publishes_sees_one_whole_run_never_a_mix_or_a_missing_table(engine):
    rows = 2_000
    publish_tables(engine, run_tables(1, rows), "run-1", published_at=REFERENCE)
    observed, problems, stop = [], [], threading.Event()
    profiles, segment = (f"SELECT count(*) AS n, min(run) AS lo, max(run) AS hi FROM {t}" for t in ("profiles", "segment_active"))
    one_statement = text(f"SELECT p.n, p.lo, p.hi, s.n, s.lo, s.hi FROM ({profiles}) p, ({segment}) s")

    def reader():
        # one statement per look: on PostgreSQL that is one snapshot across both tables,
        # on SQLite (WAL) a read transaction is one snapshot in any case
        with engine.connect() as conn:
            while not stop.is_set():
                try:
                    p_n, p_lo, p_hi, s_n, s_lo, s_hi = conn.execute(one_statement).one()
                    conn.rollback()
                except Exception as exc:  # a missing table would surface here
                    problems.append(repr(exc))
                    conn.rollback()
                    continue
                run = p_lo
                expected = (rows + run, run, run, (rows + run) // 2, run, run)
                if (p_n, p_lo, p_hi, s_n, s_lo, s_hi) != expected:
                    problems.append((p_n, p_lo, p_hi, s_n, s_lo, s_hi))
                observed.append(run)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for run in range(2, 8):
            publish_tables(engine, run_tables(run, rows), f"run-{run}", published_at=REFERENCE)
    finally:
        stop.set()
        thread.join()

    assert problems == []
    assert observed == sorted(observed), "a reader never goes back to an older run"
    assert len(set(observed)) >= 2, "the reader overlapped at least one swap"


def test_before_the_first_publication_there_is_no_latest_one(engine):
    assert latest_publication(engine).empty
