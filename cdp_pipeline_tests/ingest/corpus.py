"""A corpus of hostile and broken landing files, generated at test time (nothing binary is committed).

Each extract gets the same families of bad input (garbage bytes, wrong encodings, oversized
fields and lines, broken quoting, formula- and SQL-looking values, JSON of the wrong shape), built
around one valid record so that a test can tell what the ingest kept from what it set aside.
"""

from __future__ import annotations

import codecs
import json
import random
from dataclasses import dataclass

from cdp_pipeline.extracts import Column, Extract, Type
from cdp_pipeline.quality.rules import rules_for

SEED = 20261124

# Values that a spreadsheet or a database would interpret; the pipeline must keep them as text.
FORMULA_VALUES = (
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
)
SQL_VALUE = "Robert'); DROP TABLE profiles;--"

OVERRIDES = {
    "event_type": "OPEN",
    "financial_status": "paid",
    "type": "track",
    "event": "Product Viewed",
    "preferred_channel": "email",
    "time_zone": "Europe/Madrid",
}
BY_TYPE = {
    Type.TIMESTAMP: "2026-11-02T10:00:00Z",
    Type.DATE: "1980-01-01",
    Type.BOOLEAN: "Yes",
    Type.INTEGER: "5",
    Type.DECIMAL: "12.5",
}


def is_address(column: Column) -> bool:
    return column.type is Type.STRING and ("email" in column.name or column.name == "recipient")


def valid_record(extract: Extract, i: int) -> dict[str, str]:
    """One record every rule of ``extract`` accepts, keyed by the upstream header; ``i`` makes
    its natural key unique."""
    record = {}
    for column in extract.columns:
        if is_address(column):
            value = f"person{i}@example.com"
        elif column.name in OVERRIDES:
            value = OVERRIDES[column.name]
        else:
            value = BY_TYPE.get(column.type, f"{column.name}-{i}")
        record[column.header] = value
    return record


def text_columns(extract: Extract) -> list[str]:
    """Headers of free-text columns that are neither key nor required to be filled: where any
    hostile value, blank included, can land without the row being refused for another reason."""
    key = set(extract.natural_key) | {r.column for r in rules_for(extract) if r.check == "not_null"}
    return [
        c.header
        for c in extract.columns
        if c.type is Type.STRING and c.name not in key and c.name not in OVERRIDES and not is_address(c)
    ]


def quote(value: str, delimiter: str) -> str:
    """RFC 4180 quoting, only where needed."""
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(headers: list[str], rows: list[dict[str, str]], delimiter: str = ",", line_end: str = "\n") -> str:
    lines = [delimiter.join(quote(h, delimiter) for h in headers)]
    lines += [delimiter.join(quote(row.get(h, ""), delimiter) for h in headers) for row in rows]
    return line_end.join(lines) + line_end


def json_object(record: dict[str, str]) -> dict:
    """A flat record keyed by dotted JSON paths, nested back into objects."""
    obj: dict = {}
    for path, value in record.items():
        *parents, leaf = path.split(".")
        node = obj
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return obj


def jsonl_text(objects: list) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def valid_file(extract: Extract, rows: list[dict[str, str]]) -> str:
    if extract.fmt == "jsonl":
        return jsonl_text([json_object(r) for r in rows])
    return csv_text([c.header for c in extract.columns], rows)


def file_name(extract: Extract) -> str:
    """The plain file name the extract's glob picks up (``attendees*.csv`` -> ``attendees.csv``)."""
    return extract.pattern.replace("*", "")


@dataclass(frozen=True)
class BadFile:
    label: str
    content: bytes
    outcome: str  # "rejected": the whole file refused; "read": read, its bad rows quarantined


def garbage(size: int, seed: int = SEED) -> bytes:
    return random.Random(seed).randbytes(size)


def decodable_garbage(size: int) -> bytes:
    """Random bytes Windows-1252 can decode (no NUL, none of its five undefined bytes): they
    reach the CSV parser instead of being refused at decoding."""
    return garbage(size).translate(None, delete=b"\x00\x81\x8d\x8f\x90\x9d")


def common_bad_files(extract: Extract) -> list[BadFile]:
    """Files every extract must survive, whatever its format."""
    good = valid_file(extract, [valid_record(extract, 1), valid_record(extract, 2)])
    latin = good.replace("first_name-1", "José Núñez Zoë")
    return [
        BadFile("binary_garbage", garbage(64 * 1024), "rejected"),
        BadFile("utf16_with_bom", good.encode("utf-16"), "rejected"),
        BadFile("utf16_without_bom", good.encode("utf-16-le"), "rejected"),
        # 0x81 is undefined in Windows-1252 and invalid UTF-8: no allowed encoding can read it.
        BadFile("latin1_undecodable_byte", latin.encode("latin-1") + b"\x81\n", "rejected"),
        BadFile("utf8_bom_then_invalid_utf8", codecs.BOM_UTF8 + b"\xff\xfe" + good.encode(), "rejected"),
        BadFile("nul_byte_in_a_field", good.replace("-1", "-\x001", 1).encode(), "rejected"),
        BadFile("only_blank_lines", b"\n" * 1000, "read"),
    ]


def csv_bad_files(extract: Extract) -> list[BadFile]:
    headers = [c.header for c in extract.columns]
    rows = [valid_record(extract, i) for i in (1, 2, 3)]
    body = csv_text(headers, rows)
    header_line = body.split("\n", 1)[0]
    records = body.split("\n", 1)[1]
    record_lines = records.split("\n")[:-1]
    first_text = text_columns(extract)[0] if text_columns(extract) else None
    files = [
        BadFile("header_only", (header_line + "\n").encode(), "read"),
        BadFile("header_only_without_newline", header_line.encode(), "read"),
        BadFile("duplicated_headers", csv_text(headers + headers[:2], rows).encode(), "read"),
        BadFile(
            "duplicated_header_differing_in_case",
            csv_text(headers + [h.upper() for h in headers[:1]], rows).encode(),
            "read",
        ),
        BadFile("missing_required_columns", csv_text(headers[1:], rows).encode(), "rejected"),
        BadFile("stray_quote_inside_unquoted_field", body.replace(record_lines[0], 'x"y,' + record_lines[0]).encode(),
                "read"),
        BadFile("last_line_cut_inside_quotes", (body + '"' + record_lines[0][:5]).encode(), "read"),
        BadFile("unbalanced_quotes_everywhere", (header_line + "\n" + records.replace(",", ',"')).encode(), "read"),
        BadFile("too_many_fields", (body + record_lines[0] + ",extra,extra\n").encode(), "read"),
        BadFile("too_few_fields", (body + record_lines[0].split(",", 1)[0] + "\n").encode(), "read"),
        BadFile("extremely_long_line_of_delimiters", (body + "," * 1_000_000 + "\n").encode(), "read"),
        BadFile("cr_only_line_ends", body.replace("\n", "\r").encode(), "read"),
        BadFile("windows_1252_accents", body.replace("-1", "-José Núñez", 1).encode("cp1252"), "read"),
        BadFile("decodable_garbage_after_header", (header_line + "\n").encode() + decodable_garbage(4096), "read"),
    ]
    if first_text:
        values = FORMULA_VALUES + (SQL_VALUE,)
        hostile = [dict(valid_record(extract, 10 + n), **{first_text: v}) for n, v in enumerate(values)]
        files.append(BadFile("formula_and_sql_values", csv_text(headers, hostile).encode(), "read"))
    return files


def jsonl_bad_files(extract: Extract) -> list[BadFile]:
    good = [json_object(valid_record(extract, i)) for i in (1, 2)]
    depth = 10_000
    deep = '{"n":' * depth + '"bottom"' + "}" * depth  # beyond json.dumps' recursion limit
    deep_event = json.dumps(dict(good[0], messageId="deep"))[:-1] + ', "properties": ' + deep + "}"
    wrong_types = [
        dict(good[0], messageId={"nested": 1}),
        dict(good[0], messageId="wt-2", timestamp=1730000000),
        dict(good[0], messageId="wt-3", properties="not an object"),
        dict(good[0], messageId="wt-4", properties={"price": "free"}),
        dict(good[0], messageId="wt-5", properties={"price": [1, 2]}),
        dict(good[0], messageId=["a", "b"]),
        dict(good[0], messageId=None),
        dict(good[0], messageId="wt-8", type=True),
    ]
    huge_numbers = [
        dict(good[0], messageId="hn-1", properties={"price": 10**400}),
        dict(good[0], messageId="hn-2", properties={"price": -(10**30)}),
        dict(good[0], messageId=12345678901234567890123456789),
    ]
    values = FORMULA_VALUES + (SQL_VALUE,)
    hostile = [dict(good[0], messageId=f"hostile-{n}", traits={"first_name": v}) for n, v in enumerate(values)]
    lines = jsonl_text(good)
    return [
        BadFile("not_objects", b'[1, 2]\n"text"\nnull\n42\ntrue\n', "read"),
        BadFile("two_objects_on_one_line", (lines.replace("\n", "", 1)).encode(), "read"),
        BadFile("trailing_garbage_after_object", (lines + '{"messageId": "x"} trailing\n').encode(), "read"),
        BadFile("truncated_last_line", (lines + lines[: len(lines) // 3]).encode(), "read"),
        BadFile("deeply_nested_properties", (lines + deep_event + "\n").encode(), "read"),
        BadFile("deep_nesting_only_brackets", (lines + "{" + '"a":[' * 100_000 + "]" * 100_000 + "}\n").encode(),
                "read"),
        BadFile("wrong_types", jsonl_text(good + wrong_types).encode(), "read"),
        BadFile("huge_numbers", jsonl_text(good + huge_numbers).encode(), "read"),
        BadFile("formula_and_sql_values", jsonl_text(good + hostile).encode(), "read"),
        BadFile("crlf_and_blank_lines", ("\r\n\r\n" + lines.replace("\n", "\r\n\r\n")).encode(), "read"),
    ]


def bad_files(extract: Extract) -> list[BadFile]:
    """The small corpus (each file well under a megabyte except the long-line cases)."""
    specific = jsonl_bad_files(extract) if extract.fmt == "jsonl" else csv_bad_files(extract)
    return common_bad_files(extract) + specific
