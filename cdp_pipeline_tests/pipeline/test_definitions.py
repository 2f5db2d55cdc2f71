"""The code location as the Dagster UI shows it: every asset explains itself."""

import subprocess
import sys
import textwrap

import dagster as dg

from cdp_pipeline.definitions import defs

GROUPS = {"ingest", "quality", "identity", "models", "segments", "warehouse"}


def _specs():
    graph = defs.resolve_asset_graph()
    return {key: graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_asset_has_a_description_a_group_owners_and_kinds():
    for key, node in _specs().items():
        name = key.to_user_string()
        assert node.description and len(node.description) > 30, name
        assert node.group_name in GROUPS, (name, node.group_name)
        assert node.owners, name
        assert node.kinds, name


def test_the_pipeline_reads_as_five_stages_and_a_publication():
    groups = {node.group_name for node in _specs().values()}
    assert groups == GROUPS
    graph = defs.resolve_asset_graph()
    publication = dg.AssetKey("warehouse_publication")
    upstream = graph.get(publication).parent_keys
    for table in ("identity_map", "profiles", "profile_emails", "engagement_scores", "send_times",
                  "model_runs", "quarantine", "segment_tables"):
        assert dg.AssetKey(table) in upstream, table


def test_the_nightly_job_schedule_and_drop_sensor_are_defined():
    assert defs.resolve_job_def("nightly") is not None
    assert [s.name for s in defs.schedules] == ["nightly_nightly"]
    assert [s.name for s in defs.sensors] == ["nightly_on_drop", "nightly_scrub_raw_outputs"]


def test_every_segment_has_its_own_asset_with_a_freshness_policy():
    from cdp_pipeline.segments.build import load_catalogue

    definitions, templates = load_catalogue(None)
    specs = {k.to_user_string(): node for k, node in _specs().items()}
    for definition in definitions:
        node = specs[f"segment_{definition.slug}"]
        assert node.freshness_policy is not None
    assert len(templates) >= 1


def test_adding_a_segment_to_the_yaml_adds_an_asset(tmp_path):
    extra = tmp_path / "segments.yaml"
    extra.write_text(textwrap.dedent("""
        segments:
          - slug: big_spenders
            description: Spent more than 500 in total.
            owner: ecommerce
            email: true
            rule: {column: total_spent, op: ">", value: 500}
    """))
    code = (
        "from cdp_pipeline.definitions import defs;"
        "print(sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**__import__("os").environ, "CDP_SEGMENTS_FILE": str(extra)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'segment_big_spenders'" in result.stdout
