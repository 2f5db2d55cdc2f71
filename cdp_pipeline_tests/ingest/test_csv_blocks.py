"""CSV records are split, typed and screened a block at a time: where the blocks fall never
changes what is read, kept or quarantined."""

from datetime import date
from functools import partial

import pandas as pd
import pytest

from cdp_pipeline.extracts import CRM_EMAIL_EVENTS, ERASURE_REQUESTS, STORE_ORDERS, STORE_WEB_EVENTS
from cdp_pipeline.ingest import readers
from cdp_pipeline.quality.rules import judged_row_by_row, split_valid_rows
from cdp_pipeline_tests.ingest.helpers import assert_same_read

DAY = date(2026, 11, 2)
HEADER = "Event ID,Campaign ID,Campaign Name,Recipient,Record ID,Event Type,Event Time,User Agent,Link URL\n"


def read(tmp_path, content: bytes, block_records: int, extract=CRM_EMAIL_EVENTS, screen=None):
    folder = tmp_path / extract.source / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / extract.pattern.replace("*", "")
    path.write_bytes(content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "CSV_BLOCK_RECORDS", block_records)
        patch.setattr(readers, "JSONL_BLOCK_BYTES", 64)
        return readers.read_extract_file(path, extract, tmp_path, DAY, screen=screen)


def email_event(i: int, event_type: str = "OPEN", name: str = "Launch") -> str:
    return f"E{i},C1,{name},p{i}@example.com,R{i},{event_type},2026-11-02T10:00:{i % 60:02d}Z,,\n"


def awkward_file() -> bytes:
    """Quoted newlines and delimiters, blank lines, a ragged row, CRLF, a truncated last line."""
    rows = []
    for i in range(30):
        rows.append(email_event(i, name='"Launch, part\ntwo"' if i % 4 == 0 else "Launch"))
        if i % 7 == 0:
            rows.append("\n")
        if i == 11:
            rows.append("E99,C1,Launch,ragged@example.com,R99,OPEN,2026-11-02T10:00:00Z,,,extra,extra\n")
    body = "".join(rows).replace("\n", "\r\n") + "E100,C1,Launch"  # cut off mid-record
    return ("\ufeff" + HEADER + body).encode("utf-8")


@pytest.mark.parametrize("block_records", [1, 2, 5])
def test_a_file_split_in_small_blocks_reads_as_one_block_does(tmp_path, block_records):
    content = awkward_file()

    blocked = read(tmp_path, content, block_records)
    whole = read(tmp_path, content, 10**6)

    assert_same_read(blocked, whole)
    assert whole.rows_read == 32  # 30 events, the ragged row and the truncated last line
    assert whole.frame["campaign_name"].iloc[0] == "Launch, part\r\ntwo"
    assert whole.frame["_line"].iloc[:3].tolist() == [2, 5, 6]  # physical lines, quoted newlines counted
    assert whole.warnings == [
        "crm/2026-11-02/email_events.csv: line 46: truncated last line (too few fields), quarantined",
        "crm/2026-11-02/email_events.csv: 1 row(s) with a wrong number of fields, quarantined (lines 19)",
    ]


def test_a_field_a_row_lacks_is_null_in_its_raw_text_wherever_the_blocks_fall(tmp_path):
    content = b"Request ID,Email,Requested At\nR1,a@example.com,2026-11-02T10:00:00Z,x,y\nR2,b@example.com\n"

    for block_records in (1, 10):
        read_back = read(tmp_path, content, block_records, extract=ERASURE_REQUESTS)
        assert read_back.frame["_raw"].tolist()[1] == (
            '{"Request ID":"R2","Email":"b@example.com","Requested At":null,"_extra_1":null,"_extra_2":null}'
        )


def test_quotes_that_pair_up_but_not_as_fields_fall_back_to_the_csv_module_for_the_whole_file(tmp_path):
    events = "".join(email_event(i) for i in range(6))
    content = (HEADER + events + 'E7,C1,Launch "beta",p7@example.com,R7,OPEN,2026-11-02T10:00:00Z,,\n'
               + events.replace("E", "F") + 'E8,C1,"Launch,p8@example.com,R8,OPEN,2026-11-02T10:00:00Z,,\n').encode()

    blocked = read(tmp_path, content, 2)

    assert_same_read(blocked, read(tmp_path, content, 10**6))
    assert blocked.rows_read == len(blocked.frame) > 0


@pytest.mark.parametrize(
    ("extract", "content"),
    [
        (CRM_EMAIL_EVENTS, awkward_file()),
        (STORE_WEB_EVENTS, b'{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\n'
         b'{"messageId":"m2","type":"page"}\n{"broken\n'
         b'{"messageId":"m3","type":"track","timestamp":"2026-11-02T10:00:00Z","event":"Order Completed"}\n'),
    ],
)
def test_a_screened_read_keeps_what_the_row_rules_accept_and_sets_aside_what_they_quarantine(
    tmp_path, extract, content
):
    accepted, quarantined = split_valid_rows(extract, read(tmp_path, content, 10**6, extract).frame)

    screened = read(tmp_path, content, 1, extract, screen=partial(split_valid_rows, extract))

    assert len(quarantined) > 0
    pd.testing.assert_frame_equal(screened.frame, accepted.reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(screened.set_aside, quarantined, check_exact=True)
    assert screened.rows_read == len(accepted) + len(quarantined)
    assert "_raw" not in screened.frame.columns  # the kept rows' raw text is not held


def test_a_screened_file_that_turns_out_unusable_keeps_nothing(tmp_path):
    content = (HEADER.replace("Recipient,", "") + "".join(email_event(i) for i in range(5))).encode()

    screened = read(tmp_path, content, 1, screen=partial(split_valid_rows, CRM_EMAIL_EVENTS))

    assert "missing required column(s) 'Recipient'" in screened.error
    assert screened.rows_read == 0 and screened.frame.empty and screened.set_aside.empty


def test_only_rules_that_compare_rows_need_the_whole_file_before_screening():
    assert not judged_row_by_row(STORE_ORDERS)  # an order's lines must agree on its total
    assert judged_row_by_row(CRM_EMAIL_EVENTS) and judged_row_by_row(STORE_WEB_EVENTS)
