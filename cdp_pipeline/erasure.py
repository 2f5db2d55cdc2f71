"""Right to erasure: find the persons whose data must go, and keep only hashes to remember them.

An erasure request names an address. The *person* that address resolves to is removed from
every derived table and model input, including the data of their other addresses and
records. The request itself is remembered only as a SHA-256 of the normalised address (the
*ledger*): when a later drop delivers the same data again, the address hashes to a ledger
entry and the person is removed again, without the pipeline ever storing who they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from cdp_pipeline.consent import normalise_address
from cdp_pipeline.identity.attach import ATTRIBUTION_COLUMNS
from cdp_pipeline.identity.normalize import on_unique
from cdp_pipeline.privacy import hash_email

if TYPE_CHECKING:
    from cdp_pipeline.identity.resolve import RecordsBeforeErasure
    from cdp_pipeline.ingest.state import StateStore


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


ERASED = "erased"
RECORD_KEYS = {"crm_contacts": ("crm", "record_id"), "store_customers": ("store", "customer_id")}
JUDGED_COLUMNS = {
    **{name: list(columns) for name, columns in ATTRIBUTION_COLUMNS.items()},
    **{name: [column] for name, (_, column) in RECORD_KEYS.items()},
}
"""What ``erased_rows`` reads of each source: the identifiers rows are attributed by."""
REQUESTS = "erasure_requests"


def _record_keys(identity_map: pd.DataFrame) -> pd.Series:
    return identity_map["source"].astype("string") + ":" + identity_map["source_record_id"].astype("string")


@dataclass
class ErasedRows:
    """Per source table a mask of the rows of erased persons, and their identity record keys."""

    masks: dict[str, np.ndarray]
    record_keys: pd.Index


def erased_rows(frames: Mapping[str, pd.DataFrame], found_in: "RecordsBeforeErasure | None") -> ErasedRows:
    """Which rows of the source tables belong to an erased person.

    ``found_in``: every record of ``frames`` as the pass that found the erased persons saw it
    (``resolve_with_erasures``); None when nobody was erased. A row goes when it is an erased
    person's record, or when the pipeline would attribute it (email events, orders, web events,
    registrations) to one: the identity stage's own attribution rules, so what is kept is
    exactly what it can see.
    """
    from cdp_pipeline.identity.attach import attribute_events, rows_reaching

    present = {name: frame for name, frame in frames.items() if frame is not None and len(frame)}
    masks = {name: np.zeros(len(frame), dtype=bool) for name, frame in frames.items() if frame is not None}
    if found_in is None or not present:
        return ErasedRows(masks, pd.Index([], dtype="string"))
    records = found_in.records
    erased = records["erased"].to_numpy(bool)
    erased_keys = pd.Index(records.loc[erased, "record_key"], dtype="string")
    if erased_keys.empty:
        return ErasedRows(masks, erased_keys)
    owner = pd.Series(np.where(erased, ERASED, "kept"), dtype="string")
    resolution = SimpleNamespace(records=records.assign(person_id=owner), record_emails=found_in.record_emails)
    reaching = rows_reaching(resolution, present, erased_keys)
    candidates = {name: present[name][reaching[name]] for name in reaching}
    for name, attributed in attribute_events(resolution, candidates).items():
        masks[name][np.flatnonzero(reaching[name])] = (attributed["person_id"] == ERASED).fillna(False).to_numpy(bool)
    for name, (source, column) in RECORD_KEYS.items():
        if name in present:
            keys = source + ":" + present[name][column].astype("string").str.strip()
            masks[name] = keys.isin(erased_keys).fillna(False).to_numpy(bool)
    return ErasedRows(masks, erased_keys)


def person_ids_of_records(identity_map: pd.DataFrame | None, record_keys: pd.Index) -> list[str]:
    """The person ids ``identity_map`` (an earlier run's) gave to these records."""
    if identity_map is None or identity_map.empty or record_keys.empty:
        return []
    hit = _record_keys(identity_map).isin(record_keys).fillna(False).to_numpy()
    return sorted(set(identity_map.loc[hit, "person_id"].astype("string").dropna()))


@dataclass
class Purge:
    """What an erasure pass removed from the stored extracts."""

    removed: dict[str, int]  # rows per extract
    record_keys: pd.Index  # identity record keys of the erased persons


def purge_erased_rows(store: "StateStore", frames: Mapping[str, pd.DataFrame], ledger: Ledger,
                      found_in: "RecordsBeforeErasure | None") -> Purge:
    """Removes erased persons' rows from the stored extract tables, and the requests whose
    address the ledger now remembers by hash, then deletes earlier state versions holding them.

    Runs after the ledger is saved, so a crash at any point leaves the rows (removed by the
    next run) or only the hash.
    """
    hashes = ledger_hashes(ledger)
    if not hashes:
        return Purge({}, pd.Index([], dtype="string"))
    erased = erased_rows({n: f for n, f in frames.items() if n != REQUESTS}, found_in)
    masks = dict(erased.masks)
    requests = frames.get(REQUESTS)
    if requests is not None:
        masks[REQUESTS] = _matches(requests["email"], hashes) if len(requests) else np.zeros(0, dtype=bool)
    removed = {}
    for name, mask in masks.items():
        if mask.any():
            store.remove_rows(name, mask)
            removed[name] = int(mask.sum())
        store.forget_earlier_versions(name)
    return Purge(removed, erased.record_keys)


RECORD_HASH_COLUMN = "record_key_hash"


def _sha256(values: pd.Series) -> pd.Series:
    return on_unique(values, hash_email)  # the same one-way SHA-256 as addresses, once per value


def erased_record_hashes(record_keys: Iterable[str]) -> set[str]:
    """Hashes of the erased persons' snapshot records (CRM contacts, store accounts): the
    snapshots deliver them again every night, and the hash is all that may recognise them."""
    keys = pd.Series(list(record_keys), dtype="string")
    prefixes = tuple(f"{source}:" for source, _ in RECORD_KEYS.values())
    return set(_sha256(keys[keys.str.startswith(prefixes).fillna(False)]))


def erased_record_rows(frames: Mapping[str, pd.DataFrame], record_hashes: set[str]) -> dict[str, np.ndarray]:
    """Per snapshot frame holding any, a mask of the rows whose record key hashes to an erased record."""
    masks = {}
    for name, (source, column) in RECORD_KEYS.items():
        frame = frames.get(name)
        if not record_hashes or frame is None or frame.empty:
            continue
        hit = _sha256(source + ":" + frame[column].astype("string").str.strip()).isin(record_hashes)
        hit = hit.fillna(False).to_numpy(bool)
        if hit.any():
            masks[name] = hit
    return masks


def without_erased_records(frames: Mapping[str, pd.DataFrame], record_hashes: set[str]):
    """The frames without the snapshot rows whose record key hashes to an erased record, and
    how many rows went per frame: dropped before resolution, so a night whose only erased rows
    are re-deliveries sees exactly what an uninterrupted run would, and resolves once."""
    return _without_rows(frames, erased_record_rows(frames, record_hashes))


def _without_rows(frames: Mapping[str, pd.DataFrame], masks: Mapping[str, np.ndarray]):
    tables = {name: frame[~masks[name]].reset_index(drop=True) if name in masks else frame
              for name, frame in frames.items()}
    return tables, {name: int(mask.sum()) for name, mask in masks.items()}


LEDGER_FILE = "erasure_ledger.parquet"
ERASED_RECORDS_FILE = "erased_records.parquet"


def _save_atomically(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    frame.to_parquet(staged, index=False)
    staged.replace(path)


class ErasureState:
    """What erasure keeps in the state folder, and the passes that apply it to the stored data.

    Only hashes are kept: of the requested addresses (the ledger) and of the erased persons'
    snapshot record keys. Each pass runs after the hashes it relies on are saved, so a crash at
    any point leaves either the rows (removed by the next run) or only the hashes.
    """

    def __init__(self, folder: Path):
        from cdp_pipeline.ingest.state import StateStore

        self.folder = Path(folder)
        self.store = StateStore(self.folder)

    def ledger(self) -> pd.DataFrame | None:
        path = self.folder / LEDGER_FILE
        return pd.read_parquet(path) if path.exists() else None

    def record_requests(self, erasure_requests: pd.DataFrame | None) -> pd.DataFrame:
        """The ledger with this run's requests added, saved: every address ever asked to be
        erased, so data delivered again stays erased."""
        ledger = updated_ledger(self.ledger(), erasure_requests)
        _save_atomically(ledger, self.folder / LEDGER_FILE)
        return ledger

    def _erased_record_hashes(self) -> set[str]:
        path = self.folder / ERASED_RECORDS_FILE
        return set(pd.read_parquet(path)[RECORD_HASH_COLUMN]) if path.exists() else set()

    def drop_redelivered(self, frames: Mapping[str, pd.DataFrame]):
        """The frames without the snapshot rows of records erased in an earlier run, removed
        from the stored state too, and how many rows went per frame (before resolution)."""
        masks = erased_record_rows(frames, self._erased_record_hashes())
        for name, mask in masks.items():
            self.store.remove_rows(name, mask)
            self.store.forget_earlier_versions(name)
        return _without_rows(frames, masks)

    def purge(self, read_frames: Callable[[], Mapping[str, pd.DataFrame]], found_in: "RecordsBeforeErasure | None",
              previous_identity_map: pd.DataFrame | None, ledger: pd.DataFrame) -> Purge:
        """Erased persons' rows out of the stored extracts and the models' validation labels;
        their snapshot records remembered by hash. Nothing but hashes may outlive a request.

        ``read_frames``: the frames resolution read (and the requests), read again only when the
        ledger holds an address: most nights it is empty, and resolution has let them go."""
        from cdp_pipeline.models.artifacts import ENGAGEMENT_ARTIFACTS, forget_persons_in_validation_labels

        frames = read_frames() if ledger_hashes(ledger) else {}
        purge = purge_erased_rows(self.store, frames, ledger, found_in)
        erased_ids = person_ids_of_records(previous_identity_map, purge.record_keys)
        labels = forget_persons_in_validation_labels(self.folder / ENGAGEMENT_ARTIFACTS, erased_ids)
        if labels:
            purge.removed["model_validation_labels"] = labels
        known = self._erased_record_hashes()
        hashes = known | erased_record_hashes(purge.record_keys)
        if hashes != known:
            frame = pd.DataFrame({RECORD_HASH_COLUMN: pd.Series(sorted(hashes), dtype="string")})
            _save_atomically(frame, self.folder / ERASED_RECORDS_FILE)
        return purge
