"""Scoring published segments against a (hand-written) generator truth folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cdp_pipeline.segments.truth import segment_truth_scores, true_person_of

PERSON_COLUMNS = {
    "first_name": "X", "registered_webinars": 0, "attended_webinars": 0, "orders": 0,
    "total_spent": 0.0, "last_order_at": "", "last_cart_activity_at": "",
    "categories_viewed_90d": "", "birth_date": "1980-01-01", "preferred_channel": "",
    "consent_final": "granted", "erased": False,
}


@pytest.fixture
def truth_dir(tmp_path):
    persons = [
        {"true_person_id": "T1", "attended_webinars": 1, "registered_webinars": 1},
        {"true_person_id": "T2", "attended_webinars": 2, "registered_webinars": 2},
        {"true_person_id": "T3", "attended_webinars": 1, "registered_webinars": 1,
         "consent_final": "denied"},
        {"true_person_id": "T4", "attended_webinars": 1, "registered_webinars": 1,
         "erased": True},
        {"true_person_id": "T5", "categories_viewed_90d": "Home & Garden;Shoes"},
    ]
    pd.DataFrame([{**PERSON_COLUMNS, **p} for p in persons]).to_csv(
        tmp_path / "persons.csv", index=False
    )
    records = pd.DataFrame(
        [
            ("crm", "c1", "T1", "2026-11-01"),
            ("webinar", "w1:a@x.com", "T1", "2026-11-01"),
            ("crm", "c2", "T2", "2026-11-01"),
            ("crm", "c3", "T3", "2026-11-01"),
            ("crm", "c4", "T4", "2026-11-01"),
            ("crm", "c5", "T5", "2026-11-01"),
        ],
        columns=["source", "source_record_id", "true_person_id", "first_drop_date"],
    )
    records.to_csv(tmp_path / "records.csv", index=False)
    (tmp_path / "meta.json").write_text(json.dumps({"reference_date": "2026-11-20"}))
    return tmp_path


IDENTITY_MAP = pd.DataFrame(
    {
        "source": ["crm", "webinar", "crm", "crm", "crm"],
        "source_record_id": ["c1", "w1:a@x.com", "c2", "c3", "c5"],
        "person_id": ["p1", "p1", "p2", "p3", "p5"],
    }
)


def test_each_person_id_maps_to_the_true_person_owning_most_of_its_records(truth_dir):
    records = pd.read_csv(truth_dir / "records.csv", dtype=str)
    assert true_person_of(IDENTITY_MAP, records).to_dict() == {
        "p1": "T1", "p2": "T2", "p3": "T3", "p5": "T5"
    }


def test_precision_and_recall_count_consented_not_erased_true_persons(truth_dir):
    members = {
        # p3 attended but its true person denied consent: a false positive for an email segment
        "webinar_attendees": pd.DataFrame({"person_id": ["p1", "p3"]}),
        "category_browsers_home_garden": pd.DataFrame({"person_id": ["p5"]}),
    }
    scores = segment_truth_scores(members, IDENTITY_MAP, truth_dir).set_index("segment")
    attendees = scores.loc["webinar_attendees"]
    # expected: T1 and T2 (T3 denied consent, T4 erased)
    assert (attendees["members"], attendees["expected"], attendees["hits"]) == (2, 2, 1)
    assert (attendees["precision"], attendees["recall"]) == (0.5, 0.5)
    assert scores.loc["category_browsers_home_garden", ["precision", "recall"]].tolist() == [
        1.0, 1.0
    ]
    assert "high_value" not in scores.index  # only segments that were published are scored


def test_a_birthday_or_phone_preference_is_expected_only_where_a_delivered_contact_carried_it(truth_dir):
    persons = pd.read_csv(truth_dir / "persons.csv", keep_default_na=False)
    persons["birth_date"] = "1980-11-22"  # two days after the reference date
    persons["preferred_channel"] = "phone"
    persons["birth_date_delivered"] = persons["true_person_id"].isin(["T1"])
    persons["preferred_channel_delivered"] = persons["true_person_id"].isin(["T1", "T2"])
    persons.to_csv(truth_dir / "persons.csv", index=False)
    members = {"birthdays_next_7_days": pd.DataFrame({"person_id": ["p1"]}),
               "prefers_phone": pd.DataFrame({"person_id": ["p1"]})}
    scores = segment_truth_scores(members, IDENTITY_MAP, truth_dir).set_index("segment")
    assert scores.loc["birthdays_next_7_days", ["expected", "recall"]].tolist() == [1, 1.0]
    assert scores.loc["prefers_phone", ["expected", "recall"]].tolist() == [2, 0.5]
