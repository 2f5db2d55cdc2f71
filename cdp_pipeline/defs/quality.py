"""Quality group: the quarantine table and the run's human-readable validation report."""


import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS, IngestedExtract
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.defs.resources import StateResource
from cdp_pipeline.defs.step_outputs import COLUMNS
from cdp_pipeline.extracts import ALL_EXTRACTS

INGEST_INS = {e.name: dg.AssetIn(e.name, metadata={COLUMNS: {"table": []}}) for e in ALL_EXTRACTS}
"""Every ingest asset's rejects and validation, without its table."""
QUARANTINE_FILE = "quarantine.parquet"


@dg.asset(
    group_name="quality",
    kinds={"pandas"},
    owners=OWNERS,
    ins=INGEST_INS,
    description=(
        "Every input row the pipeline could not use: source, file, line, the failed rule(s) and "
        "the raw row with emails and phone numbers masked. Published as `quarantine`."
    ),
)
def quarantine(state: StateResource, **ingested: IngestedExtract) -> dg.Output:
    from cdp_pipeline.quality.quarantine import accumulate_quarantine

    path = state.folder / QUARANTINE_FILE
    previous = pd.read_parquet(path) if path.exists() else None
    table = accumulate_quarantine(previous, [i.quarantine for i in ingested.values()])
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    table.to_parquet(staged, index=False)
    staged.replace(path)
    return dg.Output(
        table,
        metadata=frame_metadata(
            table,
            new_rows=dg.MetadataValue.int(sum(len(i.quarantine) for i in ingested.values())),
            rows_by_source=json_metadata(table["source"].value_counts().to_dict()),
        ),
    )


@dg.asset(
    group_name="quality",
    kinds={"markdown", "great_expectations"},
    owners=OWNERS,
    ins={**INGEST_INS, "landing_drops": dg.AssetIn()},
    description=(
        "The run's validation report (open it from the run or this asset's metadata): per file "
        "the row accounting, held and rejected files, top quarantine reasons and failed "
        "expectations with masked examples."
    ),
)
def validation_report(context: dg.AssetExecutionContext, landing_drops, **ingested: IngestedExtract) -> dg.Output:
    from cdp_pipeline.quality.report import ValidationRunSummary, render_report

    summary = ValidationRunSummary(
        run_id=context.run_id,
        extracts=[i.validation for i in ingested.values()],
        reference_date=str(landing_drops),
    )
    report = render_report(summary)
    return dg.Output(report, metadata={"report": dg.MetadataValue.md(report)})
