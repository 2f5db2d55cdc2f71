"""Ingest group: one asset per extract, each with its quality checks.

An asset reads every complete drop of its extract not yet processed, quarantines bad rows,
applies snapshot or increment semantics and commits its state; its output is the current
accumulated table. Checks run in the same step so that a failed blocking check stops every
downstream asset of the run.
"""

from __future__ import annotations

from collections import Counter

import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS, PipelineSettings, IngestedExtract
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.extracts import ALL_EXTRACTS, Extract
from cdp_pipeline.privacy import mask_text

ACCOUNTING_CHECK = "row_accounting_balances"
HELD_CHECK = "no_file_held"
EXPECTATIONS_CHECK = "accepted_rows_meet_expectations"


def build_ingest_asset(extract: Extract) -> dg.AssetsDefinition:
    checks = [
        dg.AssetCheckSpec(
            ACCOUNTING_CHECK,
            asset=extract.name,
            blocking=True,
            description="Every row read is accepted, quarantined or a counted duplicate.",
        ),
        dg.AssetCheckSpec(
            HELD_CHECK,
            asset=extract.name,
            blocking=True,
            description=(
                "No file is held: a snapshot that lost too many records or a file with too "
                "large a quarantined share stops the run until an operator accepts it "
                "(`cdp accept <file>`)."
            ),
        ),
        dg.AssetCheckSpec(
            EXPECTATIONS_CHECK,
            asset=extract.name,
            blocking=True,
            description="great-expectations suite on the rows this run accepted.",
        ),
    ]

    @dg.asset(
        name=extract.name,
        group_name="ingest",
        kinds={"pandas", extract.fmt},
        owners=OWNERS,
        description=(
            f"{extract.description} Reads `{extract.source}/<date>/{extract.pattern}` "
            f"({extract.kind.value}); natural key {', '.join(extract.natural_key)}."
        ),
        check_specs=checks,
        deps=["landing_drops"],
    )
    def ingest_asset(context: dg.AssetExecutionContext, settings: PipelineSettings):
        from cdp_pipeline.ingest.accumulate import ingest_extract
        from cdp_pipeline.quality.suites import validate_frame

        outcome = ingest_extract(
            extract,
            settings.landing_path,
            settings.state_store(),
            accept=settings.accepted_files(),
            max_quarantine_share=settings.max_quarantine_share,
            max_snapshot_loss=settings.max_snapshot_loss,
        )
        new_rows = _rows_of_this_run(outcome)
        suite = validate_frame(extract, new_rows)
        outcome.commit()

        reports = [r.as_dict() if hasattr(r, "as_dict") else dict(vars(r)) for r in outcome.file_reports]
        for report in reports:
            context.log.info(mask_text(_describe_file(report)))
        reasons = Counter(
            reason
            for joined in outcome.quarantine["reason"].astype(str)
            for reason in joined.split("; ")
        )
        yield dg.Output(
            IngestedExtract(
                table=outcome.table,
                quarantine=outcome.quarantine,
                file_reports=reports,
                suite=suite.to_dict(),
                held=list(outcome.held),
            ),
            metadata=frame_metadata(
                outcome.table,
                files_processed=len(reports),
                new_rows=dg.MetadataValue.int(int(outcome.new_rows)),
                rows_quarantined=dg.MetadataValue.int(len(outcome.quarantine)),
                records_deleted_at_source=dg.MetadataValue.int(int(outcome.deleted_records)),
                files_held=dg.MetadataValue.int(len(outcome.held)),
                quarantine_reasons=json_metadata(dict(reasons.most_common(20))),
            ),
        )
        unbalanced = [
            r for r in reports
            if r["rows_read"] != r["accepted"] + r["quarantined"] + r["duplicates"]
        ]
        yield dg.AssetCheckResult(
            check_name=ACCOUNTING_CHECK,
            passed=not unbalanced,
            metadata={
                "files": len(reports),
                "rows_read": sum(r["rows_read"] for r in reports),
                "accepted": sum(r["accepted"] for r in reports),
                "quarantined": sum(r["quarantined"] for r in reports),
                "duplicates": sum(r["duplicates"] for r in reports),
                "unbalanced_files": json_metadata([r["file"] for r in unbalanced]),
            },
        )
        yield dg.AssetCheckResult(
            check_name=HELD_CHECK,
            passed=not outcome.held,
            metadata={"held_files": json_metadata([mask_text(str(h)) for h in outcome.held])},
            description=(
                "Held files wait for `cdp accept <file>`; the previous snapshot stays in force."
                if outcome.held
                else None
            ),
        )
        yield dg.AssetCheckResult(
            check_name=EXPECTATIONS_CHECK,
            passed=bool(suite.success),
            metadata={"expectations": json_metadata(suite.to_dict())},
        )

    return ingest_asset


def _rows_of_this_run(outcome) -> pd.DataFrame:
    """The accepted rows that arrived with the files this run read."""
    files = {r.file if hasattr(r, "file") else r["file"] for r in outcome.file_reports}
    return outcome.table[outcome.table["_file"].isin(files)]


def _describe_file(report: dict) -> str:
    status = report.get("status", "applied")
    text = (
        f"{report['file']}: {status}; read {report['rows_read']}, accepted {report['accepted']}, "
        f"quarantined {report['quarantined']}, duplicates {report['duplicates']}"
    )
    return f"{text}; {report['error']}" if report.get("error") else text


@dg.asset(
    group_name="ingest",
    kinds={"filesystem"},
    owners=OWNERS,
    description=(
        "The complete drops (date folders holding `_SUCCESS`) in the landing folder. "
        "The newest one's date is the run's reference date: nothing reads the wall clock."
    ),
)
def landing_drops(context: dg.AssetExecutionContext, settings: PipelineSettings):
    from cdp_pipeline.ingest.landing import complete_drops

    drops = complete_drops(settings.landing_path)
    if not drops:
        raise dg.Failure(
            f"no complete drop in the landing folder {settings.landing_path}",
            allow_retries=False,
        )
    reference_date = max(d.date for d in drops)
    frame = pd.DataFrame({"source": [d.source for d in drops], "date": [d.date for d in drops]})
    return dg.Output(
        reference_date,
        metadata={
            "reference_date": str(reference_date),
            "complete_drops": len(drops),
            "drops_by_source": json_metadata(frame.groupby("source")["date"].count().to_dict()),
        },
    )


INGEST_ASSETS = [build_ingest_asset(extract) for extract in ALL_EXTRACTS]
