"""Small hand-made, person-attributed frames for segment tests.

Every person is sendable with one active address ``<person_id>@example.com`` unless a test
says otherwise, so a built-in segment's membership depends only on the behaviour under test.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from cdp_pipeline.segments.behaviour import behaviour_features, store_categories
from cdp_pipeline.segments.build import build_segments, load_definitions

REFERENCE = date(2026, 11, 20)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def days_ago(days: float) -> pd.Timestamp:
    return pd.Timestamp(REFERENCE, tz="UTC") - pd.Timedelta(days=days)


def profiles(person_ids, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"person_id": pd.array(person_ids, dtype="string")})
    frame["first_name"] = pd.array([p.title() for p in person_ids], dtype="string")
    frame["phone"] = pd.array([None] * len(person_ids), dtype="string")
    frame["sendable"] = True
    for name, values in columns.items():
        frame[name] = values
    return frame


def profile_emails(person_ids, status="active") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": pd.array(person_ids, dtype="string"),
            "email": pd.array([f"{p}@example.com" for p in person_ids], dtype="string"),
            "is_primary": True,
            "first_seen_at": ts("2025-01-01"),
            "last_seen_at": ts("2026-01-01"),
            "status": status,
        }
    )


def registrations(rows) -> pd.DataFrame:
    """rows: (person_id, webinar_id, email, attended, webinar_start)."""
    return pd.DataFrame(
        rows, columns=["person_id", "webinar_id", "email", "attended", "webinar_start"]
    ).astype({"attended": "boolean", "webinar_start": "datetime64[us, UTC]"})


def orders(rows) -> pd.DataFrame:
    """rows: (person_id, order_id, created_at, total, category[, financial_status])."""
    rows = [r if len(r) == 6 else (*r, "paid") for r in rows]
    return pd.DataFrame(
        rows,
        columns=["person_id", "order_id", "created_at", "total", "lineitem_category",
                 "financial_status"],
    ).astype({"created_at": "datetime64[us, UTC]", "total": float})


def web_events(rows) -> pd.DataFrame:
    """rows: (person_id, anonymous_id, timestamp, event, category)."""
    return pd.DataFrame(
        rows, columns=["person_id", "anonymous_id", "timestamp", "event", "category"]
    ).astype({"timestamp": "datetime64[us, UTC]"})


def scores(tiers: dict[str, str]) -> pd.DataFrame:
    level = {"high": 0.8, "medium": 0.4, "low": 0.05}
    return pd.DataFrame(
        {
            "person_id": list(tiers),
            "score": [level[t] for t in tiers.values()],
            "tier": list(tiers.values()),
        }
    )


def send_times(person_ids) -> pd.DataFrame:
    return pd.DataFrame({"person_id": list(person_ids), "best_hour_utc": 9, "best_local_hour": 10})


def run(person_ids, frames=None, tiers=None, profile_frame=None, emails=None, definitions=None,
        run_id="run-1"):
    """Features, then every built-in segment: ``(catalogue, members)``."""
    frames = frames or {}
    profile_frame = profiles(person_ids) if profile_frame is None else profile_frame
    emails = profile_emails(person_ids) if emails is None else emails
    features = behaviour_features(profile_frame, frames, REFERENCE)
    if definitions is None:
        definitions = load_definitions(categories=store_categories(frames))
    return build_segments(
        definitions,
        profile_frame,
        features,
        scores(tiers or {}),
        send_times(person_ids),
        emails,
        REFERENCE,
        run_id,
    )


def members(slug: str, person_ids, **kwargs) -> set[str]:
    _, tables = run(person_ids, **kwargs)
    return set(tables[slug]["person_id"])
