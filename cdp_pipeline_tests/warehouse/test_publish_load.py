"""Smoke version of the load benchmark (bench_publish.py): readers keep working during a publish."""

import pandas as pd

from cdp_pipeline_tests.warehouse.bench_publish import bench, bench_whole_run


def test_a_reader_querying_throughout_a_publish_never_waits_long_nor_sees_a_partial_table(engine):
    figures = bench(engine, rows=20_000)

    assert figures["reader_errors"] == [] and figures["reader_partial_views"] == 0
    assert figures["reader_queries"] >= 1
    assert figures["reader_max_wait_s"] < 5.0


def test_a_whole_run_published_under_a_reader_is_seen_as_one_run_or_the_other(engine):
    persons = pd.Series([f"p{i}" for i in range(2000)], dtype="string")
    tables = {
        "profiles": pd.DataFrame({"person_id": persons, "country": "ES"}),
        "segment_webinar_attendees": pd.DataFrame({"person_id": persons[:300], "holdout": False}),
        "segments": pd.DataFrame({"segment": ["webinar_attendees"], "members": [300], "run_id": ["source-run"]}),
    }
    result = bench_whole_run(engine, tables)
    assert result["reader_errors"] == []  # e.g. a deadlock between a multi-table query and the swap
    assert result["reader_partial_views"] == 0
    assert result["reader_queries"] > 0 and set(result["reader_saw_runs"]) <= {"bench-1", "bench-2"}
    assert result["persons"] == 1980
