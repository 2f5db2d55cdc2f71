"""Accumulation across drops: increments, snapshots, re-deliveries, guards, accounting."""

import pandas as pd

from cdp_pipeline.extracts import CRM_CONTACTS, CRM_EMAIL_EVENTS, STORE_WEB_EVENTS
from cdp_pipeline.ingest.accumulate import ingest_extract
from cdp_pipeline.ingest.state import StateStore

from .helpers import contacts_csv, write_drop

EVENTS_HEADER = "Event ID,Campaign ID,Recipient,Event Type,Event Time\n"


def events_csv(*rows: str) -> str:
    return EVENTS_HEADER + "".join(f"{r}\n" for r in rows)


def event(event_id: str, kind: str = "OPEN", campaign: str = "c1") -> str:
    return f"{event_id},{campaign},a@example.com,{kind},2026-11-02T10:00:00Z"


def run(extract, landing, state, **kwargs):
    outcome = ingest_extract(extract, landing, StateStore(state), **kwargs)
    outcome.commit()
    return outcome


def assert_accounting_balances(outcome):
    for report in outcome.file_reports:
        assert report.rows_read == report.accepted + report.quarantined + report.duplicates


def test_several_pending_increment_drops_are_read_in_date_order_and_the_first_delivery_wins(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-03", {"email_events.csv": events_csv(event("e2"), event("e1", "CLICK"))})
    write_drop(landing, "crm", "2026-11-02", {"email_events.csv": events_csv(event("e1", "OPEN"))})

    outcome = run(CRM_EMAIL_EVENTS, landing, state)

    assert [r.file for r in outcome.file_reports] == [
        "crm/2026-11-02/email_events.csv",
        "crm/2026-11-03/email_events.csv",
    ]
    table = outcome.table.set_index("event_id")
    assert table.loc["e1", "event_type"] == "OPEN"  # first delivery (older drop) wins
    assert outcome.file_reports[1].duplicates == 1
    assert outcome.new_rows == 2
    assert_accounting_balances(outcome)


def test_rerun_without_new_drops_is_a_no_op_and_a_redelivered_drop_does_not_double_count(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    content = events_csv(event("e1"), event("e2"), event("e2"))
    write_drop(landing, "crm", "2026-11-02", {"email_events.csv": content})
    first = run(CRM_EMAIL_EVENTS, landing, state)
    assert (first.file_reports[0].accepted, first.file_reports[0].duplicates) == (2, 1)

    again = run(CRM_EMAIL_EVENTS, landing, state)
    assert again.file_reports == [] and not again.changed and again.new_rows == 0
    assert len(again.table) == 2

    write_drop(landing, "crm", "2026-11-03", {"email_events.csv": content})  # the same drop delivered again
    redelivered = run(CRM_EMAIL_EVENTS, landing, state)
    assert redelivered.file_reports[0].duplicates == 3 and redelivered.file_reports[0].accepted == 0
    assert len(redelivered.table) == 2 and redelivered.new_rows == 0


def test_a_file_whose_content_changed_in_place_is_read_again(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    folder = write_drop(landing, "crm", "2026-11-02", {"email_events.csv": events_csv(event("e1"))})
    run(CRM_EMAIL_EVENTS, landing, state)
    (folder / "email_events.csv").write_text(events_csv(event("e1"), event("e9")))
    outcome = run(CRM_EMAIL_EVENTS, landing, state)
    assert sorted(outcome.table["event_id"]) == ["e1", "e9"]
    assert outcome.file_reports[0].duplicates == 1


def test_incomplete_drop_is_not_read_until_its_success_marker_arrives(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    folder = write_drop(landing, "crm", "2026-11-02", {"email_events.csv": events_csv(event("e1"))}, complete=False)
    assert run(CRM_EMAIL_EVENTS, landing, state).file_reports == []
    (folder / "_SUCCESS").write_bytes(b"")
    assert len(run(CRM_EMAIL_EVENTS, landing, state).table) == 1


def test_records_missing_from_a_later_snapshot_are_deleted_and_counted(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"contacts.csv": contacts_csv(range(1, 11))})
    run(CRM_CONTACTS, landing, state)
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv([*range(1, 10), 11])})

    outcome = run(CRM_CONTACTS, landing, state)

    assert sorted(outcome.table["record_id"].astype(int)) == [*range(1, 10), 11]
    assert outcome.deleted_records == 1 and outcome.file_reports[0].deleted == 1
    assert outcome.new_rows == 1
    assert (outcome.table["_drop_date"] == pd.Timestamp("2026-11-03")).all()


def test_truncated_crm_snapshot_is_held_deletes_nothing_until_an_operator_accepts_it(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"contacts.csv": contacts_csv(range(1, 101))})
    run(CRM_CONTACTS, landing, state)
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv(range(1, 11))})  # 10% of it

    held = run(CRM_CONTACTS, landing, state)
    assert held.file_reports[0].status == "held"
    assert "would delete 90 of 100 records" in held.file_reports[0].error
    assert held.held == [
        {"file": "crm/2026-11-03/contacts.csv", "drop_date": "2026-11-03", "reason": held.file_reports[0].error}
    ]
    assert len(held.table) == 100 and held.deleted_records == 0

    still_held = run(CRM_CONTACTS, landing, state)  # nothing new: the hold stays visible
    assert len(still_held.table) == 100 and len(still_held.held) == 1 and still_held.file_reports == []

    accepted = run(CRM_CONTACTS, landing, state, accept=frozenset({"crm/2026-11-03/contacts.csv"}))
    assert accepted.file_reports[0].status == "applied"
    assert len(accepted.table) == 10 and accepted.deleted_records == 90 and accepted.held == []


def test_a_newer_healthy_snapshot_supersedes_a_held_one(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"contacts.csv": contacts_csv(range(1, 101))})
    run(CRM_CONTACTS, landing, state).commit()
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv(range(1, 11))})
    held = run(CRM_CONTACTS, landing, state)
    held.commit()
    assert [r.status for r in held.file_reports] == ["held"]
    write_drop(landing, "crm", "2026-11-04", {"contacts.csv": contacts_csv(range(1, 100))})
    outcome = run(CRM_CONTACTS, landing, state)
    assert [r.status for r in outcome.file_reports] == ["applied"]
    assert outcome.held == [] and len(outcome.table) == 99 and outcome.deleted_records == 1
    assert outcome.ledger.files["crm/2026-11-03/contacts.csv"]["status"] == "superseded"


def test_of_several_pending_snapshots_only_the_newest_is_read(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"contacts.csv": contacts_csv(range(1, 101))})
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv(range(1, 11))})
    write_drop(landing, "crm", "2026-11-04", {"contacts.csv": contacts_csv(range(1, 100))})
    outcome = run(CRM_CONTACTS, landing, state)
    assert [r.status for r in outcome.file_reports] == ["superseded", "superseded", "applied"]
    assert [r.rows_read for r in outcome.file_reports] == [0, 0, 99]
    assert outcome.held == [] and len(outcome.table) == 99


def test_a_held_newest_snapshot_falls_back_to_the_newest_acceptable_one(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"contacts.csv": contacts_csv(range(1, 101))})
    run(CRM_CONTACTS, landing, state).commit()
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv(range(1, 96))})
    write_drop(landing, "crm", "2026-11-04", {"contacts.csv": contacts_csv(range(1, 11))})
    outcome = run(CRM_CONTACTS, landing, state)
    assert [r.status for r in outcome.file_reports] == ["applied", "held"]
    assert len(outcome.table) == 95 and [h["file"] for h in outcome.held] == ["crm/2026-11-04/contacts.csv"]


def test_a_mostly_quarantined_file_is_held_and_applied_after_acceptance(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    rows = [event(f"e{i}", "OPEN" if i < 10 else "WEIRD") for i in range(30)]  # 20 of 30 bad
    write_drop(landing, "crm", "2026-11-02", {"email_events.csv": events_csv(*rows)})
    held = run(CRM_EMAIL_EVENTS, landing, state, max_quarantine_share=0.5)
    assert held.file_reports[0].status == "held" and held.table.empty and held.quarantine.empty
    assert "20 of 30 rows quarantined" in held.file_reports[0].error
    accepted = run(CRM_EMAIL_EVENTS, landing, state, accept=frozenset({"crm/2026-11-02/email_events.csv"}))
    assert len(accepted.table) == 10
    assert accepted.quarantine["reason"].unique().tolist() == ["event_type_in_set"]
    assert len(accepted.quarantine) == 20


def test_a_rejected_file_is_reported_and_the_rest_of_the_drop_and_later_drops_proceed(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"email_events.csv": "Event ID,Recipient\ne1,a@b.com\n"})
    write_drop(landing, "crm", "2026-11-03", {"email_events.csv": events_csv(event("e2"))})
    outcome = run(CRM_EMAIL_EVENTS, landing, state)
    assert [r.status for r in outcome.file_reports] == ["rejected", "applied"]
    assert "'Campaign ID'" in outcome.file_reports[0].error and "email_events.csv" in outcome.file_reports[0].error
    assert outcome.table["event_id"].tolist() == ["e2"]
    assert run(CRM_EMAIL_EVENTS, landing, state).file_reports == []  # not retried unless re-delivered


def test_every_row_is_accounted_for_and_quarantined_rows_keep_file_and_line(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    content = (
        '{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\n'
        '{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\n'
        '{"messageId":"m2","type":"pa\n'
        '{"messageId":"m3","type":"teleport","timestamp":"2026-11-02T10:00:00Z"}\n'
        '{"messageId":"m4","type":"track","event":"Order Completed","timestamp":"2026-11-02T10:00:00Z"}\n'
    )
    write_drop(landing, "store", "2026-11-02", {"web_events.jsonl": content})
    outcome = run(STORE_WEB_EVENTS, landing, state)
    (report,) = outcome.file_reports
    assert (report.rows_read, report.accepted, report.quarantined, report.duplicates) == (5, 2, 2, 1)
    assert outcome.quarantine[["file", "line", "reason"]].values.tolist() == [
        ["store/2026-11-02/web_events.jsonl", 3, "row_well_formed"],
        ["store/2026-11-02/web_events.jsonl", 4, "type_in_set"],
    ]


def test_nothing_is_persisted_before_commit(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-02", {"email_events.csv": events_csv(event("e1"))})
    ingest_extract(CRM_EMAIL_EVENTS, landing, StateStore(state))  # no commit: as if the run failed
    outcome = ingest_extract(CRM_EMAIL_EVENTS, landing, StateStore(state))
    assert len(outcome.file_reports) == 1 and outcome.new_rows == 1


def test_a_late_snapshot_older_than_the_one_in_force_is_not_applied(tmp_path):
    landing, state = tmp_path / "landing", tmp_path / "state"
    write_drop(landing, "crm", "2026-11-04", {"contacts.csv": contacts_csv(range(1, 11))})
    run(CRM_CONTACTS, landing, state)
    write_drop(landing, "crm", "2026-11-03", {"contacts.csv": contacts_csv(range(1, 10))})  # arrives late
    outcome = run(CRM_CONTACTS, landing, state)
    assert [r.status for r in outcome.file_reports] == ["superseded"]
    assert len(outcome.table) == 10 and outcome.deleted_records == 0
