"""Identity group: who is who across sources, golden records with consent, attributed activity."""

import dagster as dg
import pandas as pd

from cdp_pipeline.consent import IDENTITY_MAP_COLUMNS
from cdp_pipeline.defs.activity import SOURCE_OF_FRAME, PersonActivity, activity_input, source_columns_read
from cdp_pipeline.defs.common import OWNERS, IngestedExtract
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.defs.resources import StateResource, WarehouseResource
from cdp_pipeline.defs.step_outputs import COLUMNS, FRAME_FOLDERS
from cdp_pipeline.extracts import EXTRACTS_BY_NAME
from cdp_pipeline.frames import release_unused_memory
from cdp_pipeline.identity import attach, golden
from cdp_pipeline.identity.records import SOURCE_COLUMNS

IDENTITY_SOURCES = tuple(SOURCE_COLUMNS)
"""The ingested extracts identity records and attributed activity come from."""


def _resolution_input(*reads: dict[str, list[str]]) -> dg.AssetIn:
    """The resolution as an input that loads only the tables and columns ``reads`` name (their
    union): at a million persons it is gigabytes, and most steps read a few of its columns."""
    columns: dict[str, list[str]] = {}
    for read in reads:
        for table, names in read.items():
            columns[table] = list(dict.fromkeys([*columns.get(table, []), *names]))
    return dg.AssetIn("identity_resolution", metadata={COLUMNS: columns})


def _previous_identity_map(warehouse: WarehouseResource) -> pd.DataFrame | None:
    from sqlalchemy import inspect

    if not inspect(warehouse.engine).has_table("identity_map"):
        return None
    return warehouse.read("identity_map")


@dg.asset(
    group_name="identity",
    kinds={"pandas", "scipy"},
    owners=OWNERS,
    io_manager_key=FRAME_FOLDERS,
    # The sources are read from the ingest state, not handed in as inputs: Dagster keeps a
    # step's inputs until it ends, and at a million persons the frames are gigabytes that
    # resolution no longer needs once the records are built.
    deps=list(IDENTITY_SOURCES),
    ins={"erasure_requests": dg.AssetIn(metadata={COLUMNS: {"table": ["email"]}})},
    description=(
        "Links every identity record (CRM contact, webinar registration, store account, order, "
        "browser cookie) to a person: deterministic links on shared identifiers, Fellegi–Sunter "
        "links on names and addresses with weights estimated by EM, guards against over-merging, "
        "connected components, ids kept stable from the previous run's `identity_map`. Persons "
        "an erasure request resolves to (now or in any earlier run) are left out entirely."
    ),
)
def identity_resolution(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    state: StateResource,
    erasure_requests: IngestedExtract,
):
    from cdp_pipeline.erasure import JUDGED_COLUMNS, REQUESTS, ErasureState
    from cdp_pipeline.identity.records import build_records_releasing
    from cdp_pipeline.identity.resolve import resolve_with_erasures

    erasure = ErasureState(state.folder)
    ledger = erasure.record_requests(erasure_requests.table)

    previous_identity_map = _previous_identity_map(warehouse)
    tables, redelivered = erasure.drop_redelivered(erasure.store.load_tables(SOURCE_COLUMNS))
    resolution, found_in = resolve_with_erasures(
        build_records_releasing(tables),  # unnamed: resolution lets the records go once its first pass is done
        previous_identity_map=previous_identity_map, erased_email_hashes=set(ledger.iloc[:, 0]),
    )
    purge = erasure.purge(lambda: {**erasure.store.load_tables(JUDGED_COLUMNS), REQUESTS: erasure_requests.table},
                          found_in, previous_identity_map, ledger)
    del found_in  # every record again: only the purge needs it
    identity_map = resolution.identity_map
    persons = identity_map["person_id"].nunique()
    context.log.info(f"{len(identity_map)} identity records resolved to {persons} persons")
    return dg.Output(
        resolution,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(identity_map)),
            "persons": dg.MetadataValue.int(persons),
            "records_per_person": round(len(identity_map) / max(persons, 1), 3),
            "records_by_source": json_metadata(identity_map["source"].value_counts().to_dict()),
            "records_by_match_rule": json_metadata(identity_map["match_rule"].value_counts().to_dict()),
            "erasure_ledger_hashes": dg.MetadataValue.int(len(ledger)),
            "erased_rows_purged_from_state": json_metadata(purge.removed),
            "erased_records_redelivered": json_metadata(redelivered),
            "diagnostics": json_metadata(resolution.diagnostics),
        },
    )


@dg.asset(
    group_name="identity",
    kinds={"pandas"},
    owners=OWNERS,
    description=(
        "One row per identity record: its source, id, person and why it joined that person "
        "(`match_rule`, `match_confidence`). Published as `identity_map`."
    ),
    ins={"identity_resolution": dg.AssetIn(metadata={COLUMNS: {"identity_map": None}})},  # all of the map
)
def identity_map(identity_resolution) -> dg.Output:
    table = identity_resolution.identity_map
    return dg.Output(
        table,
        metadata=frame_metadata(
            table, mean_match_confidence=float(table["match_confidence"].mean()) if len(table) else 0.0
        ),
    )


def _committed_table(store, name: str, columns: list[str]) -> pd.DataFrame:
    """An extract's accumulated table, those of ``columns`` it has; empty but typed before its
    first delivery."""
    from cdp_pipeline.ingest.readers import empty_frame

    table = store.load(name, columns=columns)[0]
    if table is None:
        empty = empty_frame(EXTRACTS_BY_NAME[name])
        table = empty[[column for column in columns if column in empty]]
    return table


@dg.asset(
    group_name="identity",
    kinds={"pandas"},
    owners=OWNERS,
    io_manager_key=FRAME_FOLDERS,
    # As identity resolution does, the sources are read from the ingest state, one at a time,
    # not handed in as inputs that Dagster would keep for the whole step: only what attribution
    # and the later stages read (defs/activity.py), not where a row came from (file, line) nor
    # a web event's traits and properties.
    deps=list(IDENTITY_SOURCES),
    ins={
        "identity_resolution": _resolution_input(attach.RESOLUTION_COLUMNS, {"identity_map": IDENTITY_MAP_COLUMNS}),
        "landing_drops": dg.AssetIn(),
    },
    description=(
        "Every email event, order line, web event and webinar registration with the person it "
        "belongs to; a cookie's anonymous past counts for its person once it identifies. Email "
        "opens and clicks carry `is_machine` (privacy proxies, security scanners) and its reason."
    ),
)
def person_activity(identity_resolution, landing_drops, state: StateResource) -> dg.Output:
    from cdp_pipeline.consent import with_person_ids
    from cdp_pipeline.erasure import RECORD_KEYS
    from cdp_pipeline.identity.attach import attribute_events
    from cdp_pipeline.ingest.state import StateStore
    from cdp_pipeline.models.human_engagement import flag_machine_engagement

    identity = identity_resolution.identity_map

    def with_persons(source: str, table: pd.DataFrame) -> pd.DataFrame:
        if source in RECORD_KEYS:  # a snapshot: a row without a person is an erased person's, delivered again
            return with_person_ids(table, identity, *RECORD_KEYS[source])
        return attribute_events(identity_resolution, {source: table})[source]

    store, columns = StateStore(state.folder), source_columns_read()
    frames, attribution_rate = {}, {}
    for frame, source in SOURCE_OF_FRAME.items():
        rows = with_persons(source, _committed_table(store, source, columns[source]))
        known = rows["person_id"].notna()
        attribution_rate[source] = round(float(known.mean()), 4) if len(rows) else None
        frames[frame] = rows[known.to_numpy()].reset_index(drop=True)
        del rows, known
        release_unused_memory()
    frames["email_events"] = flag_machine_engagement(frames["email_events"])
    activity = PersonActivity(reference_date=landing_drops, **frames)
    events = activity.email_events
    responses = events["event_type"].isin(["OPEN", "CLICK"])
    return dg.Output(
        activity,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(
                len(events) + len(activity.orders) + len(activity.web_events) + len(activity.webinar_registrations)
            ),
            "attribution_rate": json_metadata(attribution_rate),
            "machine_share_of_opens_and_clicks": round(float(events.loc[responses, "is_machine"].mean()), 4)
            if responses.any() else 0.0,
            "machine_reasons": json_metadata(events.loc[responses & events["is_machine"], "machine_reason"].value_counts().to_dict()),
        },
    )


@dg.multi_asset(
    group_name="identity",
    outs={
        "profiles": dg.AssetOut(
            kinds={"pandas"},
            owners=OWNERS,
            description=(
                "One golden record per person (survivorship: freshest non-empty value from the "
                "most trusted source), activity counts, and consent: `email_consent`, "
                "`consent_updated_at`, `consent_source`, `sendable`. Published as `profiles`."
            ),
        ),
        "profile_emails": dg.AssetOut(
            kinds={"pandas"},
            owners=OWNERS,
            description=(
                "Every normalised address of every person with first/last seen and status "
                "(active, bounced, unsubscribed, invalid). Published as `profile_emails`."
            ),
        ),
    },
    ins={
        "identity_resolution": _resolution_input(attach.RESOLUTION_COLUMNS, golden.RESOLUTION_COLUMNS),
        "person_activity": activity_input("golden_records"),
    },
)
def golden_records(identity_resolution, person_activity: PersonActivity):
    from cdp_pipeline.consent import derive_consent
    from cdp_pipeline.identity.golden import build_golden_records

    frames = {
        "crm_contacts": person_activity.crm_contacts,
        "store_customers": person_activity.store_customers,
        "webinar_attendees": person_activity.webinar_registrations,
        "store_orders": person_activity.orders,
        "store_web_events": person_activity.web_events,
        "crm_email_events": person_activity.email_events,
    }
    profiles, emails = build_golden_records(identity_resolution, frames)
    profiles, emails = derive_consent(
        profiles,
        emails,
        person_activity.crm_contacts,
        person_activity.store_customers,
        person_activity.webinar_registrations,
        person_activity.email_events,
        reference_date=person_activity.reference_date,
    )
    yield dg.Output(
        profiles,
        output_name="profiles",
        metadata=frame_metadata(
            profiles,
            sendable=dg.MetadataValue.int(int(profiles["sendable"].sum())),
            customers=dg.MetadataValue.int(int(profiles["is_customer"].sum())),
            consent=json_metadata(profiles["email_consent"].value_counts().to_dict()),
        ),
    )
    yield dg.Output(
        emails,
        output_name="profile_emails",
        metadata=frame_metadata(emails, status=json_metadata(emails["status"].value_counts().to_dict())),
    )
