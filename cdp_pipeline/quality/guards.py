"""Guards against broken extracts: decide whether a file's content may be applied at all.

Row rules judge rows; guards judge a whole file. A snapshot that suddenly lost most of its
records is far more likely a truncated export than mass deletions, and applying it would delete
profiles; a file mostly quarantined is a changed format, not bad luck. Such files are *held*:
not applied until an operator accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_ROWS_FOR_SHARE = 20
"""A share of a handful of rows says nothing about a file's format: one bad erasure request
must not hold the good ones waiting in the same file."""


@dataclass(frozen=True)
class GuardVerdict:
    held: bool
    reasons: tuple[str, ...] = ()

    @property
    def message(self) -> str | None:
        return "; ".join(self.reasons) or None


def quarantine_share_reason(
    rows_read: int, quarantined: int, max_share: float, min_rows: int = MIN_ROWS_FOR_SHARE
) -> str | None:
    """A reason to hold when more than ``max_share`` of a file of ``min_rows`` or more was quarantined."""
    if rows_read < max(min_rows, 1) or quarantined / rows_read <= max_share:
        return None
    return f"{quarantined} of {rows_read} rows quarantined ({quarantined / rows_read:.0%} > {max_share:.0%} allowed)"


def snapshot_loss_reason(previous_records: int, lost_records: int, max_loss: float) -> str | None:
    """A reason to hold a snapshot that lost more than ``max_loss`` of the snapshot in force."""
    if previous_records == 0 or lost_records / previous_records <= max_loss:
        return None
    share = lost_records / previous_records
    return (
        f"snapshot would delete {lost_records} of {previous_records} records "
        f"({share:.0%} > {max_loss:.0%} allowed); previous snapshot kept in force"
    )


def evaluate_guards(
    rows_read: int,
    quarantined: int,
    max_quarantine_share: float,
    previous_records: int | None = None,
    lost_records: int = 0,
    max_snapshot_loss: float = 0.2,
) -> GuardVerdict:
    """Every guard's verdict on one file; ``previous_records`` is None for increments."""
    reasons = [quarantine_share_reason(rows_read, quarantined, max_quarantine_share)]
    if previous_records is not None:
        reasons.append(snapshot_loss_reason(previous_records, lost_records, max_snapshot_loss))
    found = tuple(r for r in reasons if r)
    return GuardVerdict(bool(found), found)
