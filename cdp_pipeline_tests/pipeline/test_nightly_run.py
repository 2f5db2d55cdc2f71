"""The whole nightly job, run as users run it: the `cdp` command in its own process.

One small generated landing folder serves every test here; each test gets its own warehouse,
state folder and Dagster instance.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect

from cdp_pipeline.warehouse.publish import read_table
from cdp_pipeline_tests.pgtools import postgres_unavailable_reason, temporary_database

CONTRACT_COLUMNS = {
    "identity_map": {"source", "source_record_id", "person_id", "match_rule", "match_confidence"},
    "profiles": {
        "person_id", "first_name", "last_name", "primary_email", "phone", "city", "postal_code",
        "country", "timezone", "is_customer", "webinars_registered", "webinars_attended", "orders",
        "total_spent", "last_order_at", "last_activity_at", "email_consent", "consent_updated_at",
        "consent_source", "sendable",
    },
    "profile_emails": {"person_id", "email", "is_primary", "first_seen_at", "last_seen_at", "status"},
    "engagement_scores": {"person_id", "score", "tier", "model_version", "scored_at"},
    "send_times": {"person_id", "best_hour_utc", "best_local_hour", "confidence", "basis"},
    "segments": {"segment", "description", "definition", "members", "holdout_members", "refreshed_at", "run_id"},
    "quarantine": {"source", "file", "line", "reason", "drop_date"},
    "model_runs": {"model", "model_version", "trained_at", "train_rows", "metrics", "baseline_metrics"},
}
MEMBER_COLUMNS = {"person_id", "email", "first_name", "score", "tier", "best_hour_utc", "holdout"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
E164_PHONE = re.compile(r"\+\d{9,15}\b")  # how profiles hold phones; timestamps never look like it


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from cdp_pipeline.synth import generate

    root = tmp_path_factory.mktemp("generated")
    generate(persons=80, days=6, seed=3, out=root / "landing", truth=root / "truth", history_days=60)
    return root


def cdp(workdir: Path, landing: Path, *args: str, warehouse_url: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CDP_LANDING_DIR": str(landing),
        "CDP_STATE_DIR": str(workdir / "state"),
        "CDP_WAREHOUSE_URL": warehouse_url or f"sqlite:///{workdir / 'warehouse.db'}",
        "DAGSTER_HOME": str(workdir / "dagster_home"),
    }
    return subprocess.run(
        [sys.executable, "-m", "cdp_pipeline.cli", *args],
        env=env, capture_output=True, text=True, timeout=900,
    )


def tables_of(url: str) -> dict[str, pd.DataFrame]:
    engine = create_engine(url)
    try:
        return {name: read_table(engine, name) for name in inspect(engine).get_table_names() if not name.startswith("_")}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def first_run(generated, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sqlite_run")
    result = cdp(workdir, generated / "landing", "run")
    return workdir, result


def test_a_run_on_generated_drops_succeeds_and_says_what_it_published(first_run):
    workdir, result = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "published to sqlite" in result.stdout
    assert re.search(r"profiles\s+\d+ rows", result.stdout)


def test_every_contract_table_is_published_with_its_columns(first_run):
    workdir, _ = first_run
    tables = tables_of(f"sqlite:///{workdir / 'warehouse.db'}")
    for name, columns in CONTRACT_COLUMNS.items():
        assert name in tables, name
        assert columns <= set(tables[name].columns), (name, columns - set(tables[name].columns))
    for segment in tables["segments"]["segment"]:
        assert MEMBER_COLUMNS <= set(tables[f"segment_{segment}"].columns)
    assert len(tables["profiles"]) > 0 and len(tables["identity_map"]) >= len(tables["profiles"])


def test_email_segments_hold_only_sendable_persons_at_an_active_address(first_run):
    workdir, _ = first_run
    tables = tables_of(f"sqlite:///{workdir / 'warehouse.db'}")
    sendable = set(tables["profiles"].loc[tables["profiles"]["sendable"].astype(bool), "person_id"])
    active = tables["profile_emails"][tables["profile_emails"]["status"] == "active"]
    active_pairs = set(zip(active["person_id"], active["email"]))
    email_segments = tables["segments"].loc[tables["segments"]["email_segment"].astype(bool), "segment"]
    for segment in email_segments:
        members = tables[f"segment_{segment}"]
        assert set(members["person_id"]) <= sendable, segment
        assert set(zip(members["person_id"], members["email"])) <= active_pairs, segment


def test_no_raw_email_address_or_phone_number_reaches_the_run_logs_or_metadata(first_run):
    workdir, result = first_run
    text = [result.stdout + result.stderr]
    for db in (workdir / "dagster_home").rglob("*.db"):
        with sqlite3.connect(db) as conn:
            for table, in conn.execute("select name from sqlite_master where type='table'"):
                text += [" ".join(str(v) for v in row) for row in conn.execute(f'select * from "{table}"')]
    emails = {e for chunk in text for e in EMAIL.findall(chunk)}
    raw = {e for e in emails if "***" not in e and not e.endswith(("dagster.io", "example.com"))}
    assert not raw, sorted(raw)[:5]
    phones = {p for chunk in text for p in E164_PHONE.findall(chunk)}
    assert not phones, sorted(phones)[:5]


def test_each_reader_of_the_activity_and_the_resolution_names_every_column_it_uses(first_run, tmp_path, monkeypatch):
    """Readers load only the columns they name (``defs/activity.py`` for the activity, the
    resolution's inputs in ``defs/identity.py``): given every column instead, each computes the
    same tables, so nothing they use was left out."""
    import dagster as dg

    from cdp_pipeline.definitions import ASSETS
    from cdp_pipeline.defs.activity import READS
    from cdp_pipeline.defs.common import IngestGuards
    from cdp_pipeline.defs.resources import StateResource, WarehouseResource, default_resources
    from cdp_pipeline.defs.step_outputs import FRAME_FOLDERS, FrameFolders, FrameFolderStorage, StepOutputStorage

    workdir, _ = first_run
    projected_outputs = {"person_activity", "identity_resolution"}
    readers = [a for a in ASSETS if projected_outputs & {k.to_user_string() for k in a.keys_by_input_name.values()}]
    assert {a.node_def.name for a in readers} >= set(READS) - {"segment_templates"} | {"identity_map", "person_activity"}

    def computed(name: str) -> dict:
        storage, state = tmp_path / name / "storage", tmp_path / name / "state"
        shutil.copytree(workdir / "dagster_home" / "storage", storage)
        shutil.copytree(workdir / "state", state)
        resources = {**default_resources(), "guards": IngestGuards(),
                     "io_manager": StepOutputStorage(base_dir=str(storage)),
                     FRAME_FOLDERS: FrameFolderStorage(base_dir=str(storage)),
                     "state": StateResource(path=str(state)),
                     "warehouse": WarehouseResource(url=f"sqlite:///{workdir / 'warehouse.db'}")}
        selection = [key for reader in readers for key in reader.keys]
        result = dg.materialize(ASSETS, selection=selection, resources=resources)
        return {key.to_user_string(): result.asset_value(key) for key in selection}

    projected = computed("projected")
    read_as_declared = FrameFolders.load_from_path
    monkeypatch.setattr(FrameFolders, "load_from_path", lambda self, context, path: read_as_declared(
        self, dg.build_input_context(asset_key=context.asset_key), path))
    whole = computed("whole")

    def tables(value) -> dict[str, pd.DataFrame]:
        if isinstance(value, pd.DataFrame):
            return {"": value}
        if isinstance(value, dict):  # a template asset's member table per segment
            return {slug: members for slug, (_, members) in value.items()}
        if hasattr(type(value), "ARROW_TABLES"):  # the activity
            return {name: getattr(value, name) for name in type(value).ARROW_TABLES}
        return {}  # a trained model: its scores are compared

    compared = 0
    for key, value in projected.items():
        assert tables(value).keys() == tables(whole[key]).keys(), key
        for part, frame in tables(value).items():
            pd.testing.assert_frame_equal(frame, tables(whole[key])[part], obj=f"{key}:{part}")
            compared += 1
    assert compared >= 12


def test_a_second_run_without_new_drops_keeps_every_person_id_and_table(first_run, generated):
    workdir, _ = first_run
    url = f"sqlite:///{workdir / 'warehouse.db'}"
    before = tables_of(url)
    again = cdp(workdir, generated / "landing", "run")
    assert again.returncode == 0, again.stderr[-3000:]
    after = tables_of(url)
    key = ["source", "source_record_id"]
    merged = before["identity_map"].merge(after["identity_map"], on=key, suffixes=("_before", "_after"))
    assert len(merged) == len(before["identity_map"])
    assert (merged["person_id_before"] == merged["person_id_after"]).all()
    for name in ("profiles", "engagement_scores", "send_times"):
        pd.testing.assert_frame_equal(
            before[name].sort_values("person_id").reset_index(drop=True),
            after[name].sort_values("person_id").reset_index(drop=True),
            check_dtype=False,
        )


def test_a_truncated_crm_snapshot_is_held_and_publishes_nothing_until_accepted(generated, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(generated / "landing", landing)
    assert cdp(tmp_path, landing, "run").returncode == 0
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    profiles_before = tables_of(url)["profiles"]

    newest = max(p.parent for p in landing.glob("crm/*/_SUCCESS"))
    late = newest.with_name("2026-11-25")  # after the incomplete drop the generator leaves
    late.mkdir()
    contacts = (newest / "contacts.csv").read_bytes().splitlines(keepends=True)
    (late / "contacts.csv").write_bytes(b"".join(contacts[: max(2, len(contacts) // 10)]))
    (late / "_SUCCESS").touch()

    held = cdp(tmp_path, landing, "run")
    assert held.returncode != 0
    reason = held.stdout.strip().splitlines()[-1] + held.stderr
    assert "no_file_held" in reason
    pd.testing.assert_frame_equal(tables_of(url)["profiles"], profiles_before)

    assert cdp(tmp_path, landing, "accept", "crm/2026-11-25/contacts.csv").returncode == 0
    accepted = cdp(tmp_path, landing, "run")
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    crm_records = tables_of(url)["identity_map"].query("source == 'crm'")
    assert len(crm_records) < len(contacts) // 2


def test_an_unreachable_warehouse_fails_fast_with_one_line(generated, tmp_path):
    result = cdp(tmp_path, generated / "landing", "run",
                 warehouse_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0]


def test_a_missing_landing_folder_fails_fast_with_one_line(tmp_path):
    result = cdp(tmp_path, tmp_path / "nowhere", "run")
    assert result.returncode != 0
    assert "landing folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_the_same_run_publishes_to_postgresql(generated, tmp_path):
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with temporary_database() as url:
        rendered = url.render_as_string(hide_password=False)
        result = cdp(tmp_path, generated / "landing", "run", warehouse_url=rendered)
        assert result.returncode == 0, result.stderr[-3000:]
        tables = tables_of(rendered)
        for name, columns in CONTRACT_COLUMNS.items():
            assert columns <= set(tables[name].columns), name
        assert len(tables["profiles"]) > 0
        assert json.loads(tables["model_runs"]["metrics"].iloc[0])
