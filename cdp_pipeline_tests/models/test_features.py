"""Point-in-time engagement features and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.models.features import engagement_features, engagement_labels, prepare_engagement_data
from cdp_pipeline_tests.models.test_engagement_model import simulate_engagement

CUT = pd.Timestamp("2026-10-01", tz="UTC")
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"


def at(days_before_cut: float, seconds: float = 0) -> pd.Timestamp:
    return CUT - pd.Timedelta(days=days_before_cut) + pd.Timedelta(seconds=seconds)


def emails(rows) -> pd.DataFrame:
    """Rows of (person, campaign, type, time, user agent)."""
    out = pd.DataFrame(rows, columns=["person_id", "campaign_id", "event_type", "event_time", "user_agent"])
    out["recipient"] = out["person_id"].str.lower() + "@acme.com"
    out["link_url"] = np.where(out["event_type"] == "CLICK", "https://shop/x", None)
    out["event_time"] = pd.to_datetime(out["event_time"], utc=True).astype("datetime64[us, UTC]")
    return out


def send(person, campaign, when):
    return [(person, campaign, "SENT", when, None), (person, campaign, "DELIVERED", when + pd.Timedelta(seconds=2), None)]


def full_frames() -> dict[str, pd.DataFrame]:
    """Every source, with events on both sides of the cut."""
    rows = [*send("A", "C1", at(5)), ("A", "C1", "OPEN", at(5, 1800), OUTLOOK), ("A", "C1", "CLICK", at(5, 1900), OUTLOOK),
            *send("A", "C0", at(40)), ("A", "C0", "OPEN", at(40, 600), OUTLOOK),
            *send("A", "C2", at(-3)), ("A", "C2", "OPEN", at(-3, 600), OUTLOOK),
            *send("B", "C1", at(5)), ("B", "C1", "OPEN", at(5, 6), "Mozilla/5.0"),
            *send("B", "C2", at(-3)), ("B", "C2", "UNSUBSCRIBE", at(-3, 900), None)]
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O1", "O2", "O3", "O4"],
            "created_at": [at(10), at(10), at(20), at(30), at(-1)],
            "total": [100.0, 100.0, 40.0, 70.0, 500.0],
            "financial_status": ["paid", "paid", "refunded", "voided", "paid"],
            "lineitem_category": ["shoes", "bags", "hats", "hats", "coats"],
            "person_id": "A",
        }
    )
    web = pd.DataFrame(
        {
            "timestamp": [at(2), at(2, 600), at(2, 600 + 2400), at(1), at(-1)],
            "type": "track",
            "event": ["Product Viewed", "Product Added", "Product Viewed", "Product Viewed", "Product Added"],
            "category": ["shoes", "shoes", "bags", None, "coats"],
            "anonymous_id": ["k1", "k1", "k1", "k2", "k1"],
            "user_id": None,
            "person_id": "A",
        }
    )
    webinars = pd.DataFrame(
        {
            "webinar_start": [at(20), at(-5), at(-20)],
            "attended": [True, True, True],
            "registration_time": [at(25), at(3), at(-25)],
            "person_id": ["B", "B", "B"],
        }
    )
    profiles = pd.DataFrame(
        {
            "person_id": ["A", "B", "C"],
            "primary_email": ["a@acme.com", "b@gmail.com", "c@yahoo.co.uk"],
            "email_consent": ["granted", "denied", "granted"],
            "consent_updated_at": pd.to_datetime([at(50), at(-2), pd.NaT], utc=True),
        }
    )
    return {"email_events": emails(rows), "orders": orders, "web_events": web,
            "webinar_registrations": webinars, "profiles": profiles}


def before_cut_only(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    times = {"email_events": "event_time", "orders": "created_at", "web_events": "timestamp",
             "webinar_registrations": "registration_time"}
    out = dict(frames)
    for name, column in times.items():
        out[name] = frames[name][pd.to_datetime(frames[name][column], utc=True) < CUT]
    return out


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return engagement_features(full_frames(), CUT)


def test_events_after_the_cut_change_no_feature():
    frames = full_frames()
    persons = pd.Index(["A", "B", "C"])
    with_future = engagement_features(frames, CUT, persons)
    without_future = engagement_features(before_cut_only(frames), CUT, persons)
    pd.testing.assert_frame_equal(with_future, without_future)


def test_no_leakage_on_a_simulated_history_at_several_cuts():
    frames, _ = simulate_engagement(300, seed=5, days=60)
    events = frames["email_events"]
    for cut in pd.to_datetime(["2026-10-10 00:00", "2026-10-27 13:30", "2026-11-15 00:00"], utc=True):
        past = {**frames, "email_events": events[events["event_time"] < cut], "orders": frames["orders"][frames["orders"]["created_at"] < cut]}
        persons = frames["profiles"]["person_id"]
        pd.testing.assert_frame_equal(engagement_features(frames, cut, persons), engagement_features(past, cut, persons))


def test_a_later_campaign_cannot_turn_earlier_opens_into_machine_opens():
    # Two quick opens before the cut are not a proxy pattern; a third after the cut would be.
    rows = []
    for campaign, days in (("C1", 20), ("C2", 10), ("C3", -5)):
        rows += [*send("Q", campaign, at(days)), ("Q", campaign, "OPEN", at(days, 60), OUTLOOK)]
    frames = {"email_events": emails(rows)}
    assert engagement_features(frames, CUT).loc["Q", "opens_30d"] == 2


def test_an_event_exactly_at_the_cut_is_in_the_future():
    rows = [*send("A", "C1", at(3)), ("A", "C1", "OPEN", CUT, OUTLOOK)]
    assert engagement_features({"email_events": emails(rows)}, CUT).loc["A", "opens_total"] == 0


def test_machine_opens_do_not_count_as_opens(features):
    assert features.loc["B", "opens_total"] == 0
    assert features.loc["B", "machine_opens_90d"] == 1
    assert np.isnan(features.loc["B", "days_since_last_open"])


def test_opens_clicks_and_sends_fall_into_their_windows(features):
    row = features.loc["A"]
    assert (row["sends_7d"], row["sends_30d"], row["sends_90d"], row["sends_total"]) == (1, 1, 2, 2)
    assert (row["opens_7d"], row["opens_30d"], row["opens_90d"]) == (1, 1, 2)
    assert (row["clicks_7d"], row["clicks_90d"]) == (1, 1)
    assert row["click_to_open_90d"] == 0.5
    assert row["days_since_last_open"] == pytest.approx(5 - 1800 / 86400)


def test_orders_count_once_refunds_earn_nothing_and_voids_do_not_count(features):
    row = features.loc["A"]
    assert row["orders_total"] == 2  # O1 (two lines) and the refunded O2; O3 voided, O4 after cut
    assert row["spend_total"] == 100.0
    assert row["average_order_value"] == 100.0
    assert row["days_since_last_order"] == 10
    assert row["order_categories"] == 3  # shoes, bags, hats (lines of counted and voided orders alike)


def test_web_sessions_split_after_thirty_idle_minutes_and_per_cookie(features):
    row = features.loc["A"]
    assert row["sessions_30d"] == 3  # k1: 0 and +10 min together, +50 min new; k2 separate
    assert row["cart_adds_30d"] == 1
    assert row["categories_viewed_90d"] == 2


def test_webinar_registration_counts_before_the_webinar_but_attendance_only_after_it(features):
    row = features.loc["B"]
    assert row["webinar_registrations"] == 2
    assert row["webinar_attended"] == 1
    assert row["days_since_last_webinar"] == 20


def test_consent_answered_after_the_cut_or_undated_is_unknown_at_the_cut(features):
    assert features.loc["A", "consent_state"] == 1
    assert features.loc["B", "consent_state"] == 0
    assert features.loc["C", "consent_state"] == 0


def test_work_domain_comes_from_the_latest_address_emailed_else_the_primary(features):
    assert features.loc["A", "is_work_domain"] == 1  # a@acme.com
    assert features.loc["B", "is_work_domain"] == 1  # emailed at b@acme.com before the cut
    assert features.loc["C", "is_work_domain"] == 0  # yahoo.co.uk, never emailed


def test_persons_without_history_get_zero_counts_and_missing_recency():
    out = engagement_features(full_frames(), CUT, persons=["C", "nobody"])
    assert (out.loc["nobody", ["sends_total", "opens_total", "orders_total", "sessions_30d"]] == 0).all()
    assert out[["days_since_last_open", "tenure_days"]].isna().all().all()


def test_prepared_data_gives_the_same_features_as_raw_frames():
    frames = full_frames()
    pd.testing.assert_frame_equal(engagement_features(prepare_engagement_data(frames), CUT), engagement_features(frames, CUT))


def test_labels_cover_persons_emailed_in_the_window_and_count_only_human_responses():
    rows = [*send("H", "C5", at(-2)), ("H", "C5", "OPEN", at(-2, 900), OUTLOOK),
            *send("M", "C5", at(-2)), ("M", "C5", "OPEN", at(-2, 5), "Mozilla/5.0"),
            *send("L", "C6", at(-40)), ("L", "C6", "OPEN", at(-40, 900), OUTLOOK),
            *send("E", "C4", at(3)), ("E", "C4", "OPEN", at(-1), OUTLOOK)]
    labels = engagement_labels({"email_events": emails(rows)}, CUT, window_days=30)
    assert labels.to_dict() == {"H": True, "M": False}
