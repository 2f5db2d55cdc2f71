"""Segments group: one asset per segment defined in YAML, the catalogue and who changed segment.

The definitions file is read when the code location loads, so adding a segment to the YAML
adds an asset to the graph. A template (one segment per store category) is one asset whose
output holds a member table per category, since the categories are only known from the data.
"""


import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS
from cdp_pipeline.defs.activity import PersonActivity, activity_input
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata
from cdp_pipeline.defs.resources import WarehouseResource
from cdp_pipeline.segments.build import SegmentDefinition, SegmentTemplate, load_catalogue


# Segments feed the send tools every morning: older than a day is a warning, two days a failure.
SEGMENT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=24))


@dataclass
class SegmentPopulation:
    """One row per person with every column a rule may read, and the date rules count from."""

    frame: pd.DataFrame
    reference_date: date


def definitions_file() -> Path | None:
    """`CDP_SEGMENTS_FILE` names a team's own YAML; unset uses the built-in segments."""
    value = os.environ.get("CDP_SEGMENTS_FILE")
    return Path(value) if value else None


@dg.asset(
    group_name="segments",
    kinds={"pandas"},
    owners=OWNERS,
    ins={"person_activity": activity_input("segment_features"), "profiles": dg.AssetIn()},
    description=(
        "Behaviour features per person that segment rules read, computed once per run across "
        "all of a person's identities: webinars registered/attended/missed, cart abandonment, "
        "categories viewed in 90 days, categories browsed and bought, average order value and "
        "its percentile, web sessions in 30 days, days to the next birthday, lapsed."
    ),
)
def segment_features(person_activity: PersonActivity, profiles: pd.DataFrame) -> dg.Output:
    from cdp_pipeline.segments.behaviour import behaviour_features

    frames = {
        "orders": person_activity.orders,
        "web_events": person_activity.web_events,
        "webinar_registrations": person_activity.webinar_registrations,
        "crm_contacts": person_activity.crm_contacts,
    }
    features = behaviour_features(profiles, frames, person_activity.reference_date)
    return dg.Output(features, metadata=frame_metadata(features))


@dg.asset(
    group_name="segments",
    kinds={"pandas"},
    owners=OWNERS,
    ins={
        "profiles": dg.AssetIn(),
        "profile_emails": dg.AssetIn(),
        "segment_features": dg.AssetIn(),
        "engagement_scores": dg.AssetIn(),
        "send_times": dg.AssetIn(),
        "person_activity": activity_input("segment_population"),
    },
    description=(
        "One row per person with every column a segment rule may read (profile, behaviour, "
        "score, send time) and the best sendable address."
    ),
)
def segment_population(
    profiles, profile_emails, segment_features, engagement_scores, send_times, person_activity: PersonActivity
) -> dg.Output:
    from cdp_pipeline.segments.build import segment_input

    frame = segment_input(profiles, segment_features, engagement_scores, send_times, profile_emails)
    population = SegmentPopulation(frame, person_activity.reference_date)
    return dg.Output(
        population,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(frame)),
            "sendable": dg.MetadataValue.int(int(frame["sendable"].sum())),
            "reference_date": str(population.reference_date),
        },
    )


def build_segment_asset(definition: SegmentDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"segment_{definition.slug}",
        group_name="segments",
        kinds={"pandas"},
        owners=OWNERS,
        tags=_segment_tags(definition.owner, definition.email),
        freshness_policy=SEGMENT_FRESHNESS,
        description=(
            f"{definition.description} Rule: `{definition.definition}`. "
            + ("Email segment: sendable persons only, " if definition.email else "Call list, ")
            + f"{definition.holdout_share:.0%} held out as a control group."
        ),
        ins={"segment_population": dg.AssetIn()},
    )
    def segment_asset(segment_population: SegmentPopulation) -> dg.Output:
        from cdp_pipeline.segments.build import select_members

        members = select_members(definition, segment_population.frame, segment_population.reference_date)
        return dg.Output(
            members,
            metadata=frame_metadata(
                members,
                members=dg.MetadataValue.int(len(members)),
                holdout_members=dg.MetadataValue.int(int(members["holdout"].sum())),
            ),
        )

    return segment_asset


def build_template_asset(template: SegmentTemplate) -> dg.AssetsDefinition:
    @dg.asset(
        name=template_asset_name(template),
        group_name="segments",
        kinds={"pandas"},
        owners=OWNERS,
        tags=_segment_tags(template.owner, template.email),
        freshness_policy=SEGMENT_FRESHNESS,
        description=(
            f"{template.description} One segment per value of `{template.for_each}` found in "
            f"the data; output: a member table per segment."
        ),
        ins={"segment_population": dg.AssetIn(), "person_activity": activity_input("segment_templates")},
    )
    def template_asset(segment_population: SegmentPopulation, person_activity: PersonActivity) -> dg.Output:
        from cdp_pipeline.segments.behaviour import store_categories
        from cdp_pipeline.segments.build import expand_templates
        from cdp_pipeline.segments.build import select_members

        categories = store_categories({"orders": person_activity.orders, "web_events": person_activity.web_events})
        expanded = expand_templates([template], categories)
        tables = {
            d.slug: (d, select_members(d, segment_population.frame, segment_population.reference_date))
            for d in expanded
        }
        return dg.Output(
            tables,
            metadata={
                "segments": dg.MetadataValue.int(len(tables)),
                "members": json_metadata({slug: len(t) for slug, (_, t) in tables.items()}),
            },
        )

    return template_asset


def template_asset_name(template: SegmentTemplate) -> str:
    """``category_browsers_{category}`` -> ``segment_category_browsers``."""
    return "segment_" + re.sub(r"_?\{[^}]*\}", "", template.slug)


def _segment_tags(owner: str, email: bool) -> dict[str, str]:
    """Owner and kind as UI tags (tag values allow only letters, digits and ``-_.``)."""
    safe_owner = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(owner))[:63]
    return {"segment/owner": safe_owner, "segment/email": str(email).lower()}


DEFINITIONS, TEMPLATES = load_catalogue(definitions_file())
SEGMENT_ASSETS = [build_segment_asset(d) for d in DEFINITIONS]
TEMPLATE_ASSETS = [build_template_asset(t) for t in TEMPLATES]
SEGMENT_ASSET_NAMES = [f"segment_{d.slug}" for d in DEFINITIONS]
TEMPLATE_ASSET_NAMES = [template_asset_name(t) for t in TEMPLATES]


@dg.asset(
    group_name="segments",
    kinds={"pandas"},
    owners=OWNERS,
    ins={
        **{name: dg.AssetIn(name) for name in SEGMENT_ASSET_NAMES + TEMPLATE_ASSET_NAMES},
        "segment_population": dg.AssetIn(),
    },
    freshness_policy=SEGMENT_FRESHNESS,
    description=(
        "The `segments` catalogue (slug, description, rule as written, members, holdout) and "
        "`segment_changes` (who entered or left each segment in this run, for triggered sends), "
        "plus every member table, ready for one atomic publication."
    ),
)
def segment_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, segment_population: SegmentPopulation, **segments
) -> dg.Output:
    from cdp_pipeline.segments.build import segment_changes, segment_tables as as_tables
    from cdp_pipeline.segments.build import catalogue_rows

    members: dict[str, pd.DataFrame] = {}
    definitions: list[SegmentDefinition] = []
    by_name = {f"segment_{d.slug}": d for d in DEFINITIONS}
    for name, output in segments.items():
        if name in by_name:
            definitions.append(by_name[name])
            members[by_name[name].slug] = output
        else:
            for slug, (definition, table) in output.items():
                definitions.append(definition)
                members[slug] = table
    catalogue = catalogue_rows(definitions, members, segment_population.reference_date, context.run_id)
    previous, history = _previous_segments(warehouse)
    changes = segment_changes(previous, members, context.run_id, history=history,
                              persons=pd.Index(segment_population.frame["person_id"]))
    tables = as_tables(catalogue, members, changes)
    current = changes[changes["run_id"] == context.run_id]
    return dg.Output(
        tables,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(catalogue)),
            "segments": dg.MetadataValue.md(catalogue[["segment", "members", "holdout_members"]].to_markdown(index=False)),
            "entered": dg.MetadataValue.int(int((current["change"] == "entered").sum())),
            "left": dg.MetadataValue.int(int((current["change"] == "left").sum())),
        },
    )


def _previous_segments(warehouse: WarehouseResource) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The published members of the previous run, to tell who entered and who left."""
    from sqlalchemy import inspect

    inspector = inspect(warehouse.engine)
    names = set(inspector.get_table_names())
    previous = {
        name.removeprefix("segment_"): warehouse.read(name)
        for name in names
        if name.startswith("segment_") and name != "segment_changes"
    }
    history = warehouse.read("segment_changes") if "segment_changes" in names else None
    return previous, history
