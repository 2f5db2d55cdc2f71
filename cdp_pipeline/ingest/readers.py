"""Dialect-tolerant readers: one landing file in, one canonical frame (plus accounting) out.

A reader never raises on bad content. A file it cannot use at all (undecodable, a required
column missing) comes back with ``error`` set and no rows; a row it cannot use comes back as a
row with ``_parse_errors`` set, so the quality rules quarantine it with its line number and
nothing is silently lost.

CSV rows are located with one vectorised pass over the bytes (quotes toggle a state, newlines
and delimiters outside quotes separate records and fields) so every row knows the physical line
it starts on, even when quoted fields hold newlines; pandas' C parser then splits the fields.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import Extract, Type
from cdp_pipeline.ingest.parsing import parse_column
from cdp_pipeline.quality.rules import PARSE_ERROR_SEPARATOR, PARSE_ERRORS_COLUMN, RAW_COLUMN

QUOTE, NEWLINE, CARRIAGE_RETURN = ord('"'), ord("\n"), ord("\r")


class UnreadableFile(Exception):
    """The file as a whole cannot be used; the message names the problem."""


@dataclass
class FileRead:
    frame: pd.DataFrame
    rows_read: int
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    dialect: dict = field(default_factory=dict)


def canonical_columns(extract: Extract) -> list[str]:
    extra = ["email_key"] if extract.name == "webinar_attendees" else []
    return [*extract.column_names, *extra, "_file", "_line", "_drop_date", RAW_COLUMN, PARSE_ERRORS_COLUMN]


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


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-8 with or without BOM, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        raise UnreadableFile("unsupported encoding (NUL bytes, looks like UTF-16); expected UTF-8 or Windows-1252")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"starts with a UTF-8 BOM but is not valid UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"neither UTF-8 nor Windows-1252 (undecodable byte at {exc.start})")


def sniff_delimiter(header_line: str) -> str:
    """',' or ';', whichever separates the header line into more fields."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header_key(name: str) -> str:
    return name.replace("\ufeff", "").strip().casefold()


def _raw_json(fields: pd.DataFrame) -> pd.Series:
    """Each row as a JSON object text, keyed by the file's own headers (C-speed to_json)."""
    if fields.empty:
        return pd.Series([], index=fields.index, dtype="string")
    lines = fields.to_json(orient="records", lines=True, force_ascii=False).split("\n")
    return pd.Series(lines[: len(fields)], index=fields.index, dtype="string")


def _join_names(masks: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    joined = pd.Series("", index=index, dtype="string")
    for name, mask in masks.items():
        joined = joined + np.where(mask.to_numpy(), name + PARSE_ERROR_SEPARATOR, "")
    joined = joined.str.removesuffix(PARSE_ERROR_SEPARATOR)
    return joined.mask(joined == "")


@dataclass
class _Records:
    """Where the CSV records are: start offsets, physical start lines, field counts."""

    starts: np.ndarray
    lines: np.ndarray
    fields: np.ndarray
    blank: np.ndarray
    terminated: np.ndarray  # False for a last record without a final newline
    open_quote_at_end: bool


def locate_records(body: bytes, delimiter: str) -> _Records:
    """Record boundaries with one numpy pass: newlines outside quotes end records.

    A doubled quote inside a quoted field toggles the state twice, so it needs no special case.
    """
    arr = np.frombuffer(body, dtype=np.uint8)
    inside = (np.cumsum(arr == QUOTE) % 2).astype(bool)
    newlines = np.flatnonzero(arr == NEWLINE)
    ends = newlines[~inside[newlines]]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    terminated = np.concatenate((np.ones(len(ends), bool), [False]))
    if starts[-1] >= len(arr):  # the file ends with a newline: no trailing record
        starts, stops, terminated = starts[:-1], stops[:-1], terminated[:-1]
    content = stops - starts - (stops > starts) * (arr[np.maximum(stops - 1, 0)] == CARRIAGE_RETURN)
    delimiters = np.flatnonzero((arr == ord(delimiter)) & ~inside)
    owner = np.searchsorted(stops, delimiters, side="left")
    fields = np.bincount(owner, minlength=len(starts))[: len(starts)] + 1
    lines = np.searchsorted(newlines, starts, side="left") + 1
    open_quote = bool(len(arr)) and bool(inside[-1])
    return _Records(starts, lines, fields, content <= 0, terminated, open_quote)


def _split_fields(body: bytes, encoding: str, delimiter: str, width: int) -> pd.DataFrame:
    """Every record's fields as text (pandas C parser; blank lines kept so rows stay aligned)."""
    return pd.read_csv(
        io.BytesIO(body),
        sep=delimiter,
        header=None,
        names=list(range(width)),
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        encoding=encoding,
        engine="c",
    )


