"""JSON lines are read a block at a time: where the blocks fall never changes what is read."""

import json
from datetime import date

import pytest

from cdp_pipeline.extracts import STORE_WEB_EVENTS
from cdp_pipeline.ingest import readers
from cdp_pipeline_tests.ingest.helpers import assert_same_read

DAY = date(2026, 11, 2)
TINY = 64  # bytes: shorter than one event line, so every line boundary is a block boundary


def read(tmp_path, content: bytes, block_bytes: int, name: str = "web_events.jsonl"):
    folder = tmp_path / "store" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "JSONL_BLOCK_BYTES", block_bytes)
        return readers.read_extract_file(folder / name, STORE_WEB_EVENTS, tmp_path, DAY)


def event(i: int, **fields) -> str:
    fields = {"messageId": f"m{i}", "type": "page", "timestamp": "2026-11-02T10:00:00Z", **fields}
    return json.dumps(fields, ensure_ascii=False)


def test_a_file_read_in_tiny_blocks_gives_the_same_frame_line_numbers_and_warnings_as_one_read(tmp_path):
    lines = []
    for i in range(40):
        lines += [event(i, properties={"category": "Électronique", "price": i + 0.5}), "", "  \t"]
        if i % 3 == 0:
            lines.append('{"messageId":"broken","type":"pa')  # 14 malformed lines, in many blocks
    content = "\r\n".join(lines).encode("utf-8")  # CRLF, no newline at the end

    tiny = read(tmp_path, content, TINY)
    whole = read(tmp_path, content, readers.JSONL_BLOCK_BYTES)

    assert_same_read(tiny, whole)
    assert whole.rows_read == 54
    assert tiny.frame["_line"].tolist()[:4] == [1, 4, 5, 8]  # physical lines, blank ones counted
    assert tiny.frame["category"].iloc[0] == "Électronique"
    assert tiny.warnings == [
        "store/2026-11-02/web_events.jsonl: 14 malformed JSON line(s), quarantined "
        "(lines 4, 14, 24, 34, 44, 54, 64, 74, 84, 94)"  # counted over the file, its first ten lines
    ]


def test_a_line_longer_than_a_block_is_read_whole(tmp_path):
    long_event = event(1, event="x" * 1000)
    content = f"{event(0)}\n{long_event}\n{event(2)}".encode()

    result = read(tmp_path, content, TINY)

    assert result.error is None and result.warnings == []
    assert result.frame["message_id"].tolist() == ["m0", "m1", "m2"]
    assert result.frame["event"].iloc[1] == "x" * 1000
    assert result.frame["_line"].tolist() == [1, 2, 3]


def test_cp1252_detected_in_a_late_block_rereads_the_file_as_cp1252(tmp_path):
    lines = [event(i) for i in range(30)] + [event(30, event="Café Viewed")]
    content = "\n".join(lines).encode("cp1252") + b"\n"  # only the last line is not UTF-8

    result = read(tmp_path, content, TINY)

    assert result.dialect == {"encoding": "cp1252"}
    assert result.rows_read == 31 and result.warnings == []
    assert result.frame["event"].iloc[30] == "Café Viewed"
    assert result.frame["_line"].tolist() == list(range(1, 32))  # the UTF-8 attempt left nothing behind


def test_a_bom_is_skipped_and_a_late_invalid_byte_is_named_by_its_place_in_the_file(tmp_path):
    good = "\n".join(event(i) for i in range(10)).encode() + b"\n"
    assert read(tmp_path, b"\xef\xbb\xbf" + good, TINY).dialect == {"encoding": "utf-8-sig"}

    result = read(tmp_path, b"\xef\xbb\xbf" + good + b'{"messageId":"\xe9"}\n', TINY)

    assert result.rows_read == 0
    position = len(good) + len('{"messageId":"')  # counted from after the BOM, as decode() counts
    assert result.error.endswith(f"not valid UTF-8 (invalid continuation byte at byte {position})")


def test_a_nul_byte_in_any_block_rejects_the_file_even_after_another_decoding_error(tmp_path):
    content = b'{"messageId":"\x81"}\n' + "\n".join(event(i) for i in range(10)).encode() + b"\n\x00\n"

    result = read(tmp_path, content, TINY)

    assert "NUL bytes" in result.error and result.rows_read == 0


def test_a_file_of_whitespace_over_several_blocks_is_an_empty_file(tmp_path):
    result = read(tmp_path, b"\n" * 100 + "\u3000 \t\r\n".encode() * 50, TINY)
    assert result.error is None and result.rows_read == 0
    assert result.warnings == ["store/2026-11-02/web_events.jsonl: empty file, 0 rows"]


def test_columns_first_seen_in_later_blocks_count_for_the_file(tmp_path):
    first = {"messageId": "m0", "timestamp": "2026-11-02T10:00:00Z", "properties": {"sku": "S1"}, "context": {"ip": ""}}
    lines = [
        json.dumps(first),
        *(event(i) for i in range(1, 10)),
        event(10, properties={"coupon": "C1"}),  # a new field of an object already seen
    ]
    content = "\n".join(lines).encode() + b"\n"

    tiny = read(tmp_path, content, TINY)

    assert_same_read(tiny, read(tmp_path, content, readers.JSONL_BLOCK_BYTES))
    assert tiny.error is None  # 'type', required, first appears in the second block
    assert tiny.warnings == [  # in the order one read of the whole file lists them
        "store/2026-11-02/web_events.jsonl: unknown column(s) ignored: properties.coupon, context.ip"
    ]
