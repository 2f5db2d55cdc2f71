"""Warehouse group: every table of the run published together, and the consent invariant."""


import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS
from cdp_pipeline.defs.metadata import json_metadata
from cdp_pipeline.defs.resources import WAREHOUSE_RETRY_POLICY, WarehouseResource
from cdp_pipeline.defs.resources import StateResource
from cdp_pipeline.defs.step_outputs import COLUMNS

PERSON_TABLES = ("identity_map", "profiles", "profile_emails", "engagement_scores", "send_times")


@dg.asset_check(
    asset="segment_tables",
    blocking=True,
    additional_ins={"profiles": dg.AssetIn(), "profile_emails": dg.AssetIn()},
    description=(
        "No email segment holds a person who may not be emailed: consent not granted or "
        "withdrawn later, no deliverable address (bounced, unsubscribed, invalid), or erased. "
        "Blocking: a failure stops the publication."
    ),
)
def email_segments_are_consent_safe(
    segment_tables: dict[str, pd.DataFrame], profiles: pd.DataFrame, profile_emails: pd.DataFrame
) -> dg.AssetCheckResult:
    from cdp_pipeline.segments.build import consent_violations

    violations = consent_violations(segment_tables, profiles, profile_emails)
    return dg.AssetCheckResult(
        passed=violations.empty,
        metadata={
            "violations": dg.MetadataValue.int(len(violations)),
            "by_segment": json_metadata(violations["segment"].value_counts().to_dict() if len(violations) else {}),
        },
    )


@dg.asset_check(
    asset="identity_map",
    blocking=True,
    additional_ins={"profile_emails": dg.AssetIn(), "erasure_requests": dg.AssetIn(metadata={COLUMNS: {"table": ["email"]}})},
    description="No person an erasure request resolves to is left in the identity map or profiles.",
)
def erased_persons_are_absent(
    identity_map: pd.DataFrame, profile_emails: pd.DataFrame, erasure_requests, state: StateResource
) -> dg.AssetCheckResult:
    from cdp_pipeline.erasure import ErasureState, apply_erasure

    ledger = ErasureState(state.folder).ledger()
    still_present, _ = apply_erasure(identity_map, profile_emails, erasure_requests.table, ledger)
    return dg.AssetCheckResult(
        passed=not still_present,
        metadata={"erased_persons_still_present": dg.MetadataValue.int(len(still_present))},
    )


@dg.asset(
    group_name="warehouse",
    kinds={"sql"},
    owners=OWNERS,
    retry_policy=WAREHOUSE_RETRY_POLICY,
    description=(
        "Publishes every table of the run in one transaction (staging tables, then a swap): "
        "readers see the previous run or this one, never a mix, and a failure leaves the "
        "previous tables in place. Segments no longer defined are dropped in the same swap. "
        "Transient database faults are retried with exponential backoff."
    ),
)
def warehouse_publication(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    identity_map: pd.DataFrame,
    profiles: pd.DataFrame,
    profile_emails: pd.DataFrame,
    engagement_scores: pd.DataFrame,
    send_times: pd.DataFrame,
    model_runs: pd.DataFrame,
    quarantine: pd.DataFrame,
    segment_tables: dict[str, pd.DataFrame],
    landing_drops,
):
    from sqlalchemy import inspect

    tables = {
        "identity_map": identity_map,
        "profiles": profiles,
        "profile_emails": profile_emails,
        "engagement_scores": engagement_scores,
        "send_times": send_times,
        "model_runs": model_runs,
        "quarantine": quarantine,
        **segment_tables,
    }
    existing = set(inspect(warehouse.engine).get_table_names())
    retired = {n for n in existing if n.startswith("segment_") and n not in tables}
    report = warehouse.publish(tables, context.run_id, published_at=landing_drops, drop_missing=retired)
    context.log.info(
        f"published {len(report.row_counts)} tables ({report.total_rows} rows) to "
        f"{warehouse.display_url()} in {report.stage_seconds + report.swap_seconds:.1f}s"
    )
    return dg.Output(
        report,
        metadata={
            "warehouse": warehouse.display_url(),
            "tables": dg.MetadataValue.int(len(report.row_counts)),
            "dagster/row_count": dg.MetadataValue.int(report.total_rows),
            "row_counts": json_metadata(report.row_counts),
            "retired_segment_tables": json_metadata(sorted(retired)),
            "rows_per_second": round(report.rows_per_second, 1),
            "swap_seconds": round(report.swap_seconds, 3),
        },
    )
