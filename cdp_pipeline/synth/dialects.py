"""How upstream systems spell the same data: encodings, delimiters, line ends, header spellings,
column order, timestamp, date, boolean and decimal formats, and the CSV/JSON writers that use them.

A dialect is chosen per (file, drop) by cycling through weighted option lists from a seeded
offset, so that every dialect shows up within a couple of weeks of drops, in varied combinations.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

BOOLEAN_STYLES = (("Yes", "No"), ("true", "false"), ("TRUE", "FALSE"), ("1", "0"), ("y", "n"), ("yes", "no"))
TIMESTAMP_STYLES = ("iso_z", "iso_offset", "sql", "iso_millis")


def _transliterate(error: UnicodeEncodeError) -> tuple[str, int]:
    """Windows-1252 exports turn what they cannot encode into ASCII look-alikes (Μαρία -> Maria)."""
    return unidecode(error.object[error.start : error.end]) or "?", error.end


codecs.register_error("synth_transliterate", _transliterate)


@dataclass(frozen=True)
class Dialect:
    encoding: str = "utf-8"  # utf-8, utf-8-sig (BOM) or cp1252
    delimiter: str = ","
    eol: str = "\n"
    header_style: str = "as_is"  # as_is, lower, upper, padded
    shuffle: bool = False
    extra_column: bool = False
    omit_optional: bool = False
    timestamp_style: str = "iso_z"
    boolean_style: int = 0

    @property
    def decimal_comma(self) -> bool:
        return self.delimiter == ";"

    @property
    def day_first_dates(self) -> bool:
        return self.delimiter == ";"


OPTIONS = {
    "encoding": ("utf-8", "utf-8-sig", "utf-8", "utf-8"),
    "delimiter": (",", ",", ";"),
    "eol": ("\n", "\r\n"),
    "header_style": ("as_is", "as_is", "lower", "upper", "padded"),
    "shuffle": (False, False, True),
    "extra_column": (False, True, False),
    "omit_optional": (False, False, False, True),
    "timestamp_style": TIMESTAMP_STYLES,
    "boolean_style": tuple(range(len(BOOLEAN_STYLES))),
}
CRM_ENCODINGS = ("utf-8", "cp1252", "utf-8-sig", "utf-8", "cp1252")


def choose_dialect(offsets: dict[str, int], drop_index: int, crm: bool = False, webinar: bool = False) -> Dialect:
    """The dialect of one file in one drop: each dimension cycles from its own seeded offset."""
    values = {k: opts[(drop_index + offsets[k]) % len(opts)] for k, opts in OPTIONS.items()}
    if crm:
        values["encoding"] = CRM_ENCODINGS[(drop_index + offsets["encoding"]) % len(CRM_ENCODINGS)]
    if webinar:  # the platform writes its own timestamp format, and Yes/No
        values["timestamp_style"] = ("mdy", "mdy", "mdy", "iso_z")[(drop_index + offsets["timestamp_style"]) % 4]
        values["boolean_style"] = (0, 0, 5)[(drop_index + offsets["boolean_style"]) % 3]
    return Dialect(**values)


def dialect_offsets(rng: np.random.Generator) -> dict[str, int]:
    return {k: int(rng.integers(0, 1000)) for k in OPTIONS}


# ------------------------------------------------------------------------------------------
# Value formatting (vectorised)
# ------------------------------------------------------------------------------------------

OFFSETS = (3600, 7200, -18000, 19800, -10800)  # +01:00, +02:00, -05:00, +05:30, -03:00


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def format_timestamps(seconds: np.ndarray, style: str, rng: np.random.Generator, missing: np.ndarray | None = None) -> np.ndarray:
    """UTC instants as text in one of the contract's timestamp spellings; blank where missing."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if len(seconds) == 0:
        return np.zeros(0, dtype=object)
    missing = np.zeros(len(seconds), bool) if missing is None else missing
    safe = np.where(missing, 0, seconds)
    if style == "iso_offset":
        off = np.array(OFFSETS)[rng.integers(0, len(OFFSETS), size=len(seconds))]
        base = np.datetime_as_string((safe + off).astype("datetime64[s]"), unit="s").astype(object)
        out = base + pd.Series(off).map({o: _offset_text(o) for o in OFFSETS}).to_numpy(dtype=object)
    else:
        base = np.datetime_as_string(safe.astype("datetime64[s]"), unit="s")
        if style == "iso_z":
            out = base.astype(object) + "Z"
        elif style == "iso_millis":
            out = base.astype(object) + ".000Z"  # instants are whole seconds
        elif style == "sql":
            out = pd.Series(base.astype(object)).str.replace("T", " ", regex=False).to_numpy(dtype=object)
        elif style == "mdy":
            chars = base.astype("<U19").view("<U1").reshape(len(base), 19)
            # YYYY-MM-DDTHH:MM:SS -> MM/DD/YYYY HH:MM
            order = [5, 6, -1, 8, 9, -1, 0, 1, 2, 3, -2, 11, 12, 13, 14, 15]
            cols = [chars[:, i] if i >= 0 else np.full(len(base), "/" if i == -1 else " ") for i in order]
            out = np.stack(cols, axis=1).astype("<U1").view("<U16").ravel().astype(object)
        else:
            raise ValueError(style)
    return np.where(missing, "", out)


def format_dates(days: np.ndarray, day_first: bool, missing: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(np.where(missing, 0, days).astype("datetime64[D]"), unit="D").astype(object)
    if day_first:
        s = pd.Series(text, dtype=object)
        text = (s.str[8:10] + "/" + s.str[5:7] + "/" + s.str[0:4]).to_numpy(dtype=object)
    return np.where(missing, "", text)


def format_booleans(values: np.ndarray, style: int) -> np.ndarray:
    """True/False/None -> the style's spellings; None stays blank (unknown)."""
    yes, no = BOOLEAN_STYLES[style]
    values = np.asarray(values, dtype=object)
    return np.where(values == True, yes, np.where(values == False, no, ""))  # noqa: E712


def format_decimals(values: np.ndarray, comma: bool) -> np.ndarray:
    """Two decimals, with a decimal comma in ``;`` files; NaN stays ``null``-free blank."""
    values = np.asarray(values, dtype=float)
    uniques, inverse = np.unique(values, return_inverse=True)  # prices repeat: format each once
    text = np.array(["" if np.isnan(u) else f"{u:.2f}" for u in uniques], dtype=object)[inverse.ravel()]
    if comma:
        text = pd.Series(text, dtype=object).str.replace(".", ",", regex=False).to_numpy(dtype=object)
    return text


# ------------------------------------------------------------------------------------------
# Writers
# ------------------------------------------------------------------------------------------


def header_text(name: str, style: str) -> str:
    return {"as_is": name, "lower": name.lower(), "upper": name.upper(), "padded": f" {name} "}[style]


def text_array(values) -> pa.Array:
    """Any column of text (None = blank) as an Arrow string array, for fast vectorised joins."""
    values = np.asarray(values)
    if values.dtype != object:
        values = values.astype(str).astype(object)
    return pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), "")


def _quoted(column: pa.Array, delimiter: str) -> pa.Array:
    """CSV quoting (minimal): fields holding the delimiter, a quote or a line break get quoted."""
    needs = pc.match_substring(column, delimiter)
    for special in ('"', "\n", "\r"):
        needs = pc.or_(needs, pc.match_substring(column, special))
    if not pc.any(needs).as_py():
        return column
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


def csv_lines(frame: pd.DataFrame, columns: list[str], delimiter: str) -> np.ndarray:
    """One CSV line per row (without line end), built column-wise."""
    cols = [_quoted(text_array(frame[c].to_numpy()), delimiter) for c in columns]
    return pc.binary_join_element_wise(*cols, delimiter).to_numpy(zero_copy_only=False)


def csv_line(values: list[str], dialect: Dialect) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.eol).writerow(values)
    return buffer.getvalue()


def json_strings(values: np.ndarray, escape: bool = True) -> pa.Array:
    """JSON literal per value: a quoted string, or ``null`` when missing. ``escape=False`` is for
    identifiers known to hold no quote, backslash or control character (much faster)."""
    series = pd.Series(values, dtype=object)
    present = series.notna().to_numpy()
    if escape:
        codes, uniques = pd.factorize(series[present], sort=False)
        out = np.full(len(series), None, dtype=object)
        out[present] = np.array([json.dumps(u, ensure_ascii=False) for u in uniques], dtype=object)[codes]
        return pc.fill_null(pa.array(out, type=pa.string(), from_pandas=True), "null")
    text = pa.array(np.where(present, series.to_numpy(), None), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), "null")
