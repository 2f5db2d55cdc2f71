"""The quarantine table: every input row the pipeline could not use, kept across runs."""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.quality.rules import QUARANTINE_COLUMNS

QUARANTINE_KEY = ["source", "file", "line"]


def accumulate_quarantine(previous: pd.DataFrame | None, new_rows: list[pd.DataFrame]) -> pd.DataFrame:
    """Every row ever rejected, once: a re-delivered bad row is not counted twice."""
    columns = list(QUARANTINE_COLUMNS)
    frames = [f[columns] for f in [previous, *new_rows] if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    combined = pd.concat(frames, ignore_index=True)
    return combined.drop_duplicates(subset=QUARANTINE_KEY, keep="first").reset_index(drop=True)
