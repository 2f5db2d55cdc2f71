"""Giving events a ``person_id``: every behaviour counts for the person, whichever record it came by.

* email events: by the recipient when exactly one person holds that address, else by the CRM
  Record ID the event carries (a shared inbox cannot tell whose open it was);
* orders: by their order record (which already joined the account or the checkout email);
* web events: by the cookie's record, so what a cookie did before it identified counts for the
  person it later turned out to be; events with only a ``userId`` go by the store account;
* webinar registrations: by their registration record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.frames import lookup
from cdp_pipeline.identity.normalize import normalize_emails

ATTRIBUTION_COLUMNS = {
    "crm_email_events": ("recipient", "record_id"),
    "store_orders": ("order_id",),
    "store_web_events": ("anonymous_id", "user_id"),
    "webinar_attendees": ("webinar_id", "email_key", "email"),
}
"""What ``attribute_events`` and ``rows_reaching`` read of each source."""


RESOLUTION_COLUMNS = {"records": ["record_key", "person_id"], "record_emails": ["rec", "email_norm", "email_typed"]}
"""What ``attribute_events`` reads of the resolution."""


def _person_by_key(resolution) -> pd.Series:
    records = resolution.records
    return pd.Series(records["person_id"].to_numpy(), index=records["record_key"].to_numpy())


def _lookup(person_by_key: pd.Series, keys: pd.Series) -> pd.Series:
    return lookup(keys, person_by_key).astype("string")


def email_person_lookup(resolution, column: str = "email_norm") -> pd.Series:
    """Email (``email_norm`` or ``email_typed``) -> person, for addresses exactly one person holds."""
    emails = resolution.record_emails
    persons = resolution.records["person_id"].to_numpy()[emails["rec"].to_numpy()]
    owners = pd.DataFrame({"email": emails[column].to_numpy(), "person_id": persons}).drop_duplicates()
    unique = owners.drop_duplicates("email", keep=False)
    return pd.Series(unique["person_id"].to_numpy(), index=unique["email"].to_numpy())


def attribute_email_events(resolution, events: pd.DataFrame) -> pd.Series:
    """Recipient as typed, else the event's Record ID, else the recipient's mailbox (dots aside).

    Decided once per distinct (recipient, Record ID): a person's every send, open and click
    shares one, and the events are the largest table of a run."""
    recipients = pd.factorize(events["recipient"], use_na_sentinel=False)[0].astype(np.int64)
    records = pd.factorize(events["record_id"], use_na_sentinel=False)[0].astype(np.int64)
    codes = pd.factorize(recipients * (int(records.max(initial=0)) + 1) + records)[0]
    first_rows = np.unique(codes, return_index=True)[1]
    distinct = events[["recipient", "record_id"]].iloc[first_rows].reset_index(drop=True)
    recipient = normalize_emails(distinct["recipient"])
    by_typed = _lookup(email_person_lookup(resolution, "email_typed"), recipient["email_typed"])
    by_record = _lookup(_person_by_key(resolution), "crm:" + distinct["record_id"].astype("string"))
    by_mailbox = _lookup(email_person_lookup(resolution), recipient["email_norm"])
    person = by_typed.fillna(by_record).fillna(by_mailbox)
    return pd.Series(person.array.take(codes), index=events.index, dtype="string")


def attribute_events(resolution, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Input frames (those present) with a ``person_id`` column added (NA when no person is known)."""
    keys = _person_by_key(resolution)
    out: dict[str, pd.DataFrame] = {}
    events = frames.get("crm_email_events")
    if events is not None:
        out["crm_email_events"] = events.assign(person_id=attribute_email_events(resolution, events))
    orders = frames.get("store_orders")
    if orders is not None:
        out["store_orders"] = orders.assign(person_id=_lookup(keys, "order:" + orders["order_id"].astype("string")))
    web = frames.get("store_web_events")
    if web is not None:
        by_cookie = _lookup(keys, "web:" + web["anonymous_id"].astype("string"))
        by_user = _lookup(keys, "store:" + web["user_id"].astype("string"))
        out["store_web_events"] = web.assign(person_id=by_cookie.fillna(by_user))
    webinar = frames.get("webinar_attendees")
    if webinar is not None:
        email_key = webinar["email_key"] if "email_key" in webinar else webinar["email"].str.strip().str.lower()
        record = "webinar:" + webinar["webinar_id"].astype("string") + ":" + email_key.astype("string")
        out["webinar_attendees"] = webinar.assign(person_id=_lookup(keys, record))
    return out


def rows_reaching(resolution, frames: dict[str, pd.DataFrame], record_keys: pd.Index) -> dict[str, np.ndarray]:
    """Per input frame, the rows whose attribution could reach one of these records.

    A superset of what ``attribute_events`` gives their persons (it reads only these columns),
    found by membership in a few identifiers: attributing every event of the run to find the
    handful that belong to an erased person costs seconds.
    """
    parts = pd.Series(record_keys, dtype="string").str.split(":", n=1)
    source, value = parts.str[0], parts.str[1]

    def held(column: pd.Series, kind: str) -> np.ndarray:
        return column.astype("string").isin(value[source == kind]).fillna(False).to_numpy(bool)

    out: dict[str, np.ndarray] = {}
    events = frames.get("crm_email_events")
    if events is not None:
        emails = resolution.record_emails
        theirs = emails[emails["rec"].isin(np.flatnonzero(resolution.records["record_key"].isin(record_keys)))]
        recipients = pd.Series(events["recipient"].dropna().unique(), dtype="string")
        forms = normalize_emails(recipients)
        reaching = (forms["email_typed"].isin(theirs["email_typed"]) | forms["email_norm"].isin(theirs["email_norm"]))
        out["crm_email_events"] = (events["recipient"].isin(recipients[reaching.fillna(False).to_numpy(bool)])
                                   .fillna(False).to_numpy(bool) | held(events["record_id"], "crm"))
    orders = frames.get("store_orders")
    if orders is not None:
        out["store_orders"] = held(orders["order_id"], "order")
    web = frames.get("store_web_events")
    if web is not None:
        out["store_web_events"] = held(web["anonymous_id"], "web") | held(web["user_id"], "store")
    webinar = frames.get("webinar_attendees")
    if webinar is not None:
        out["webinar_attendees"] = np.ones(len(webinar), dtype=bool)  # a small table: every row is a candidate
    return out
