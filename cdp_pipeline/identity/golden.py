"""Golden records: one profile per person, and every address the person was seen with.

Survivorship rules (what a profile shows when its records disagree):

* **Primary email**: the valid address most recently used by the person (the latest time it
  appeared on any of their records: a form, an order, a registration, a CRM update, an email
  open or click; sends and bounces are not the person's use); ties go to the more trusted source. Invalid addresses are never primary.
* **Every other field** (first name, last name, phone, city, postal code, country, time zone):
  the non-empty value from the most trusted source holding one (CRM > store account > webinar
  registration > order billing > web cookie traits); among records of that source, the freshest
  (latest update) wins. Each field is chosen on its own, so a CRM contact without a phone
  does not hide the phone of the store account.
* **Name order**: first and last name then stand in the order the person's records settle:
  the records with both names from the most trusted source that has any vote, and one order
  must lead by two votes. Where they do not settle it (a single registration, an even split),
  the order people at large clearly write those names in decides (the other order at least 20
  times likelier, by how many people write each name as a first and as a last name: Zhang is
  mostly a last name, Wei a first name), else the majority of the votes, else the freshest
  record. A registrant who typed Zhang Wei into the boxes of Wei Zhang does not rename him.
* **Counts**: ``orders`` are distinct orders whose financial status is ``paid`` or
  ``partially_refunded`` (pending, voided and fully refunded orders are not purchases);
  ``total_spent`` sums their totals once per order; ``is_customer`` means at least one such
  order; ``last_order_at`` is the latest one. ``webinars_registered`` / ``webinars_attended``
  count distinct webinars. ``last_activity_at`` is the person's latest own action: a webinar
  join or registration, an order, a web event, or an email open or click.
* **profile_emails**: one row per (person, normalised address); ``first_seen_at`` and
  ``last_seen_at`` span its appearances; status ``invalid`` for malformed addresses, otherwise
  ``active`` (bounces and unsubscribes are applied downstream by the consent module).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.identity.attach import attribute_events
from cdp_pipeline.identity.compare import names_both_ways
from cdp_pipeline.identity.normalize import fold_name, without_spaces
from cdp_pipeline.identity.records import ENGAGEMENT_EVENTS

PURCHASE_STATUSES = ("paid", "partially_refunded")
SURVIVING_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "phone": "phone",
    "city": "city_display",
    "postal_code": "postal_code",
    "country": "country",
    "timezone": "time_zone",
}

NAME_ORDER_ODDS = 20.0
"""How many times likelier, by how people at large write the two names, the other order must be
to swap a profile's first and last name that the person's own records leave unsettled."""

RESOLUTION_COLUMNS = {
    "records": ["person_id", "trust", "seen_at", "first_fold", "last_fold", *SURVIVING_FIELDS.values()],
    "record_emails": ["rec", "email_norm", "email_valid", "seen_at"],
}
"""What ``build_golden_records`` reads of the resolution besides what attribution reads."""


def _survivor(records: pd.DataFrame, column: str) -> pd.Series:
    """Per person: the value from the most trusted, then freshest, record that has one."""
    values = records[["person_id", "trust", "seen_at", column]].dropna(subset=[column])
    values = values[values[column].astype("string").str.strip() != ""]
    best = values.sort_values(["person_id", "trust", "seen_at"], ascending=[True, False, False],
                              na_position="last", kind="stable").drop_duplicates("person_id")
    return best.set_index("person_id")[column]


def _name_order_votes(shown_first: pd.Series, shown_last: pd.Series, records: pd.DataFrame,
                      person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per profile: how many of the person's voting records write its first and last name as
    shown, and how many the other way round. The voters are the records with both names from
    the most trusted source that has any."""
    written, reversed_ = names_both_ways(pd.concat([records["first_fold"], shown_first], ignore_index=True),
                                         pd.concat([records["last_fold"], shown_last], ignore_index=True))
    n = len(records)
    record_name, shown, shown_reversed = written[:n], written[n:], reversed_[n:]
    has_both = record_name >= 0
    top_trust = records["trust"].where(has_both).groupby(person).transform("max")
    voter = has_both & (records["trust"] == top_trust).to_numpy()
    as_shown = voter & (record_name == shown[person])
    other_way = voter & (record_name == shown_reversed[person]) & (shown_reversed[person] != shown[person])
    size = len(shown_first)
    return np.bincount(person, weights=as_shown, minlength=size), np.bincount(person, weights=other_way, minlength=size)


def _log_odds_names_other_way_round(shown_first: pd.Series, shown_last: pd.Series, records: pd.DataFrame) -> np.ndarray:
    """Per profile: how much likelier its names are the other way round, as a natural log, by
    how many people write each as a first name and as a last name (Zhang is far more often a
    last name, Wei a first name). Each person counts once per name and box."""
    def people_writing(column: str) -> pd.Series:
        names = pd.DataFrame({"person_id": records["person_id"], "name": without_spaces(records[column])})
        return names.dropna().drop_duplicates()["name"].value_counts()

    as_first, as_last = people_writing("first_fold"), people_writing("last_fold")

    def ratio(names: pd.Series, numerator: pd.Series, denominator: pd.Series) -> np.ndarray:
        keys = without_spaces(names)
        return np.log((numerator.reindex(keys).fillna(0).to_numpy(float) + 1)
                      / (denominator.reindex(keys).fillna(0).to_numpy(float) + 1))

    return ratio(shown_first, as_last, as_first) + ratio(shown_last, as_first, as_last)


def _in_usual_name_order(profiles: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Puts each profile's first and last name in the order the person's records settle (two or
    more votes ahead), else in the order people at large clearly write those names, else in the
    order most voting records write them (the freshest breaks a tie). First and last name
    survive field by field, so the shown pair may come from a record that typed them into each
    other's boxes."""
    shown_first, shown_last = fold_name(profiles["first_name"]), fold_name(profiles["last_name"])
    person = profiles.index.get_indexer(records["person_id"])
    as_shown, other_way = _name_order_votes(shown_first, shown_last, records, person)
    log_odds = _log_odds_names_other_way_round(shown_first, shown_last, records)
    clear = np.log(NAME_ORDER_ODDS)
    by_people = np.select([log_odds > clear, log_odds < -clear], [True, False], default=other_way > as_shown)
    swap = np.where(np.abs(other_way - as_shown) >= 2, other_way > as_shown, by_people)
    out = profiles.copy()
    out.loc[swap, ["first_name", "last_name"]] = profiles.loc[swap, ["last_name", "first_name"]].to_numpy()
    return out


def build_profile_emails(resolution) -> pd.DataFrame:
    emails = resolution.record_emails
    records = resolution.records
    frame = pd.DataFrame({
        "person_id": records["person_id"].to_numpy()[emails["rec"].to_numpy()],
        "email": emails["email_norm"].to_numpy(),
        "valid": emails["email_valid"].to_numpy(),
        "trust": records["trust"].to_numpy()[emails["rec"].to_numpy()],
        "seen_at": emails["seen_at"].array,
    })
    out = frame.groupby(["person_id", "email"], as_index=False).agg(
        first_seen_at=("seen_at", "min"), last_seen_at=("seen_at", "max"),
        valid=("valid", "max"), trust=("trust", "max"),
    )
    ranked = out[out["valid"]].sort_values(["person_id", "last_seen_at", "trust", "email"],
                                            ascending=[True, False, False, True], na_position="last")
    primary = ranked.drop_duplicates("person_id")
    out["is_primary"] = False
    out.loc[primary.index, "is_primary"] = True
    out["status"] = np.where(out["valid"], "active", "invalid")
    out = out[["person_id", "email", "is_primary", "first_seen_at", "last_seen_at", "status"]]
    return out.astype({"person_id": "string", "email": "string", "status": "string"}).reset_index(drop=True)


def _order_facts(attributed: dict) -> pd.DataFrame:
    orders = attributed.get("store_orders")
    if orders is None or orders.empty:
        return pd.DataFrame(columns=["orders", "total_spent", "last_order_at"])
    per_order = orders.dropna(subset=["person_id"]).drop_duplicates("order_id")
    per_order = per_order[per_order["financial_status"].astype("string").str.lower().isin(PURCHASE_STATUSES)]
    return per_order.groupby("person_id").agg(orders=("order_id", "nunique"), total_spent=("total", "sum"),
                                              last_order_at=("created_at", "max"))


def _webinar_facts(attributed: dict) -> pd.DataFrame:
    webinar = attributed.get("webinar_attendees")
    if webinar is None or webinar.empty:
        return pd.DataFrame(columns=["webinars_registered", "webinars_attended"])
    webinar = webinar.dropna(subset=["person_id"])
    attended = webinar[webinar["attended"].fillna(False).astype(bool)]
    return pd.DataFrame({
        "webinars_registered": webinar.groupby("person_id")["webinar_id"].nunique(),
        "webinars_attended": attended.groupby("person_id")["webinar_id"].nunique(),
    })


def _activity(attributed: dict) -> pd.Series:
    parts = []
    webinar = attributed.get("webinar_attendees")
    if webinar is not None:
        when = webinar["join_time"].fillna(webinar["registration_time"])
        parts.append(pd.DataFrame({"person_id": webinar["person_id"], "at": when}))
    orders = attributed.get("store_orders")
    if orders is not None:
        parts.append(pd.DataFrame({"person_id": orders["person_id"], "at": orders["created_at"]}))
    web = attributed.get("store_web_events")
    if web is not None:
        parts.append(pd.DataFrame({"person_id": web["person_id"], "at": web["timestamp"]}))
    events = attributed.get("crm_email_events")
    if events is not None:
        own = events[events["event_type"].astype("string").isin(ENGAGEMENT_EVENTS)]
        parts.append(pd.DataFrame({"person_id": own["person_id"], "at": own["event_time"]}))
    if not parts:
        return pd.Series(dtype="datetime64[us, UTC]")
    frame = pd.concat([p.astype({"at": "datetime64[us, UTC]"}) for p in parts], ignore_index=True)
    return frame.dropna().groupby("person_id")["at"].max()


def build_golden_records(resolution, frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(profiles, profile_emails) per the warehouse contract, without the consent columns.

    ``frames``: the source frames, with their ``person_id`` already (as ``person_activity``
    holds them) or without (then attributed here).
    """
    records = resolution.records
    persons = pd.Index(np.sort(records["person_id"].unique()), name="person_id")
    profiles = pd.DataFrame(index=persons)
    for field, column in SURVIVING_FIELDS.items():
        profiles[field] = _survivor(records, column).reindex(persons).astype("string")
    profiles = _in_usual_name_order(profiles, records)
    profile_emails = build_profile_emails(resolution)
    primary = profile_emails[profile_emails["is_primary"]].set_index("person_id")["email"]
    profiles.insert(2, "primary_email", primary.reindex(persons).astype("string"))

    unattributed = {name: frame for name, frame in frames.items() if "person_id" not in frame}
    attributed = {**frames, **attribute_events(resolution, unattributed)}
    orders = _order_facts(attributed).reindex(persons)
    webinars = _webinar_facts(attributed).reindex(persons)
    profiles["orders"] = orders["orders"].fillna(0).astype("int64")
    profiles["is_customer"] = profiles["orders"] > 0
    profiles["total_spent"] = orders["total_spent"].astype("float64").fillna(0.0).round(2)
    profiles["last_order_at"] = pd.to_datetime(orders["last_order_at"], utc=True).astype("datetime64[us, UTC]")
    profiles["webinars_registered"] = webinars["webinars_registered"].fillna(0).astype("int64")
    profiles["webinars_attended"] = webinars["webinars_attended"].fillna(0).astype("int64")
    profiles["last_activity_at"] = _activity(attributed).reindex(persons).astype("datetime64[us, UTC]")
    columns = ["first_name", "last_name", "primary_email", "phone", "city", "postal_code", "country",
               "timezone", "is_customer", "webinars_registered", "webinars_attended", "orders",
               "total_spent", "last_order_at", "last_activity_at"]
    profiles = profiles[columns].reset_index()
    profiles["person_id"] = profiles["person_id"].astype("string")
    return profiles, profile_emails
