"""The run's Markdown validation report: row accounting, held/rejected files, quarantine reasons,
failed expectations with masked examples, and never a raw email address."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from cdp_pipeline.extracts import ERASURE_REQUESTS
from cdp_pipeline.ingest.accumulate import FileReport
from cdp_pipeline.quality.report import (
    FileAccounting,
    ValidationRunSummary,
    extract_validation,
    quarantine_reason_counts,
    render_report,
    render_suite_outcome,
)
from cdp_pipeline.quality.rules import split_valid_rows
from cdp_pipeline.quality.suites import validate_frame

FILE = "privacy/2026-11-02/erasure_requests.csv"
RAW_EMAILS = ["Jane.Doe@acme.com", "jane.doe@acme", "bob.smith@example.org", "no-at-sign"]


def erasure_frame() -> pd.DataFrame:
    """Four requests: one clean, two malformed addresses, one repeating the first's key."""
    n = len(RAW_EMAILS)
    return pd.DataFrame(
        {
            "request_id": pd.array(["r1", "r2", "r3", "r1"], dtype="string"),
            "email": pd.array(RAW_EMAILS, dtype="string"),
            "requested_at": pd.Series(
                pd.to_datetime(["2026-11-01 10:00"] * n, utc=True)
            ).astype("datetime64[us, UTC]"),
            "_file": pd.array([FILE] * n, dtype="string"),
            "_line": pd.array(range(2, n + 2), dtype="Int64"),
            "_drop_date": pd.Series([pd.Timestamp("2026-11-02")] * n).astype("datetime64[us]"),
            "_raw": pd.array([json.dumps({"Email": e}) for e in RAW_EMAILS], dtype="string"),
            "_parse_errors": pd.array([None] * n, dtype="string"),
        }
    )


@pytest.fixture(scope="module")
def erasure_summary() -> ValidationRunSummary:
    frame = erasure_frame()
    _, quarantined = split_valid_rows(ERASURE_REQUESTS, frame)
    report = FileReport(FILE, date(2026, 11, 2), 4, 1, 2, 1, "applied")
    part = extract_validation(
        ERASURE_REQUESTS.name, [report], quarantined, validate_frame(ERASURE_REQUESTS, frame)
    )
    return ValidationRunSummary("run-42", [part], reference_date="2026-11-02")


def test_the_report_has_a_row_accounting_table_per_file(erasure_summary):
    text = render_report(erasure_summary)
    assert "read 4 = accepted 1 + quarantined 2 + duplicates 1 (balanced)" in text
    assert f"| `{FILE}` | 2026-11-02 | applied | 4 | 1 | 2 | 1 | 0 | yes |" in text


def test_the_report_lists_failed_expectations_with_counts_and_masked_examples(erasure_summary):
    text = render_report(erasure_summary)
    assert "| warning | `expect_column_values_to_match_regex` | email | `" in text
    assert "| 2 | 50.00% | j***@a***, n*** |" in text
    assert f"{FILE}:3, {FILE}:5" in text
    assert "| warning | `expect_compound_columns_to_be_unique` | request_id, _drop_date |" in text


def test_the_report_never_shows_a_raw_address(erasure_summary):
    text = render_report(erasure_summary) + json.dumps(erasure_summary.to_dict())
    for raw in RAW_EMAILS:
        assert raw not in text and raw.lower() not in text.lower()


def test_top_quarantine_reasons_count_every_rule_of_a_row():
    quarantine = pd.DataFrame(
        {"reason": pd.array(["email_format", "email_format; request_id_not_null", "x"], dtype="string")}
    )
    assert quarantine_reason_counts(quarantine) == {
        "email_format": 2,
        "request_id_not_null": 1,
        "x": 1,
    }
    assert quarantine_reason_counts(quarantine.iloc[:0]) == {}


def test_the_top_reasons_appear_most_frequent_first(erasure_summary):
    text = render_report(erasure_summary)
    assert "**Top quarantine reasons**" in text
    assert "| `email_format` | 2 |" in text


def test_held_and_rejected_files_are_listed_with_their_messages_and_block_the_extract():
    held = FileAccounting(
        "crm/2026-11-03/contacts.csv", "2026-11-03", 10, 10, 0, 0, "held",
        "snapshot would delete 90 of 100 records (90% > 20% allowed); previous snapshot kept in force",
    )
    rejected = FileAccounting(
        "crm/2026-11-04/contacts.csv", "2026-11-04", 0, 0, 0, 0, "rejected",
        "crm/2026-11-04/contacts.csv: missing required column 'Email' (ask ann@corp.io, +34 612 34 56 78)",
    )
    part = extract_validation("crm_contacts", [held, rejected], pd.DataFrame({"reason": []}))
    text = render_report(ValidationRunSummary("run-7", [part]))
    assert "Blocked: `crm_contacts`." in text
    assert "## `crm_contacts`: BLOCKED" in text
    assert "- `crm/2026-11-03/contacts.csv` (held): snapshot would delete 90 of 100 records" in text
    assert (
        "- `crm/2026-11-04/contacts.csv` (rejected): crm/2026-11-04/contacts.csv: missing required "
        "column 'Email' (ask a***@c***.io, +3***)"
    ) in text


def test_a_rejected_file_alone_does_not_block_the_rest_of_the_extract():
    rejected = FileAccounting(
        "webinar/2026-11-04/attendees_2.csv", "2026-11-04", 0, 0, 0, 0, "rejected",
        "webinar/2026-11-04/attendees_2.csv: missing required column(s) 'Email'",
    )
    fine = FileAccounting("webinar/2026-11-04/attendees_1.csv", "2026-11-04", 3, 3, 0, 0, "applied")
    part = extract_validation("webinar_attendees", [rejected, fine], pd.DataFrame({"reason": []}))
    text = render_report(ValidationRunSummary("run-11", [part]))
    assert "## `webinar_attendees`: file(s) rejected, the rest proceeds" in text
    assert "Blocked: none." in text
    assert "(rejected): webinar/2026-11-04/attendees_2.csv: missing required column(s) 'Email'" in text


def test_a_snapshot_still_held_from_an_earlier_run_keeps_the_extract_blocked():
    part = extract_validation(
        "crm_contacts", [], pd.DataFrame({"reason": []}),
        held=[{"file": "crm/2026-11-03/contacts.csv", "drop_date": "2026-11-03", "reason": "lost 90%"}],
    )
    text = render_report(ValidationRunSummary("run-8", [part]))
    assert "awaiting operator acceptance" in text and "lost 90%" in text
    assert "## `crm_contacts`: BLOCKED" in text


def test_an_unbalanced_file_is_flagged():
    broken = FileAccounting("store/2026-11-02/orders.csv", "2026-11-02", 10, 5, 2, 1, "applied")
    part = extract_validation("store_orders", [broken], pd.DataFrame({"reason": []}))
    text = render_report(ValidationRunSummary("run-9", [part]))
    assert "**DOES NOT BALANCE**" in text and "| **NO** |" in text


def test_text_with_a_pipe_or_line_break_cannot_break_a_table():
    odd = FileAccounting("webinar/2026-11-02/attendees|1.csv", "2026-11-02", 1, 1, 0, 0, "applied",
                         warnings=["extra column 'a|b'\nignored"])
    part = extract_validation("webinar_attendees", [odd], pd.DataFrame({"reason": []}))
    text = render_report(ValidationRunSummary("run-10", [part]))
    assert "| `webinar/2026-11-02/attendees\\|1.csv` |" in text
    assert "extra column 'a\\|b' ignored" in text


def test_a_summary_renders_the_same_after_a_json_round_trip(erasure_summary):
    data = json.loads(json.dumps(erasure_summary.to_dict()))
    assert render_report(data) == render_report(erasure_summary)


def test_one_extracts_failed_expectations_render_alone_for_its_asset_check(erasure_summary):
    text = render_suite_outcome(erasure_summary.extracts[0].suite)
    assert text.startswith("**Expectation suite**:")
    assert "`expect_compound_columns_to_be_unique`" in text
    assert "j***@a***" in text and "jane.doe" not in text
