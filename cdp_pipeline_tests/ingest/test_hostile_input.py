"""Hostile and broken landing files (issue 10, item 3): the ingest never raises, never runs what
it reads, refuses or quarantines with a reason naming the file (and line), and every file's rows
balance: read == accepted + quarantined + duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp_pipeline.extracts import ALL_EXTRACTS, CRM_CONTACTS, STORE_WEB_EVENTS, WEBINAR_ATTENDEES
from cdp_pipeline.ingest.accumulate import ingest_extract
from cdp_pipeline.ingest.readers import MAX_EXTRA_FIELDS
from cdp_pipeline.ingest.state import StateStore

from .corpus import (
    FORMULA_VALUES,
    SQL_VALUE,
    bad_files,
    csv_text,
    file_name,
    json_object,
    jsonl_text,
    text_columns,
    valid_file,
    valid_record,
)
from .helpers import write_drop

DAY = "2026-11-02"
HOSTILE_VALUES = FORMULA_VALUES + (SQL_VALUE,)
CSV_EXTRACTS = [e for e in ALL_EXTRACTS if e.fmt == "csv" and text_columns(e)]
# Derandomized: the same examples on every run, so a failure is reproducible and never flaky.
PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def ingest_one(extract, tmp_path: Path, content: bytes | str, name: str | None = None):
    """Ingests a single file dropped as ``name`` (default: the extract's plain file name)."""
    landing = tmp_path / "landing"
    write_drop(landing, extract.source, DAY, {name or file_name(extract): content})
    return ingest_extract(extract, landing, StateStore(tmp_path / "state"))


def assert_every_file_balances(outcome) -> None:
    for report in outcome.file_reports:
        assert report.rows_read == report.accepted + report.quarantined + report.duplicates, report


def assert_quarantine_names_file_line_and_reason(outcome) -> None:
    files = {r.file for r in outcome.file_reports}
    quarantine = outcome.quarantine
    assert set(quarantine["file"]) <= files
    assert quarantine["line"].notna().all() and (quarantine["line"] >= 1).all()
    assert (quarantine["reason"].str.len() > 0).all()


def corpus_cases():
    return [pytest.param(e, bad, id=f"{e.name}-{bad.label}") for e in ALL_EXTRACTS for bad in bad_files(e)]


@pytest.mark.parametrize(("extract", "bad"), corpus_cases())
def test_a_bad_file_is_refused_or_quarantined_with_a_reason_and_its_rows_balance(tmp_path, extract, bad):
    outcome = ingest_one(extract, tmp_path, bad.content)
    rel = f"{extract.source}/{DAY}/{file_name(extract)}"

    [report] = outcome.file_reports
    assert report.file == rel
    assert_every_file_balances(outcome)
    assert_quarantine_names_file_line_and_reason(outcome)
    assert report.quarantined == len(outcome.quarantine) or report.status == "held"
    if bad.outcome == "rejected":
        assert report.status == "rejected" and report.error.startswith(f"{rel}: ")
        assert report.rows_read == 0 and outcome.table.empty
    else:
        assert report.status in ("applied", "held"), report.error


def test_the_ingest_writes_nothing_into_the_landing_folder_whatever_it_reads(tmp_path):
    landing = tmp_path / "landing"
    for extract in ALL_EXTRACTS:
        for n, bad in enumerate(bad_files(extract)[:8]):
            write_drop(landing, extract.source, f"2026-11-{n + 1:02d}", {file_name(extract): bad.content})
    before = {p: p.read_bytes() for p in landing.rglob("*") if p.is_file()}

    for extract in ALL_EXTRACTS:
        outcome = ingest_extract(extract, landing, StateStore(tmp_path / "state"))
        outcome.commit()
        assert_every_file_balances(outcome)

    after = {p: p.read_bytes() for p in landing.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=lambda e: e.name)
def test_formula_and_sql_looking_values_come_out_of_the_accepted_table_unchanged(tmp_path, extract):
    free_text = text_columns(extract)  # erasure requests have none: their key takes the values
    column = next(c for c in extract.columns if c.header == free_text[0]) if free_text else extract.columns[0]
    rows = [dict(valid_record(extract, n), **{column.header: v}) for n, v in enumerate(HOSTILE_VALUES)]

    outcome = ingest_one(extract, tmp_path, valid_file(extract, rows))

    assert outcome.file_reports[0].accepted == len(HOSTILE_VALUES)
    assert list(outcome.table[column.name]) == list(HOSTILE_VALUES)


def test_formula_and_sql_looking_values_of_a_quarantined_row_are_kept_verbatim_with_the_address_masked(tmp_path):
    record = dict(valid_record(CRM_CONTACTS, 1), **{"First Name": SQL_VALUE, "Last Name": FORMULA_VALUES[0]})
    headers = [c.header for c in CRM_CONTACTS.columns]
    content = csv_text(headers, [record]).rstrip("\n") + ",one field too many\n"

    outcome = ingest_one(CRM_CONTACTS, tmp_path, content)

    [row] = outcome.quarantine.to_dict("records")
    assert row["line"] == 2 and "row_well_formed" in row["reason"]
    raw = json.loads(row["raw"])
    assert raw["First Name"] == SQL_VALUE and raw["Last Name"] == FORMULA_VALUES[0]
    assert "person1@example.com" not in row["raw"]


def test_a_latin_1_file_is_read_with_its_accents_and_one_undecodable_byte_refuses_it_by_name(tmp_path):
    record = dict(valid_record(CRM_CONTACTS, 1), **{"First Name": "José Núñez", "Last Name": "Zoë"})
    content = csv_text([c.header for c in CRM_CONTACTS.columns], [record]).encode("latin-1")

    read = ingest_one(CRM_CONTACTS, tmp_path / "ok", content)
    refused = ingest_one(CRM_CONTACTS, tmp_path / "bad", content + b"\x81\n")

    assert read.table[["first_name", "last_name"]].values.tolist() == [["José Núñez", "Zoë"]]
    assert refused.file_reports[0].status == "rejected"
    assert refused.file_reports[0].error.startswith(f"crm/{DAY}/contacts.csv: neither UTF-8 nor Windows-1252")


def test_a_ragged_row_is_quarantined_with_its_physical_line_even_after_a_multiline_field(tmp_path):
    headers = [c.header for c in CRM_CONTACTS.columns]
    first = dict(valid_record(CRM_CONTACTS, 1), **{"Street Address": "line one\nline two\nline three"})
    content = csv_text(headers, [first, valid_record(CRM_CONTACTS, 2)]) + "3,too,few\n"

    outcome = ingest_one(CRM_CONTACTS, tmp_path, content)

    assert outcome.file_reports[0].accepted == 2
    assert list(outcome.quarantine["line"]) == [6]
    assert any("line 6" in w or "lines 6" in w for w in outcome.file_reports[0].warnings)


def test_a_line_of_a_million_delimiters_is_quarantined_without_a_column_per_field(tmp_path):
    headers = [c.header for c in CRM_CONTACTS.columns]
    content = csv_text(headers, [valid_record(CRM_CONTACTS, 1)]) + "," * 1_000_000 + "\n"

    outcome = ingest_one(CRM_CONTACTS, tmp_path, content)

    [row] = outcome.quarantine.to_dict("records")
    assert row["line"] == 3 and row["reason"] == "row_well_formed"
    assert outcome.file_reports[0].accepted == 1
    assert len(json.loads(row["raw"])) == len(headers) + MAX_EXTRA_FIELDS  # the surplus is cut, not a column each


def test_a_missing_required_column_rejects_the_file_naming_the_column_and_the_file(tmp_path):
    headers = [c.header for c in CRM_CONTACTS.columns if c.header != "Record ID"]
    outcome = ingest_one(CRM_CONTACTS, tmp_path, csv_text(headers, [valid_record(CRM_CONTACTS, 1)]))

    [report] = outcome.file_reports
    assert report.status == "rejected"
    assert report.error.startswith(f"crm/{DAY}/contacts.csv: ") and "'Record ID'" in report.error


def test_a_50_mb_single_field_is_kept_whole(tmp_path):
    huge = "x" * (50 * 1024 * 1024)
    rows = [dict(valid_record(CRM_CONTACTS, 1), **{"Company Name": huge}), valid_record(CRM_CONTACTS, 2)]

    outcome = ingest_one(CRM_CONTACTS, tmp_path, csv_text([c.header for c in CRM_CONTACTS.columns], rows))

    assert outcome.file_reports[0].accepted == 2
    assert outcome.table["company_name"].str.len().tolist() == [len(huge), len("company_name-2")]


def test_a_50_mb_single_json_string_is_kept_whole(tmp_path):
    huge = "y" * (50 * 1024 * 1024)
    record = dict(valid_record(STORE_WEB_EVENTS, 1), **{"traits.first_name": huge})

    outcome = ingest_one(STORE_WEB_EVENTS, tmp_path, jsonl_text([json_object(record)]))

    assert outcome.file_reports[0].accepted == 1
    assert outcome.table["first_name"].str.len().tolist() == [len(huge)]


@pytest.mark.parametrize("extract", [CRM_CONTACTS, STORE_WEB_EVENTS], ids=lambda e: e.name)
def test_a_million_empty_lines_are_skipped_and_later_rows_keep_their_physical_line(tmp_path, extract):
    two_rows = valid_file(extract, [valid_record(extract, 1), valid_record(extract, 2)])
    first, second = two_rows.splitlines(keepends=True)[-2:]
    head = valid_file(extract, []) if extract.fmt == "csv" else ""
    content = head + first + "\n" * 1_000_000 + second

    outcome = ingest_one(extract, tmp_path, content)

    [report] = outcome.file_reports
    assert (report.rows_read, report.accepted) == (2, 2)
    offset = 1 if extract.fmt == "csv" else 0
    assert outcome.table["_line"].tolist() == [1 + offset, 1_000_002 + offset]


@pytest.mark.parametrize(
    "name",
    [
        "attendees..%2F..%2Fetc.csv",
        "attendees ..\\..\\windows.csv",
        "attendees Zoë Μαρία 東京.csv",
        "attendees'); DROP TABLE profiles;--.csv",
        "attendees$(touch pwned).csv",
    ],
)
def test_a_path_like_file_name_is_read_as_a_plain_name_inside_its_drop(tmp_path, name):
    content = valid_file(WEBINAR_ATTENDEES, [valid_record(WEBINAR_ATTENDEES, 1)])

    outcome = ingest_one(WEBINAR_ATTENDEES, tmp_path, content, name)

    rel = f"webinar/{DAY}/{name}"
    assert [r.file for r in outcome.file_reports] == [rel]
    assert outcome.table["_file"].tolist() == [rel]
    outcome.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing", "state"]
    assert sorted(p.name for p in (tmp_path / "landing").rglob("*") if p.is_file()) == sorted([name, "_SUCCESS"])
    assert not (Path.cwd() / "pwned").exists()


def test_files_and_folders_the_extract_pattern_does_not_name_exactly_are_not_read(tmp_path):
    landing = tmp_path / "landing"
    good = valid_file(CRM_CONTACTS, [valid_record(CRM_CONTACTS, 1)])
    names = ("..%2Fcontacts.csv", "contacts.csv.bak", " contacts.csv", "contacts.csv")
    folder = write_drop(landing, "crm", DAY, dict.fromkeys(names, good))
    (folder / "sub").mkdir()
    (folder / "sub" / "contacts.csv").write_text(good)

    outcome = ingest_extract(CRM_CONTACTS, landing, StateStore(tmp_path / "state"))

    assert [r.file for r in outcome.file_reports] == [f"crm/{DAY}/contacts.csv"]


def test_a_folder_matching_the_file_pattern_is_not_read_as_a_file(tmp_path):
    landing = tmp_path / "landing"
    content = valid_file(WEBINAR_ATTENDEES, [valid_record(WEBINAR_ATTENDEES, 1)])
    folder = write_drop(landing, "webinar", DAY, {"attendees.csv": content})
    (folder / "attendees_dir.csv").mkdir()

    outcome = ingest_extract(WEBINAR_ATTENDEES, landing, StateStore(tmp_path / "state"))

    assert [r.file for r in outcome.file_reports] == [f"webinar/{DAY}/attendees.csv"]


def test_a_json_line_holding_two_objects_is_quarantined_not_a_crash(tmp_path):
    lines = valid_file(STORE_WEB_EVENTS, [valid_record(STORE_WEB_EVENTS, 1), valid_record(STORE_WEB_EVENTS, 2)])

    outcome = ingest_one(STORE_WEB_EVENTS, tmp_path, lines.replace("\n", "", 1))

    assert outcome.file_reports[0].quarantined == 1
    assert outcome.quarantine["line"].tolist() == [1]


def test_json_values_of_the_wrong_type_are_quarantined_line_by_line_and_the_rest_is_read(tmp_path):
    good = [json_object(valid_record(STORE_WEB_EVENTS, i)) for i in (1, 2)]
    bad = [
        dict(good[0], messageId="t1", timestamp=1730000000),
        dict(good[0], messageId="p1", properties={"price": "free"}),
    ]

    outcome = ingest_one(STORE_WEB_EVENTS, tmp_path, jsonl_text([good[0], *bad, good[1]]))

    assert outcome.table["message_id"].tolist() == ["message_id-1", "message_id-2"]
    reasons = dict(zip(outcome.quarantine["line"], outcome.quarantine["reason"]))
    assert set(reasons) == {2, 3}
    assert reasons[2] == "row_well_formed"  # a number where the timestamp text belongs
    assert reasons[3] == "price_parsed"


# --- properties -------------------------------------------------------------------------------

CP1252_TEXT = st.characters(codec="cp1252")


@st.composite
def csv_files(draw):
    """(extract, encoded file, hostile column, written cells, encoding): arbitrary text cells in
    a layout the contract allows."""
    extract = draw(st.sampled_from(CSV_EXTRACTS))
    delimiter = draw(st.sampled_from([",", ";"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    alphabet = CP1252_TEXT if encoding == "cp1252" else st.characters(codec="utf-8")
    column = draw(st.sampled_from(text_columns(extract)))
    cells = draw(st.lists(st.text(alphabet, max_size=40), min_size=1, max_size=8))
    rows = [dict(valid_record(extract, n), **{column: cell}) for n, cell in enumerate(cells)]
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    text = csv_text([c.header for c in extract.columns], rows, delimiter, line_end)
    return extract, text.encode(encoding), column, cells, encoding


@PROPERTY_SETTINGS
@given(case=csv_files())
def test_arbitrary_text_cells_in_a_valid_csv_layout_never_crash_and_always_balance(tmp_path_factory, case):
    extract, content, column, cells, encoding = case
    outcome = ingest_one(extract, tmp_path_factory.mktemp("csv"), content)

    [report] = outcome.file_reports
    assert_every_file_balances(outcome)
    assert_quarantine_names_file_line_and_reason(outcome)
    if "\x00" in "".join(cells):  # NUL bytes read as UTF-16: the whole file is refused, by name
        assert report.status == "rejected" and report.error.startswith(report.file)
        return
    assert report.status == "applied" and report.rows_read == len(cells)
    if encoding != "cp1252":  # cp1252 bytes that happen to be valid UTF-8 are read as UTF-8
        name = next(c.name for c in extract.columns if c.header == column)
        expected = [c if c.strip() else None for c in cells]
        assert [None if pd.isna(v) else v for v in outcome.table[name]] == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def json_lines(draw):
    """Lines each holding a valid event, an event with arbitrary values in its fields, or any JSON value."""
    lines = []
    for n in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["valid", "field", "value"]))
        obj = json_object(valid_record(STORE_WEB_EVENTS, n))
        if kind == "field":
            field = draw(st.sampled_from(["messageId", "type", "timestamp", "properties", "traits", "event", "extra"]))
            obj[field] = draw(JSON_VALUES)
        lines.append(draw(JSON_VALUES) if kind == "value" else obj)
    return lines


@PROPERTY_SETTINGS
@given(values=json_lines())
def test_arbitrary_json_values_per_line_never_crash_and_always_balance(tmp_path_factory, values):
    content = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values)

    outcome = ingest_one(STORE_WEB_EVENTS, tmp_path_factory.mktemp("jsonl"), content)

    [report] = outcome.file_reports
    assert_every_file_balances(outcome)
    if report.status == "rejected":  # no line gave a required path a plain value: a changed format
        assert report.error.startswith(f"{report.file}: missing required column(s)")
        return
    assert report.rows_read == len(values)
    assert_quarantine_names_file_line_and_reason(outcome)
    not_objects = {n + 1 for n, v in enumerate(values) if not isinstance(v, dict)}
    assert not_objects <= set(outcome.quarantine["line"].astype(int)) or report.status == "held"
