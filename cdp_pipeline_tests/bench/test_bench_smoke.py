"""A tiny `make bench`: the harness measures every asset of both runs and renders the report.

It asserts the shape of the results, never a speed: speed lives in BENCHMARKS.md.
"""

import json
import subprocess
import sys

from cdp_pipeline.bench.report import render


def test_a_tiny_benchmark_measures_every_asset_and_renders_its_report(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cdp_pipeline.bench.run", "--persons", "60", "--days", "4", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads((tmp_path / "60.json").read_text())

    for phase in ("full", "incremental"):
        assets = {a["asset"]: a for a in measured[phase]["assets"]}
        assert {"crm_contacts", "identity_resolution", "engagement_model", "warehouse_publication"} <= set(assets)
        assert all(a["wall_s"] >= 0 and a["peak_rss_mib"] > 0 for a in assets.values())
        assert assets["warehouse_publication"]["rows_in"] > 0
        assert measured[phase]["tables"]["profiles"] > 0
    assert "error" not in measured["quality"], measured["quality"]
    assert 0 <= measured["quality"]["identity"]["precision"] <= 1
    misses = measured["identity_misses"]
    assert misses["missed_pairs"] == sum(v["pairs"] for v in misses["by_evidence"].values())
    assert measured["quality"]["identity"]["recall"] <= misses["recall_ceiling"] <= 1

    report = render([measured])
    assert "| 60 | 4 |" in report
    assert "## Per asset, 60 persons, incremental night" in report
    assert "| same name and more in common |" in report
    assert "| persons | true pairs | beyond reach | recall | highest reachable recall |" in report

    from cdp_pipeline.bench.send_time_scale import measure

    scaled = measure(tmp_path / "work_60", copies=3)  # the send-time model on the run's inputs, persons tripled
    assert scaled["persons"] == 3 * measured["incremental"]["tables"]["profiles"]
    assert scaled["recommendations"] == scaled["persons"] and scaled["wall_s"] >= 0
