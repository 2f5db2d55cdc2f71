"""Each dialect of each extract, and every kind of bad input, read into canonical frames."""

import json
from datetime import date

import pandas as pd
import pytest

from cdp_pipeline.extracts import (
    CRM_CONTACTS,
    CRM_EMAIL_EVENTS,
    ERASURE_REQUESTS,
    STORE_CUSTOMERS,
    STORE_ORDERS,
    STORE_WEB_EVENTS,
    WEBINAR_ATTENDEES,
)
from cdp_pipeline.ingest.readers import read_extract_file

DAY = date(2026, 11, 2)
UTC = "UTC"


def read(tmp_path, extract, name, content: str | bytes):
    folder = tmp_path / extract.source / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_extract_file(path, extract, tmp_path, DAY)


def ts(text):
    return pd.Timestamp(text, tz=UTC)


def test_webinar_report_with_us_timestamps_yes_no_and_email_key(tmp_path):
    content = (
        "Webinar ID,Webinar Topic,Webinar Start,Attended,First Name,Last Name,Email,"
        "Join Time,Leave Time,Time in Session (minutes),Marketing Consent\n"
        "W1,Intro,11/02/2026 15:00,Yes,Zoë,Smith, Zoe.Smith@Acme.COM ,11/02/2026 15:02,11/02/2026 15:50,48,No\n"
        "W1,Intro,11/02/2026 15:00,No,Μαρία,Παπαδοπούλου,maria@example.gr,,,,\n"
    )
    result = read(tmp_path, WEBINAR_ATTENDEES, "attendees_w1.csv", content)

    frame = result.frame
    assert result.error is None and result.rows_read == 2
    assert frame["webinar_start"].tolist() == [ts("2026-11-02 15:00"), ts("2026-11-02 15:00")]
    assert frame["attended"].tolist() == [True, False]
    assert frame["marketing_consent"].isna().tolist() == [False, True]  # blank is unknown, not False
    assert frame["time_in_session_minutes"].dtype == "Int64"
    assert frame["email_key"].tolist() == ["zoe.smith@acme.com", "maria@example.gr"]
    assert frame["last_name"][1] == "Παπαδοπούλου"
    assert frame["organization"].isna().all()  # optional column absent from the file: present, all NA
    assert frame["_file"].tolist() == ["webinar/2026-11-02/attendees_w1.csv"] * 2
    assert frame["_line"].tolist() == [2, 3]
    assert frame["_drop_date"].tolist() == [pd.Timestamp(DAY)] * 2
    assert frame["_parse_errors"].isna().all()


def test_crm_export_in_windows_1252_with_semicolons_crlf_day_first_dates_and_shuffled_headers(tmp_path):
    content = (
        " last name ;RECORD ID;First Name;Email;Date of Birth;Marketing Email Opt-In;Legacy Score\r\n"
        "Núñez;101;José;jose@example.es;31/12/1979;y;7\r\n"
        "Müller;102;Jörg;jorg@example.de;1985-06-01;;3\r\n"
    ).encode("cp1252")
    result = read(tmp_path, CRM_CONTACTS, "contacts.csv", content)

    frame = result.frame
    assert result.dialect == {"encoding": "cp1252", "delimiter": ";", "line_end": "CRLF"}
    assert frame["record_id"].tolist() == ["101", "102"]
    assert frame["first_name"].tolist() == ["José", "Jörg"]
    assert frame["last_name"].tolist() == ["Núñez", "Müller"]
    assert frame["date_of_birth"].tolist() == [pd.Timestamp("1979-12-31"), pd.Timestamp("1985-06-01")]
    assert frame["marketing_email_opt_in"].tolist()[0] is True
    assert frame["marketing_email_opt_in"].isna().tolist() == [False, True]
    assert "legacy_score" not in frame.columns and "Legacy Score" not in frame.columns
    assert any("Legacy Score" in w for w in result.warnings)
    assert '"Legacy Score":"7"' in frame["_raw"][0]  # unknown columns survive in the raw row


def test_utf8_with_bom_is_read_and_the_bom_does_not_stick_to_the_first_header(tmp_path):
    content = "\ufeffRecord ID,First Name,Last Name,Email\n7,Zoë,Ng,z@example.com\n".encode("utf-8")
    result = read(tmp_path, CRM_CONTACTS, "contacts.csv", content)
    assert result.error is None
    assert result.dialect["encoding"] == "utf-8-sig"
    assert result.frame["record_id"].tolist() == ["7"]


def test_email_events_accept_iso_z_offsets_and_plain_utc_timestamps(tmp_path):
    content = (
        "Event ID,Campaign ID,Recipient,Event Type,Event Time,User Agent\n"
        "e1,c1,a@x.com,OPEN,2026-11-02T10:00:00Z,Mozilla/5.0\n"
        "e2,c1,a@x.com,CLICK,2026-11-02T12:00:00+02:00,\n"
        "e3,c1,a@x.com,SENT,2026-11-02 10:00:00,\n"
        "e4,c1,a@x.com,SENT,2026-11-02T10:00:00.250Z,\n"
    )
    frame = read(tmp_path, CRM_EMAIL_EVENTS, "email_events.csv", content).frame
    assert str(frame["event_time"].dtype) == "datetime64[us, UTC]"
    assert frame["event_time"].tolist() == [
        ts("2026-11-02 10:00"),
        ts("2026-11-02 10:00"),
        ts("2026-11-02 10:00"),
        ts("2026-11-02 10:00:00.250"),
    ]
    assert frame["record_id"].isna().all()


@pytest.mark.parametrize(
    "spelling, expected",
    [("Yes", True), ("no", False), ("TRUE", True), ("false", False), ("1", True), ("0", False), ("y", True), ("N", False)],
)
def test_store_customer_booleans_in_every_spelling(tmp_path, spelling, expected):
    content = f"Customer ID,First Name,Last Name,Email,Accepts Email Marketing\nS1,A,B,a@b.com,{spelling}\n"
    frame = read(tmp_path, STORE_CUSTOMERS, "customers.csv", content).frame
    assert frame["accepts_email_marketing"].tolist() == [expected]
    assert frame["_parse_errors"].isna().all()


def test_unparseable_values_are_named_in_parse_errors_not_silently_blank(tmp_path):
    content = "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Created At\nS1,A,B,a@b.com,maybe,yesterday\n"
    frame = read(tmp_path, STORE_CUSTOMERS, "customers.csv", content).frame
    assert frame["_parse_errors"].tolist() == ["accepts_email_marketing;created_at"]


def test_orders_with_semicolons_decimal_commas_and_quoted_delimiters_quotes_and_newlines(tmp_path):
    content = (
        "Order ID;Email;Created At;Financial Status;Total;Lineitem SKU;Lineitem Name;Lineitem Quantity;Lineitem Price\n"
        'O1;a@b.com;2026-11-02 09:00:00;paid;1.234,50;SKU1;"Mug; ""large""\nblue";2;12,25\n'
        "O2;c@d.com;2026-11-02T09:30:00Z;pending;5;SKU2;Pen;1;5\n"
    )
    result = read(tmp_path, STORE_ORDERS, "orders.csv", content)
    frame = result.frame
    assert frame["total"].tolist() == [1234.5, 5.0]
    assert frame["lineitem_price"].tolist() == [12.25, 5.0]
    assert frame["lineitem_quantity"].tolist() == [2, 1]
    assert frame["lineitem_name"][0] == 'Mug; "large"\nblue'
    assert frame["_line"].tolist() == [2, 4]  # the second row starts after the quoted newline


def test_web_events_nested_fields_are_flattened_and_numbers_read_as_text_where_text_is_expected(tmp_path):
    content = (
        '{"messageId":"m1","type":"track","event":"Product Viewed","anonymousId":"a1","userId":123,'
        '"timestamp":"2026-11-02T10:00:00Z","properties":{"category":"mugs","sku":"S1","price":12.5}}\n'
        '{"messageId":"m2","type":"identify","anonymousId":"a1","timestamp":"2026-11-02T10:05:00+01:00",'
        '"traits":{"email":"a@b.com","first_name":"Ann"}}\n'
    )
    frame = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", content).frame
    assert frame["user_id"].tolist()[0] == "123"
    assert frame["category"].tolist()[0] == "mugs"
    assert frame["price"].tolist()[0] == 12.5
    assert frame["email"].tolist()[1] == "a@b.com"
    assert frame["timestamp"].tolist() == [ts("2026-11-02 10:00"), ts("2026-11-02 09:05")]
    assert frame["_line"].tolist() == [1, 2]


def test_erasure_requests_are_read(tmp_path):
    content = "Request ID,Email,Requested At\nR1,Gone@Example.com,2026-11-02T08:00:00Z\n"
    frame = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content).frame
    assert frame[["request_id", "email"]].values.tolist() == [["R1", "Gone@Example.com"]]


# --- bad input -------------------------------------------------------------------------------


def test_undecodable_file_is_rejected_with_a_message_naming_it(tmp_path):
    content = b"Request ID,Email,Requested At\nR1,\x81\x8d\xff@x.com,2026-11-02\n"
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.rows_read == 0 and result.frame.empty
    assert result.error.startswith("privacy/2026-11-02/erasure_requests.csv:")
    assert "Windows-1252" in result.error


def test_utf16_file_is_rejected_as_an_unexpected_encoding(tmp_path):
    content = "Request ID,Email,Requested At\nR1,a@b.com,2026-11-02\n".encode("utf-16")
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert "erasure_requests.csv" in result.error and "encoding" in result.error


def test_missing_required_column_rejects_the_file_naming_file_and_column(tmp_path):
    content = "Record ID,First Name,E-mail Address,Last Name\n1,A,a@b.com,B\n"
    result = read(tmp_path, CRM_CONTACTS, "contacts.csv", content)
    assert result.error == "crm/2026-11-02/contacts.csv: missing required column(s) 'Email'"
    assert result.rows_read == 0


def test_truncated_last_line_becomes_a_broken_row_with_its_line(tmp_path):
    content = "Request ID,Email,Requested At\nR1,a@b.com,2026-11-02T08:00:00Z\nR2,b@c.co"
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.rows_read == 2
    assert result.frame["_parse_errors"].tolist() == [pd.NA, "_raw"]
    assert result.frame["_line"].tolist() == [2, 3]
    assert any("line 3: truncated last line" in w for w in result.warnings)


def test_truncated_last_line_inside_an_open_quote_is_kept_as_raw_text(tmp_path):
    content = 'Request ID,Email,Requested At\nR1,a@b.com,2026-11-02T08:00:00Z\nR2,"b@c.com\n'
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.rows_read == 2
    assert result.frame["_parse_errors"].tolist()[1] == "_raw"
    assert result.frame["_line"].tolist() == [2, 3]
    assert "b@c.com" in result.frame["_raw"][1]


def test_last_line_without_newline_but_complete_is_a_normal_row(tmp_path):
    content = "Request ID,Email,Requested At\nR1,a@b.com,2026-11-02T08:00:00Z"
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.frame["_parse_errors"].isna().all() and result.rows_read == 1


@pytest.mark.parametrize("content", ["", "\n", b""])
def test_empty_file_gives_zero_rows_and_a_warning(tmp_path, content):
    result = read(tmp_path, CRM_EMAIL_EVENTS, "email_events.csv", content)
    assert result.error is None and result.rows_read == 0 and result.frame.empty
    assert result.warnings == ["crm/2026-11-02/email_events.csv: empty file, 0 rows"]
    assert str(result.frame["event_time"].dtype) == "datetime64[us, UTC]"


def test_header_only_file_gives_zero_rows_and_a_warning(tmp_path):
    content = "Event ID,Campaign ID,Recipient,Event Type,Event Time\r\n"
    result = read(tmp_path, CRM_EMAIL_EVENTS, "email_events.csv", content)
    assert result.error is None and result.rows_read == 0
    assert result.warnings == ["crm/2026-11-02/email_events.csv: header only, 0 rows"]


def test_malformed_json_line_is_kept_as_a_broken_row_and_the_rest_of_the_file_is_read(tmp_path):
    content = (
        '{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\n'
        '{"messageId":"m2","type":"pa\n'
        "\n"
        '{"messageId":"m3","type":"page","timestamp":"2026-11-02T11:00:00Z"}\n'
        '{"messageId":"m4","type":"page","timestamp":"2026-11-02T11:00:00Z", "x": }\n'
    )
    result = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", content)
    frame = result.frame
    assert result.rows_read == 4
    assert frame["_line"].tolist() == [1, 2, 4, 5]
    assert frame["_parse_errors"].tolist() == [pd.NA, "_raw", pd.NA, "_raw"]
    assert frame["message_id"].tolist() == ["m1", pd.NA, "m3", pd.NA]
    assert frame["_raw"][1] == '{"messageId":"m2","type":"pa'
    assert any("2 malformed JSON line(s)" in w and "lines 2, 5" in w for w in result.warnings)


def test_rows_with_too_many_fields_are_broken_rows_not_a_crash(tmp_path):
    content = "Request ID,Email,Requested At\nR1,a@b.com,2026-11-02T08:00:00Z,surprise\nR2,b@c.com,2026-11-02T08:00:00Z\n"
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.frame["_parse_errors"].tolist() == ["_raw", pd.NA]
    assert result.frame["request_id"].tolist() == ["R1", "R2"]


def test_raw_row_is_a_json_object_keyed_by_the_files_headers_whatever_the_values_hold(tmp_path):
    tricky = 'He said ""hi""\\ \t tab\nnew line'
    content = f'Request ID,Email,Requested At,Note\nR1,"{tricky}",,Zoë\x0b\n'
    frame = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content).frame
    assert json.loads(frame["_raw"][0]) == {
        "Request ID": "R1",
        "Email": 'He said "hi"\\ \t tab\nnew line',
        "Requested At": "",
        "Note": "Zoë ",  # a stray control character is blanked, keeping the JSON valid
    }


def test_a_stray_quote_inside_an_unquoted_field_is_read_literally_without_shifting_rows(tmp_path):
    content = 'Request ID,Email,Requested At\nR1,5" screen,2026-11-02\n"R2",b@c.com,2026-11-02\n'
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.error is None and result.rows_read == 2
    assert result.frame["email"].tolist() == ['5" screen', "b@c.com"]
    assert result.frame["request_id"].tolist() == ["R1", "R2"]
    assert result.frame["_line"].tolist() == [2, 3]
    assert result.frame["_parse_errors"].isna().all()


def test_a_ragged_row_in_the_middle_is_reported_with_its_line(tmp_path):
    content = "Request ID,Email,Requested At\nR1,a@b.com\nR2,b@c.com,2026-11-02\n"
    result = read(tmp_path, ERASURE_REQUESTS, "erasure_requests.csv", content)
    assert result.frame["_parse_errors"].tolist() == ["_raw", pd.NA]
    assert any("1 row(s) with a wrong number of fields" in w and "lines 2" in w for w in result.warnings)
    assert not any("truncated" in w for w in result.warnings)


def test_a_garbage_timestamp_in_json_is_a_timestamp_parse_error_not_a_malformed_line(tmp_path):
    content = (
        '{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\n'
        '{"messageId":"m2","type":"page","timestamp":"not a time"}\n'
        '{"messageId":"m3","type":"page","timestamp":"2026-11-02 10:00:00"}\n'
    )
    frame = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", content).frame
    assert frame["_parse_errors"].tolist() == [pd.NA, "timestamp", pd.NA]


def test_a_field_whose_json_type_changes_between_lines_loses_no_valid_line(tmp_path):
    lines = [f'{{"messageId":"m{i}","type":"page","timestamp":"2026-11-02T10:00:00Z","userId":{i}}}' for i in range(3)]
    lines.insert(2, '{"messageId":"mx","type":"page","timestamp":"2026-11-02T10:00:00Z","userId":{"id":1}}')
    result = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", "\n".join(lines) + "\n")
    assert result.frame["message_id"].tolist() == ["m0", "m1", "mx", "m2"]
    assert result.frame["user_id"].tolist() == ["0", "1", pd.NA, "2"]  # an object is not an id
    assert result.frame["_parse_errors"].isna().all()
    assert any("userId.id" in w for w in result.warnings)


@pytest.mark.parametrize(
    "broken_line",
    [
        '{"messageId":"mx","type":"page"} trailing',  # garbage after the object
        '{"messageId":"mx","type":"page"}{"messageId":"my","type":"page"}',  # two objects on a line
        "{'messageId':'mx'}",  # single quotes
        '{"messageId":"mx","type":"page",}',  # trailing comma
    ],
)
def test_exactly_the_malformed_json_line_is_set_aside_whatever_is_wrong_with_it(tmp_path, broken_line):
    good = [f'{{"messageId":"m{i}","type":"page","timestamp":"2026-11-02T10:00:00Z"}}' for i in range(4)]
    content = "\n".join(good[:2] + [broken_line] + good[2:]) + "\n"
    frame = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", content).frame
    assert frame["message_id"].tolist() == ["m0", "m1", pd.NA, "m2", "m3"]
    assert frame["_parse_errors"].tolist() == [pd.NA, pd.NA, "_raw", pd.NA, pd.NA]


def test_a_valid_line_that_only_looks_hand_broken_is_read_like_any_other(tmp_path):
    # ",}" inside a string and a space before a quoted key: suspicious to the fast path, valid JSON
    lines = [
        '{"messageId":"m0","type":"page","timestamp":"2026-11-02T10:00:00Z"}',
        '{"messageId":"m1","type":"track","event":"odd ,} name","timestamp":"2026-11-02T10:00:00Z"}',
        '{"messageId":"m2","type":"page","timestamp":"2026-11-02T10:00:00Z",}',
        '{ "messageId":"m3","type":"page","timestamp":"2026-11-02T10:00:00Z"}',
    ]
    result = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", "\n".join(lines) + "\n")
    assert result.frame["message_id"].tolist() == ["m0", "m1", pd.NA, "m3"]
    assert result.frame["event"].tolist() == [pd.NA, "odd ,} name", pd.NA, pd.NA]
    assert result.frame["_parse_errors"].tolist() == [pd.NA, pd.NA, "_raw", pd.NA]
    assert any("1 malformed JSON line(s)" in w and "lines 3" in w for w in result.warnings)


def test_json_lines_with_crlf_and_a_last_line_ending_in_a_carriage_return(tmp_path):
    content = (
        '{"messageId":"m1","type":"page","timestamp":"2026-11-02T10:00:00Z"}\r\n'
        '{"messageId":"m2","type":"pa\r\r\n'
        '{"messageId":"m3","type":"page","timestamp":"2026-11-02T11:00:00Z"}\r'
    )
    frame = read(tmp_path, STORE_WEB_EVENTS, "web_events.jsonl", content).frame
    assert frame["message_id"].tolist() == ["m1", pd.NA, "m3"]
    assert frame["_line"].tolist() == [1, 2, 3]
    assert frame["_raw"][1] == '{"messageId":"m2","type":"pa\r'  # one line ending removed, as typed otherwise
