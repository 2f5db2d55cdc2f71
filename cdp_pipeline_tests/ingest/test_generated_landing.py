"""Ingestion of a `cdp synth` landing folder: every file accounted for, every record found."""

from pathlib import Path

import pandas as pd
import pytest

from cdp_pipeline.extracts import ALL_EXTRACTS
from cdp_pipeline.ingest import StateStore, ingest_extract

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from cdp_pipeline.synth import generate

    root = tmp_path_factory.mktemp("synth")
    summary = generate(persons=150, days=5, seed=3, out=root / "landing", truth=root / "truth", history_days=20)
    store = StateStore(root / "state")
    outcomes = {}
    for extract in ALL_EXTRACTS:
        outcomes[extract.name] = ingest_extract(extract, root / "landing", store)
        outcomes[extract.name].commit()
    return summary, root, store, outcomes


def test_every_file_is_read_and_its_rows_accounted_for(generated):
    summary, root, _, outcomes = generated
    reports = [r for o in outcomes.values() for r in o.file_reports]
    expected = {
        p.relative_to(root / "landing").as_posix()
        for p in (root / "landing").rglob("*.*")
        if (p.parent / "_SUCCESS").exists() and p.name != "_SUCCESS"
    }
    assert {r.file for r in reports} == expected
    snapshots = {"contacts.csv", "customers.csv"}
    newest = {name: max(r.file for r in reports if r.file.endswith(name)) for name in snapshots}
    for report in reports:
        name = report.file.rsplit("/", 1)[1]
        superseded = name in snapshots and report.file != newest[name]
        assert report.status == ("superseded" if superseded else "applied"), report.file
    assert all(r.rows_read == r.accepted + r.quarantined + r.duplicates for r in reports)
    assert not any(summary.incomplete_drop.isoformat() in r.file for r in reports)


def test_flawed_rows_land_in_quarantine_with_file_line_and_reason(generated):
    summary, _, _, outcomes = generated
    quarantine = pd.concat([o.quarantine for o in outcomes.values()], ignore_index=True)
    web = outcomes["store_web_events"].quarantine
    assert (web["reason"].str.contains("row_well_formed")).sum() >= summary.flaws["malformed_json_lines"]
    assert quarantine["file"].notna().all() and (quarantine["line"] >= 1).all()
    assert quarantine["reason"].str.len().gt(0).all()
    assert not quarantine["raw"].str.contains(r"[\w.+-]+@[\w-]+\.\w{2,}", regex=True).any()


def test_every_true_webinar_registration_is_in_the_accumulated_table_under_its_record_id(generated):
    _, root, _, outcomes = generated
    truth = pd.read_csv(root / "truth" / "records.csv", dtype=str)
    table = outcomes["webinar_attendees"].table
    ids = set(table["webinar_id"] + ":" + table["email_key"])
    expected = set(truth.loc[truth["source"] == "webinar", "source_record_id"])
    assert expected <= ids


def test_a_second_run_over_the_same_landing_folder_changes_nothing(generated):
    _, root, store, outcomes = generated
    for extract in ALL_EXTRACTS:
        again = ingest_extract(extract, root / "landing", store)
        assert not again.changed and again.file_reports == []
        assert len(again.table) == len(outcomes[extract.name].table)
