"""Row-level quality rules, declared as data: one list per extract.

A rule is a declaration (name, column, check kind, parameters) rather than code so that the
row quarantine here and the great-expectations suites (``quality/suites.py``) are built from
one definition of each rule. Every rule evaluates vectorised over a whole canonical frame.

Check kinds and their meaning (a row *fails* when):

* ``not_null``: the column is missing a value. A value that was present but could not be
  parsed is reported once, by the ``parsed`` rule, not again here.
* ``in_set``: the value is not in ``params["values"]`` (missing values pass: ``not_null``
  rules say when a value is required).
* ``regex``: the text does not match ``params["pattern"]`` (missing values pass).
* ``between``: the value is below ``min_value`` or above ``max_value`` (``strict_min`` /
  ``strict_max`` make that bound exclusive; missing values pass). Parameter names follow
  GX's ``ExpectColumnValuesToBeBetween``.
* ``parsed``: the reader could not parse the column's value (``_parse_errors`` names it).
  The column ``_raw`` stands for the whole line (a malformed JSON line).
* ``pair_le``: ``column`` is after ``params["other"]`` (either missing passes), e.g. a join
  time after the leave time, or a birth date after the drop's date (no wall clock).
* ``same_within_group``: the rows sharing ``params["by"]`` disagree on the column; the rows
  holding the group's majority value pass, and on a tie every row of the group fails.

Email format is deliberately not a reason to quarantine contacts, customers, orders or webinar
registrations: identity marks invalid addresses later and keeps the rest of the record. It is
one for an erasure request, whose only purpose is the address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import (
    CRM_CONTACTS,
    CRM_EMAIL_EVENTS,
    EMAIL_EVENT_TYPES,
    ERASURE_REQUESTS,
    FINANCIAL_STATUSES,
    STORE_CUSTOMERS,
    STORE_ORDERS,
    STORE_WEB_EVENTS,
    WEB_EVENT_TYPES,
    WEB_TRACK_EVENTS,
    WEBINAR_ATTENDEES,
    Extract,
    Type,
)
from cdp_pipeline.privacy import mask_series

PARSE_ERRORS_COLUMN = "_parse_errors"
RAW_COLUMN = "_raw"
PARSE_ERROR_SEPARATOR = ";"
REASON_SEPARATOR = "; "
QUARANTINE_COLUMNS = ("source", "file", "line", "reason", "drop_date", "raw")

# Loose on purpose: one @, something on both sides, a dot in the domain; stray spaces allowed.
EMAIL_REGEX = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"

CHECK_KINDS = ("not_null", "in_set", "regex", "between", "parsed", "pair_le", "same_within_group")


def parse_error_mask(frame: pd.DataFrame, column: str) -> pd.Series:
    """True where the reader recorded a parse failure for ``column`` in ``_parse_errors``."""
    if PARSE_ERRORS_COLUMN not in frame.columns:
        return pd.Series(False, index=frame.index)
    mask = pd.Series(False, index=frame.index)
    errors = frame[PARSE_ERRORS_COLUMN]
    present = errors.notna().to_numpy()
    if present.any():  # usually a handful of rows: match only those
        pattern = rf"(?:^|{PARSE_ERROR_SEPARATOR}){re.escape(column)}(?:{PARSE_ERROR_SEPARATOR}|$)"
        mask[present] = errors[present].astype("string").str.contains(pattern, regex=True).to_numpy(dtype=bool)
    return mask


@dataclass(frozen=True)
class Rule:
    """One row rule; ``failing(frame)`` is True on the rows that break it."""

    name: str
    column: str
    check: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if self.check not in CHECK_KINDS:
            raise ValueError(f"rule {self.name}: unknown check kind {self.check!r}")

    def failing(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean mask aligned on ``frame.index``: True where the row breaks this rule."""
        values = frame[self.column] if self.column in frame.columns else None
        if self.check == "parsed":
            mask = parse_error_mask(frame, self.column)
        elif values is None:
            raise KeyError(f"rule {self.name}: column {self.column!r} is not in the frame")
        elif self.check == "not_null":
            unparsed = parse_error_mask(frame, self.column) | parse_error_mask(frame, RAW_COLUMN)
            mask = values.isna() & ~unparsed
        elif self.check == "in_set":
            mask = values.notna() & ~values.isin(list(self.params["values"]))
        elif self.check == "regex":
            matched = values.astype("string").str.match(self.params["pattern"])
            mask = values.notna() & ~matched.fillna(True).astype(bool)
        elif self.check == "between":
            mask = _outside(values, self.params)
        elif self.check == "pair_le":
            other = frame[self.params["other"]]
            mask = (values > other).fillna(False)
        else:  # same_within_group
            mask = _minority_in_group(frame, self.column, list(self.params["by"]))
        return pd.Series(mask, index=frame.index).fillna(False).astype(bool)


def _outside(values: pd.Series, params: dict[str, Any]) -> pd.Series:
    low, high = params.get("min_value"), params.get("max_value")
    mask = pd.Series(False, index=values.index)
    if low is not None:
        mask |= (values <= low) if params.get("strict_min") else (values < low)
    if high is not None:
        mask |= (values >= high) if params.get("strict_max") else (values > high)
    return mask.fillna(False).astype(bool)


def _minority_in_group(frame: pd.DataFrame, column: str, by: list[str]) -> pd.Series:
    """Rows whose value is not their group's single most frequent value (all rows on a tie)."""
    keyed = frame[by + [column]].dropna()
    mask = pd.Series(False, index=frame.index)
    if keyed.empty:
        return mask
    groups = [keyed[b] for b in by]
    row_count = keyed.groupby(by + [column], sort=False, observed=True)[column].transform("size")
    is_top = row_count == row_count.groupby(groups, sort=False, observed=True).transform("max")
    top_values = keyed[column].where(is_top).groupby(groups, sort=False, observed=True).transform("nunique")
    mask.loc[keyed.index] = (~is_top | (top_values > 1)).to_numpy()
    return mask


def _not_null(column: str, why: str) -> Rule:
    return Rule(f"{column}_not_null", column, "not_null", description=f"{column} is required: {why}")


ROW_WELL_FORMED = Rule(
    "row_well_formed",
    RAW_COLUMN,
    "parsed",
    description="the row could be read as a whole: the header's number of fields, not truncated, "
    "one valid JSON object per line",
)


def _parsed(extract: Extract) -> list[Rule]:
    """Row shape, then one parse rule per typed column: bad values never silently become NA."""
    return [ROW_WELL_FORMED] + [
        Rule(
            f"{c.name}_parsed",
            c.name,
            "parsed",
            description=f"{c.header!r} must be a valid {c.type.value}",
        )
        for c in extract.columns
        if c.type is not Type.STRING
    ]


WEBINAR_RULES: list[Rule] = [
    _not_null("webinar_id", "part of the natural key"),
    _not_null("email", "part of the natural key (webinar id, email)"),
    _not_null("webinar_start", "registrations are placed in time by the webinar start"),
    *_parsed(WEBINAR_ATTENDEES),
    Rule(
        "time_in_session_in_range",
        "time_in_session_minutes",
        "between",
        {"min_value": 0, "max_value": 1440},
        "minutes in session lie within one day (0..1440)",
    ),
    Rule(
        "join_not_after_leave",
        "join_time",
        "pair_le",
        {"other": "leave_time"},
        "an attendee cannot join after leaving",
    ),
]

CRM_CONTACT_RULES: list[Rule] = [
    _not_null("record_id", "the natural key"),
    *_parsed(CRM_CONTACTS),
    Rule(
        "date_of_birth_after_1900",
        "date_of_birth",
        "between",
        {"min_value": pd.Timestamp("1900-01-01")},
        "birth dates before 1900 are placeholders, not people",
    ),
    Rule(
        "date_of_birth_not_after_drop",
        "date_of_birth",
        "pair_le",
        {"other": "_drop_date"},
        "nobody is born after the export that mentions them (the drop date is the reference)",
    ),
]

CRM_EMAIL_EVENT_RULES: list[Rule] = [
    _not_null("event_id", "the natural key"),
    _not_null("campaign_id", "events are attributed to a campaign"),
    _not_null("recipient", "an event nobody received cannot be attributed"),
    _not_null("event_type", "the event's meaning"),
    _not_null("event_time", "events are placed in time"),
    *_parsed(CRM_EMAIL_EVENTS),
    Rule(
        "event_type_in_set",
        "event_type",
        "in_set",
        {"values": EMAIL_EVENT_TYPES},
        "event type is one of " + ", ".join(EMAIL_EVENT_TYPES),
    ),
]

STORE_CUSTOMER_RULES: list[Rule] = [
    _not_null("customer_id", "the natural key"),
    *_parsed(STORE_CUSTOMERS),
]

STORE_ORDER_RULES: list[Rule] = [
    _not_null("order_id", "part of the natural key"),
    _not_null("lineitem_sku", "part of the natural key (order id, sku)"),
    _not_null("created_at", "orders are placed in time"),
    _not_null("financial_status", "decides whether the order counts as a purchase"),
    _not_null("total", "spend is summed from it"),
    _not_null("lineitem_quantity", "a line without a quantity is not a purchase"),
    _not_null("lineitem_price", "a line without a price is not a purchase"),
    *_parsed(STORE_ORDERS),
    Rule(
        "financial_status_in_set",
        "financial_status",
        "in_set",
        {"values": FINANCIAL_STATUSES},
        "financial status is one of " + ", ".join(FINANCIAL_STATUSES),
    ),
    Rule(
        "lineitem_quantity_in_range",
        "lineitem_quantity",
        "between",
        {"min_value": 1, "max_value": 1000, "strict_max": True},
        "a line holds at least 1 and fewer than 1000 items",
    ),
    Rule(
        "lineitem_price_not_negative",
        "lineitem_price",
        "between",
        {"min_value": 0},
        "prices are never negative",
    ),
    Rule("total_not_negative", "total", "between", {"min_value": 0}, "totals are never negative"),
    Rule(
        "order_lines_share_total",
        "total",
        "same_within_group",
        {"by": ("order_id",)},
        "every line of an order repeats the same order total; lines disagreeing with the "
        "majority are quarantined (all lines when there is no majority)",
    ),
]

STORE_WEB_EVENT_RULES: list[Rule] = [
    _not_null("message_id", "the natural key"),
    _not_null("type", "the event's meaning"),
    _not_null("timestamp", "events are placed in time"),
    *_parsed(STORE_WEB_EVENTS),
    Rule(
        "type_in_set",
        "type",
        "in_set",
        {"values": WEB_EVENT_TYPES},
        "type is one of " + ", ".join(WEB_EVENT_TYPES),
    ),
    Rule(
        "event_in_set",
        "event",
        "in_set",
        {"values": WEB_TRACK_EVENTS},
        "track events are one of " + ", ".join(WEB_TRACK_EVENTS),
    ),
    Rule("price_not_negative", "price", "between", {"min_value": 0}, "prices are never negative"),
]

ERASURE_REQUEST_RULES: list[Rule] = [
    _not_null("request_id", "the natural key"),
    _not_null("email", "the address to erase"),
    _not_null("requested_at", "requests are placed in time"),
    *_parsed(ERASURE_REQUESTS),
    Rule(
        "email_format",
        "email",
        "regex",
        {"pattern": EMAIL_REGEX},
        "an erasure request is only actionable with a well-formed address",
    ),
]

RULES_BY_EXTRACT: dict[str, list[Rule]] = {
    WEBINAR_ATTENDEES.name: WEBINAR_RULES,
    CRM_CONTACTS.name: CRM_CONTACT_RULES,
    CRM_EMAIL_EVENTS.name: CRM_EMAIL_EVENT_RULES,
    STORE_CUSTOMERS.name: STORE_CUSTOMER_RULES,
    STORE_ORDERS.name: STORE_ORDER_RULES,
    STORE_WEB_EVENTS.name: STORE_WEB_EVENT_RULES,
    ERASURE_REQUESTS.name: ERASURE_REQUEST_RULES,
}


def rules_for(extract: Extract) -> list[Rule]:
    """The row rules of an extract (every extract has a list, possibly short)."""
    return RULES_BY_EXTRACT[extract.name]


def evaluate_rules(rules: list[Rule], frame: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per rule, True where the row fails it: counts per rule come for free."""
    return pd.DataFrame({rule.name: rule.failing(frame) for rule in rules}, index=frame.index)


def failure_reasons(failures: pd.DataFrame) -> pd.Series:
    """Names of the failed rules per row, joined by '; ' (empty text for a clean row)."""
    joined = pd.Series("", index=failures.index, dtype="string")
    for name in failures.columns:  # one pass per rule, vectorised over rows
        joined = joined + np.where(failures[name].to_numpy(), name + REASON_SEPARATOR, "")
    return joined.str.removesuffix(REASON_SEPARATOR)


def quarantine_rows(extract: Extract, rejected: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Rows in the shape of the warehouse ``quarantine`` table, raw text masked."""
    raw = rejected[RAW_COLUMN] if RAW_COLUMN in rejected.columns else pd.Series(pd.NA, index=rejected.index)
    return pd.DataFrame(
        {
            "source": pd.Series(extract.name, index=rejected.index, dtype="string"),
            "file": rejected["_file"].astype("string"),
            "line": rejected["_line"].astype("Int64"),
            "reason": reasons.astype("string"),
            "drop_date": rejected["_drop_date"],
            "raw": mask_series(raw),
        },
        index=rejected.index,
    ).reset_index(drop=True)


def empty_quarantine() -> pd.DataFrame:
    """A zero-row frame of the ``quarantine`` table's columns and types."""
    return pd.DataFrame(
        {
            "source": pd.Series(dtype="string"),
            "file": pd.Series(dtype="string"),
            "line": pd.Series(dtype="Int64"),
            "reason": pd.Series(dtype="string"),
            "drop_date": pd.Series(dtype="datetime64[us]"),
            "raw": pd.Series(dtype="string"),
        }
    )


def split_valid_rows(extract: Extract, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accepted, quarantined): accepted keeps canonical + bookkeeping columns, quarantined the
    ``quarantine`` table's columns with every failed rule named in ``reason``."""
    failures = evaluate_rules(rules_for(extract), frame)
    bad = failures.any(axis=1).to_numpy()
    reasons = failure_reasons(failures[bad]) if bad.any() else pd.Series(dtype="string")
    quarantined = quarantine_rows(extract, frame[bad], reasons)
    internal = [c for c in (RAW_COLUMN, PARSE_ERRORS_COLUMN) if c in frame.columns]
    accepted = frame.drop(columns=internal)  # the raw text is not copied for the good rows
    return (accepted.loc[~bad] if bad.any() else accepted), quarantined


def judged_row_by_row(extract: Extract) -> bool:
    """Whether every rule judges a row on that row alone, so a file may be split block by block
    (``same_within_group`` compares the rows of a group, which may straddle blocks)."""
    return all(rule.check != "same_within_group" for rule in rules_for(extract))
