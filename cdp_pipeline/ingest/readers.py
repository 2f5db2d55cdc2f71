"""Dialect-tolerant readers: one landing file in, one canonical frame (plus accounting) out.

A reader never raises on bad content. A file it cannot use at all (undecodable, a required
column missing) comes back with ``error`` set and no rows; a row it cannot use comes back as a
row with ``_parse_errors`` set, so the quality rules quarantine it with its line number and
nothing is silently lost.

CSV rows are located with one vectorised pass over the bytes (quotes toggle a state, newlines
and delimiters outside quotes separate records and fields) so every row knows the physical line
it starts on, even when quoted fields hold newlines; pandas' C parser then splits the fields
of ``CSV_BLOCK_RECORDS`` records at a time, each block typed before the next is split. Only a
file whose quotes do not pair up (a stray quote, a line cut inside quotes) is read row by row
with the csv module. A field a ragged row lacks is null in its raw text, wherever the blocks
fall. JSON lines go through pyarrow's C++ reader a block of whole lines at a time
(``JSONL_BLOCK_BYTES``), each block typed before the next is read, so a large file costs its
frame plus one block of working memory, not several copies of the file.

A caller may pass a ``screen`` (the row rules' split into accepted and quarantined rows): each
block is then screened as soon as it is typed, so the raw text of the rows it keeps is freed
block by block instead of being held for the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import Extract, Type
from cdp_pipeline.ingest.parsing import parse_column
from cdp_pipeline.quality.rules import PARSE_ERROR_SEPARATOR, PARSE_ERRORS_COLUMN, RAW_COLUMN

QUOTE, NEWLINE, CARRIAGE_RETURN = ord('"'), ord("\n"), ord("\r")
MAX_EXTRA_FIELDS = 64
"""Fields beyond the header's that a ragged row keeps for its quarantined ``_raw`` text: every
kept field costs a column, so one line of a million delimiters must not make a million."""


class UnreadableFile(Exception):
    """The file as a whole cannot be used; the message names the problem."""


NUL_BYTES = "unsupported encoding (NUL bytes, looks like UTF-16); expected UTF-8 or Windows-1252"


def _not_utf8_after_bom(exc: UnicodeDecodeError, start: int) -> str:
    return f"starts with a UTF-8 BOM but is not valid UTF-8 ({exc.reason} at byte {start})"


def _not_cp1252(start: int) -> str:
    return f"neither UTF-8 nor Windows-1252 (undecodable byte at {start})"


Screen = Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
"""Splits typed rows into (kept, set aside); it must judge each row on that row alone."""


@dataclass
class FileRead:
    frame: pd.DataFrame
    rows_read: int
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    dialect: dict = field(default_factory=dict)
    set_aside: pd.DataFrame | None = None
    """With a ``screen``: the rows it set aside, while ``frame`` holds the rows it kept."""


@dataclass
class _Screened:
    """A file's typed blocks, each screened as it arrives (unscreened: kept whole)."""

    screen: Screen | None
    kept: list[pd.DataFrame] = field(default_factory=list)
    set_aside: list[pd.DataFrame] = field(default_factory=list)
    rows: int = 0

    def add(self, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        if self.screen is not None:
            frame, aside = self.screen(frame)
            self.set_aside.append(aside)
        if len(frame) or not self.kept:  # an empty first block keeps the frame's columns and types
            self.kept.append(frame)

    def read(self, warnings: list[str], dialect: dict, error: str | None = None) -> FileRead:
        frame = self.kept[0] if len(self.kept) == 1 else pd.concat(self.kept, ignore_index=True)
        aside = pd.concat(self.set_aside, ignore_index=True) if self.screen is not None else None
        return FileRead(frame, self.rows, error, warnings, dialect, aside)


def empty_frame(extract: Extract) -> pd.DataFrame:
    """A zero-row canonical frame with the right dtypes (so concatenation keeps types)."""
    dtypes = {
        Type.STRING: "string",
        Type.TIMESTAMP: "datetime64[us, UTC]",
        Type.DATE: "datetime64[us]",
        Type.BOOLEAN: "boolean",
        Type.INTEGER: "Int64",
        Type.DECIMAL: "float64",
    }
    columns = {c.name: pd.Series(dtype=dtypes[c.type]) for c in extract.columns}
    if extract.name == "webinar_attendees":
        columns["email_key"] = pd.Series(dtype="string")
    columns.update(
        _file=pd.Series(dtype="string"),
        _line=pd.Series(dtype="Int64"),
        _drop_date=pd.Series(dtype="datetime64[us]"),
        **{RAW_COLUMN: pd.Series(dtype="string"), PARSE_ERRORS_COLUMN: pd.Series(dtype="string")},
    )
    return pd.DataFrame(columns)


def sniff_delimiter(header_line: str) -> str:
    """',' or ';', whichever separates the header line into more fields."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header_key(name: str) -> str:
    return name.replace("\ufeff", "").strip().casefold()


JSON_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
JSON_SPECIAL = r'[\x00-\x1f"\\]'


def _text(value: str):
    import pyarrow as pa

    return pa.scalar(value, type=pa.large_string())


def _may_need_escapes(values: "pa.Array") -> bool:
    """Whether any byte of the column's text is a quote, backslash or control character: one
    numpy pass over the value buffer, far cheaper than a regex per value (most columns: none)."""
    data = values.buffers()[2]
    if data is None:
        return False
    text = np.frombuffer(data, dtype=np.uint8)
    return bool(((text < 0x20) | (text == ord('"')) | (text == ord("\\"))).any())


def _json_string(values: "pa.Array") -> "pa.Array":
    """JSON string literals of a text column (nulls stay null), escaped in Arrow's C++ kernels."""
    import pyarrow.compute as pc

    if _may_need_escapes(values):
        values = _escaped(values)
    return pc.binary_join_element_wise(_text('"'), values, _text('"'), _text(""))


def _escaped(values: "pa.Array") -> "pa.Array":
    """JSON escapes applied to the few values holding a quote, backslash or control character."""
    import pyarrow.compute as pc

    special = pc.fill_null(pc.match_substring_regex(values, JSON_SPECIAL), False)
    if not pc.any(special).as_py():
        return values
    text = pc.filter(values, special)
    text = pc.replace_substring(text, "\\", "\\\\")
    for char, escaped in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, char, escaped)
    text = pc.replace_substring_regex(text, JSON_CONTROL, " ")  # other control characters
    return pc.replace_with_mask(values, special, text)


def _raw_json(fields: pd.DataFrame) -> pd.Series:
    """Each row as a JSON object text keyed by the file's own headers, built column-wise.

    ``DataFrame.to_json`` takes seconds per million rows; joining escaped columns does not.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if fields.empty:
        return pd.Series([], index=fields.index, dtype="string")
    pieces = [_text("{")]
    for position, name in enumerate(fields.columns):  # per column, vectorised over rows
        values = pa.chunked_array(pa.array(fields[name])).combine_chunks().cast(pa.large_string())
        separator = "," if position else ""
        pieces.append(_text(separator + json.dumps(str(name), ensure_ascii=False) + ":"))
        pieces.append(pc.fill_null(_json_string(values), _text("null")))
    objects = pc.binary_join_element_wise(*pieces, _text("}"), _text(""))
    return pd.Series(objects.to_pandas(types_mapper=lambda _: pd.StringDtype()).array, index=fields.index)


def _join_names(masks: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """Names of the True masks per row joined by ';', <NA> where none is (built on failing rows only)."""
    matrix = pd.DataFrame({name: mask.to_numpy() for name, mask in masks.items()}, index=index)
    failing = matrix.any(axis=1).to_numpy()
    joined = pd.Series(pd.NA, index=index, dtype="string")
    if failing.any():
        subset = matrix[failing]
        text = pd.Series("", index=subset.index, dtype="string")
        for name in subset.columns:
            text = text + np.where(subset[name].to_numpy(), name + PARSE_ERROR_SEPARATOR, "")
        joined[failing] = text.str.removesuffix(PARSE_ERROR_SEPARATOR)
    return joined


@dataclass
class _Records:
    """Where the CSV records are: byte offsets (fast path only), physical start lines, field
    counts, blank and cut-off records."""

    starts: np.ndarray | None
    lines: np.ndarray
    fields: np.ndarray
    blank: np.ndarray
    terminated: np.ndarray  # False for a last record without a final newline
    cut_in_quotes: bool = False  # the last record ends inside an open quote: truncated


def _outside_quotes(positions: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """True for positions preceded by an even number of quote characters."""
    return np.searchsorted(quotes, positions, side="left") % 2 == 0


def locate_records(body: bytes, delimiter: str) -> _Records | None:
    """Record boundaries with one vectorised pass: newlines outside quotes end records.

    A doubled quote inside a quoted field counts twice, so it needs no special case. Only the
    positions of quotes, newlines and delimiters are kept, never a per-byte state array. Returns
    None when the quotes do not pair up (odd count): the caller takes the careful path.
    """
    arr = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(arr == QUOTE)
    if len(quotes) % 2:
        return None
    newlines = np.flatnonzero(arr == NEWLINE)
    ends = newlines[_outside_quotes(newlines, quotes)]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    terminated = np.concatenate((np.ones(len(ends), bool), [False]))
    if starts[-1] >= len(arr):  # the file ends with a newline: no trailing record
        starts, stops, terminated = starts[:-1], stops[:-1], terminated[:-1]
    content = stops - starts - (stops > starts) * (arr[np.maximum(stops - 1, 0)] == CARRIAGE_RETURN)
    delimiters = np.flatnonzero(arr == ord(delimiter))
    delimiters = delimiters[_outside_quotes(delimiters, quotes)]
    owner = np.searchsorted(stops, delimiters, side="left")
    fields = np.bincount(owner, minlength=len(starts))[: len(starts)] + 1
    lines = np.searchsorted(newlines, starts, side="left") + 1
    return _Records(starts, lines, fields, content <= 0, terminated)


def _split_fields(body: bytes, encoding: str, delimiter: str, width: int, kept: int) -> pd.DataFrame:
    """Every record's first ``kept`` fields as text (pandas C parser; blank lines kept so rows
    stay aligned). ``width`` is the widest record: the parser needs a name for every field."""
    return pd.read_csv(
        io.BytesIO(body),
        sep=delimiter,
        header=None,
        names=list(range(width)),
        usecols=list(range(min(width, kept))),
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        encoding=encoding,
        engine="c",
    )


def _unique_names(names: list[str]) -> list[str]:
    """Header names made unique (a repeated header keeps its first column canonical)."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # one per header column, not per row
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
    return unique


@dataclass
class _Rows:
    """A file split into rows of raw text, before typing: the common ground of CSV and JSONL."""

    values: dict[str, pd.Series]  # header key (CSV: case-folded header; JSONL: JSON path) -> text
    lines: np.ndarray
    raw: pd.Series
    broken: np.ndarray  # the row itself could not be parsed (wrong field count, truncated, bad JSON)
    headers: list[str]  # as the file wrote them, for the unknown-column warning
    decimal_comma: bool = False


def _records_with_csv_module(text: str, delimiter: str) -> tuple[pd.DataFrame, _Records]:
    """Careful path, only for files whose quotes do not pair up: a stray quote inside an
    unquoted field, or a last line cut inside a quoted field. Python's csv module, row by row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, lines, counts, next_line = [], [], [], 1
    for fields in reader:  # rare files only (see locate_records)
        kept = (len(rows[0]) if rows else len(fields)) + MAX_EXTRA_FIELDS
        rows.append(fields[:kept])
        counts.append(len(fields))
        lines.append(next_line)
        next_line = reader.line_num + 1
    counts = np.array(counts)
    terminated = np.ones(len(rows), dtype=bool)
    terminated[-1] = text.endswith(("\n", "\r"))
    tail = "\n".join(text.split("\n")[lines[-1] - 1 :])
    try:
        list(csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True))
        cut_in_quotes = False
    except csv.Error:
        cut_in_quotes = True
    split = pd.DataFrame(rows, columns=range(max(max(len(r) for r in rows), 1)), dtype="string")
    records = _Records(None, np.array(lines), np.maximum(counts, 1), counts == 0, terminated, cut_in_quotes)
    return split, records


class _CarefulPath(Exception):
    """pandas' C parser does not see the records ``locate_records`` found (quotes that pair up
    but not as fields): the file is read again with the csv module."""


CSV_BLOCK_RECORDS = 200_000
"""Records of a CSV file split, typed and screened at a time: their fields, raw text and typed
columns are the reader's working memory besides the file's bytes and the rows it keeps."""


@dataclass
class _CsvFile:
    """A CSV file's records located and its header read; data records are split into fields a
    block at a time (``rows``), so no all-fields copy of a large file is ever held."""

    body: bytes
    encoding: str
    delimiter: str
    records: _Records
    headers: list[str]
    columns: list[str]  # the headers, then the extra fields of ragged rows (``MAX_EXTRA_FIELDS``)
    broken: np.ndarray  # per record, the header's included: wrong number of fields, or truncated
    warnings: list[str]
    split: pd.DataFrame | None  # careful path: every record's fields, split in one go

    @classmethod
    def locate(cls, body: bytes, encoding: str, rel: str, dialect: dict, careful: bool = False) -> "_CsvFile":
        first_newline = body.find(b"\n")
        delimiter = sniff_delimiter(body[: first_newline if first_newline >= 0 else len(body)].decode(encoding))
        dialect.update(delimiter=delimiter, line_end="CRLF" if b"\r\n" in body else "LF")
        records = None if careful else locate_records(body, delimiter)
        split = None
        if records is None:
            split, records = _records_with_csv_module(body.decode(encoding), delimiter)
        width = int(records.fields[0])
        found = cls(body, encoding, delimiter, records, [], [], records.fields != width, [], split)
        found.broken[0] = False
        header = found.fields(0, 1, min(int(records.fields.max()), width + MAX_EXTRA_FIELDS))
        found.headers = _unique_names([str(h).strip() for h in header.iloc[0, :width]])
        found.columns = found.headers + [f"_extra_{i}" for i in range(1, header.shape[1] - width + 1)]
        found._mark_truncated_and_ragged(rel)
        return found

    def _mark_truncated_and_ragged(self, rel: str) -> None:
        data = np.flatnonzero(~self.records.blank[1:]) + 1  # the data records, blank lines left out
        if not len(data):
            return
        lines = self.records.lines[data]
        last = data[-1]
        truncated = self.records.cut_in_quotes or (bool(self.broken[last]) and not self.records.terminated[last])
        if truncated:
            self.broken[last] = True
            why = "unterminated quote" if self.records.cut_in_quotes else "too few fields"
            self.warnings.append(f"{rel}: line {int(lines[-1])}: truncated last line ({why}), quarantined")
        broken = self.broken[data]
        ragged = lines[:-1][broken[:-1]] if truncated else lines[broken]
        if len(ragged):
            shown = ", ".join(str(int(n)) for n in ragged[:10])
            self.warnings.append(
                f"{rel}: {len(ragged)} row(s) with a wrong number of fields, quarantined (lines {shown})"
            )

    @property
    def data_records(self) -> int:
        return int(np.count_nonzero(~self.records.blank[1:]))

    def fields(self, first: int, stop: int, width: int | None = None) -> pd.DataFrame:
        """Fields of records [first, stop) as text, one column per field of the widest record."""
        if self.split is not None:
            return self.split.iloc[first:stop]
        width = len(self.columns) if width is None else width
        if stop <= first:
            return pd.DataFrame(columns=range(width), dtype=str)
        starts = self.records.starts
        end = int(starts[stop]) if stop < len(starts) else len(self.body)
        widest = int(self.records.fields[first:stop].max())
        try:
            fields = _split_fields(self.body[int(starts[first]) : end], self.encoding, self.delimiter, widest, width)
        except pd.errors.ParserError:
            raise _CarefulPath from None
        if len(fields) != stop - first:
            raise _CarefulPath
        fields = fields.reindex(columns=range(width))
        counts = self.records.fields[first:stop]
        for column in range(int(counts.min()), width):  # a field the record lacks is null, not empty
            fields[column] = fields[column].mask(counts <= column)
        return fields

    def rows(self, first: int, stop: int) -> _Rows:
        """Data records [first, stop) (the header is record 0), blank lines left out."""
        keep = ~self.records.blank[first:stop]
        data = self.fields(first, stop).set_axis(self.columns, axis=1).loc[keep]
        values: dict[str, pd.Series] = {}
        for name in self.headers:  # per column
            values.setdefault(_header_key(name), data[name])
        lines, broken = self.records.lines[first:stop][keep], self.broken[first:stop][keep]
        return _Rows(values, lines, _raw_json(data), broken, self.headers, self.delimiter == ";")


JSON_ROW = re.compile(r"in row (\d+)")
JSON_CHUNK_LINES = 1000  # after a first failure, lines are read in chunks this long
SUSPECT_JSON = r"^\{[ \t]*'|,[ \t\r\n]*[}\]]"
"""Single-quoted keys or a trailing comma: how hand-edited or hand-built JSON usually breaks."""


class _JsonLines:
    """The well-formed-looking lines of a JSONL file as one UTF-8 buffer, read by line ranges.

    pyarrow's C++ reader rejects a whole read at the first bad line and names its row. Slices
    of one buffer are zero-copy, so a bad line costs a re-read of at most one chunk, not of the
    whole file.
    """

    def __init__(self, lines: pd.Series, time_fields: list[str]):
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pa.chunked_array(pa.array(lines)).combine_chunks().cast(pa.large_string())
        newline = pa.scalar("\n", type=pa.large_string())
        joined = pc.binary_join_element_wise(encoded, newline, pa.scalar("", type=pa.large_string()))
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + len(joined) + 1]
        self.starts = offsets[:-1] - offsets[0]
        self.lengths = np.diff(offsets) - 1  # without the newline
        self.buffer = joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        self.schema = pa.schema([(name, pa.string()) for name in time_fields])  # no timestamp guessing

    def read(self, first: int, stop: int) -> "pa.Table":
        import pyarrow as pa
        import pyarrow.json as pj

        begin = int(self.starts[first])
        size = int(self.starts[stop - 1] + self.lengths[stop - 1]) - begin
        return pj.read_json(
            pa.BufferReader(self.buffer.slice(begin, size)),
            read_options=pj.ReadOptions(block_size=size + 1, use_threads=False),
            parse_options=pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="infer"),
        )


def _text_leaves(table: "pa.Table") -> "pa.Table":
    """Nested objects flattened to dotted paths, every scalar leaf cast to text, arrays dropped."""
    import pyarrow as pa

    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    keep = [f.name for f in table.schema if not pa.types.is_nested(f.type)]  # arrays stay in _raw
    table = table.select(keep)
    return table.cast(pa.schema([(name, pa.string()) for name in keep]))


def _read_json_objects(stripped: pd.Series, time_fields: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """(text columns of the well-formed lines, indexed by line position; mask of malformed lines).

    ``stripped``: the non-blank lines without surrounding whitespace.
    Lines that look hand-broken (``SUSPECT_JSON``) are read apart from the others: one of them
    among the clean lines would send the whole file down the chunk-by-chunk path.
    """
    import pyarrow as pa

    bad = ~(stripped.str.startswith("{") & stripped.str.endswith("}")).fillna(False).to_numpy(dtype=bool)
    candidates = np.flatnonzero(~bad)
    if not len(candidates):
        return pd.DataFrame(index=stripped.index), bad
    suspect = stripped.iloc[candidates].str.contains(SUSPECT_JSON, regex=True).to_numpy(dtype=bool)
    clean = int(np.count_nonzero(~suspect))
    candidates = np.concatenate((candidates[~suspect], candidates[suspect]))
    source = _JsonLines(stripped.iloc[candidates], time_fields)
    tables: list[pa.Table] = []

    def keep(first: int, stop: int, table: "pa.Table") -> None:
        positions = pa.array(candidates[first:stop], type=pa.int64())
        tables.append(_text_leaves(table).append_column("__position", positions))

    def read_span(first: int, stop: int) -> None:
        """Reads lines [first, stop), setting aside every line that is not exactly one object."""
        while first < stop:
            try:
                table = source.read(first, stop)
            except pa.ArrowInvalid as exc:
                found = JSON_ROW.search(str(exc))
                if not found:
                    raise UnreadableFile(f"JSON could not be read: {exc}") from exc
                if stop - first == 1:
                    bad[candidates[first]] = True
                    return
                row = min(first + int(found.group(1)), stop - 1)
                read_span(first, row)  # the lines before it, sorted out the same way
                read_span(row, row + 1)  # alone: pyarrow may name the line after the culprit
                first = row + 1
                continue
            if table.num_rows == stop - first:
                keep(first, stop, table)
            elif stop - first == 1:  # two objects on one line
                bad[candidates[first]] = True
            else:
                middle = (first + stop) // 2
                read_span(first, middle)
                read_span(middle, stop)
            return

    def read_range(first: int, stop: int) -> None:
        """All at once when every line parses (the usual case), else chunk by chunk."""
        if first == stop:
            return
        try:
            whole = source.read(first, stop)
        except pa.ArrowInvalid:
            whole = None
        if whole is not None and whole.num_rows == stop - first:
            keep(first, stop, whole)
            return
        for chunk in range(first, stop, JSON_CHUNK_LINES):  # per chunk, not per row
            read_span(chunk, min(chunk + JSON_CHUNK_LINES, stop))

    read_range(0, clean)
    read_range(clean, len(candidates))
    if not tables:  # every candidate line was malformed (e.g. one line holding two objects)
        return pd.DataFrame(index=stripped.index), bad
    combined = pa.concat_tables(tables, promote_options="default").to_pandas(
        types_mapper=lambda t: pd.StringDtype() if pa.types.is_string(t) else None
    )
    return combined.set_index("__position").reindex(stripped.index), bad


def _split_lines(utf8: bytes) -> pd.Series:
    """The file's lines as ``str.split("\\n")`` cuts them, less one trailing ``\\r`` each.

    Split by Arrow's C++ kernels over the file's own bytes (no copy), not as a million Python
    strings. ``\\r\\n`` -> ``\\n`` removes exactly one ``\\r`` before every newline.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if b"\r" in utf8:
        utf8 = utf8.replace(b"\r\n", b"\n").removesuffix(b"\r")
    offsets = pa.array([0, len(utf8)], type=pa.int64()).buffers()[1]
    whole = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(utf8))
    lines = pc.list_flatten(pc.split_pattern(whole, "\n"))
    return pd.Series(lines.to_pandas(types_mapper=lambda _: pd.StringDtype()).array)


def _parse_jsonl(lines: pd.Series, time_fields: list[str], lines_before: int) -> _Rows:
    """Rows of one block's ``lines`` (``_split_lines``), numbered after the file's ``lines_before``."""
    stripped = lines.str.strip()
    numbers = np.arange(lines_before + 1, lines_before + len(lines) + 1)
    present = (stripped != "").to_numpy(dtype=bool)
    lines, numbers = lines[present].reset_index(drop=True), numbers[present]
    columns, bad = _read_json_objects(stripped[present].reset_index(drop=True), time_fields)
    values = {path: columns[path].astype("string") for path in columns.columns}
    return _Rows(values, numbers, lines, bad, list(values))


def _typed_frame(extract: Extract, rows: _Rows, rel: str, drop_date: date) -> pd.DataFrame:
    """Canonical typed columns plus bookkeeping, ``_raw`` and ``_parse_errors``."""
    index = pd.RangeIndex(len(rows.lines))
    frame = {}
    failures = {RAW_COLUMN: pd.Series(rows.broken, index=index)}
    for column in extract.columns:
        raw = rows.values.get(_column_key(extract, column.header))
        raw = pd.Series(pd.NA, index=index, dtype="string") if raw is None else raw.set_axis(index)
        typed, unparseable = parse_column(raw, column.type, rows.decimal_comma)
        frame[column.name] = typed
        failures[column.name] = unparseable & ~rows.broken
    if extract.name == "webinar_attendees":
        frame["email_key"] = frame["email"].str.strip().str.lower()
    frame["_file"] = pd.Series(rel, index=index, dtype="string")
    frame["_line"] = pd.Series(rows.lines, index=index, dtype="Int64")
    frame["_drop_date"] = pd.Series(pd.Timestamp(drop_date), index=index, dtype="datetime64[us]")
    frame[RAW_COLUMN] = rows.raw.set_axis(index).astype("string")
    frame[PARSE_ERRORS_COLUMN] = _join_names(failures, index)
    return pd.DataFrame(frame, index=index)


def _column_key(extract: Extract, header: str) -> str:
    """CSV headers match case-insensitively and trimmed; JSON paths match exactly."""
    return _header_key(header) if extract.fmt == "csv" else header


def _check_columns(extract: Extract, headers: list[str], rel: str, warnings: list[str]) -> None:
    """Rejects a file missing a required column; warns about columns the contract does not know."""
    present = {_column_key(extract, h) for h in headers}
    missing = [c.header for c in extract.columns if c.required and _column_key(extract, c.header) not in present]
    if missing:
        raise UnreadableFile(f"missing required column(s) {', '.join(repr(h) for h in missing)}")
    known = {_column_key(extract, c.header) for c in extract.columns}
    unknown = [h for h in headers if _column_key(extract, h) not in known]
    if unknown:
        warnings.append(f"{rel}: unknown column(s) ignored: {', '.join(unknown)}")


def _time_fields(extract: Extract) -> list[str]:
    """Top-level JSON fields holding timestamps or dates: read as text, never type-guessed."""
    return [c.header for c in extract.columns if c.type in (Type.TIMESTAMP, Type.DATE) and "." not in c.header]


JSONL_BLOCK_BYTES = 64 * 2**20
"""Bytes of a JSON-lines file read, parsed and typed at a time. A block and its copies (lines,
parsed columns) are the reader's working memory besides the frame it builds."""


class _NotUtf8(Exception):
    """A file read as UTF-8 is not: like ``decode``, the reader then reads it as Windows-1252."""


def _line_blocks(handle: BinaryIO, size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of the rest of the file in blocks of whole lines of about ``size`` bytes.

    A block ends after its last newline, so no line (nor a ``\\r\\n``) is ever cut, and the next
    block starts there; a line longer than ``size`` makes its block longer.
    """
    offset = handle.tell()
    while block := handle.read(size):
        at_end = len(block) < size  # a buffered read comes back short only at the end of the file
        end = len(block) if at_end else block.rfind(b"\n") + 1
        while not end:  # no newline yet: read on, doubling, to the line's end
            more = handle.read(len(block))
            newline = more.rfind(b"\n")
            at_end = len(more) < len(block)
            block += more
            if at_end:
                end = len(block)
            elif newline >= 0:
                end = len(block) - len(more) + newline + 1
        if end < len(block):
            handle.seek(offset + end)
            block = block[:end]
        yield offset, block
        offset += end


def _utf8_blocks(handle: BinaryIO, encoding: str) -> Iterator[tuple[bytes, bool]]:
    """(UTF-8 bytes, whether only whitespace) of each block, checked as ``decode`` checks a file.

    ``encoding`` is the whole file's (``utf-8-sig``: a BOM, skipped). A block ends after a
    newline, which never falls inside a UTF-8 sequence, so decoding block by block accepts and
    rejects exactly what decoding the whole file does, at the same byte.
    """
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    handle.seek(skip)
    for offset, block in _line_blocks(handle, JSONL_BLOCK_BYTES):
        if b"\x00" in block:
            raise UnreadableFile(NUL_BYTES)
        try:
            text = block.decode("cp1252" if encoding == "cp1252" else "utf-8")
        except UnicodeDecodeError as exc:
            raise _undecodable(handle, encoding, offset - skip + exc.start, exc) from None
        utf8 = text.encode("utf-8") if encoding == "cp1252" else block
        blank = not text or text.isspace()  # as ``not text.strip()``, without the copy
        del text, block  # the decoded text is not kept while the block is parsed
        yield utf8, blank


def _undecodable(handle: BinaryIO, encoding: str, position: int, exc: UnicodeDecodeError) -> Exception:
    """What ``decode`` reports for the whole file: a NUL byte anywhere comes first, and a file
    that is not UTF-8 (and has no BOM) is tried as Windows-1252."""
    if encoding == "utf-8":
        return _NotUtf8()
    while rest := handle.read(JSONL_BLOCK_BYTES):
        if b"\x00" in rest:
            return UnreadableFile(NUL_BYTES)
    return UnreadableFile(_not_utf8_after_bom(exc, position) if encoding == "utf-8-sig" else _not_cp1252(position))


def _merge_paths(paths: list[str], new: list[str]) -> None:
    """Adds a later block's new JSON paths where one read of the whole file would list them.

    pyarrow lists fields in first-seen order and adds a new field of a known object to that
    object, so a new ``a.b.c`` goes after the last path under ``a.b``, else under ``a``, else
    at the end (the order shows in the unknown-column warning). An object only ever seen empty
    in earlier blocks left no path, so its new fields go at the end.
    """
    known = set(paths)
    for path in new:  # per column, not per row
        if path in known:
            continue
        known.add(path)
        parts = path.split(".")
        position = len(paths)
        for depth in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:depth])
            under = [i for i, p in enumerate(paths) if p == prefix or p.startswith(prefix + ".")]
            if under:
                position = under[-1] + 1
                break
        paths.insert(position, path)


@dataclass
class _JsonlBlocks:
    """A JSON-lines file typed block by block, and the file-level accounting of its blocks."""

    typed: _Screened
    headers: list[str] = field(default_factory=list)
    malformed: int = 0
    first_malformed: list[int] = field(default_factory=list)  # the line numbers the warning shows
    blank: bool = True  # nothing but whitespace
    all_broken: bool = True

    @classmethod
    def read(
        cls, handle: BinaryIO, encoding: str, extract: Extract, rel: str, drop_date: date, screen: Screen | None
    ) -> "_JsonlBlocks":
        """Each block parsed, typed and screened before the next is read: no all-text copy of the file."""
        blocks = cls(_Screened(screen))
        time_fields = _time_fields(extract)
        lines_before = 0
        for utf8, blank in _utf8_blocks(handle, encoding):  # per block of JSONL_BLOCK_BYTES
            lines = _split_lines(utf8)
            rows = _parse_jsonl(lines, time_fields, lines_before)
            lines_before += len(lines) - 1  # the block's newlines: one fewer than its pieces
            blocks.add(rows, _typed_frame(extract, rows, rel, drop_date), blank)
        return blocks

    def add(self, rows: _Rows, frame: pd.DataFrame, blank: bool) -> None:
        self.typed.add(frame)
        malformed = rows.lines[rows.broken]
        self.malformed += len(malformed)
        self.first_malformed += [int(n) for n in malformed[: max(0, 10 - len(self.first_malformed))]]
        _merge_paths(self.headers, rows.headers)
        self.blank &= blank
        self.all_broken &= bool(rows.broken.all())


def _read_jsonl(
    path: Path, extract: Extract, rel: str, drop_date: date, warnings: list[str], dialect: dict, screen: Screen | None
) -> _Screened | None:
    """The typed frame of a JSON-lines file read block by block (None: nothing but whitespace)."""
    with path.open("rb") as handle:
        head = handle.read(len(codecs.BOM_UTF8))
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UnreadableFile(NUL_BYTES)
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        try:
            blocks = _JsonlBlocks.read(handle, encoding, extract, rel, drop_date, screen)
        except _NotUtf8:
            blocks = None  # read again below, once the blocks typed as UTF-8 are freed
        if blocks is None:
            encoding = "cp1252"
            blocks = _JsonlBlocks.read(handle, encoding, extract, rel, drop_date, screen)
    dialect["encoding"] = encoding
    if blocks.blank:
        return None
    if blocks.malformed:
        shown = ", ".join(str(n) for n in blocks.first_malformed)
        warnings.append(f"{rel}: {blocks.malformed} malformed JSON line(s), quarantined (lines {shown})")
    if not blocks.all_broken:  # all-malformed JSON: quarantine, not reject
        _check_columns(extract, blocks.headers, rel, warnings)
    return blocks.typed


def _read_csv(
    path: Path, extract: Extract, rel: str, drop_date: date, warnings: list[str], dialect: dict, screen: Screen | None
) -> _Screened | None:
    """The typed rows of a CSV file, ``CSV_BLOCK_RECORDS`` at a time (None: nothing but whitespace)."""
    data = path.read_bytes()
    encoding, blank = _checked_encoding(data)
    dialect["encoding"] = encoding
    if blank:
        return None
    body = data[len(codecs.BOM_UTF8) :] if encoding == "utf-8-sig" else data
    del data
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        return _typed_csv(_CsvFile.locate(body, encoding, rel, dialect), extract, rel, drop_date, warnings, screen)
    except _CarefulPath:
        careful = _CsvFile.locate(body, encoding, rel, dialect, careful=True)
        return _typed_csv(careful, extract, rel, drop_date, warnings, screen)


def _typed_csv(
    found: _CsvFile, extract: Extract, rel: str, drop_date: date, warnings: list[str], screen: Screen | None
) -> _Screened:
    """Typed and screened block by block; the warnings count only once every block was split."""
    notes = list(found.warnings)
    if not found.data_records:
        notes.append(f"{rel}: header only, 0 rows")
    _check_columns(extract, found.headers, rel, notes)
    typed = _Screened(screen)
    records = len(found.records.lines)
    for first in range(1, max(records, 2), CSV_BLOCK_RECORDS):  # per block of records
        typed.add(_typed_frame(extract, found.rows(first, min(first + CSV_BLOCK_RECORDS, records)), rel, drop_date))
    warnings.extend(notes)
    return typed


def _checked_encoding(data: bytes) -> tuple[str, bool]:
    """(encoding, whether nothing but whitespace): UTF-8 with or without BOM, else Windows-1252,
    checked a block at a time so no decoded copy of the file is ever held."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(NUL_BYTES)
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return encoding, _only_whitespace(data, encoding)
    except _NotUtf8:
        return "cp1252", _only_whitespace(data, "cp1252")


def _only_whitespace(data: bytes, encoding: str) -> bool:
    """Decodes every block (raising as ``_utf8_blocks`` does), not only up to the first text."""
    blank = True
    for _, block_blank in _utf8_blocks(io.BytesIO(data), encoding):
        blank &= block_blank
    return blank


def read_extract_file(
    path: Path, extract: Extract, landing_dir: Path, drop_date: date, screen: Screen | None = None
) -> FileRead:
    """Reads one landing file into the canonical frame of ``extract``; never raises on content.

    With ``screen``, the rows are screened block by block as they are typed (see the module
    docstring); a file that turns out unusable discards what was screened.
    """
    rel = Path(path).relative_to(landing_dir).as_posix()
    warnings: list[str] = []
    dialect: dict = {}
    read = _read_jsonl if extract.fmt == "jsonl" else _read_csv
    try:
        typed = read(Path(path), extract, rel, drop_date, warnings, dialect, screen)
    except UnreadableFile as exc:
        return _no_rows(extract, screen, f"{rel}: {exc}", warnings, dialect)
    except OSError as exc:
        return _no_rows(extract, screen, f"{rel}: cannot be read ({exc.strerror})", warnings, dialect)
    if typed is None:
        warnings.append(f"{rel}: empty file, 0 rows")
        return _no_rows(extract, screen, None, warnings, dialect)
    return typed.read(warnings, dialect)


def _no_rows(
    extract: Extract, screen: Screen | None, error: str | None, warnings: list[str], dialect: dict
) -> FileRead:
    typed = _Screened(screen)
    typed.add(empty_frame(extract))
    return typed.read(warnings, dialect, error)
