"""Per-person behaviour features that segment rules read, computed once per run.

Every input frame is already attributed to persons (``person_id`` column), so counts are by
person across all of their identities: a webinar attended under an old work address counts for
the same person who now registers with a personal one. Windows ("last 7 days") are measured
back from the reference date at midnight UTC; nothing reads the wall clock.

Frames read from ``frames`` (each optional, canonical columns plus ``person_id``):
``webinar_registrations``, ``orders`` (order lines), ``web_events``, ``crm_contacts``, or the
same frames under their extract names (``webinar_attendees``, ``store_orders``,
``store_web_events``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from cdp_pipeline.segments.rules import CATEGORY_COLUMN_PREFIX

CART_EVENTS = ("Product Added", "Checkout Started")
# Cancelled orders are no purchase; a pending one is (the person did order), as in the truth.
CANCELLED_STATUSES = ("voided", "refunded")
# Frames may be passed under these names or under their extract names (extracts.py).
FRAME_NAMES = {
    "webinar_registrations": "webinar_attendees",
    "orders": "store_orders",
    "web_events": "store_web_events",
    "crm_contacts": "crm_contacts",
}
SESSION_GAP = pd.Timedelta(minutes=30)
CART_WINDOW_DAYS = 7
CATEGORY_WINDOW_DAYS = 90
SESSION_WINDOW_DAYS = 30
LAPSED_AFTER_DAYS = 180
FEATURE_DTYPES = {
    "webinars_registered": "Int64",
    "webinars_attended": "Int64",
    "webinars_missed": "Int64",
    "orders": "Int64",
    "last_order_at": "datetime64[us, UTC]",
    "average_order_value": "float64",
    "aov_percentile": "float64",
    "categories_bought": "Int64",
    "last_cart_activity_at": "datetime64[us, UTC]",
    "categories_viewed_90d": "Int64",
    "categories_browsed": "Int64",
    "web_sessions_30d": "Int64",
    "cart_abandoned": bool,
    "lapsed": bool,
    "days_to_birthday": "Int64",
    "preferred_channel": "string",
    "has_phone": bool,
}
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
    orders, web = _frame(frames, "orders"), _frame(frames, "web_events")
    if orders is not None and "lineitem_category" in orders:
        names.append(orders["lineitem_category"])
    if web is not None and "category" in web:
        names.append(web["category"])
    if not names:
        return {}
    unique = pd.concat(names).dropna().astype("string").str.strip().unique()
    unique = sorted(name for name in unique if name)
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
        _webinar_features(_frame(frames, "webinar_registrations"), reference),
        _order_features(_frame(frames, "orders")),
        _web_features(_frame(frames, "web_events"), reference, list(store_categories(frames))),
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

    crm = _frame(frames, "crm_contacts")
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
    return features.astype(FEATURE_DTYPES).reset_index()


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


def _frame(frames: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    found = frames.get(name)
    return frames.get(FRAME_NAMES[name]) if found is None else found


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
    rows = rows[~status.isin(CANCELLED_STATUSES).fillna(False).to_numpy()]
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
    features["categories_bought"] = _distinct_per_person(
        rows.assign(category=categories), "category"
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
    event = rows["event"] if "event" in rows else pd.Series(pd.NA, index=rows.index)
    event = event.astype("string")
    features = pd.DataFrame(index=pd.Index(rows["person_id"].unique(), name="person_id"))
    features["last_cart_activity_at"] = (
        rows[event.isin(CART_EVENTS).fillna(False)].groupby("person_id")["timestamp"].max()
    )
    features["_last_order_completed_at"] = (
        rows[(event == "Order Completed").fillna(False)].groupby("person_id")["timestamp"].max()
    )

    views = rows[(event == "Product Viewed").fillna(False)].copy()
    names = views["category"].astype("string").str.strip()
    slugs = {name: category_slug(name) for name in names.dropna().unique()}  # per category
    views["slug"] = names.map(slugs).astype("string")
    views = views.dropna(subset=["slug"])
    features["categories_browsed"] = _distinct_per_person(views, "slug")
    recent = views[views["timestamp"] >= reference - pd.Timedelta(days=CATEGORY_WINDOW_DAYS)]
    features["categories_viewed_90d"] = _distinct_per_person(recent, "slug")
    pairs = recent[["person_id", "slug"]].drop_duplicates().assign(viewed=True)
    viewed = pairs.set_index(["person_id", "slug"])["viewed"].unstack(fill_value=False)
    viewed = viewed.reindex(index=features.index, columns=categories, fill_value=False)
    features[category_columns] = viewed.to_numpy(dtype=bool)

    features["web_sessions_30d"] = _sessions_since(
        rows, reference - pd.Timedelta(days=SESSION_WINDOW_DAYS)
    )
    return features


def _distinct_per_person(rows: pd.DataFrame, column: str) -> pd.Series:
    """Distinct non-missing values per person (groupby ``nunique`` on text runs per group)."""
    pairs = rows[["person_id", column]].dropna().drop_duplicates()
    return pairs.groupby("person_id").size()


def _sessions_since(rows: pd.DataFrame, since: pd.Timestamp) -> pd.Series:
    """Sessions per person that started at or after ``since``.

    A session is one browser cookie's run of events with gaps under 30 minutes (the usual web
    analytics definition), so two devices browsing at once are two sessions.
    """
    cookie = rows["anonymous_id"] if "anonymous_id" in rows else pd.Series(pd.NA, index=rows.index)
    browser = cookie.astype("string").fillna("person:" + rows["person_id"])
    browser_codes, _ = pd.factorize(browser)
    person_codes, persons = pd.factorize(rows["person_id"])
    stamps = rows["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    order = np.lexsort((stamps, browser_codes))
    browser_codes, stamps, person_codes = browser_codes[order], stamps[order], person_codes[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (browser_codes[1:] != browser_codes[:-1]) | (
        np.diff(stamps) > SESSION_GAP.to_timedelta64()
    )
    starts &= stamps >= since.tz_convert("UTC").tz_localize(None).to_datetime64()
    counts = np.bincount(person_codes[starts], minlength=len(persons))
    return pd.Series(counts, index=pd.Index(persons, name="person_id"))


def _person_value(
    profiles: pd.DataFrame, crm_contacts: pd.DataFrame | None, column: str
) -> pd.Series:
    """A person attribute from the profile when it has one, else the newest CRM record's value."""
    from_profile = pd.Series(dtype="object")
    if column in profiles:
        from_profile = profiles.set_index(profiles["person_id"].astype("string"))[column].dropna()
        from_profile = from_profile[~from_profile.index.duplicated()]
    rows = _attributed(crm_contacts, [column, "last_modified_date"])
    if rows is None or column not in rows:
        return from_profile
    rows = rows.dropna(subset=[column])
    if "last_modified_date" in rows:
        rows = rows.sort_values("last_modified_date", na_position="first", kind="stable")
    from_crm = rows.groupby("person_id")[column].last()
    return from_crm if from_profile.empty else from_profile.combine_first(from_crm)
