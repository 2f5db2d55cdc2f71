"""Right to erasure: find the persons whose data must go, and keep only hashes to remember them.

An erasure request names an address. The *person* that address resolves to is removed from
every derived table and model input, including the data of their other addresses and
records. The request itself is remembered only as a SHA-256 of the normalised address (the
*ledger*): when a later drop delivers the same data again, the address hashes to a ledger
entry and the person is removed again, without the pipeline ever storing who they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

import numpy as np
import pandas as pd

from cdp_pipeline.consent import normalise_address
from cdp_pipeline.privacy import hash_email


def address_hashes(emails: pd.Series) -> pd.DataFrame:
    """Two hashes per address: of the identity stage's normal form (dots and +tags folded,
    typos corrected) and of the plain lower-cased, trimmed text, so a request matches however
    the address was written and whichever form another stage hashes."""
    plain = emails.astype("string").str.strip().str.lower().replace("", pd.NA)
    return pd.DataFrame(
        {"normal": hash_email(normalise_address(plain)), "plain": hash_email(plain)}
    )


def request_hashes(erasure_requests: pd.DataFrame | None) -> set[str]:
    """The ledger entries for this run's requests."""
    if erasure_requests is None or erasure_requests.empty:
        return set()
    hashes = address_hashes(erasure_requests["email"])
    return set(hashes["normal"].dropna()) | set(hashes["plain"].dropna())


def _matches(emails: pd.Series, ledger: set[str]) -> np.ndarray:
    hashes = address_hashes(emails)
    return (hashes["normal"].isin(ledger) | hashes["plain"].isin(ledger)).to_numpy()


LEDGER_COLUMN = "email_hash"
Ledger = Union[pd.DataFrame, Iterable[str], None]


def ledger_hashes(ledger: Ledger) -> set[str]:
    """The hashes of a ledger given as a frame (``email_hash`` column), an iterable or None."""
    if ledger is None:
        return set()
    if isinstance(ledger, pd.DataFrame):
        return set(ledger[LEDGER_COLUMN].dropna().astype(str)) if len(ledger) else set()
    return set(ledger)


def apply_erasure(
    identity_map: pd.DataFrame,
    profile_emails: pd.DataFrame,
    erasure_requests: pd.DataFrame | None,
    ledger: Ledger,
) -> tuple[list[str], pd.DataFrame]:
    """Returns ``(erased person_ids sorted, updated ledger)``; the ledger is a one-column frame
    ``email_hash`` (sorted SHA-256 hex digests), ready to persist as-is.

    A person is erased when any of their addresses, or the address of any of their webinar
    registrations (``<Webinar ID>:<email>`` record ids), hashes to a ledger entry; the
    ledger is the previous one plus this run's requests.
    """
    ledger = ledger_hashes(ledger) | request_hashes(erasure_requests)
    persons = set()
    if len(profile_emails):
        persons |= set(profile_emails.loc[_matches(profile_emails["email"], ledger), "person_id"])
    webinar = identity_map[identity_map["source"] == "webinar"]
    if len(webinar):
        address = webinar["source_record_id"].astype("string").str.split(":", n=1).str[1]
        persons |= set(webinar.loc[_matches(address, ledger), "person_id"])
    persons.discard(None)
    erased = sorted(str(p) for p in persons if not pd.isna(p))
    return erased, pd.DataFrame({LEDGER_COLUMN: pd.Series(sorted(ledger), dtype="string")})


def drop_persons(frame: pd.DataFrame, person_ids: Iterable[str], column: str = "person_id"):
    """``frame`` without the rows of the given persons (for every person-level table)."""
    erased = pd.Index(list(person_ids), dtype="string")
    return frame[~frame[column].astype("string").isin(erased).fillna(False).to_numpy()]


def drop_erased_addresses(frame: pd.DataFrame, email_column: str, ledger: Ledger) -> pd.DataFrame:
    """``frame`` without rows whose address is in the ledger, for inputs read before identity."""
    return frame[~_matches(frame[email_column], ledger_hashes(ledger))]


def updated_ledger(previous: Ledger, erasure_requests: pd.DataFrame | None) -> pd.DataFrame:
    """The previous ledger plus this run's requests, as the one-column frame to persist."""
    hashes = sorted(ledger_hashes(previous) | request_hashes(erasure_requests))
    return pd.DataFrame({LEDGER_COLUMN: pd.Series(hashes, dtype="string")})
