"""Smoke version of the load benchmark (bench_publish.py): readers keep working during a publish."""

from cdp_pipeline_tests.warehouse.bench_publish import bench


def test_a_reader_querying_throughout_a_publish_never_waits_long_nor_sees_a_partial_table(engine):
    figures = bench(engine, rows=20_000)

    assert figures["reader_partial_views"] == 0
    assert figures["reader_queries"] >= 1
    assert figures["reader_max_wait_s"] < 5.0
