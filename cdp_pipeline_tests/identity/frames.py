"""Hand-made canonical frames: each test writes only the columns its rule is about."""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.extracts import EXTRACTS_BY_NAME, Type

_DTYPES = {
    Type.STRING: "string",
    Type.TIMESTAMP: "datetime64[us, UTC]",
    Type.DATE: "datetime64[us]",
    Type.BOOLEAN: "boolean",
    Type.INTEGER: "Int64",
    Type.DECIMAL: "float64",
}


def canonical(extract: str, rows: list[dict]) -> pd.DataFrame:
    """A canonical frame of ``extract``: every contract column present, typed, missing ones NA."""
    spec = EXTRACTS_BY_NAME[extract]
    data = {}
    for column in spec.columns:
        values = [row.get(column.name) for row in rows]
        if column.type is Type.TIMESTAMP:
            data[column.name] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(_DTYPES[column.type])
        elif column.type is Type.DATE:
            data[column.name] = pd.to_datetime(pd.Series(values, dtype=object)).astype(_DTYPES[column.type])
        else:
            data[column.name] = pd.Series(values, dtype=object).astype(_DTYPES[column.type])
    frame = pd.DataFrame(data)
    if extract == "webinar_attendees":
        frame["email_key"] = frame["email"].str.strip().str.lower()
    return frame


def frames(**by_extract: list[dict]) -> dict[str, pd.DataFrame]:
    return {name: canonical(name, rows) for name, rows in by_extract.items()}
