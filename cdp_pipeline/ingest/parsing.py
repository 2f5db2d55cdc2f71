"""Vectorised parsers from raw text columns to the canonical types of ``extracts.Type``.

Each parser returns the typed values and a mask of the values that were present but could not
be parsed, so the caller can quarantine them instead of silently turning them into NA.
Every supported format is tried with an explicit ``format`` (pandas' fast path), never a
per-row guess.
"""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.extracts import Type

# Tried in order on the values still unparsed; ISO-8601 covers 'Z', offsets and the
# 'YYYY-MM-DD HH:MM:SS' form (naive values mean UTC).
TIMESTAMP_FORMATS = ("ISO8601", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
BOOLEAN_SPELLINGS = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
}


def blank_to_na(values: pd.Series) -> pd.Series:
    """Text with empty or whitespace-only values as <NA> (blank means unknown everywhere)."""
    text = values.astype("string")
    blank = text.str.strip() == ""
    return text.mask(blank) if blank.any() else text  # most columns have no blanks: no copy


def _parse_with_formats(values: pd.Series, formats: tuple[str, ...], utc: bool) -> pd.Series:
    text = values.str.strip()
    unit = "datetime64[us, UTC]" if utc else "datetime64[us]"
    parsed = pd.Series(pd.NaT, index=values.index, dtype=unit)
    for fmt in formats:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        attempt = pd.to_datetime(text[todo], format=fmt, utc=utc, errors="coerce")
        parsed.loc[todo] = attempt.astype(unit)
    return parsed


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC microseconds."""
    return _parse_with_formats(values, TIMESTAMP_FORMATS, utc=True)


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as naive midnight datetimes (ISO or day-first European)."""
    return _parse_with_formats(values, DATE_FORMATS, utc=False)


def parse_booleans(values: pd.Series) -> pd.Series:
    """Yes/No, true/false, 1/0, y/n in any case; anything else is unparseable, blank is <NA>."""
    return values.str.strip().str.lower().map(BOOLEAN_SPELLINGS).astype("boolean")


def _numeric_text(values: pd.Series, decimal_comma: bool) -> pd.Series:
    text = values.str.strip()
    if decimal_comma:
        comma = text.str.contains(",", regex=False).fillna(False).astype(bool)
        european = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        text = text.where(~comma, european)
    return text


def parse_decimals(values: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """float64; in ';' files '1.234,50' and '12,50' are European decimals."""
    numbers = pd.to_numeric(_numeric_text(values, decimal_comma), errors="coerce")
    return numbers.astype("float64")


def parse_integers(values: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Int64; '3.0' is accepted, '3.5' is not an integer and so unparseable."""
    numbers = parse_decimals(values, decimal_comma)
    integral = numbers.where(numbers.isna() | (numbers % 1 == 0))
    return integral.astype("Int64")


def parse_column(values: pd.Series, kind: Type, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    """(typed values, unparseable mask) for one raw text column of the given canonical type."""
    text = blank_to_na(values)
    if kind is Type.STRING:
        return text, pd.Series(False, index=values.index)
    if kind is Type.TIMESTAMP:
        typed = parse_timestamps(text)
    elif kind is Type.DATE:
        typed = parse_dates(text)
    elif kind is Type.BOOLEAN:
        typed = parse_booleans(text)
    elif kind is Type.INTEGER:
        typed = parse_integers(text, decimal_comma)
    else:
        typed = parse_decimals(text, decimal_comma)
    unparseable = (text.notna() & typed.isna()).astype(bool)
    return typed, unparseable
