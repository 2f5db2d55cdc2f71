"""Identity group: who is who across sources, erasure, golden records, attributed activity."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS, IngestedExtract, PipelineSettings
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.defs.resources import WarehouseResource

IDENTITY_SOURCES = (
    "crm_contacts",
    "webinar_attendees",
    "store_customers",
    "store_orders",
    "store_web_events",
    "crm_email_events",
)
ERASURE_LEDGER_FILE = "erasure_ledger.parquet"


def _tables(ingested: dict[str, IngestedExtract]) -> dict[str, pd.DataFrame]:
    return {name: extract.table for name, extract in ingested.items()}


@dg.asset(
    group_name="identity",
    kinds={"pandas", "scipy"},
    owners=OWNERS,
    ins={name: dg.AssetIn(name) for name in IDENTITY_SOURCES},
    description=(
        "Links every identity record (CRM contact, webinar registration, store account, order, "
        "browser cookie) to a person: deterministic links on shared identifiers, Fellegi–Sunter "
        "links on names and addresses with weights estimated by EM, guards against over-merging, "
        "connected components, and person ids kept stable from the previous run's identity_map."
    ),
)
def identity_resolution(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, **ingested: IngestedExtract
):
    from cdp_pipeline.identity import resolve_identities

    previous = warehouse.read_table_if_exists("identity_map")
    resolution = resolve_identities(_tables(ingested), previous_identity_map=previous)
    identity_map = resolution.identity_map
    persons = identity_map["person_id"].nunique()
    return dg.Output(
        resolution,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(identity_map)),
            "records": dg.MetadataValue.int(len(identity_map)),
            "persons": dg.MetadataValue.int(persons),
            "records_per_person": round(len(identity_map) / max(persons, 1), 3),
            "records_by_source": json_metadata(identity_map["source"].value_counts().to_dict()),
            "records_by_match_rule": json_metadata(
                identity_map["match_rule"].value_counts().to_dict()
            ),
            "diagnostics": json_metadata(resolution.diagnostics),
        },
    )


@dg.asset(
    group_name="identity",
    kinds={"pandas"},
    owners=OWNERS,
    ins={"identity_resolution": dg.AssetIn(), "erasure_requests": dg.AssetIn()},
    description=(
        "Persons to erase: those any erasure request's address resolves to, now or in any "
        "earlier run (a ledger of one-way hashes keeps re-delivered data erased). Only the "
        "hashes are stored."
    ),
)
def erased_persons(
    context: dg.AssetExecutionContext,
    settings: PipelineSettings,
    identity_resolution,
    erasure_requests: IngestedExtract,
):
    from cdp_pipeline.erasure import apply_erasure

    ledger_path = settings.state_path / ERASURE_LEDGER_FILE
    ledger = pd.read_parquet(ledger_path) if ledger_path.exists() else None
    erased, new_ledger = apply_erasure(
        identity_resolution.identity_map,
        identity_resolution.profile_emails_hint,
        erasure_requests.table,
        ledger,
    )
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ledger_path.with_suffix(".tmp")
    new_ledger.to_parquet(tmp, index=False)
    tmp.replace(ledger_path)
    return dg.Output(
        frozenset(erased),
        metadata={
            "persons_erased": dg.MetadataValue.int(len(erased)),
            "ledger_hashes": dg.MetadataValue.int(len(new_ledger)),
        },
    )
