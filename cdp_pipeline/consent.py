"""Email consent and address suppression: who may receive marketing email, at which address.

Precedence (``shared/warehouse.md``):

1. Every explicit consent answer is a dated *signal*: CRM ``marketing_email_opt_in`` at
   ``opt_in_updated_at``, store ``accepts_email_marketing`` at
   ``email_marketing_consent_updated_at``, webinar form ``marketing_consent`` at
   ``registration_time``, and every UNSUBSCRIBE or SPAM_REPORT on *any* of the person's
   addresses (a withdrawal, at its event time). Blank answers are not signals.
2. The person's latest signal wins, whichever record or address it came from: an unsubscribe
   withdraws consent given earlier anywhere, and only a later explicit opt-in restores it.
   Signals at the same instant resolve to *denied* (the safe side); undated answers rank
   before every dated one; signals after the reference date are ignored (point in time).
3. No signal at all is ``unknown``.
4. Address status: ``invalid`` (from identity) > ``bounced`` (any hard bounce, permanent) >
   ``unsubscribed`` (a withdrawal on that address not followed by a later opt-in of the
   person) > ``active``. Soft bounces change nothing.
5. ``sendable`` = consent granted, at least one active address, and the person not erased.

Email event recipients are matched to addresses in the identity stage's normal form, the one
``profile_emails.email`` carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

WITHDRAWAL_EVENTS = {"UNSUBSCRIBE": "unsubscribe", "SPAM_REPORT": "spam_report"}
HARD_BOUNCE = "BOUNCE_HARD"
_STATUS_RANK = {"active": 0, "unsubscribed": 1, "bounced": 2, "invalid": 3}

# (frame key, consent column, timestamp column, consent_source label)
CONSENT_ANSWERS = (
    ("crm_contacts", "marketing_email_opt_in", "opt_in_updated_at", "crm"),
    ("store_customers", "accepts_email_marketing", "email_marketing_consent_updated_at", "store"),
    ("webinar_registrations", "marketing_consent", "registration_time", "webinar"),
)


def normalise_address(emails: pd.Series) -> pd.Series:
    """The identity stage's normal form (the one ``profile_emails.email`` holds), so an event
    sent to ``J.Doe+news@Gmail.com`` reaches the same address row as ``jdoe@gmail.com``."""
    from cdp_pipeline.identity.normalize import normalize_emails

    return normalize_emails(emails)["email_norm"].astype("string")


IDENTITY_MAP_COLUMNS = ["source", "source_record_id", "person_id"]
"""What ``with_person_ids`` reads of the identity map."""


def with_person_ids(
    frame: pd.DataFrame, identity_map: pd.DataFrame, source: str, record_id_column: str
) -> pd.DataFrame:
    """``frame`` plus ``person_id`` looked up in ``identity_map`` by its record id, for the
    record-level frames (CRM contacts: ``crm``/``record_id``; store accounts:
    ``store``/``customer_id``) whose consent answers belong to a person."""
    records = identity_map[identity_map["source"] == source]
    person = pd.Series(
        records["person_id"].astype("string").to_numpy(),
        index=records["source_record_id"].astype("string").to_numpy(),
    )
    person = person[~person.index.duplicated()]
    keys = frame[record_id_column].astype("string")
    found = person.reindex(keys.to_numpy()).array
    return frame.assign(person_id=pd.Series(found, index=frame.index))


def consent_signals(
    crm_contacts: pd.DataFrame | None,
    store_customers: pd.DataFrame | None,
    webinar_registrations: pd.DataFrame | None,
    email_events: pd.DataFrame | None,
    reference_date: date,
) -> pd.DataFrame:
    """Every dated consent signal of every person: ``person_id, granted, at, source``."""
    frames = {
        "crm_contacts": crm_contacts,
        "store_customers": store_customers,
        "webinar_registrations": webinar_registrations,
    }
    parts = []
    for key, answer, stamp, source in CONSENT_ANSWERS:
        frame = frames[key]
        if frame is None or answer not in frame or "person_id" not in frame:
            continue
        granted = frame[answer].astype("boolean")
        rows = frame[granted.notna() & frame["person_id"].notna()]
        at = rows[stamp] if stamp in rows else pd.Series(pd.NaT, index=rows.index)
        parts.append(
            pd.DataFrame(
                {
                    "person_id": rows["person_id"].astype("string"),
                    "granted": granted[rows.index].astype(bool),
                    "at": pd.to_datetime(at, utc=True),
                    "source": source,
                }
            )
        )
    withdrawals = _events(email_events, list(WITHDRAWAL_EVENTS), reference_date)
    withdrawals = withdrawals[withdrawals["person_id"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "person_id": withdrawals["person_id"].astype("string"),
                "granted": False,
                "at": withdrawals["event_time"],
                "source": withdrawals["event_type"].map(WITHDRAWAL_EVENTS),
            }
        )
    )
    empty = pd.DataFrame(
        {
            "person_id": pd.Series(dtype="string"),
            "granted": pd.Series(dtype=bool),
            "at": pd.Series(dtype="datetime64[us, UTC]"),
            "source": pd.Series(dtype="string"),
        }
    )
    signals = pd.concat([empty, *(p for p in parts if len(p))], ignore_index=True)
    signals = signals.astype({"granted": bool, "at": "datetime64[us, UTC]"})
    return signals[signals["at"].isna() | (signals["at"] < _end_of(reference_date))]


def latest_consent(signals: pd.DataFrame) -> pd.DataFrame:
    """Per person the winning signal: ``email_consent, consent_updated_at, consent_source``."""
    ordered = signals.sort_values(
        ["person_id", "at", "granted"], ascending=[True, True, False], na_position="first",
        kind="stable",
    )
    last = ordered.groupby("person_id").tail(1).set_index("person_id")
    return pd.DataFrame(
        {
            "email_consent": last["granted"].map({True: "granted", False: "denied"}),
            "consent_updated_at": last["at"],
            "consent_source": last["source"].astype("string"),
        }
    )


def address_status(
    profile_emails: pd.DataFrame,
    email_events: pd.DataFrame | None,
    latest_grants: pd.Series,
    reference_date: date,
) -> pd.Series:
    """Status of each (person, address) row; ``latest_grants`` is each person's newest opt-in."""
    base = profile_emails["status"].astype("string").fillna("active")
    base = base.where(base == "invalid", "active")
    address = normalise_address(profile_emails["email"])
    events = _events(email_events, [HARD_BOUNCE, *WITHDRAWAL_EVENTS], reference_date)
    events = events.assign(address=normalise_address(events["recipient"]))
    bounced = address.isin(events.loc[events["event_type"] == HARD_BOUNCE, "address"])
    last_withdrawal = (
        events[events["event_type"].isin(list(WITHDRAWAL_EVENTS))]
        .groupby("address")["event_time"].max()
    )
    withdrawn_at = _lookup(address, last_withdrawal)
    regranted_at = _lookup(profile_emails["person_id"].astype("string"), latest_grants)
    unsubscribed = withdrawn_at.notna() & ~(regranted_at > withdrawn_at)

    status = base.copy()
    status[unsubscribed.to_numpy() & (base == "active").to_numpy()] = "unsubscribed"
    status[bounced.to_numpy() & (base != "invalid").to_numpy()] = "bounced"
    return status


def derive_consent(
    profiles: pd.DataFrame,
    profile_emails: pd.DataFrame,
    crm_contacts: pd.DataFrame | None,
    store_customers: pd.DataFrame | None,
    webinar_registrations: pd.DataFrame | None,
    email_events: pd.DataFrame | None,
    reference_date: date,
    erased_person_ids: Iterable[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adds consent columns to ``profiles`` and statuses to ``profile_emails`` (see module doc).

    Every frame is person-attributed (carries ``person_id``); ``email_events`` also needs
    ``recipient``, ``event_type`` and ``event_time``.
    """
    signals = consent_signals(
        crm_contacts, store_customers, webinar_registrations, email_events, reference_date
    )
    consent = latest_consent(signals)
    grants = signals[signals["granted"]].groupby("person_id")["at"].max()

    emails = profile_emails.copy()
    emails["status"] = address_status(profile_emails, email_events, grants, reference_date)
    has_active = emails.loc[emails["status"] == "active", "person_id"].astype("string")

    result = profiles.drop(
        columns=[c for c in ("email_consent", "consent_updated_at", "consent_source", "sendable")
                 if c in profiles]
    ).copy()
    person = result["person_id"].astype("string")
    result["email_consent"] = _lookup(person, consent["email_consent"], "string").fillna(
        "unknown"
    )
    result["consent_updated_at"] = _lookup(person, consent["consent_updated_at"])
    result["consent_source"] = _lookup(person, consent["consent_source"], "string")
    erased = pd.Index(list(erased_person_ids), dtype="string")
    result["sendable"] = (
        (result["email_consent"] == "granted").fillna(False).to_numpy()
        & person.isin(has_active).to_numpy()
        & ~person.isin(erased).to_numpy()
    )
    return result, emails


def best_sendable_email(profile_emails: pd.DataFrame) -> pd.Series:
    """Per person the address to send to: an active one, the primary first, then the newest."""
    active = profile_emails[profile_emails["status"] == "active"]
    ordered = active.assign(
        _primary=active["is_primary"].astype("boolean").fillna(False).astype(bool),
        _seen=pd.to_datetime(active["last_seen_at"], utc=True),
    ).sort_values(
        ["person_id", "_primary", "_seen", "email"],
        ascending=[True, False, False, True],
        na_position="last",
        kind="stable",
    )
    best = ordered.groupby("person_id", sort=False).head(1)
    return pd.Series(
        best["email"].astype("string").to_numpy(),
        index=pd.Index(best["person_id"].astype("string"), name="person_id"),
        name="email",
    )


def _lookup(keys: pd.Series, values: pd.Series, dtype="datetime64[us, UTC]") -> pd.Series:
    """``values[key]`` for each key (missing when absent), in ``dtype`` even when empty."""
    found = values.astype(dtype).reindex(keys.to_numpy())
    return pd.Series(found.array, index=keys.index)


def _events(email_events: pd.DataFrame | None, types: list[str], reference_date: date):
    """Email events of the given types up to the end of the reference date."""
    columns = ["person_id", "recipient", "event_type", "event_time"]
    if email_events is None or email_events.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns}).assign(
            event_time=pd.Series(dtype="datetime64[us, UTC]")
        )
    events = email_events.reindex(columns=columns)
    events = events.assign(
        event_type=events["event_type"].astype("string").str.strip().str.upper(),
        event_time=pd.to_datetime(events["event_time"], utc=True),
    )
    keep = events["event_type"].isin(types) & (events["event_time"] < _end_of(reference_date))
    return events[keep.fillna(False)]


def _end_of(reference_date: date) -> pd.Timestamp:
    """Data of the reference date itself counts: the cut-off is the next midnight UTC."""
    start = pd.Timestamp(reference_date).normalize()
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    return start + pd.Timedelta(days=1)
