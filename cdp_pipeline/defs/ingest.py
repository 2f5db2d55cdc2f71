"""Ingest group: the landing folder's complete drops, and one asset per extract with its checks.

An extract's asset reads every complete drop not yet processed, quarantines bad rows, applies
snapshot or increment semantics and commits its state; its output is the current accumulated
table. Its checks run in the same step, so a failed blocking check stops every downstream
asset of the run and nothing is published.
"""


import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS, IngestedExtract, IngestGuards
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.defs.resources import LandingResource, StateResource
from cdp_pipeline.defs.step_outputs import FRAME_FOLDERS
from cdp_pipeline.extracts import ALL_EXTRACTS, Extract
from cdp_pipeline.privacy import mask_text

ACCOUNTING_CHECK = "row_accounting_balances"
HELD_CHECK = "no_file_held"
EXPECTATIONS_CHECK = "accepted_rows_meet_expectations"


def _check_specs(extract: Extract) -> list[dg.AssetCheckSpec]:
    return [
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
                "No file waits for an operator: a snapshot that lost too many records, or a file "
                "with too large a share quarantined, is held (the previous snapshot stays in "
                "force) and stops the run until `cdp accept <file>`."
            ),
        ),
        dg.AssetCheckSpec(
            EXPECTATIONS_CHECK,
            asset=extract.name,
            blocking=True,
            description="The great-expectations suite holds on the rows this run accepted.",
        ),
    ]


def build_ingest_asset(extract: Extract) -> dg.AssetsDefinition:
    @dg.asset(
        name=extract.name,
        group_name="ingest",
        kinds={"pandas", extract.fmt},
        owners=OWNERS,
        description=(
            f"{extract.description} Reads `{extract.source}/<date>/{extract.pattern}` "
            f"({extract.kind.value}); natural key ({', '.join(extract.natural_key)})."
        ),
        check_specs=_check_specs(extract),
        deps=["landing_drops"],
        io_manager_key=FRAME_FOLDERS,
    )
    def ingest_asset(
        context: dg.AssetExecutionContext,
        landing: LandingResource,
        state: StateResource,
        guards: IngestGuards,
    ):
        from cdp_pipeline.ingest.accumulate import ingest_extract
        from cdp_pipeline.ingest.state import StateStore
        from cdp_pipeline.quality.report import extract_validation, render_suite_outcome
        from cdp_pipeline.quality.suites import validate_frame
        from cdp_pipeline.runner import accepted_files

        outcome = ingest_extract(
            extract,
            landing.folder,
            StateStore(state.folder),
            accept=accepted_files(state.folder),
            max_quarantine_share=guards.max_quarantine_share,
            max_snapshot_loss=guards.max_snapshot_loss,
        )
        read_files = {r.file for r in outcome.file_reports if r.status == "applied"}
        read_now = outcome.table["_file"].isin(read_files).to_numpy()
        new_rows = outcome.table if read_now.all() else outcome.table[read_now]  # a first build: no copy
        suite = validate_frame(extract, new_rows) if read_files else None
        outcome.commit()

        validation = extract_validation(
            extract.name,
            outcome.file_reports,
            outcome.quarantine,
            suite,
            outcome.held,
            outcome.deleted_records,
        )
        for report in outcome.file_reports:
            context.log.debug(mask_text(_describe(report)))
        context.log.info(
            f"{extract.name}: {len(outcome.file_reports)} files read, {outcome.new_rows} new rows, "
            f"{len(outcome.quarantine)} quarantined, {len(outcome.held)} held"
        )
        yield dg.Output(
            IngestedExtract(outcome.table, outcome.quarantine, validation),
            metadata=frame_metadata(
                outcome.table,
                files_read=len(outcome.file_reports),
                new_rows=dg.MetadataValue.int(int(outcome.new_rows)),
                rows_quarantined=dg.MetadataValue.int(len(outcome.quarantine)),
                records_deleted_at_source=dg.MetadataValue.int(int(outcome.deleted_records)),
                files_held=dg.MetadataValue.int(len(outcome.held)),
                quarantine_reasons=json_metadata(validation.quarantine_reasons),
            ),
        )
        unbalanced = [f.file for f in validation.files if not f.balances]
        yield dg.AssetCheckResult(
            check_name=ACCOUNTING_CHECK,
            passed=not unbalanced,
            metadata={
                "files": len(validation.files),
                "rows_read": sum(f.rows_read for f in validation.files),
                "accepted": sum(f.accepted for f in validation.files),
                "quarantined": sum(f.quarantined for f in validation.files),
                "duplicates": sum(f.duplicates for f in validation.files),
                "unbalanced_files": json_metadata(unbalanced),
            },
        )
        yield dg.AssetCheckResult(
            check_name=HELD_CHECK,
            passed=not outcome.held,
            metadata={"held": json_metadata([{k: str(v) for k, v in h.items()} for h in outcome.held])},
            description=(
                "Held files wait for `cdp accept <file>`; the previous snapshot stays in force."
                if outcome.held
                else None
            ),
        )
        if suite is None:
            yield dg.AssetCheckResult(
                check_name=EXPECTATIONS_CHECK,
                passed=True,
                description="No file applied by this run: nothing new to validate.",
            )
        else:
            yield dg.AssetCheckResult(
                check_name=EXPECTATIONS_CHECK,
                passed=bool(suite.success),
                metadata={
                    "rows_validated": len(new_rows),
                    "failed_expectations": dg.MetadataValue.md(render_suite_outcome(suite) or "none"),
                    "outcome": json_metadata(suite.to_dict()),
                },
            )

    return ingest_asset


def _describe(report) -> str:
    text = (
        f"{report.file}: {report.status}; read {report.rows_read}, accepted {report.accepted}, "
        f"quarantined {report.quarantined}, duplicates {report.duplicates}"
    )
    return f"{text}; {report.error}" if report.error else text


@dg.asset(
    group_name="ingest",
    kinds={"filesystem"},
    owners=OWNERS,
    description=(
        "The complete drops (date folders holding `_SUCCESS`) of the landing folder. The newest "
        "one's date is the run's reference date: no result depends on the wall clock."
    ),
)
def landing_drops(landing: LandingResource) -> dg.Output:
    from cdp_pipeline.ingest.landing import complete_drops

    drops = complete_drops(landing.folder)
    if not drops:
        raise dg.Failure(f"no complete drop in the landing folder {landing.folder}", allow_retries=False)
    frame = pd.DataFrame({"source": [d.source for d in drops], "date": [d.date for d in drops]})
    reference_date = frame["date"].max()
    return dg.Output(
        reference_date,
        metadata={
            "reference_date": str(reference_date),
            "complete_drops": len(drops),
            "drops_by_source": json_metadata(frame.groupby("source")["date"].count().to_dict()),
            "newest_by_source": json_metadata(
                frame.groupby("source")["date"].max().astype(str).to_dict()
            ),
        },
    )


INGEST_ASSETS = [build_ingest_asset(extract) for extract in ALL_EXTRACTS]
