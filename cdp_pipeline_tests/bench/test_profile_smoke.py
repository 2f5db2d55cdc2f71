"""The profiling command runs an ingest asset's body on a landing folder, leaving nothing behind."""

from cdp_pipeline.bench.profile import _top, profile_ingest


def test_profiling_an_ingest_reports_its_phases_and_where_the_time_went(tmp_path):
    drop = tmp_path / "landing" / "store" / "2026-11-02"
    drop.mkdir(parents=True)
    lines = [f'{{"messageId":"m{i}","type":"page","anonymousId":"a{i}","timestamp":"2026-11-02T10:00:00Z"}}' for i in range(3)]
    (drop / "web_events.jsonl").write_text("\n".join(lines) + "\n")
    (drop / "_SUCCESS").touch()
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    phases, profile = profile_ingest("store_web_events", tmp_path / "landing", scratch)

    assert phases["rows"] == 3 and phases["files"] == 1
    assert all(phases[k] >= 0 for k in ("ingest_extract_cpu_s", "gx_suite_cpu_s", "commit_cpu_s"))
    assert "read_extract_file" in _top(profile)
    assert list(scratch.iterdir()) == []  # the scratch state is removed
