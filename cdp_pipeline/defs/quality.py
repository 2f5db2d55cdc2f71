"""Quality group: the quarantine table and the human-readable validation report of a run."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS, IngestedExtract, PipelineSettings
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.extracts import ALL_EXTRACTS

INGEST_INS = {e.name: dg.AssetIn(e.name) for e in ALL_EXTRACTS}
QUARANTINE_FILE = "quarantine.parquet"
QUARANTINE_KEY = ["source", "file", "line"]


def accumulate_quarantine(previous: pd.DataFrame | None, new_rows: list[pd.DataFrame]) -> pd.DataFrame:
    """All rows ever rejected, once each: a re-delivered bad row is not counted twice."""
    frames = [f for f in [previous, *new_rows] if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=["source", "file", "line", "reason", "drop_date", "raw"])
    combined = pd.concat(frames, ignore_index=True)
    return combined.drop_duplicates(subset=QUARANTINE_KEY, keep="first").reset_index(drop=True)


@dg.asset(
    group_name="quality",
    kinds={"pandas"},
    owners=OWNERS,
    ins=INGEST_INS,
    description=(
        "Every input row the pipeline could not use, with source, file, line, the failed rule "
        "and the raw row (emails and phones masked). Published as the `quarantine` table."
    ),
)
def quarantine(context: dg.AssetExecutionContext, settings: PipelineSettings, **ingested: IngestedExtract):
    path = settings.state_path / QUARANTINE_FILE
    previous = pd.read_parquet(path) if path.exists() else None
    table = accumulate_quarantine(previous, [i.quarantine for i in ingested.values()])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(path)
    by_source = table.groupby("source").size().to_dict() if len(table) else {}
    return dg.Output(
        table,
        metadata=frame_metadata(
            table,
            new_rows=dg.MetadataValue.int(sum(len(i.quarantine) for i in ingested.values())),
            rows_by_source=json_metadata(by_source),
        ),
    )


@dg.asset(
    group_name="quality",
    kinds={"markdown", "great_expectations"},
    owners=OWNERS,
    ins=INGEST_INS,
    description=(
        "The run's validation report: per file the row accounting, held and rejected files, "
        "top quarantine reasons and failed expectations with masked examples."
    ),
)
def validation_report(context: dg.AssetExecutionContext, **ingested: IngestedExtract) -> dg.Output:
    from cdp_pipeline.quality.report import ValidationRunSummary, render_report

    summary = ValidationRunSummary.from_ingest(
        {
            name: (i.suite, i.file_reports, i.quarantine)
            for name, i in ingested.items()
        }
    )
    report = render_report(summary)
    return dg.Output(report, metadata={"report": dg.MetadataValue.md(report)})
