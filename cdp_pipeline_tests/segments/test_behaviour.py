"""Behaviour features: by person across identities, windows back from the reference date."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cdp_pipeline.segments.behaviour import (
    behaviour_features,
    category_slug,
    days_to_next_birthday,
    store_categories,
)
from cdp_pipeline_tests.segments.helpers import (
    REFERENCE,
    days_ago,
    orders,
    profiles,
    registrations,
    web_events,
)


def features(person_ids, frames, profile_frame=None):
    frame = profiles(person_ids) if profile_frame is None else profile_frame
    return behaviour_features(frame, frames, REFERENCE).set_index("person_id")


@pytest.mark.parametrize(
    "reference, expected",
    [
        (date(2027, 2, 25), 3),  # common year: celebrated on Feb 28
        (date(2027, 2, 28), 0),
        (date(2027, 3, 1), 365),  # next is Feb 29 2028
        (date(2028, 2, 28), 1),  # leap year: the real day
    ],
)
def test_feb_29_birthdays_fall_on_feb_28_in_common_years(reference, expected):
    days = days_to_next_birthday(pd.Series(pd.to_datetime(["2000-02-29"])), reference)
    assert days.tolist() == [expected]


def test_days_to_birthday_wraps_to_next_year_and_keeps_unknowns_missing():
    days = days_to_next_birthday(pd.Series(pd.to_datetime(["1990-11-19", None])), REFERENCE)
    assert days.iloc[0] == 364 and pd.isna(days.iloc[1])


def test_webinar_counts_are_by_person_and_webinar_not_by_registration():
    regs = registrations(
        [
            ("p", "w1", "p@old.com", True, days_ago(40)),
            ("p", "w1", "p@new.com", False, days_ago(40)),  # same webinar, second address
            ("p", "w2", "p@new.com", False, days_ago(10)),
        ]
    )
    row = features(["p"], {"webinar_registrations": regs}).loc["p"]
    assert (row["webinars_registered"], row["webinars_attended"], row["webinars_missed"]) == (
        2, 1, 1
    )


def test_orders_aov_and_categories_ignore_voided_and_refunded_orders():
    lines = orders(
        [
            ("p", "o1", days_ago(10), 40.0, "Shoes"),
            ("p", "o1", days_ago(10), 40.0, "Socks"),  # total repeats on each line
            ("p", "o2", days_ago(20), 20.0, "Books"),
            ("p", "o3", days_ago(5), 999.0, "Garden", "refunded"),
            ("p", "o5", days_ago(4), 999.0, "Garden", "voided"),
            ("p", "o6", days_ago(3), 40.0, "Shoes", "pending"),
            ("q", "o4", days_ago(5), 100.0, "Shoes"),
        ]
    )
    frame = features(["p", "q", "r"], {"orders": lines})
    assert frame.loc["p", "orders"] == 3
    assert frame.loc["p", "average_order_value"] == (40.0 + 20.0 + 40.0) / 3
    assert frame.loc["p", "categories_bought"] == 3
    assert frame.loc["p", "last_order_at"] == days_ago(3)
    assert frame.loc["q", "aov_percentile"] == 1.0 and frame.loc["p", "aov_percentile"] == 0.5
    assert frame.loc["r", "orders"] == 0 and pd.isna(frame.loc["r", "average_order_value"])


def test_sessions_split_on_30_minute_gaps_per_browser_within_30_days():
    minute = pd.Timedelta(minutes=1)
    web = web_events(
        [
            ("p", "laptop", days_ago(2), "Product Viewed", "Shoes"),
            ("p", "laptop", days_ago(2) + 29 * minute, "Product Viewed", "Shoes"),
            ("p", "laptop", days_ago(2) + 70 * minute, "Product Viewed", "Shoes"),  # new session
            ("p", "phone", days_ago(2) + 5 * minute, "Product Viewed", "Shoes"),  # other device
            ("p", "laptop", days_ago(45), "Product Viewed", "Shoes"),  # outside the window
        ]
    )
    assert features(["p"], {"web_events": web}).loc["p", "web_sessions_30d"] == 3


def test_categories_viewed_in_90_days_become_one_boolean_column_per_store_category():
    web = web_events(
        [
            ("p", "c", days_ago(10), "Product Viewed", "Home & Garden"),
            ("p", "c", days_ago(200), "Product Viewed", "Shoes"),
        ]
    )
    lines = orders([("q", "o1", days_ago(5), 10.0, "Books")])
    frames = {"web_events": web, "orders": lines}
    assert store_categories(frames) == {
        "books": "Books", "home_garden": "Home & Garden", "shoes": "Shoes"
    }
    frame = features(["p", "q"], frames)
    assert frame.loc["p", ["viewed_category_home_garden", "viewed_category_shoes",
                           "viewed_category_books"]].tolist() == [True, False, False]
    assert frame.loc["p", "categories_viewed_90d"] == 1
    assert frame.loc["p", "categories_browsed"] == 2
    assert not frame.loc["q"].filter(like="viewed_category_").any()


def test_category_slugs_are_safe_identifiers():
    assert category_slug("Électronique & Gadgets!") == "electronique_gadgets"
    assert category_slug("3D printers") == "c_3d_printers"
    assert len(category_slug("x" * 80)) <= 33


def test_preferred_channel_comes_from_the_newest_crm_record_when_profiles_lack_it():
    crm = pd.DataFrame(
        {
            "person_id": ["p", "p", "q"],
            "preferred_channel": ["email", " Phone ", None],
            "last_modified_date": pd.to_datetime(["2026-01-01", "2026-05-01", "2026-01-01"],
                                                 utc=True),
            "date_of_birth": pd.to_datetime(["1990-11-22", None, None]),
        }
    )
    frame = features(["p", "q"], {"crm_contacts": crm})
    assert frame.loc["p", "preferred_channel"] == "phone"
    assert pd.isna(frame.loc["q", "preferred_channel"])
    assert frame.loc["p", "days_to_birthday"] == 2


def test_frames_are_accepted_under_their_extract_names():
    lines = orders([("p", "o1", days_ago(10), 40.0, "Shoes")])
    assert features(["p"], {"store_orders": lines}).loc["p", "orders"] == 1


def test_birth_date_falls_back_to_crm_when_the_profile_has_none():
    crm = pd.DataFrame({"person_id": ["p"], "date_of_birth": pd.to_datetime(["1990-11-25"])})
    frame = profiles(["p", "q"], date_of_birth=pd.to_datetime(["NaT", "1990-11-21"]))
    found = features(["p", "q"], {"crm_contacts": crm}, profile_frame=frame)
    assert found["days_to_birthday"].tolist() == [5, 1]


def test_missing_frames_give_zero_counts_not_errors():
    frame = features(["p"], {})
    assert frame.loc["p", ["webinars_registered", "orders", "web_sessions_30d"]].tolist() == [
        0, 0, 0
    ]
    assert not frame.loc["p", "cart_abandoned"] and not frame.loc["p", "lapsed"]
