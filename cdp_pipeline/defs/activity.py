"""The attributed activity every later stage reads, and what each reader takes of it.

``person_activity`` is the largest output of a run: every email event, order line and web event
with its person (tens of millions of rows at a million persons). It is stored as Arrow files
(``step_outputs.FrameFolders``), and each reading asset names the frames and columns it uses
here, in one place, so it loads those alone. ``person_activity`` itself keeps only the columns
some reader names, plus the identifiers events are attributed by.
"""

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import dagster as dg
import pandas as pd

from cdp_pipeline.defs.step_outputs import COLUMNS
from cdp_pipeline.erasure import RECORD_KEYS
from cdp_pipeline.identity.attach import ATTRIBUTION_COLUMNS
from cdp_pipeline.models.features import ENGAGEMENT_COLUMNS


@dataclass
class PersonActivity:
    """Source rows that belong to a person, each with its ``person_id`` (erased persons gone),
    and the run's reference date, which every later stage computes "as of". A frame the reading
    asset did not name is None."""

    ARROW_TABLES: ClassVar[tuple[str, ...]] = (
        "email_events", "orders", "web_events", "webinar_registrations", "crm_contacts", "store_customers",
    )

    reference_date: date
    email_events: pd.DataFrame | None  # crm_email_events + person_id + is_machine, machine_reason
    orders: pd.DataFrame | None  # store_orders (one row per line) + person_id
    web_events: pd.DataFrame | None  # store_web_events + person_id (a cookie's past counts once known)
    webinar_registrations: pd.DataFrame | None  # webinar_attendees + person_id
    crm_contacts: pd.DataFrame | None  # + person_id, for consent signals and person attributes
    store_customers: pd.DataFrame | None  # + person_id, for consent signals


SOURCE_OF_FRAME = {
    "email_events": "crm_email_events",
    "orders": "store_orders",
    "web_events": "store_web_events",
    "webinar_registrations": "webinar_attendees",
    "crm_contacts": "crm_contacts",
    "store_customers": "store_customers",
}
"""The ingested extract each frame of the activity comes from."""

ENGAGEMENT_READS = {frame: list(columns) for frame, columns in ENGAGEMENT_COLUMNS.items()}

READS = {
    "golden_records": {  # activity facts (identity.golden) and consent (consent.derive_consent)
        "email_events": ["recipient", "event_type", "event_time"],
        "orders": ["order_id", "financial_status", "total", "created_at"],
        "web_events": ["timestamp"],
        "webinar_registrations": ["webinar_id", "attended", "join_time", "registration_time", "marketing_consent"],
        "crm_contacts": ["marketing_email_opt_in", "opt_in_updated_at"],
        "store_customers": ["accepts_email_marketing", "email_marketing_consent_updated_at"],
    },
    "engagement_model": ENGAGEMENT_READS,
    "engagement_scores": ENGAGEMENT_READS,
    "send_time_recommendations": {
        "email_events": ["event_time", "event_type", "is_machine", "campaign_id", "recipient"],
    },
    "segment_features": {  # segments.behaviour.behaviour_features
        "webinar_registrations": ["webinar_id", "attended", "webinar_start"],
        "orders": ["order_id", "created_at", "financial_status", "total", "lineitem_category"],
        "web_events": ["anonymous_id", "timestamp", "event", "category"],
        "crm_contacts": ["date_of_birth", "preferred_channel", "phone", "last_modified_date"],
    },
    "segment_population": {},  # the reference date alone
    "segment_templates": {  # segments.behaviour.store_categories
        "orders": ["lineitem_category"],
        "web_events": ["category"],
    },
}
"""Per reading asset, the frames and columns (besides ``person_id``) it uses."""

ATTRIBUTION_KEYS = {
    # and what machine opens are told by (models.human_engagement.encode_email_events)
    "email_events": [*ATTRIBUTION_COLUMNS["crm_email_events"], "campaign_id", "event_type", "event_time", "user_agent",
                     "link_url"],
    "orders": list(ATTRIBUTION_COLUMNS["store_orders"]),
    "web_events": list(ATTRIBUTION_COLUMNS["store_web_events"]),
    "webinar_registrations": list(ATTRIBUTION_COLUMNS["webinar_attendees"]),
    **{source: [column] for source, (_, column) in RECORD_KEYS.items()},  # snapshots: by their record id
}
"""What ``person_activity`` reads to attribute rows."""

DERIVED = frozenset({"is_machine", "machine_reason"})
"""Columns ``person_activity`` adds rather than reads."""


def activity_input(reader: str) -> dg.AssetIn:
    """The ``person_activity`` input of ``reader``: the frames and columns of ``READS[reader]``."""
    return dg.AssetIn(
        "person_activity",
        metadata={COLUMNS: {frame: ["person_id", *columns] for frame, columns in READS[reader].items()}},
    )


def source_columns_read() -> dict[str, list[str]]:
    """Per ingested extract, the columns ``person_activity`` needs: keys and what any reader uses."""
    needed = {frame: dict.fromkeys(keys) for frame, keys in ATTRIBUTION_KEYS.items()}
    for frames in READS.values():
        for frame, columns in frames.items():
            needed[frame].update(dict.fromkeys(c for c in columns if c not in DERIVED))
    return {SOURCE_OF_FRAME[frame]: list(columns) for frame, columns in needed.items()}

