"""Who is in a segment: one definition evaluated over the run's person population.

Split from :mod:`cdp_pipeline.segments.build` so that each segment is its own Dagster asset:
the population (every rule column, the best sendable address) is computed once per run and
every segment only evaluates its rule on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd

from cdp_pipeline.segments.build import SegmentDefinition, holdout_flags
from cdp_pipeline.segments.rules import evaluate

CATALOGUE_COLUMNS = [
    "segment", "description", "definition", "members", "holdout_members", "refreshed_at",
    "run_id", "owner", "email_segment", "holdout_share",
]


def select_members(definition: SegmentDefinition, population: pd.DataFrame, reference_date: date) -> pd.DataFrame:
    """The member table of one segment (warehouse columns ``segment_<slug>``).

    An email segment keeps only sendable persons with an active address, and gives that address;
    a call list keeps everyone the rule selects and adds their phone.
    """
    mask = evaluate(definition.rule, population, reference_date).to_numpy(dtype=bool)
    if definition.email:
        mask = mask & population["sendable"].to_numpy(dtype=bool) & population["best_email"].notna().to_numpy()
    chosen = population[mask].sort_values("person_id", kind="stable")
    table = pd.DataFrame(
        {
            "person_id": chosen["person_id"].astype("string"),
            "email": chosen["best_email"].astype("string"),
            "first_name": chosen["first_name"].astype("string"),
            "score": pd.to_numeric(chosen["score"], errors="coerce").astype("Float64"),
            "tier": chosen["tier"].astype("string"),
            "best_hour_utc": pd.to_numeric(chosen["best_hour_utc"], errors="coerce").astype("Int64"),
            "holdout": holdout_flags(definition.slug, chosen["person_id"], definition.holdout_share),
        }
    ).reset_index(drop=True)
    if not definition.email:
        table["phone"] = chosen["phone"].astype("string").to_numpy()
    return table


def catalogue_rows(
    definitions: Sequence[SegmentDefinition],
    members: Mapping[str, pd.DataFrame],
    reference_date: date,
    run_id: str,
) -> pd.DataFrame:
    """The ``segments`` table: one row per segment, its rule as written and its sizes."""
    refreshed_at = pd.Timestamp(reference_date).tz_localize("UTC")
    rows = [
        {
            "segment": d.slug,
            "description": d.description,
            "definition": d.definition,
            "members": len(members[d.slug]),
            "holdout_members": int(members[d.slug]["holdout"].sum()),
            "refreshed_at": refreshed_at,
            "run_id": run_id,
            "owner": d.owner,
            "email_segment": d.email,
            "holdout_share": d.holdout_share,
        }
        for d in definitions
    ]
    return pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)


def consent_violations(
    tables: Mapping[str, pd.DataFrame], profiles: pd.DataFrame, profile_emails: pd.DataFrame
) -> pd.DataFrame:
    """Members of email segments who may not be emailed at that address: ``(segment, person_id)``.

    Checked independently of how members were chosen: the person must be sendable (consent
    granted, not withdrawn, not erased) and the address must be one of theirs with status
    ``active``.
    """
    catalogue = tables["segments"]
    email_segments = catalogue.loc[catalogue["email_segment"].astype(bool), "segment"]
    sendable = set(profiles.loc[profiles["sendable"].astype(bool), "person_id"].astype(str))
    active = profile_emails[profile_emails["status"] == "active"]
    active_pairs = pd.MultiIndex.from_arrays([active["person_id"].astype(str), active["email"].astype(str)])
    parts = []
    for slug in email_segments:
        members = tables[f"segment_{slug}"]
        pairs = pd.MultiIndex.from_arrays([members["person_id"].astype(str), members["email"].astype(str)])
        bad = ~members["person_id"].astype(str).isin(sendable).to_numpy() | ~pairs.isin(active_pairs)
        parts.append(pd.DataFrame({"segment": slug, "person_id": members.loc[bad, "person_id"].astype(str)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["segment", "person_id"])
