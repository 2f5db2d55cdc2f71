"""Consent precedence and address suppression (shared/warehouse.md)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from cdp_pipeline.consent import best_sendable_email, derive_consent, with_person_ids

REFERENCE = date(2026, 11, 20)


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def crm(rows):
    """rows: (person_id, opt_in, opt_in_updated_at)."""
    return pd.DataFrame(rows, columns=["person_id", "marketing_email_opt_in", "opt_in_updated_at"]
                        ).astype({"marketing_email_opt_in": "boolean",
                                  "opt_in_updated_at": "datetime64[us, UTC]"})


def store(rows):
    return pd.DataFrame(
        rows, columns=["person_id", "accepts_email_marketing", "email_marketing_consent_updated_at"]
    ).astype({"accepts_email_marketing": "boolean",
              "email_marketing_consent_updated_at": "datetime64[us, UTC]"})


def webinar(rows):
    return pd.DataFrame(rows, columns=["person_id", "marketing_consent", "registration_time"]
                        ).astype({"marketing_consent": "boolean",
                                  "registration_time": "datetime64[us, UTC]"})


def events(rows):
    """rows: (person_id, recipient, event_type, event_time)."""
    return pd.DataFrame(rows, columns=["person_id", "recipient", "event_type", "event_time"]
                        ).astype({"event_time": "datetime64[us, UTC]"})


def emails(rows):
    """rows: (person_id, email, is_primary[, status])."""
    rows = [r if len(r) == 4 else (*r, "active") for r in rows]
    frame = pd.DataFrame(rows, columns=["person_id", "email", "is_primary", "status"])
    return frame.assign(first_seen_at=ts("2025-01-01"), last_seen_at=ts("2026-01-01"))


def derive(person_ids, address_rows=None, crm_rows=(), store_rows=(), webinar_rows=(),
           event_rows=(), erased=()):
    address_rows = address_rows or [(p, f"{p}@example.com", True) for p in person_ids]
    profiles, statuses = derive_consent(
        pd.DataFrame({"person_id": person_ids}),
        emails(address_rows),
        crm(list(crm_rows)),
        store(list(store_rows)),
        webinar(list(webinar_rows)),
        events(list(event_rows)),
        REFERENCE,
        erased_person_ids=erased,
    )
    return profiles.set_index("person_id"), statuses


def test_latest_signal_across_all_records_wins():
    profiles, _ = derive(
        ["p", "q"],
        crm_rows=[("p", True, ts("2026-01-01")), ("q", False, ts("2026-01-01"))],
        store_rows=[("p", False, ts("2026-03-01"))],
        webinar_rows=[("q", True, ts("2026-06-01"))],
    )
    assert profiles.loc["p", ["email_consent", "consent_source"]].tolist() == ["denied", "store"]
    assert profiles.loc["q", ["email_consent", "consent_source"]].tolist() == ["granted", "webinar"]
    assert profiles.loc["q", "consent_updated_at"] == ts("2026-06-01")
    assert profiles["sendable"].tolist() == [False, True]


def test_unsubscribe_on_a_secondary_address_withdraws_consent_for_the_person():
    addresses = [("p", "p@work.com", True), ("p", "p@home.com", False)]
    profiles, statuses = derive(
        ["p"], addresses,
        crm_rows=[("p", True, ts("2026-01-01"))],
        event_rows=[("p", "P@Home.com ", "UNSUBSCRIBE", ts("2026-02-01"))],
    )
    assert profiles.loc["p", "email_consent"] == "denied"
    assert profiles.loc["p", "consent_source"] == "unsubscribe"
    assert not profiles.loc["p", "sendable"]
    assert dict(zip(statuses["email"], statuses["status"])) == {
        "p@work.com": "active", "p@home.com": "unsubscribed"
    }


def test_a_later_explicit_opt_in_restores_consent_after_a_spam_report():
    addresses = [("p", "p@work.com", True), ("p", "p@home.com", False)]
    profiles, statuses = derive(
        ["p"], addresses,
        crm_rows=[("p", True, ts("2026-01-01"))],
        store_rows=[("p", True, ts("2026-04-01"))],
        event_rows=[("p", "p@home.com", "SPAM_REPORT", ts("2026-02-01"))],
    )
    assert profiles.loc["p", "email_consent"] == "granted"
    assert profiles.loc["p", "sendable"]
    assert set(statuses["status"]) == {"active"}


def test_an_earlier_opt_in_does_not_override_a_later_unsubscribe():
    profiles, _ = derive(
        ["p"],
        webinar_rows=[("p", True, ts("2026-01-01"))],
        event_rows=[("p", "p@example.com", "UNSUBSCRIBE", ts("2026-01-02"))],
    )
    assert profiles.loc["p", "email_consent"] == "denied"


def test_hard_bounce_suppresses_that_address_and_the_person_is_sent_to_another():
    addresses = [("p", "p@work.com", True), ("p", "p@home.com", False), ("q", "q@gone.com", True)]
    profiles, statuses = derive(
        ["p", "q"], addresses,
        crm_rows=[("p", True, ts("2026-01-01")), ("q", True, ts("2026-01-01"))],
        event_rows=[("p", "p@work.com", "BOUNCE_HARD", ts("2026-02-01")),
                    ("q", "q@gone.com", "BOUNCE_HARD", ts("2026-02-01")),
                    ("p", "p@home.com", "BOUNCE_SOFT", ts("2026-02-01"))],
    )
    assert dict(zip(statuses["email"], statuses["status"])) == {
        "p@work.com": "bounced", "p@home.com": "active", "q@gone.com": "bounced"
    }
    assert profiles["sendable"].tolist() == [True, False]
    assert profiles.loc["q", "email_consent"] == "granted"  # consent is not the address
    assert best_sendable_email(statuses).to_dict() == {"p": "p@home.com"}


def test_no_signal_is_unknown_and_blank_answers_are_not_signals():
    profiles, _ = derive(["p"], crm_rows=[("p", None, ts("2026-01-01"))])
    assert profiles.loc["p", "email_consent"] == "unknown"
    assert pd.isna(profiles.loc["p", "consent_source"])
    assert not profiles.loc["p", "sendable"]


def test_signals_at_the_same_instant_resolve_to_denied():
    profiles, _ = derive(
        ["p"],
        crm_rows=[("p", True, ts("2026-01-01 10:00"))],
        store_rows=[("p", False, ts("2026-01-01 10:00"))],
    )
    assert profiles.loc["p", "email_consent"] == "denied"


def test_signals_after_the_reference_date_are_ignored():
    profiles, statuses = derive(
        ["p"],
        crm_rows=[("p", True, ts("2026-01-01"))],
        event_rows=[("p", "p@example.com", "UNSUBSCRIBE", ts("2026-11-21 00:00")),
                    ("p", "p@example.com", "BOUNCE_HARD", ts("2026-11-22"))],
    )
    assert profiles.loc["p", "email_consent"] == "granted"
    assert statuses["status"].tolist() == ["active"]


def test_invalid_addresses_stay_invalid_and_erased_persons_are_never_sendable():
    addresses = [("p", "p@", True, "invalid"), ("q", "q@example.com", True)]
    profiles, statuses = derive(
        ["p", "q"], addresses,
        crm_rows=[("p", True, ts("2026-01-01")), ("q", True, ts("2026-01-01"))],
        event_rows=[("p", "p@", "UNSUBSCRIBE", ts("2026-01-02"))],
        erased=["q"],
    )
    assert statuses["status"].tolist() == ["invalid", "active"]
    assert profiles["sendable"].tolist() == [False, False]


def test_event_recipients_match_addresses_in_the_identity_normal_form():
    addresses = [("p", "annlee@gmail.com", True)]
    _, statuses = derive(
        ["p"], addresses, crm_rows=[("p", True, ts("2026-01-01"))],
        event_rows=[(None, " Ann.Lee+promo@GMail.com", "BOUNCE_HARD", ts("2026-02-01"))],
    )
    assert statuses["status"].tolist() == ["bounced"]


def test_record_level_frames_get_their_person_from_the_identity_map():
    identity_map = pd.DataFrame({"source": ["crm", "store", "crm"],
                                 "source_record_id": ["1", "1", "2"],
                                 "person_id": ["p", "q", "r"]})
    contacts = pd.DataFrame({"record_id": ["2", "1", "9"]})
    found = with_person_ids(contacts, identity_map, "crm", "record_id")
    assert found["person_id"].tolist()[:2] == ["r", "p"] and pd.isna(found["person_id"].iloc[2])


def test_best_sendable_email_prefers_primary_then_most_recently_seen():
    frame = emails([("p", "old@x.com", False), ("p", "new@x.com", False),
                    ("q", "prim@x.com", True, "unsubscribed"), ("q", "alt@x.com", False)])
    frame.loc[1, "last_seen_at"] = ts("2026-06-01")
    assert best_sendable_email(frame).to_dict() == {"p": "new@x.com", "q": "alt@x.com"}
