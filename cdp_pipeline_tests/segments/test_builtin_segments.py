"""Membership of every built-in segment on small hand-made persons."""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.segments.build import load_definitions
from cdp_pipeline_tests.segments.helpers import (
    days_ago,
    members,
    orders,
    profile_emails,
    profiles,
    registrations,
    run,
    web_events,
)

PAST, LATER = days_ago(30), days_ago(-10)


def webinar_world():
    people = ["moved", "noshow", "never", "upcoming", "fan"]
    regs = registrations(
        [
            # attended under an old work address, then no-showed under a new one: same person
            ("moved", "w1", "old@acme.com", True, PAST),
            ("moved", "w2", "moved@gmail.com", False, PAST),
            ("noshow", "w1", "noshow@example.com", False, PAST),
            ("upcoming", "w3", "upcoming@example.com", False, LATER),
            ("fan", "w1", "fan@example.com", True, PAST),
            ("fan", "w2", "fan@example.com", True, PAST),
        ]
    )
    return people, {"webinar_registrations": regs}


def test_webinar_attendees_are_persons_who_attended_under_any_address():
    people, frames = webinar_world()
    assert members("webinar_attendees", people, frames=frames) == {"moved", "fan"}


def test_person_who_attended_under_an_old_email_is_never_in_webinar_never_attended():
    people, frames = webinar_world()
    assert members("webinar_never_attended", people, frames=frames) == {
        "noshow", "never", "upcoming"
    }


def test_webinar_no_shows_missed_a_past_webinar_and_attended_none():
    people, frames = webinar_world()
    # "upcoming" registered for a webinar that has not happened yet: not a no-show
    assert members("webinar_no_shows", people, frames=frames) == {"noshow"}


def test_engagement_segments_follow_the_model_tier():
    people = ["a", "b", "c", "unscored"]
    tiers = {"a": "high", "b": "medium", "c": "low"}
    _, tables = run(people, tiers=tiers)
    assert set(tables["engagement_high"]["person_id"]) == {"a"}
    assert set(tables["engagement_medium"]["person_id"]) == {"b"}
    assert set(tables["engagement_low"]["person_id"]) == {"c"}


def test_cart_abandoners_had_cart_or_checkout_activity_in_7_days_and_no_order_since():
    people = ["added", "checkout_then_bought", "stale", "bought_before", "viewer"]
    web = web_events(
        [
            ("added", "c1", days_ago(3), "Product Added", "Shoes"),
            ("checkout_then_bought", "c2", days_ago(3), "Checkout Started", "Shoes"),
            ("stale", "c3", days_ago(10), "Product Added", "Shoes"),
            ("bought_before", "c4", days_ago(2), "Checkout Started", "Shoes"),
            ("viewer", "c5", days_ago(1), "Product Viewed", "Shoes"),
        ]
    )
    order_lines = orders(
        [
            ("checkout_then_bought", "o1", days_ago(2), 50.0, "Shoes"),
            ("bought_before", "o2", days_ago(5), 50.0, "Shoes"),
        ]
    )
    frames = {"web_events": web, "orders": order_lines}
    assert members("cart_abandoners", people, frames=frames) == {"added", "bought_before"}


def test_category_browsers_one_segment_per_store_category_viewed_in_90_days():
    people = ["shoe_fan", "gardener_long_ago", "buyer"]
    web = web_events(
        [
            ("shoe_fan", "c1", days_ago(10), "Product Viewed", "Shoes"),
            ("gardener_long_ago", "c2", days_ago(100), "Product Viewed", "Home & Garden"),
        ]
    )
    order_lines = orders([("buyer", "o1", days_ago(5), 20.0, "Books")])
    _, tables = run(people, frames={"web_events": web, "orders": order_lines})
    category_tables = sorted(t for t in tables if t.startswith("category_browsers_"))
    assert category_tables == [
        "category_browsers_books", "category_browsers_home_garden", "category_browsers_shoes"
    ]
    assert set(tables["category_browsers_shoes"]["person_id"]) == {"shoe_fan"}
    assert tables["category_browsers_home_garden"].empty
    assert tables["category_browsers_books"].empty  # bought, never viewed


def test_multi_category_shoppers_bought_in_two_categories_counting_kept_orders_only():
    people = ["two_cats", "one_cat", "voided_second"]
    order_lines = orders(
        [
            ("two_cats", "o1", days_ago(5), 30.0, "Shoes"),
            ("two_cats", "o2", days_ago(50), 30.0, "Books"),
            ("one_cat", "o3", days_ago(5), 30.0, "Shoes"),
            ("one_cat", "o3", days_ago(5), 30.0, "Shoes"),
            ("voided_second", "o4", days_ago(5), 30.0, "Shoes"),
            ("voided_second", "o5", days_ago(5), 30.0, "Books", "voided"),
        ]
    )
    assert members("multi_category_shoppers", people, frames={"orders": order_lines}) == {
        "two_cats"
    }


def test_high_value_is_the_top_quartile_of_average_order_value():
    people = ["aov10", "aov20", "aov30", "aov100", "no_orders"]
    order_lines = orders(
        [
            ("aov10", "o1", days_ago(5), 10.0, "Shoes"),
            ("aov20", "o2", days_ago(5), 20.0, "Shoes"),
            ("aov30", "o3", days_ago(5), 30.0, "Shoes"),
            ("aov100", "o4", days_ago(5), 150.0, "Shoes"),
            ("aov100", "o5", days_ago(9), 50.0, "Shoes"),  # average 100
        ]
    )
    assert members("high_value", people, frames={"orders": order_lines}) == {"aov100"}


def test_engaged_prospects_are_frequent_visitors_or_high_tier_readers_who_never_bought():
    people = ["visitor", "one_long_visit", "reader", "buying_reader"]
    web = web_events(
        [
            *[("visitor", "c1", days_ago(d), "Product Viewed", "Shoes") for d in (1, 5, 9)],
            # three events within half an hour: one session
            *[("one_long_visit", "c2", days_ago(1) + pd.Timedelta(minutes=m), "Product Viewed",
               "Shoes") for m in (0, 10, 20)],
        ]
    )
    order_lines = orders([("buying_reader", "o1", days_ago(400), 20.0, "Shoes")])
    tiers = {"reader": "high", "buying_reader": "high", "visitor": "low"}
    found = members(
        "engaged_prospects", people, frames={"web_events": web, "orders": order_lines},
        tiers=tiers,
    )
    assert found == {"visitor", "reader"}


def test_lapsed_customers_have_no_order_in_180_days():
    people = ["lapsed", "recent", "came_back", "never_bought"]
    order_lines = orders(
        [
            ("lapsed", "o1", days_ago(200), 20.0, "Shoes"),
            ("recent", "o2", days_ago(10), 20.0, "Shoes"),
            ("came_back", "o3", days_ago(300), 20.0, "Shoes"),
            ("came_back", "o4", days_ago(20), 20.0, "Shoes"),
        ]
    )
    assert members("lapsed_customers", people, frames={"orders": order_lines}) == {"lapsed"}


def test_birthdays_next_7_days_counts_today_through_six_days_ahead():
    # reference date 2026-11-20
    births = pd.to_datetime(["1990-11-20", "1985-11-26", "1990-11-27", "1970-11-19", None])
    people = ["today", "in_six", "in_seven", "yesterday", "unknown"]
    frame = profiles(people, date_of_birth=births)
    assert members("birthdays_next_7_days", people, profile_frame=frame) == {"today", "in_six"}


def test_prefers_phone_is_a_call_list_from_stated_preference_and_low_engagement():
    people = ["says_phone", "quiet_customer", "says_email", "quiet_stranger", "engaged"]
    frame = profiles(
        people,
        phone=pd.array(["+34600000001", "+34600000002", "+34600000003", "+34600000004",
                        "+34600000005"], dtype="string"),
        preferred_channel=pd.array(["Phone", None, "email", None, None], dtype="string"),
        sendable=[False, True, True, True, True],
    )
    order_lines = orders(
        [("quiet_customer", "o1", days_ago(30), 20.0, "Shoes"),
         ("engaged", "o2", days_ago(30), 20.0, "Shoes")]
    )
    tiers = {"quiet_customer": "low", "quiet_stranger": "low", "engaged": "high"}
    _, tables = run(people, frames={"orders": order_lines}, tiers=tiers, profile_frame=frame)
    call_list = tables["prefers_phone"]
    # not an email segment: a person who may not be emailed is still called
    assert set(call_list["person_id"]) == {"says_phone", "quiet_customer"}
    assert "phone" in call_list.columns and call_list["phone"].notna().all()


def test_email_segments_contain_only_sendable_persons_with_their_best_address():
    people = ["ok", "no_consent", "bounced"]
    frame = profiles(people, sendable=[True, False, True])
    emails = profile_emails(people)
    emails.loc[emails["person_id"] == "bounced", "status"] = "bounced"
    _, tables = run(people, profile_frame=frame, emails=emails)
    for definition in load_definitions():
        if definition.email:
            assert set(tables[definition.slug]["person_id"]) <= {"ok"}, definition.slug
    assert tables["webinar_never_attended"]["email"].tolist() == ["ok@example.com"]


def test_member_tables_have_the_warehouse_columns():
    _, tables = run(["a"], tiers={"a": "high"})
    assert list(tables["engagement_high"].columns) == [
        "person_id", "email", "first_name", "score", "tier", "best_hour_utc", "holdout"
    ]
    row = tables["engagement_high"].iloc[0]
    assert (row["email"], row["first_name"], row["tier"], row["best_hour_utc"]) == (
        "a@example.com", "A", "high", 9
    )
