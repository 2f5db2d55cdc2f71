"""A tiny identity-at-scale benchmark: every phase reports, and loading only the columns
identity reads changes nothing about the result."""

import json
import subprocess
import sys

import pandas as pd

from cdp_pipeline.bench.report import render
from cdp_pipeline.erasure import ledger_hashes, updated_ledger
from cdp_pipeline.identity import resolve_identities
from cdp_pipeline.identity.records import SOURCE_COLUMNS
from cdp_pipeline.ingest.state import StateStore


def _identity_scale(out, persons: int, days: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "cdp_pipeline.bench.identity_scale", "--persons", str(persons), "--days", str(days),
         "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / f"identity_{persons}.json").read_text())


def test_identity_at_scale_measures_each_phase_and_scores_the_resolution(tmp_path):
    measured = _identity_scale(tmp_path, persons=80, days=3)

    assert set(measured["ingest"]) == {*SOURCE_COLUMNS, "erasure_requests"}
    assert all(phase["rows"] > 0 and phase["peak_rss_mib"] > 0 for phase in measured["ingest"].values())
    resolution = measured["resolution"]
    assert resolution["records"] > 0 and resolution["wall_s"] >= 0 and resolution["peak_rss_mib"] > 0
    assert 0 < resolution["quality"]["precision"] <= 1 and 0 < resolution["quality"]["recall"] <= 1

    store = StateStore(tmp_path / "identity_work_80" / "state")
    erased = ledger_hashes(updated_ledger(None, store.load("erasure_requests")[0]))
    assert resolution["erasure_requests"] == len(erased) > 0
    everything = resolve_identities({name: store.load(name)[0] for name in SOURCE_COLUMNS},
                                    erased_email_hashes=erased)
    narrowed = resolve_identities(store.load_tables(SOURCE_COLUMNS), erased_email_hashes=erased)
    pd.testing.assert_frame_equal(narrowed.identity_map, everything.identity_map)
    pd.testing.assert_frame_equal(narrowed.records, everything.records)
    pd.testing.assert_frame_equal(narrowed.record_emails, everything.record_emails)
    assert resolution["records"] == len(everything.records)


def test_the_report_tabulates_identity_at_scale_beside_the_whole_run_benchmarks(tmp_path):
    measured = _identity_scale(tmp_path, persons=40, days=2)
    report = subprocess.run([sys.executable, "-m", "cdp_pipeline.bench.report", str(tmp_path)],
                            capture_output=True, text=True, check=True).stdout
    section = report.split("## Identity resolution alone at scale", 1)[1]
    resolution = measured["resolution"]
    assert f"| 40 | 2 | {resolution['records']:,} | {resolution['erased_persons']:,} |" in section
    assert "## Identity resolution alone at scale" not in render([])


def test_the_report_says_when_identity_at_scale_reused_drops_generated_before():
    quality = {"precision": 0.99, "recall": 0.8, "f1": 0.88, "b3_f1": 0.9}
    run = {"persons": 1000, "days": 2, "synth": {"reused": True},
           "ingest": {"crm_contacts": {"rows": 10, "peak_rss_mib": 300.0}},
           "resolution": {"records": 2500, "erased_persons": 3, "wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mib": 400.0,
                          "quality": quality}}
    assert "| 1,000 | 2 | 2,500 | 3 | 1.0 | 1.0 | 400.0 | 0.9900 |" in render([], [run])
    assert "| reused | 300.0 |" in render([], [run])
