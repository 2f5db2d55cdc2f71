"""Snapshot and increment accumulation over every complete, not yet processed drop.

One call reads the pending files of one extract in date order and computes the new accumulated
table, the quarantined rows and a report per file, but writes nothing: ``IngestOutcome.commit``
persists the state, so a run that fails later never marks drops as processed.

* Increments: the union of every accepted row, one per natural key; the first delivery wins and
  later repeats (re-delivered drops, repeated rows) are counted as duplicates.
* Snapshots: the latest accepted snapshot replaces the one in force; records absent from it
  were deleted at the source and are counted.
* Guards may hold a file (not applied, previous snapshot kept) until an operator accepts it.

Where every rule judges a row alone, a file is screened block by block as it is read, so what
stays in memory is its accepted rows without their raw text; a rule comparing rows (an order's
lines agreeing on its total) sees the whole file first.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import Extract, Kind
from cdp_pipeline.ingest.landing import complete_drops, extract_files
from cdp_pipeline.ingest.readers import empty_frame, read_extract_file
from cdp_pipeline.ingest.state import APPLIED, HELD, REJECTED, SUPERSEDED, Ledger, StateStore
from cdp_pipeline.quality.guards import evaluate_guards
from cdp_pipeline.quality.rules import (
    PARSE_ERRORS_COLUMN,
    RAW_COLUMN,
    empty_quarantine,
    judged_row_by_row,
    split_valid_rows,
)


@dataclass
class FileReport:
    file: str
    drop_date: date
    rows_read: int
    accepted: int
    quarantined: int
    duplicates: int
    status: str  # applied / held / rejected / superseded (a snapshot older than the one in force)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    deleted: int = 0  # snapshots: records of the snapshot in force absent from this one
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.rows_read != self.accepted + self.quarantined + self.duplicates:
            raise AssertionError(
                f"{self.file}: row accounting does not balance: read {self.rows_read} != accepted "
                f"{self.accepted} + quarantined {self.quarantined} + duplicates {self.duplicates}"
            )

    def to_dict(self) -> dict:
        return {**asdict(self), "drop_date": self.drop_date.isoformat()}


@dataclass
class IngestOutcome:
    extract: Extract
    table: pd.DataFrame
    quarantine: pd.DataFrame
    file_reports: list[FileReport]
    held: list[dict]  # {"file", "drop_date", "reason"}: waiting for operator acceptance
    deleted_records: int
    new_rows: int
    ledger: Ledger
    store: StateStore
    changed: bool

    def commit(self) -> None:
        """Persists table and ledger atomically; a run that read nothing new writes nothing."""
        if self.changed:
            self.store.commit(self.extract.name, self.table, self.ledger)


def table_columns(extract: Extract) -> list[str]:
    """Columns of the accumulated table: canonical and bookkeeping, not the reader's internals."""
    internal = {RAW_COLUMN, PARSE_ERRORS_COLUMN}
    return [c for c in empty_frame(extract).columns if c not in internal]


HASH_ROWS = 1_000_000
"""Rows hashed at a time: pandas hashes text through one Python string per value, so hashing a
whole table at once would hold tens of millions of them."""


def key_hashes(frame: pd.DataFrame, key: tuple[str, ...]) -> np.ndarray:
    """64-bit hash per natural key: cheap set operations over tens of millions of rows."""
    keys = frame[list(key)]
    pieces = [
        pd.util.hash_pandas_object(keys.iloc[first : first + HASH_ROWS], index=False).to_numpy()
        for first in range(0, len(keys), HASH_ROWS)  # per million rows
    ]
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint64)


def _kept_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``frame[keep]``, copied a column at a time while each source column is released: the
    working memory is one column, not a second table. ``frame`` is emptied."""
    index = frame.index[keep]
    kept = {name: frame.pop(name).array[keep] for name in list(frame.columns)}  # per column
    return pd.DataFrame(kept, index=index)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pending_files(extract: Extract, landing_dir: Path, ledger: Ledger, accept: frozenset[str]):
    """(path, rel, drop date, sha, stat) of files never processed, changed since, or accepted
    after a hold. Size and mtime short-cut the hash of files already processed unchanged."""
    for drop in complete_drops(landing_dir, extract.source):
        for path in extract_files(extract, drop):
            rel = path.relative_to(landing_dir).as_posix()
            stat = path.stat()
            entry = ledger.files.get(rel)
            accepted_now = entry is not None and entry["status"] == HELD and rel in accept
            if entry and not accepted_now and (entry.get("size"), entry.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns):
                continue
            sha = file_sha256(path)
            if entry and not accepted_now and entry["sha256"] == sha:
                continue
            yield path, rel, drop.date, sha, {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class KeySet:
    """Sorted 64-bit key hashes: membership by binary search, so a growing set of tens of
    millions of keys is never re-hashed per file (``np.isin`` would)."""

    def __init__(self, hashes: np.ndarray):
        self.sorted = np.sort(np.asarray(hashes, dtype=np.uint64), kind="stable")

    def __len__(self) -> int:
        return len(self.sorted)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        if not len(self.sorted):
            return np.zeros(len(hashes), dtype=bool)
        position = np.minimum(np.searchsorted(self.sorted, hashes), len(self.sorted) - 1)
        return self.sorted[position] == hashes

    def add(self, hashes: np.ndarray) -> None:
        self.sorted = np.sort(np.concatenate([self.sorted, hashes]), kind="stable")


def _dedupe(
    accepted: pd.DataFrame, key: tuple[str, ...], seen: KeySet | None
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(unique rows, their key hashes, rows dropped): a row whose key repeats an earlier row of
    the file or (increments) of the table is dropped; ``accepted`` is emptied when one is."""
    hashes = key_hashes(accepted, key)
    repeat = pd.Series(hashes).duplicated().to_numpy(copy=True)
    if seen is not None:
        repeat |= seen.contains(hashes)
    if not repeat.any():  # the usual case: no copy of the rows
        return accepted, hashes, 0
    return _kept_rows(accepted, ~repeat), hashes[~repeat], int(np.count_nonzero(repeat))


def ingest_extract(
    extract: Extract,
    landing_dir: Path,
    store: StateStore,
    accept: frozenset[str] = frozenset(),
    max_quarantine_share: float = 0.5,
    max_snapshot_loss: float = 0.2,
) -> IngestOutcome:
    """Reads every pending complete drop of ``extract`` in date order; see the module docstring."""
    landing_dir = Path(landing_dir)
    previous, ledger = store.load(extract.name)
    columns = table_columns(extract)
    start = previous if previous is not None else empty_frame(extract)[columns]
    snapshot = extract.kind is Kind.SNAPSHOT
    in_force = start
    start_keys = KeySet(key_hashes(start, extract.natural_key))
    in_force_keys = KeySet(start_keys.sorted)
    new_rows = 0
    new_parts: list[pd.DataFrame] = []
    quarantine_parts: list[pd.DataFrame] = []
    reports: list[FileReport] = []
    changed = False

    in_force_date = _applied_snapshot_date(ledger) if snapshot else None
    screen = partial(split_valid_rows, extract) if judged_row_by_row(extract) else None
    pending = list(_pending_files(extract, landing_dir, ledger, accept))
    if snapshot:
        # Only the newest acceptable snapshot matters: trying the newest first, the older
        # pending ones become "older than the snapshot in force" and are not even read (a full
        # rebuild reads one CRM export, not one per day). A held newest one falls back to the
        # next newest, and stays held for the operator.
        pending.sort(key=lambda item: item[2], reverse=True)
    for path, rel, drop_date, sha, stat in pending:
        changed = True
        if in_force_date is not None and drop_date < in_force_date:
            message = f"older than the snapshot in force ({in_force_date.isoformat()}): a late delivery, not applied"
            report = FileReport(rel, drop_date, 0, 0, 0, 0, SUPERSEDED, message, sha256=sha)
            reports.append(report)
            ledger.files[rel] = {**report.to_dict(), **stat}
            continue
        read = read_extract_file(path, extract, landing_dir, drop_date, screen=screen)
        if read.error:
            report = FileReport(rel, drop_date, 0, 0, 0, 0, REJECTED, read.error, read.warnings, sha256=sha)
            reports.append(report)
            ledger.files[rel] = {**report.to_dict(), **stat}
            continue
        rows_read, warnings = read.rows_read, read.warnings
        if screen is None:
            accepted, quarantined = split_valid_rows(extract, read.frame)
        else:
            accepted, quarantined = read.frame, read.set_aside
        del read  # the file's raw text goes before its rows are deduplicated
        unique, hashes, duplicates = _dedupe(accepted, extract.natural_key, None if snapshot else in_force_keys)
        del accepted
        lost = int(np.count_nonzero(~KeySet(hashes).contains(in_force_keys.sorted))) if snapshot else 0
        verdict = evaluate_guards(
            rows_read,
            len(quarantined),
            max_quarantine_share,
            previous_records=len(in_force_keys) if snapshot else None,
            lost_records=lost,
            max_snapshot_loss=max_snapshot_loss,
        )
        held = verdict.held and rel not in accept
        report = FileReport(
            rel,
            drop_date,
            rows_read,
            len(unique),
            len(quarantined),
            duplicates,
            HELD if held else APPLIED,
            verdict.message if held else None,
            warnings,
            deleted=0 if held else lost,
            sha256=sha,
        )
        reports.append(report)
        ledger.files[rel] = {**report.to_dict(), **stat}
        if held:
            continue
        if len(quarantined):
            quarantine_parts.append(quarantined)
        unique = unique[columns]
        if snapshot:
            _supersede_older_holds(ledger, drop_date)
            in_force, in_force_keys, in_force_date = unique, KeySet(hashes), drop_date
        elif len(unique):
            new_parts.append(unique)
            new_rows += len(unique)
            in_force_keys.add(hashes)

    table = in_force if snapshot else _appended(start, new_parts)
    deleted = int(np.count_nonzero(~in_force_keys.contains(start_keys.sorted))) if snapshot else 0
    if snapshot:
        new_rows = int(np.count_nonzero(~start_keys.contains(in_force_keys.sorted)))
    held_files = [
        {"file": rel, "drop_date": entry["drop_date"], "reason": entry["error"]}
        for rel, entry in sorted(ledger.held().items())
    ]
    quarantine = pd.concat(quarantine_parts, ignore_index=True) if quarantine_parts else empty_quarantine()
    return IngestOutcome(
        extract, table.reset_index(drop=True), quarantine, sorted(reports, key=lambda r: (r.drop_date, r.file)),
        held_files, deleted, new_rows, ledger, store, changed
    )


def _appended(start: pd.DataFrame, new_parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The table with the new rows after it; a lone piece is not copied (a first build)."""
    pieces = [piece for piece in (start, *new_parts) if len(piece)] or [start]
    return pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)


def _applied_snapshot_date(ledger: Ledger) -> date | None:
    """Drop date of the snapshot in force: the newest applied one."""
    dates = [date.fromisoformat(e["drop_date"]) for e in ledger.files.values() if e["status"] == APPLIED]
    return max(dates, default=None)


def _supersede_older_holds(ledger: Ledger, applied_date: date) -> None:
    """A held snapshot older than one just applied can no longer be accepted: it is history."""
    for entry in ledger.held().values():
        if date.fromisoformat(entry["drop_date"]) < applied_date:
            entry["status"] = SUPERSEDED
