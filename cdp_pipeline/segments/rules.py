"""A small, safe rule language for segment definitions.

Marketers write rules as YAML data, never as code: the parser turns that data into a tree of
frozen dataclasses over a whitelisted set of columns, and the evaluator walks the tree with
vectorised pandas operations. Nothing a user writes is ever handed to ``eval``,
``DataFrame.query`` or SQL, so a value such as ``"'; DROP TABLE profiles"`` is only ever a
string compared with a column.

Grammar (each node is a YAML mapping)::

    {all: [node, ...]}                       every part holds
    {any: [node, ...]}                       at least one part holds
    {not: node}                              the part does not hold
    {column: c, op: "=" | "!=" | "<" | "<=" | ">" | ">=", value: v}
    {column: c, op: in | not in, value: [v, ...]}
    {column: c, op: between, value: [low, high]}     inclusive
    {column: c, op: is null | is not null}

Date columns take ``reference_date``, ``reference_date - 180 days`` (or ``+``, ``weeks``) or an
ISO date ``2026-01-31``; ``reference_date`` is midnight UTC of the run's reference date.

Missing values follow SQL's three-valued logic, which analysts already know: a comparison with
a missing value is unknown, ``not`` of unknown is unknown, and a person whose rule ends unknown
is not a member.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Union

import pandas as pd

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,50}$")
CATEGORY_COLUMN_PREFIX = "viewed_category_"
_CATEGORY_COLUMN = re.compile(r"^viewed_category_[a-z0-9_]{1,40}$")
_RELATIVE_DATE = re.compile(
    r"^\s*reference_date\s*(?:([+-])\s*(\d{1,5})\s*(days?|weeks?))?\s*$", re.IGNORECASE
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Kind(str, Enum):
    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


# The columns a rule may name: profile, score, send-time and behaviour feature columns.
# ``viewed_category_<category>`` booleans are allowed too (one per store category).
RULE_COLUMNS: dict[str, Kind] = {
    # profiles
    "first_name": Kind.TEXT,
    "city": Kind.TEXT,
    "postal_code": Kind.TEXT,
    "country": Kind.TEXT,
    "timezone": Kind.TEXT,
    "is_customer": Kind.BOOLEAN,
    "total_spent": Kind.NUMBER,
    "last_activity_at": Kind.TIMESTAMP,
    "email_consent": Kind.TEXT,
    "consent_updated_at": Kind.TIMESTAMP,
    "sendable": Kind.BOOLEAN,
    # engagement_scores
    "score": Kind.NUMBER,
    "tier": Kind.TEXT,
    # send_times
    "best_hour_utc": Kind.NUMBER,
    "best_local_hour": Kind.NUMBER,
    # behaviour features (segments.behaviour)
    "webinars_registered": Kind.NUMBER,
    "webinars_attended": Kind.NUMBER,
    "webinars_missed": Kind.NUMBER,
    "orders": Kind.NUMBER,
    "last_order_at": Kind.TIMESTAMP,
    "last_cart_activity_at": Kind.TIMESTAMP,
    "cart_abandoned": Kind.BOOLEAN,
    "categories_viewed_90d": Kind.NUMBER,
    "categories_browsed": Kind.NUMBER,
    "categories_bought": Kind.NUMBER,
    "average_order_value": Kind.NUMBER,
    "aov_percentile": Kind.NUMBER,
    "web_sessions_30d": Kind.NUMBER,
    "days_to_birthday": Kind.NUMBER,
    "preferred_channel": Kind.TEXT,
    "has_phone": Kind.BOOLEAN,
    "lapsed": Kind.BOOLEAN,
}

_COMPARISONS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OP_ALIASES = {
    "==": "=",
    "<>": "!=",
    "is null": "is_null",
    "is_null": "is_null",
    "is not null": "not_null",
    "not null": "not_null",
    "not_null": "not_null",
    "not in": "not_in",
    "not_in": "not_in",
}
_OPS_BY_KIND = {
    Kind.NUMBER: {*_COMPARISONS, "in", "not_in", "between"},
    Kind.TIMESTAMP: {*_COMPARISONS, "between"},
    Kind.TEXT: {"=", "!=", "in", "not_in"},
    Kind.BOOLEAN: {"=", "!="},
}
_NULL_OPS = {"is_null", "not_null"}


class RuleError(ValueError):
    """A definition that cannot be accepted; the message names the segment and the part."""

    def __init__(self, segment: str, where: str, problem: str):
        self.segment, self.where, self.problem = segment, where, problem
        super().__init__(f"segment {segment!r}, {where}: {problem}")


@dataclass(frozen=True)
class RelativeDate:
    """``reference_date + days`` (days may be negative), resolved at evaluation time."""

    days: int


Value = Union[float, int, str, bool, pd.Timestamp, RelativeDate]


@dataclass(frozen=True)
class Compare:
    column: str
    op: str  # one of _COMPARISONS
    value: Value


@dataclass(frozen=True)
class InSet:
    column: str
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    column: str
    low: Value
    high: Value


@dataclass(frozen=True)
class IsNull:
    column: str
    negated: bool  # True for "is not null"


@dataclass(frozen=True)
class AllOf:
    parts: tuple["Rule", ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple["Rule", ...]


@dataclass(frozen=True)
class Not:
    part: "Rule"


Rule = Union[Compare, InSet, Between, IsNull, AllOf, AnyOf, Not]


def is_valid_slug(slug: object) -> bool:
    """Slugs become table names (``segment_<slug>``), so only this closed alphabet is allowed."""
    return isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug) is not None


def column_kind(column: str) -> Kind | None:
    """The kind of a whitelisted column, or None when rules may not use it."""
    if column in RULE_COLUMNS:
        return RULE_COLUMNS[column]
    if _CATEGORY_COLUMN.fullmatch(column):
        return Kind.BOOLEAN
    return None


def parse_rule(segment: str, raw: object, where: str = "rule") -> Rule:
    """Parses and validates one rule tree; raises :class:`RuleError` naming the bad part."""
    if not isinstance(raw, Mapping):
        raise RuleError(segment, where, f"expected a mapping, got {type(raw).__name__}")
    keys = set(raw)
    for combinator, node_type in (("all", AllOf), ("any", AnyOf)):
        if combinator in keys:
            _only_keys(segment, where, keys, {combinator})
            parts = raw[combinator]
            if not isinstance(parts, list) or not parts:
                raise RuleError(segment, f"{where}.{combinator}", "expected a non-empty list")
            return node_type(
                tuple(
                    parse_rule(segment, p, f"{where}.{combinator}[{i}]")
                    for i, p in enumerate(parts)
                )
            )
    if "not" in keys:
        _only_keys(segment, where, keys, {"not"})
        return Not(parse_rule(segment, raw["not"], f"{where}.not"))
    if "column" in keys:
        _only_keys(segment, where, keys, {"column", "op", "value"})
        return _parse_condition(segment, raw, where)
    raise RuleError(
        segment, where, f"expected one of all / any / not / column, got {sorted(map(str, keys))}"
    )


def _only_keys(segment: str, where: str, keys: set, allowed: set) -> None:
    extra = keys - allowed
    if extra:
        raise RuleError(segment, where, f"unexpected key(s) {sorted(map(str, extra))}")


def _parse_condition(segment: str, raw: Mapping, where: str) -> Rule:
    column = raw["column"]
    kind = column_kind(column) if isinstance(column, str) else None
    if kind is None:
        raise RuleError(segment, f"{where}.column", f"unknown column {column!r}")
    op_raw = raw.get("op")
    if not isinstance(op_raw, str):
        raise RuleError(segment, f"{where}.op", f"missing or invalid operator {op_raw!r}")
    op = " ".join(op_raw.lower().split())
    op = _OP_ALIASES.get(op, op)
    if op in _NULL_OPS:
        if "value" in raw:
            raise RuleError(segment, f"{where}.value", f"{op_raw!r} takes no value")
        return IsNull(column, negated=op == "not_null")
    if op not in _OPS_BY_KIND[kind]:
        raise RuleError(
            segment,
            f"{where}.op",
            f"operator {op_raw!r} is not allowed on {kind.value} column {column!r} "
            f"(allowed: {sorted(_OPS_BY_KIND[kind] | _NULL_OPS)})",
        )
    if "value" not in raw:
        raise RuleError(segment, f"{where}.value", "missing value")
    value, vwhere = raw["value"], f"{where}.value"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(segment, vwhere, f"{op_raw!r} needs a non-empty list")
        values = tuple(
            _parse_value(segment, f"{vwhere}[{i}]", kind, v) for i, v in enumerate(value)
        )
        return InSet(column, values, negated=op == "not_in")
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(segment, vwhere, "between needs a list [low, high]")
        low = _parse_value(segment, f"{vwhere}[0]", kind, value[0])
        high = _parse_value(segment, f"{vwhere}[1]", kind, value[1])
        if kind is Kind.NUMBER and low > high:
            raise RuleError(segment, vwhere, f"low {low!r} is greater than high {high!r}")
        return Between(column, low, high)
    return Compare(column, op, _parse_value(segment, vwhere, kind, value))


def _parse_value(segment: str, where: str, kind: Kind, value: object) -> Value:
    """Checks a literal against the column's kind; strings stay inert data."""
    if kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleError(segment, where, f"expected a number, got {value!r}")
        return value
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise RuleError(segment, where, f"expected true or false, got {value!r}")
        return value
    if kind is Kind.TEXT:
        if not isinstance(value, str):
            raise RuleError(segment, where, f"expected text, got {value!r}")
        return value
    if isinstance(value, date):  # YAML turns an unquoted 2026-01-31 into a date
        return pd.Timestamp(value).tz_localize("UTC")
    if isinstance(value, str):
        match = _RELATIVE_DATE.fullmatch(value)
        if match:
            sign, amount, unit = match.groups()
            days = 0 if amount is None else int(amount) * (7 if unit.lower().startswith("w") else 1)
            return RelativeDate(-days if sign == "-" else days)
        if _ISO_DATE.fullmatch(value.strip()):
            try:
                return pd.Timestamp(value.strip()).tz_localize("UTC")
            except ValueError as exc:
                raise RuleError(segment, where, f"invalid date {value!r}") from exc
    raise RuleError(
        segment,
        where,
        f"expected a date such as 'reference_date - 180 days' or '2026-01-31', got {value!r}",
    )


def rule_columns(rule: Rule) -> set[str]:
    """Every column a rule reads, so callers can check the frame provides them."""
    if isinstance(rule, (AllOf, AnyOf)):
        return set().union(*(rule_columns(p) for p in rule.parts))
    if isinstance(rule, Not):
        return rule_columns(rule.part)
    return {rule.column}


def evaluate(rule: Rule, frame: pd.DataFrame, reference_date: date) -> pd.Series:
    """A boolean mask over ``frame``'s rows: True only where the rule definitely holds."""
    reference = pd.Timestamp(reference_date).normalize()
    reference = reference.tz_localize("UTC") if reference.tzinfo is None else reference
    return _evaluate(rule, frame, reference).fillna(False).astype(bool)


def _evaluate(rule: Rule, frame: pd.DataFrame, reference: pd.Timestamp) -> pd.Series:
    if isinstance(rule, AllOf):
        result = _evaluate(rule.parts[0], frame, reference)
        for part in rule.parts[1:]:
            result = result & _evaluate(part, frame, reference)
        return result
    if isinstance(rule, AnyOf):
        result = _evaluate(rule.parts[0], frame, reference)
        for part in rule.parts[1:]:
            result = result | _evaluate(part, frame, reference)
        return result
    if isinstance(rule, Not):
        return ~_evaluate(rule.part, frame, reference)
    column = _column(frame, rule.column)
    if isinstance(rule, IsNull):
        missing = column.isna()
        return (~missing if rule.negated else missing).astype("boolean")
    if isinstance(rule, Compare):
        result = _COMPARISONS[rule.op](column, _resolve(rule.value, reference))
    elif isinstance(rule, Between):
        low, high = _resolve(rule.low, reference), _resolve(rule.high, reference)
        result = (column >= low) & (column <= high)
    else:  # InSet
        result = column.isin([_resolve(v, reference) for v in rule.values])
        result = ~result if rule.negated else result
    return pd.Series(result, index=frame.index).astype("boolean").mask(column.isna())


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise KeyError(f"rule column {name!r} is not in the segment input frame")
    column = frame[name]
    if column_kind(name) is Kind.TIMESTAMP:
        return pd.to_datetime(column, utc=True)
    return column


def _resolve(value: Value, reference: pd.Timestamp):
    if isinstance(value, RelativeDate):
        return reference + pd.Timedelta(days=value.days)
    return value
