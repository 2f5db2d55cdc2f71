"""Golden records (survivorship, counts), event attribution and evaluation arithmetic."""

from __future__ import annotations

import pandas as pd
import pytest

from cdp_pipeline.identity import (
    ResolutionSettings,
    attribute_events,
    build_golden_records,
    holds_nothing_to_link_by,
    missed_pairs_by_evidence,
    pairwise_scores,
    resolve_identities,
)
from cdp_pipeline_tests.identity.frames import frames

DETERMINISTIC = ResolutionSettings(probabilistic=False)


def _order(order_id, sku, status="paid", total=30.0, at="2026-02-01T00:00:00Z", customer="C1", email="vera@gmail.com"):
    return {"order_id": order_id, "customer_id": customer, "email": email, "created_at": at,
            "financial_status": status, "total": total, "lineitem_sku": sku, "lineitem_quantity": 1,
            "lineitem_price": total}


@pytest.fixture(scope="module")
def story():
    f = frames(
        crm_contacts=[{"record_id": "R1", "first_name": "Vera", "last_name": "Lindqvist", "email": "vera@oldjob.example",
                       "additional_emails": "vera@gmail.com; not-an-email", "phone": "612 345 678", "country": "ES",
                       "city": "Madrid", "last_modified_date": "2026-01-01T00:00:00Z"}],
        store_customers=[{"customer_id": "C1", "first_name": "Verónica", "last_name": "Lindqvist",
                          "email": "vera@gmail.com", "city": "Alcalá", "zip": "28801", "updated_at": "2026-03-01T00:00:00Z"}],
        store_orders=[_order("O1", "A"), _order("O1", "B"), _order("O2", "A", total=20.0, at="2026-03-05T00:00:00Z"),
                      _order("O3", "A", status="voided", at="2026-03-15T00:00:00Z")],
        webinar_attendees=[
            {"webinar_id": "W1", "first_name": "Vera", "last_name": "L", "email": "vera@oldjob.example",
             "webinar_start": "2025-01-01T10:00:00Z", "attended": True, "join_time": "2025-01-01T10:01:00Z"},
            {"webinar_id": "W2", "first_name": "Vera", "last_name": "L", "email": "vera@oldjob.example",
             "webinar_start": "2025-02-01T10:00:00Z", "attended": False},
        ],
        store_web_events=[
            {"message_id": "e1", "type": "page", "anonymous_id": "ck1", "timestamp": "2026-03-10T00:00:00Z"},
            {"message_id": "e2", "type": "identify", "anonymous_id": "ck1", "email": "Vera@Gmail.com",
             "timestamp": "2026-03-11T00:00:00Z"},
            {"message_id": "e3", "type": "page", "user_id": "C1", "timestamp": "2026-03-12T00:00:00Z"},
        ],
        crm_email_events=[
            {"event_id": "m1", "campaign_id": "c", "recipient": "VERA@gmail.com", "event_type": "OPEN",
             "event_time": "2026-03-20T00:00:00Z"},
            {"event_id": "m2", "campaign_id": "c", "recipient": "gone@nowhere.example", "record_id": "R1",
             "event_type": "BOUNCE_HARD", "event_time": "2026-03-21T00:00:00Z"},
            {"event_id": "m3", "campaign_id": "c", "recipient": "stranger@nowhere.example", "event_type": "OPEN",
             "event_time": "2026-03-22T00:00:00Z"},
        ],
    )
    resolution = resolve_identities(f, settings=DETERMINISTIC)
    profiles, emails = build_golden_records(resolution, f)
    return f, resolution, profiles, emails


def test_all_records_of_the_story_are_one_profile(story):
    _, resolution, profiles, _ = story
    assert resolution.identity_map["person_id"].nunique() == 1
    assert len(profiles) == 1


def test_most_recently_used_valid_email_is_primary_and_invalid_ones_are_listed_as_invalid(story):
    _, _, profiles, emails = story
    assert profiles["primary_email"].iloc[0] == "vera@gmail.com"
    status = emails.set_index("email")["status"]
    assert status["not-an-email"] == "invalid"
    assert status["vera@oldjob.example"] == "active"
    assert emails["is_primary"].sum() == 1


def test_each_field_comes_from_the_most_trusted_source_that_has_it(story):
    _, _, profiles, _ = story
    p = profiles.iloc[0]
    assert p["first_name"] == "Vera"  # CRM outranks the store account
    assert p["city"] == "Madrid"
    assert p["postal_code"] == "28801"  # only the store account has one
    assert p["phone"] == "+34612345678"


def _registration(webinar, first, last, start, email="wei.zhang@acme.example"):
    return {"webinar_id": webinar, "first_name": first, "last_name": last, "email": email,
            "webinar_start": start, "attended": True}


def _shown_name(f):
    profiles, _ = build_golden_records(resolve_identities(f), f)
    assert len(profiles) == 1
    return tuple(profiles.iloc[0][["first_name", "last_name"]])


def test_a_name_typed_into_each_other_s_boxes_once_does_not_rename_the_person():
    f = frames(webinar_attendees=[
        _registration("W1", "Wei", "Zhang", "2025-01-01T10:00:00Z"),
        _registration("W2", "Wei", "Zhang", "2025-02-01T10:00:00Z"),
        _registration("W3", "Zhang", "Wei", "2025-03-01T10:00:00Z"),  # the freshest, swapped
    ])
    assert _shown_name(f) == ("Wei", "Zhang")


def test_the_name_order_of_the_most_trusted_source_outvotes_more_numerous_registrations():
    f = frames(
        crm_contacts=[{"record_id": "R1", "first_name": "Wei", "last_name": "Zhang", "email": "wei.zhang@acme.example",
                       "last_modified_date": "2024-01-01T00:00:00Z"}],
        webinar_attendees=[_registration("W1", "Zhang", "Wei", "2025-01-01T10:00:00Z"),
                           _registration("W2", "Zhang", "Wei", "2025-02-01T10:00:00Z")],
    )
    assert _shown_name(f) == ("Wei", "Zhang")


def test_an_even_vote_on_name_order_goes_to_the_freshest_record():
    f = frames(webinar_attendees=[_registration("W1", "Wei", "Zhang", "2025-01-01T10:00:00Z"),
                                  _registration("W2", "Zhang", "Wei", "2025-02-01T10:00:00Z")])
    assert _shown_name(f) == ("Zhang", "Wei")


def test_a_name_the_person_s_records_leave_unsettled_takes_the_order_people_at_large_clearly_write_it_in():
    lone = _registration("W9", "Zhang", "Wei", "2025-05-01T10:00:00Z", email="zw1988@gmail.com")
    crowd = [_registration("W1", first, "Zhang", "2025-01-01T10:00:00Z", email=f"{first}.zhang@acme.example")
             for first in ("Li", "Min", "Jun", "Hua", "Yan", "Lei", "Fang", "Jing", "Qiang", "Xiu")]
    crowd += [_registration("W1", "Wei", last, "2025-01-01T10:00:00Z", email=f"wei.{last}@acme.example")
              for last in ("Chen", "Wang", "Liu", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma")]

    def shown(rows):
        f = frames(webinar_attendees=rows)
        profiles, _ = build_golden_records(resolve_identities(f), f)
        return tuple(profiles.set_index("primary_email").loc["zw1988@gmail.com", ["first_name", "last_name"]])

    assert shown([lone, *crowd]) == ("Wei", "Zhang")
    assert shown([lone, *crowd[:3], *crowd[10:13]]) == ("Zhang", "Wei")  # too few to be clear: as typed
    again = {**lone, "webinar_id": "W10", "webinar_start": "2025-06-01T10:00:00Z"}
    assert shown([lone, again, *crowd]) == ("Zhang", "Wei")  # two votes ahead: the person's own records settle it


def test_counts_distinct_paid_orders_spend_and_webinars(story):
    _, _, profiles, _ = story
    p = profiles.iloc[0]
    assert p["orders"] == 2 and bool(p["is_customer"])
    assert p["total_spent"] == pytest.approx(50.0)  # order total counted once, voided excluded
    assert p["last_order_at"] == pd.Timestamp("2026-03-05T00:00:00Z")
    assert (p["webinars_registered"], p["webinars_attended"]) == (2, 1)
    assert p["last_activity_at"] == pd.Timestamp("2026-03-20T00:00:00Z")  # the open; a bounce is no activity


def test_events_are_attributed_by_recipient_else_record_id_and_cookies_before_identify_count(story):
    f, resolution, _, _ = story
    person = resolution.identity_map["person_id"].iloc[0]
    out = attribute_events(resolution, f)
    events = out["crm_email_events"].set_index("event_id")["person_id"]
    assert events["m1"] == person and events["m2"] == person and pd.isna(events["m3"])
    assert out["store_web_events"]["person_id"].eq(person).all()
    assert out["store_orders"]["person_id"].eq(person).all()
    assert out["webinar_attendees"]["person_id"].eq(person).all()


def test_profile_columns_follow_the_warehouse_contract_without_consent(story):
    _, _, profiles, emails = story
    assert list(profiles.columns) == [
        "person_id", "first_name", "last_name", "primary_email", "phone", "city", "postal_code", "country",
        "timezone", "is_customer", "webinars_registered", "webinars_attended", "orders", "total_spent",
        "last_order_at", "last_activity_at"]
    assert list(emails.columns) == ["person_id", "email", "is_primary", "first_seen_at", "last_seen_at", "status"]


def test_identity_map_names_every_record_once_with_contract_ids(story):
    _, resolution, _, _ = story
    m = resolution.identity_map
    assert set(m["source"]) == {"crm", "webinar", "store", "order", "web"}
    assert "W1:vera@oldjob.example" in set(m["source_record_id"])
    assert not m.duplicated(["source", "source_record_id"]).any()
    assert m["match_confidence"].between(0, 1).all()


def test_pairwise_and_bcubed_scores_on_a_tiny_example():
    # truth: {a,b,c} {d}; predicted: {a,b} {c,d}
    truth = pd.DataFrame({"source": "crm", "source_record_id": list("abcd"), "true_person_id": ["T1", "T1", "T1", "T2"]})
    predicted = pd.DataFrame({"source": "crm", "source_record_id": list("abcd"), "person_id": ["P1", "P1", "P2", "P2"]})
    s = pairwise_scores(predicted, truth)
    assert s["precision"] == pytest.approx(1 / 2)  # predicted pairs ab, cd; only ab is true
    assert s["recall"] == pytest.approx(1 / 3)  # true pairs ab, ac, bc
    assert s["f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert s["b3_precision"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert s["b3_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert (s["records"], s["true_persons"], s["predicted_persons"]) == (4, 2, 2)


def test_perfect_clustering_scores_one():
    truth = pd.DataFrame({"source": "crm", "source_record_id": list("abc"), "true_person_id": ["T1", "T1", "T2"]})
    s = pairwise_scores(truth.rename(columns={"true_person_id": "person_id"}), truth)
    assert s["f1"] == 1.0 and s["b3_f1"] == 1.0


def test_missed_true_pairs_are_told_apart_by_what_their_two_records_hold():
    people = pd.DataFrame([
        # key, first, last, email, phone, city, job title
        ("a", "john", "smith", "js@acme.example", "+34600000001", "london", "actuary"),
        ("b", "john", "smith", None, None, None, "actuary"),  # with a: same name and job title
        ("c", None, None, None, None, None, None),  # a cookie never identified: nothing at all
        ("d", "john", "smith", None, None, "paris", "nurse"),  # with a, b: the name alone
        ("e", "jane", "smith", None, "+34600000001", None, None),  # with a: a shared phone a guard refused
        ("f", "john", "smyth", None, None, None, None),
        ("i", None, None, "form@elsewhere.example", None, None, None),  # a cookie known by an address only
        ("g", "mary", "jones", None, None, None, None),  # g and h: found, not counted
        ("h", "mary", "jones", None, None, None, None),
    ], columns=["source_record_id", "first_canon", "last_fold", "email_norm", "phone", "city", "job_title"]).assign(
        source="crm", dob=pd.NaT, street=None, postcode=None, employer=None)
    truth = people[["source", "source_record_id"]].assign(true_person_id=["T1"] * 7 + ["T2"] * 2)
    predicted = people[["source", "source_record_id"]].assign(person_id=list("ABCDEFIGG"))
    nothing = holds_nothing_to_link_by(people, NO_EMAILS, NO_SYSTEM_KEYS)

    found = missed_pairs_by_evidence(people, predicted, truth, nothing)

    pairs = {name: v["pairs"] for name, v in found["by_evidence"].items()}
    assert pairs == {
        "a record holding nothing to link by": 6,  # c with each other of T1
        "shared email or phone refused by a guard": 1,  # ae
        "a record without a name": 5,  # i with a, b, d, e, f
        "another surname": 4,  # f with a, b, d, e
        "another first name": 2,  # e with b, d
        "same name, nothing else in common": 2,  # d with a, b
        "same name and more in common": 1,  # ab
    }
    assert found["missed_pairs"] == 21 == sum(pairs.values())
    assert (found["true_pairs"], found["unreachable_pairs"]) == (22, 6)
    assert found["recall_ceiling"] == pytest.approx(16 / 22)
    assert found["recall_of_reachable"] == pytest.approx(1 / 16)  # gh, of the 16 pairs c is not in


NO_EMAILS = pd.DataFrame({"rec": pd.Series(dtype="int64")})
NO_SYSTEM_KEYS = pd.DataFrame({"rec": pd.Series(dtype="int64"), "kind": pd.Series(dtype="string"),
                               "value": pd.Series(dtype="string")})


def test_a_record_holds_something_to_link_by_if_it_carries_any_attribute_email_or_system_key():
    cookies = pd.DataFrame({"first_canon": [None, None, None, None, "vera"], "last_fold": None, "email_norm": None,
                            "phone": None, "dob": pd.NaT, "street": None, "postcode": None, "city": None,
                            "employer": None, "customer_id": [None, None, None, "C1", None]})
    seen_with_an_address = pd.DataFrame({"rec": [1]})
    completed_an_order = pd.DataFrame({"rec": [2], "kind": ["order_id"], "value": ["O1"]})

    nothing = holds_nothing_to_link_by(cookies, seen_with_an_address, completed_an_order)

    assert nothing.tolist() == [True, False, False, False, False]


def test_missed_pairs_are_exactly_the_true_pairs_the_scores_count_as_not_found():
    from cdp_pipeline_tests.identity.population import population

    rows, truth = population(persons=300, seed=11)
    resolution = resolve_identities(frames(**rows))
    scores = pairwise_scores(resolution.identity_map, truth)
    known = truth.merge(resolution.identity_map[["source", "source_record_id"]], on=["source", "source_record_id"])
    true_pairs = float((known.groupby("true_person_id").size().pipe(lambda n: n * (n - 1) / 2)).sum())
    nothing = holds_nothing_to_link_by(resolution.records, resolution.record_emails, resolution.system_keys)

    found = missed_pairs_by_evidence(resolution.records, resolution.identity_map, truth, nothing)

    assert found["true_pairs"] == true_pairs
    assert found["missed_pairs"] == pytest.approx(true_pairs * (1 - scores["recall"]))
    assert found["missed_pairs"] > 0
    assert scores["recall"] <= found["recall_ceiling"]
    assert found["recall_of_reachable"] >= scores["recall"]


def test_the_rows_that_could_reach_some_records_hold_every_row_attributed_to_them(story):
    """The erasure purge attributes only these rows: a row left out could never be theirs."""
    from cdp_pipeline.identity.attach import rows_reaching

    f, resolution, _, _ = story
    attributed = attribute_events(resolution, f)
    everyone = rows_reaching(resolution, f, pd.Index(resolution.records["record_key"]))
    for name, rows in attributed.items():
        assert (everyone[name] | rows["person_id"].isna().to_numpy()).all(), name
    events = f["crm_email_events"]["event_id"]
    assert list(events[everyone["crm_email_events"]]) == ["m1", "m2"]  # not the stranger's open

    contact_only = rows_reaching(resolution, f, pd.Index(["crm:R1"]))
    assert list(events[contact_only["crm_email_events"]]) == ["m1", "m2"]  # its address, its Record ID
    assert not contact_only["store_web_events"].any() and not contact_only["store_orders"].any()
