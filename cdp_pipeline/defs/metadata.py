"""Metadata every asset shows in the Dagster UI: schema, row counts, a small masked preview."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd

from cdp_pipeline.privacy import mask_frame

PREVIEW_ROWS = 5


def table_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return _schema_of([(str(name), str(dtype)) for name, dtype in frame.dtypes.items() if not str(name).startswith("_raw")])


def _schema_of(columns: list[tuple[str, str]]) -> dg.TableSchema:
    """Dagster compiles ``TableSchema``'s constructor on its first call and keeps a copy of the
    caller's local variables with it for good: called where a frame is in scope, that frame (the
    first ingested extract of a run) would stay in memory as long as the process."""
    return dg.TableSchema(columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in columns])


def masked_preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """A preview never shows a raw email address or phone number: every text cell is masked."""
    visible = [c for c in frame.columns if not str(c).startswith("_raw")]
    head = mask_frame(frame[visible].head(rows))
    return dg.MetadataValue.md(head.to_markdown(index=False) if len(head) else "_(no rows)_")


def frame_metadata(frame: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": table_schema(frame),
        "preview": masked_preview(frame),
    }
    metadata.update(extra)
    return metadata


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """Embeds a plot in Markdown metadata so it shows in the UI without any file server."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def json_metadata(values: Mapping[str, Any]) -> dg.MetadataValue:
    return dg.MetadataValue.json(_jsonable(values))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value
