"""Per-person behaviour features that segment rules read, computed once per run.

Every input frame is already attributed to persons (``person_id`` column), so counts are by
person across all of their identities: a webinar attended under an old work address counts for
the same person who now registers with a personal one. Windows ("last 7 days") are measured
back from the reference date at midnight UTC; nothing reads the wall clock.

Frames read from ``frames`` (each optional, canonical columns plus ``person_id``):
``webinar_registrations``, ``orders`` (order lines), ``web_events``, ``crm_contacts``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from cdp_pipeline.segments.rules import CATEGORY_COLUMN_PREFIX

CART_EVENTS = ("Product Added", "Checkout Started")
# Orders that did not end in kept money do not make a customer, an order value or a purchase.
NON_PURCHASE_STATUSES = ("voided", "refunded")
SESSION_GAP = pd.Timedelta(minutes=30)
CART_WINDOW_DAYS = 7
CATEGORY_WINDOW_DAYS = 90
SESSION_WINDOW_DAYS = 30
LAPSED_AFTER_DAYS = 180
_MAX_CATEGORY_SLUG = 33  # "category_browsers_" + slug must fit the 51-character slug limit


def category_slug(category: str) -> str:
    """``"Home & Garden"`` -> ``home_garden``: the name used in columns and segment slugs."""
    from unidecode import unidecode

    slug = re.sub(r"[^a-z0-9]+", "_", unidecode(str(category)).lower()).strip("_")
    slug = slug[:_MAX_CATEGORY_SLUG].rstrip("_")
    return slug if slug and slug[0].isalpha() else f"c_{slug}"[:_MAX_CATEGORY_SLUG]


def store_categories(frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Every store category seen in orders or product views, as ``{slug: name}``.

    Two spellings of one category that slug identically ("Home & Garden", "home garden")
    collapse into one, keeping the alphabetically first name.
    """
    names = []
    if "orders" in frames and "lineitem_category" in frames["orders"]:
        names.append(frames["orders"]["lineitem_category"])
    if "web_events" in frames and "category" in frames["web_events"]:
        names.append(frames["web_events"]["category"])
    if not names:
        return {}
    unique = pd.concat(names).dropna().astype(str).str.strip()
    unique = sorted(set(unique[unique != ""]))
    categories: dict[str, str] = {}
    for name in unique:  # one entry per distinct category, not per row
        categories.setdefault(category_slug(name), name)
    return dict(sorted(categories.items()))


def behaviour_features(
    profiles: pd.DataFrame, frames: Mapping[str, pd.DataFrame], reference_date: date
) -> pd.DataFrame:
    """One row per profile person with the behaviour columns rules may use."""
    reference = _reference(reference_date)
    persons = pd.Index(profiles["person_id"].astype("string").unique(), name="person_id")
    features = pd.DataFrame(index=persons)
    parts = [
        _webinar_features(frames.get("webinar_registrations"), reference),
        _order_features(frames.get("orders")),
        _web_features(frames.get("web_events"), reference, list(store_categories(frames))),
    ]
    for part in parts:
        features = features.join(part, how="left")

    for column in ("webinars_registered", "webinars_attended", "webinars_missed", "orders",
                   "categories_viewed_90d", "categories_browsed", "categories_bought",
                   "web_sessions_30d"):
        features[column] = features[column].fillna(0).astype("Int64")
    category_columns = [c for c in features.columns if c.startswith(CATEGORY_COLUMN_PREFIX)]
    features[category_columns] = features[category_columns].fillna(False).astype(bool)

    last_purchase = features[["last_order_at", "_last_order_completed_at"]].max(axis=1)
    recent_cart = features["last_cart_activity_at"] >= reference - pd.Timedelta(
        days=CART_WINDOW_DAYS
    )
    no_purchase_since = last_purchase.isna() | (last_purchase < features["last_cart_activity_at"])
    features["cart_abandoned"] = (recent_cart & no_purchase_since).fillna(False).astype(bool)
    features["lapsed"] = (
        (features["orders"] > 0)
        & (features["last_order_at"] < reference - pd.Timedelta(days=LAPSED_AFTER_DAYS))
    ).fillna(False).astype(bool)
    features = features.drop(columns="_last_order_completed_at")

    crm = frames.get("crm_contacts")
    birth_dates = _person_value(profiles, crm, "date_of_birth")
    features["days_to_birthday"] = days_to_next_birthday(
        birth_dates.reindex(persons), reference_date
    )
    channel = _person_value(profiles, crm, "preferred_channel")
    features["preferred_channel"] = (
        channel.reindex(persons).astype("string").str.strip().str.lower().replace("", pd.NA)
    )
    phones = _person_value(profiles, crm, "phone")
    features["has_phone"] = phones.reindex(persons).notna().to_numpy()
    return features.reset_index()


def days_to_next_birthday(birth_dates: pd.Series, reference_date: date) -> pd.Series:
    """Days from the reference date to the next birthday (0 = today).

    A Feb 29 birthday is celebrated on Feb 28 in common years, so it is never skipped.
    """
    reference = pd.Timestamp(reference_date).normalize().tz_localize(None)
    dates = pd.to_datetime(birth_dates, errors="coerce")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    known = dates.notna()
    month = dates.dt.month[known].astype(int)
    day = dates.dt.day[known].astype(int)

    def birthday_in(year: int) -> pd.Series:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        shifted = day.where(leap | ~((month == 2) & (day == 29)), 28)
        return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": shifted}))

    this_year = birthday_in(reference.year)
    upcoming = this_year.where(this_year >= reference, birthday_in(reference.year + 1))
    days = pd.Series(pd.NA, index=birth_dates.index, dtype="Int64")
    days[known] = (upcoming - reference).dt.days.astype("Int64")
    return days


def _reference(reference_date: date) -> pd.Timestamp:
    reference = pd.Timestamp(reference_date).normalize()
    return reference.tz_localize("UTC") if reference.tzinfo is None else reference


def _attributed(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    """The rows that belong to a person, or None when the frame is absent or empty."""
    if frame is None or frame.empty or "person_id" not in frame:
        return None
    rows = frame[frame["person_id"].notna()]
    rows = rows.assign(person_id=rows["person_id"].astype("string"))
    return rows[["person_id", *[c for c in columns if c in rows.columns]]] if len(rows) else None


def _webinar_features(registrations: pd.DataFrame | None, reference: pd.Timestamp) -> pd.DataFrame:
    """Counts by (person, webinar): two registrations of one person to one webinar count once."""
    rows = _attributed(registrations, ["webinar_id", "attended", "webinar_start"])
    empty = pd.DataFrame(columns=["webinars_registered", "webinars_attended", "webinars_missed"])
    if rows is None:
        return empty
    attended = rows["attended"].astype("boolean")
    per_webinar = rows.assign(
        yes=attended.fillna(False).astype(bool),
        no=(attended == False).fillna(False).astype(bool),  # noqa: E712 (nullable compare)
        started=pd.to_datetime(rows["webinar_start"], utc=True)
        < reference + pd.Timedelta(days=1),
    ).groupby(["person_id", "webinar_id"]).agg(
        yes=("yes", "any"), no=("no", "any"), started=("started", "any")
    )
    per_webinar["missed"] = per_webinar["no"] & ~per_webinar["yes"] & per_webinar["started"]
    by_person = per_webinar.groupby(level="person_id")
    return pd.DataFrame(
        {
            "webinars_registered": by_person.size(),
            "webinars_attended": by_person["yes"].sum(),
            "webinars_missed": by_person["missed"].sum(),
        }
    )


def _order_features(order_lines: pd.DataFrame | None) -> pd.DataFrame:
    rows = _attributed(
        order_lines, ["order_id", "created_at", "financial_status", "total", "lineitem_category"]
    )
    columns = ["orders", "last_order_at", "average_order_value", "aov_percentile",
               "categories_bought"]
    if rows is None:
        return pd.DataFrame(columns=columns)
    status = rows["financial_status"].astype("string").str.strip().str.lower()
    rows = rows[~status.isin(NON_PURCHASE_STATUSES)]
    orders = rows.drop_duplicates(["person_id", "order_id"]).assign(
        created_at=lambda o: pd.to_datetime(o["created_at"], utc=True)
    )
    by_person = orders.groupby("person_id")
    features = pd.DataFrame(
        {
            "orders": by_person["order_id"].nunique(),
            "last_order_at": by_person["created_at"].max(),
            "average_order_value": by_person["total"].mean(),
        }
    )
    features["aov_percentile"] = features["average_order_value"].rank(pct=True)
    categories = rows["lineitem_category"].astype("string").str.strip()
    features["categories_bought"] = (
        rows.assign(category=categories).dropna(subset=["category"])
        .groupby("person_id")["category"].nunique()
    )
    return features


def _web_features(
    web_events: pd.DataFrame | None, reference: pd.Timestamp, categories: list[str]
) -> pd.DataFrame:
    category_columns = [CATEGORY_COLUMN_PREFIX + slug for slug in categories]
    columns = ["last_cart_activity_at", "_last_order_completed_at", "categories_viewed_90d",
               "categories_browsed", "web_sessions_30d", *category_columns]
    rows = _attributed(web_events, ["anonymous_id", "timestamp", "event", "category"])
    if rows is None:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(timestamp=pd.to_datetime(rows["timestamp"], utc=True))
    event = rows["event"].astype("string") if "event" in rows else pd.Series(pd.NA, index=rows.index)
    features = pd.DataFrame(index=pd.Index(rows["person_id"].unique(), name="person_id"))
    features["last_cart_activity_at"] = (
        rows[event.isin(CART_EVENTS).fillna(False)].groupby("person_id")["timestamp"].max()
    )
    features["_last_order_completed_at"] = (
        rows[(event == "Order Completed").fillna(False)].groupby("person_id")["timestamp"].max()
    )

    views = rows[(event == "Product Viewed").fillna(False)].copy()
    views["slug"] = views["category"].astype("string").str.strip().map(
        category_slug, na_action="ignore"
    ) if len(views) else pd.Series(dtype="string")
    views = views.dropna(subset=["slug"])
    features["categories_browsed"] = views.groupby("person_id")["slug"].nunique()
    recent = views[views["timestamp"] >= reference - pd.Timedelta(days=CATEGORY_WINDOW_DAYS)]
    features["categories_viewed_90d"] = recent.groupby("person_id")["slug"].nunique()
    viewed = pd.crosstab(recent["person_id"], recent["slug"]).gt(0)
    viewed = viewed.reindex(index=features.index, columns=categories, fill_value=False)
    features[category_columns] = viewed.to_numpy(dtype=bool)

    features["web_sessions_30d"] = _sessions_since(
        rows, reference - pd.Timedelta(days=SESSION_WINDOW_DAYS)
    )
    return features


def _sessions_since(rows: pd.DataFrame, since: pd.Timestamp) -> pd.Series:
    """Sessions per person that started at or after ``since``.

    A session is one browser cookie's run of events with gaps under 30 minutes (the usual web
    analytics definition), so two devices browsing at once are two sessions.
    """
    browser = rows["anonymous_id"].astype("string") if "anonymous_id" in rows else None
    browser = rows["person_id"] if browser is None else browser.fillna("person:" + rows["person_id"])
    ordered = rows.assign(browser=browser).sort_values(["browser", "timestamp"], kind="stable")
    gap = ordered.groupby("browser")["timestamp"].diff()
    starts = ordered[(gap.isna() | (gap > SESSION_GAP)) & (ordered["timestamp"] >= since)]
    return starts.groupby("person_id").size()


def _person_value(
    profiles: pd.DataFrame, crm_contacts: pd.DataFrame | None, column: str
) -> pd.Series:
    """A person attribute from the profile when it has it, else the newest CRM record's value."""
    if column in profiles:
        values = profiles.set_index(profiles["person_id"].astype("string"))[column].dropna()
        return values[~values.index.duplicated()]
    rows = _attributed(crm_contacts, [column, "last_modified_date"])
    if rows is None or column not in rows:
        return pd.Series(dtype="object")
    rows = rows.dropna(subset=[column])
    if "last_modified_date" in rows:
        rows = rows.sort_values("last_modified_date", na_position="first", kind="stable")
    return rows.groupby("person_id")[column].last()
