"""The generated landing folder follows shared/extracts.md: layout, dialects and flaws."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cdp_pipeline.synth import generate
from cdp_pipeline_tests.synth.conftest import END, decode, read_landing_csv

SOURCES = ("webinar", "crm", "store", "privacy")


def _csv_files(landing: Path) -> list[Path]:
    return sorted(landing.rglob("*.csv"))


def test_one_folder_per_source_per_day_and_only_the_trailing_drop_lacks_success(sample):
    landing, _, summary = sample
    expected_days = [str(END - timedelta(days=k)) for k in range(13, -1, -1)]
    trailing = str(END + timedelta(days=1))
    for source in SOURCES:
        folders = sorted(p.name for p in (landing / source).iterdir())
        assert folders == expected_days + [trailing]
        for day in expected_days:
            marker = landing / source / day / "_SUCCESS"
            assert marker.exists() and marker.stat().st_size == 0
        assert not (landing / source / trailing / "_SUCCESS").exists()
    assert summary.reference_date == END


def test_files_are_named_as_the_contract_says(sample):
    landing, _, _ = sample
    allowed = {
        "webinar": re.compile(r"attendees.*\.csv$"),
        "crm": re.compile(r"(contacts|email_events)\.csv$"),
        "store": re.compile(r"(customers|orders)\.csv$|web_events\.jsonl$"),
        "privacy": re.compile(r"erasure_requests\.csv$"),
    }
    for source, pattern in allowed.items():
        for f in (landing / source).rglob("*"):
            if f.is_file() and f.name != "_SUCCESS":
                assert pattern.match(f.name), f


def test_snapshots_are_written_in_every_drop_and_lose_deleted_records(sample):
    landing, _, _ = sample
    ids_by_day = []
    for folder in sorted((landing / "crm").iterdir()):
        ids_by_day.append(set(read_landing_csv(folder / "contacts.csv")["record id"]))
    assert all(ids_by_day)
    disappeared = set().union(*ids_by_day[:-1]) - ids_by_day[-1]
    assert disappeared, "some CRM contacts are deleted during the window"


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    def digest(seed: int, name: str) -> dict[str, str]:
        out = tmp_path / name
        generate(persons=120, days=4, seed=seed, out=out / "l", truth=out / "t", end_date=date(2026, 3, 30),
                 history_days=20)
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}

    first, again, other = digest(5, "a"), digest(5, "b"), digest(6, "c")
    assert first == again
    assert first != other


def test_every_dialect_of_the_contract_appears(sample):
    landing, _, _ = sample
    encodings, delimiters, eols, header_styles = set(), set(), set(), set()
    shuffled = extra = decimal_comma = day_first = False
    for f in _csv_files(landing):
        raw = f.read_bytes()
        text, enc = decode(raw)
        encodings.add(enc)
        header = text.split("\n", 1)[0].rstrip("\r")
        delimiter = ";" if header.count(";") > header.count(",") else ","
        delimiters.add(delimiter)
        eols.add("crlf" if b"\r\n" in raw else "lf")
        names = header.split(delimiter)
        if all(n == n.lower() for n in names):
            header_styles.add("lower")
        if all(n == n.upper() for n in names):
            header_styles.add("upper")
        if all(n.startswith(" ") and n.endswith(" ") for n in names):
            header_styles.add("padded")
        if f.name == "contacts.csv":
            first = names[0].strip().lower()
            shuffled |= first != "record id"
            extra |= "lifecycle stage" in [n.strip().lower() for n in names]
            if delimiter == ";":
                day_first |= bool(re.search(r";\d{2}/\d{2}/\d{4};", text))
        if f.name == "orders.csv" and delimiter == ";":
            decimal_comma |= bool(re.search(r";\d+,\d{2};", text))
    assert encodings == {"utf-8", "utf-8-sig", "cp1252"}
    assert delimiters == {",", ";"}
    assert eols == {"crlf", "lf"}
    assert header_styles >= {"lower", "upper", "padded"}
    assert shuffled and extra and decimal_comma and day_first


def test_timestamp_and_boolean_spellings_all_appear(sample):
    landing, _, _ = sample
    text = "\n".join(decode(f.read_bytes())[0] for f in _csv_files(landing))
    text += "\n".join(f.read_text("utf-8") for f in landing.rglob("*.jsonl"))
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text)
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", text)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text)
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)
    spellings = set()
    for f in (landing / "crm").rglob("contacts.csv"):
        spellings |= set(read_landing_csv(f)["marketing email opt-in"])
    assert {"Yes", "No", "true", "false", "TRUE", "FALSE", "1", "0", "y", "n", ""} <= spellings


def test_quoted_fields_carry_delimiters_quotes_and_newlines(sample):
    landing, _, _ = sample
    text = "\n".join(decode(f.read_bytes())[0] for f in _csv_files(landing))
    assert re.search(r'"[^"\n]*,[^"\n]*"', text)  # a delimiter inside quotes
    assert '""' in text  # an escaped quote
    assert re.search(r'"Apt \d+\r?\n', text)  # a two-line street address


def test_flaws_are_present_at_realistic_rates(sample):
    landing, _, summary = sample
    flaws = summary.flaws
    for key in ("repeated_rows", "redelivered_rows", "garbage_rows", "malformed_json_lines", "truncated_last_line"):
        assert flaws.get(key, 0) > 0, key
    real = sum(summary.rows.values())
    assert flaws["garbage_rows"] + flaws["malformed_json_lines"] + flaws["repeated_rows"] < 0.03 * real

    bad_json = 0
    for f in landing.rglob("web_events.jsonl"):
        for line in f.read_text("utf-8").splitlines():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                bad_json += 1
    assert bad_json >= flaws["malformed_json_lines"]
    truncated = [f for f in _csv_files(landing) if not f.read_bytes().endswith(b"\n")]
    assert truncated


def test_event_rows_of_one_drop_are_delivered_again_in_a_later_drop(sample):
    landing, _, _ = sample
    seen: dict[str, str] = {}
    repeated_across_drops = 0
    for f in sorted((landing / "crm").rglob("email_events.csv")):
        ids = set(read_landing_csv(f)["event id"])
        repeated_across_drops += sum(1 for i in ids if i in seen)
        seen.update({i: f.parent.name for i in ids})
    assert repeated_across_drops > 0


def test_garbage_values_exist_for_validation_to_quarantine(sample):
    landing, _, _ = sample
    orders = pd.concat([read_landing_csv(f) for f in (landing / "store").rglob("orders.csv")])
    assert (orders["lineitem quantity"].str.startswith("-")).any()
    events = pd.concat([read_landing_csv(f) for f in (landing / "crm").rglob("email_events.csv")])
    assert events["event time"].isin(["not a date", "N/A", "2026-02-30 25:61:00", "31/31/2026", "yesterday",
                                      "0000-00-00T00:00:00Z"]).any()


def test_emails_arrive_misspelt_invalid_padded_and_in_odd_case(sample):
    landing, _, _ = sample
    emails = pd.concat(
        [read_landing_csv(f)["email"] for f in list((landing / "webinar").rglob("*.csv")) + list((landing / "crm").rglob("contacts.csv"))]
    )
    clean = emails.str.strip().str.lower()
    assert clean.str.contains(r"@(?:gmial|gmai|gnail|hotmal|hotmial|yaho|yahooo)\.|\.con$|\.co$", regex=True).any()
    assert emails.str.match(r"^\s|.*\s$").any()
    assert (emails.str.contains("@") == False).any() or emails.str.endswith("@").any()  # noqa: E712
    assert emails.str.contains(r"[A-Z]", regex=True).any()
    assert emails.str.contains(r"\+\w+@gmail\.com", regex=True).any()


def test_header_only_files_and_quiet_days_exist(sample):
    landing, _, _ = sample
    header_only = [f for f in (landing / "privacy").rglob("*.csv") if len(decode(f.read_bytes())[0].strip().splitlines()) == 1]
    assert header_only
    days_without_file = [d for d in (landing / "privacy").iterdir() if not any(d.glob("*.csv"))]
    assert days_without_file


def test_committed_sample_is_exactly_what_the_generator_writes(tmp_path):
    """data/landing and data/truth are `generate(300, 14, seed=7)`: regenerate them after changing synth."""
    repo = Path(__file__).resolve().parents[2]

    def digests(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}

    generate(persons=300, days=14, seed=7, out=tmp_path / "landing", truth=tmp_path / "truth")
    assert digests(repo / "data" / "landing") == digests(tmp_path / "landing")
    assert digests(repo / "data" / "truth") == digests(tmp_path / "truth")


def test_generation_never_deletes_a_folder_holding_foreign_files(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate(persons=20, days=1, seed=1, out=landing, truth=tmp_path / "truth", history_days=3)
    assert (landing / "notes.txt").read_text() == "keep me"
