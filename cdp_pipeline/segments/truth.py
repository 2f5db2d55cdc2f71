"""Segment membership scored against the synthetic generator's truth (benchmarks and tests only).

The truth folder (``cdp synth --truth``) knows, per true person, the behaviour facts a segment
is about (webinars attended, last cart activity, categories viewed...). The expected members of
a segment are the true persons whose facts satisfy the segment's intent (for birthdays and the
phone preference, only where a delivered CRM contact carried the fact), restricted for email
segments to persons whose true final consent is granted; erased persons are never expected.
A published member counts as a hit when the true person behind its ``person_id`` (the majority
owner of its identity records) is expected. Segments the truth has no fact for (engagement
tiers, bought categories, web sessions) are not scored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.segments.behaviour import (
    CART_WINDOW_DAYS,
    LAPSED_AFTER_DAYS,
    category_slug,
    days_to_next_birthday,
)

CATEGORY_PREFIX = "category_browsers_"


def true_person_of(identity_map: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
    """``person_id`` -> the true person owning most of its identity records."""
    joined = identity_map[["source", "source_record_id", "person_id"]].astype("string").merge(
        records[["source", "source_record_id", "true_person_id"]].astype("string"),
        on=["source", "source_record_id"],
    )
    counts = joined.groupby(["person_id", "true_person_id"]).size().rename("n").reset_index()
    owner = counts.sort_values(["person_id", "n", "true_person_id"],
                               ascending=[True, False, True]).drop_duplicates("person_id")
    return pd.Series(owner["true_person_id"].to_numpy(), index=owner["person_id"].to_numpy())


def _delivered(persons: pd.DataFrame, column: str) -> pd.Series:
    """Whether the fact reached the landing folder at all (truth folders before this column: assume so)."""
    if column not in persons:
        return pd.Series(True, index=persons.index)
    return persons[column].astype(str).str.lower() == "true"


def expected_members(persons: pd.DataFrame, reference_date: date) -> dict[str, pd.Series]:
    """Per scorable segment a boolean mask over ``persons`` (the truth's persons.csv)."""
    reference = pd.Timestamp(reference_date, tz="UTC")
    last_order = pd.to_datetime(persons["last_order_at"].replace("", None), utc=True)
    last_cart = pd.to_datetime(persons["last_cart_activity_at"].replace("", None), utc=True)
    orders = persons["orders"].astype(int)
    aov = (persons["total_spent"] / orders.where(orders > 0)).rank(pct=True)
    birthday = days_to_next_birthday(pd.to_datetime(persons["birth_date"]), reference_date)
    masks = {
        "webinar_attendees": persons["attended_webinars"] >= 1,
        "webinar_never_attended": persons["attended_webinars"] == 0,
        "webinar_no_shows": (persons["registered_webinars"] > persons["attended_webinars"])
        & (persons["attended_webinars"] == 0),
        "cart_abandoners": (last_cart >= reference - pd.Timedelta(days=CART_WINDOW_DAYS))
        & (last_order.isna() | (last_order < last_cart)),
        "high_value": (aov > 0.75).fillna(False),
        "lapsed_customers": (orders >= 1)
        & (last_order < reference - pd.Timedelta(days=LAPSED_AFTER_DAYS)).fillna(False),
        "birthdays_next_7_days": birthday.between(0, 6).fillna(False).astype(bool)
        & _delivered(persons, "birth_date_delivered"),
        "prefers_phone": (persons["preferred_channel"].fillna("").str.lower() == "phone")
        & _delivered(persons, "preferred_channel_delivered"),
    }
    viewed = persons["categories_viewed_90d"].fillna("").astype(str)
    slugs = viewed.str.split(";").map(lambda names: {category_slug(n) for n in names if n})
    for slug in sorted(set().union(*slugs)):
        masks[CATEGORY_PREFIX + slug] = slugs.map(lambda found, s=slug: s in found).astype(bool)
    return {k: pd.Series(np.asarray(v, dtype=bool), index=persons.index) for k, v in masks.items()}


def segment_truth_scores(
    segment_members: Mapping[str, pd.DataFrame],
    identity_map: pd.DataFrame,
    truth_dir: str | Path,
    email_segments: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Precision and recall of every scorable segment: ``segment, members, expected, hits,
    precision, recall``. ``email_segments`` says which slugs are email segments (default: all
    but ``prefers_phone``)."""
    truth = Path(truth_dir)
    persons = pd.read_csv(truth / "persons.csv", dtype={"true_person_id": str},
                          keep_default_na=False)
    records = pd.read_csv(truth / "records.csv", dtype=str, keep_default_na=False)
    meta = json.loads((truth / "meta.json").read_text(encoding="utf-8"))
    reference_date = date.fromisoformat(meta["reference_date"])
    # a person is expected only once some record of theirs has been delivered
    first_drop = records.get("first_drop_date", pd.Series("", index=records.index))
    delivered = records.loc[first_drop <= meta["reference_date"], "true_person_id"]
    observed = persons["true_person_id"].isin(delivered)
    for column in ("orders", "registered_webinars", "attended_webinars"):
        persons[column] = pd.to_numeric(persons[column])
    persons["total_spent"] = pd.to_numeric(persons["total_spent"])
    erased = persons["erased"].astype(str).str.lower() == "true"
    granted = persons["consent_final"] == "granted"

    owner = true_person_of(identity_map, records)
    rows = []
    for slug, mask in expected_members(persons, reference_date).items():
        if slug not in segment_members:
            continue
        is_email = (email_segments or {}).get(slug, slug != "prefers_phone")
        expected = mask & observed & ~erased & (granted if is_email else True)
        expected_ids = set(persons.loc[expected, "true_person_id"])
        found = owner.reindex(segment_members[slug]["person_id"].astype("string").to_numpy())
        hits = found.isin(expected_ids)
        rows.append(
            {
                "segment": slug,
                "members": len(found),
                "expected": len(expected_ids),
                "hits": int(hits.sum()),
                "precision": round(float(hits.mean()), 4) if len(found) else None,
                "recall": round(len(set(found[hits])) / len(expected_ids), 4)
                if expected_ids else None,
            }
        )
    return pd.DataFrame(rows, columns=["segment", "members", "expected", "hits", "precision",
                                       "recall"])
