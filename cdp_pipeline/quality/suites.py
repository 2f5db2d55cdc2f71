"""great-expectations 1.x suites, one per extract, derived from the row rules.

Every row rule of ``quality/rules.py`` whose check kind has a GX counterpart becomes one
expectation here, so a rule is defined once: the pandas mask quarantines the rows, and GX
reports the same rows (same count) in the validation a data engineer reads. Suite-level
expectations that are not row rules are added on top: the contract's columns exist with their
canonical types, the natural key is unique within a drop, a snapshot is not empty, email
columns look like addresses and values lie in plausible ranges.

Severity says what a failure means for the run (GX ``FailureSeverity``):

* ``critical``: the batch breaks the input contract (missing column, wrong type, empty
  snapshot); nothing downstream should build on it.
* ``warning``: rows break a row rule or repeat a key; they are quarantined or counted as
  duplicates and the rest of the file proceeds.
* ``info``: worth seeing, never a reason to drop a row (email format where identity marks
  invalid addresses later, implausible but possible values).

great_expectations is imported inside functions only: importing it costs 3-5 s.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import re
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import BOOKKEEPING_COLUMNS, Extract, Kind, Type
from cdp_pipeline.privacy import mask_email, mask_text
from cdp_pipeline.quality.rules import (
    EMAIL_REGEX,
    PARSE_ERROR_SEPARATOR,
    PARSE_ERRORS_COLUMN,
    RAW_COLUMN,
    Rule,
    parse_error_mask,
    rules_for,
)

if TYPE_CHECKING:
    import great_expectations as gx

CRITICAL, WARNING, INFO = "critical", "warning", "info"

# Columns holding one email address each: examples from them are masked as addresses.
EMAIL_COLUMNS = frozenset({"email", "email_key", "recipient", "form_email"})

MAX_EXAMPLES = 5

# Rows GX validates in one batch at most. Its pandas engine works on whole columns at once
# (row conditions, regex maps, copies), so its memory grows with the batch: a larger batch is
# validated in slices of at most about this many rows and the results merged (see
# validate_frame). On 3.36M web events GX added 996 MiB at once, 372 MiB in slices of
# 500,000 (550 MiB in slices of a million; 232 MiB in slices of 250,000, a fifth slower).
SLICE_ROWS = 500_000

# Canonical type -> the name GX's pandas ExpectColumnValuesToBeOfType compares with
# ``dtype.type``: StringDtype -> str, DatetimeTZDtype -> Timestamp (a naive datetime64 fails,
# which is the point), nullable boolean -> numpy bool, Int64 -> numpy int64.
GX_TYPE_NAMES = {
    Type.STRING: "str",
    Type.TIMESTAMP: "Timestamp",
    Type.DATE: "datetime64",
    Type.BOOLEAN: "bool",
    Type.INTEGER: "int64",
    Type.DECIMAL: "float64",
}

# Plausible ranges that are not row rules: values outside are possible but worth a look.
EARLIEST_PLAUSIBLE_TIMESTAMP = pd.Timestamp("1995-01-01", tz="UTC")  # before web shops and CRMs
PLAUSIBLE_MAXIMA = {
    "total": 1_000_000.0,  # one order
    "lineitem_price": 100_000.0,  # one item
    "price": 100_000.0,  # one product viewed or added
}


@dataclass(frozen=True)
class ExpectationFailure:
    """One failed expectation, safe to show: examples are masked, rows are named by file:line."""

    expectation: str
    columns: list[str]
    severity: str
    rule: str | None  # the row rule it mirrors, or None for a suite-level expectation
    description: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None  # share of all rows of the batch, in percent
    examples: list[Any] = field(default_factory=list)
    example_rows: list[str] = field(default_factory=list)  # "file:line"
    observed: str | None = None  # for table-level expectations (e.g. the missing columns)


@dataclass(frozen=True)
class SuiteOutcome:
    """The validation of one extract's batch, JSON-serialisable through :meth:`to_dict`."""

    extract: str
    success: bool  # no critical failure: the batch is usable (rows may still be quarantined)
    evaluated: int
    rows: int
    failed: list[ExpectationFailure]
    statistics: dict[str, Any]
    elapsed_seconds: float

    @property
    def max_severity(self) -> str | None:
        order = (CRITICAL, WARNING, INFO)
        found = {f.severity for f in self.failed}
        return next((s for s in order if s in found), None)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "max_severity": self.max_severity}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SuiteOutcome":
        """Inverse of :meth:`to_dict` (outcomes travel between assets as JSON metadata)."""
        fields = {k: v for k, v in data.items() if k != "max_severity"}
        fields["failed"] = [ExpectationFailure(**f) for f in data.get("failed", [])]
        return cls(**fields)


# ---------------------------------------------------------------- suite construction


def _rule_meta(rule: Rule) -> dict[str, Any]:
    return {"rule": rule.name, "column": rule.column, "description": rule.description}


def unparsed_flag(column: str) -> str:
    """Helper column validate_frame adds: True where ``column``'s value (or its whole line)
    could not be parsed. The not_null rules leave those rows to the parse rules, so GX must
    not count them as missing either."""
    return f"_unparsed__{column}"


def rule_expectation(rule: Rule, exclude_unparsed: bool = True):
    """The GX expectation computing exactly the rows ``rule.failing`` flags, or None when GX has
    no counterpart for the check kind (``same_within_group``).

    ``exclude_unparsed=False`` drops the not-null rules' row condition (see
    :func:`unparsed_flag`): on a batch without any parse error it changes nothing, and it costs
    a full-frame query per metric.
    """
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import PassThroughCondition

    common = {"meta": _rule_meta(rule), "severity": WARNING}
    if rule.check == "not_null":
        if exclude_unparsed:
            common["row_condition"] = PassThroughCondition(
                pass_through_filter=f"~{unparsed_flag(rule.column)}"
            )
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **common)
    if rule.check == "parsed":
        pattern = re.escape(PARSE_ERROR_SEPARATOR)
        regex = f"(?:^|{pattern}){re.escape(rule.column)}(?:{pattern}|$)"
        return gxe.ExpectColumnValuesToNotMatchRegex(
            column=PARSE_ERRORS_COLUMN, regex=regex, **common
        )
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(
            column=rule.column, value_set=list(rule.params["values"]), **common
        )
    if rule.check == "regex":
        # The rule uses str.match (anchored at the start), GX str.contains: anchor it.
        return gxe.ExpectColumnValuesToMatchRegex(
            column=rule.column, regex=f"^(?:{rule.params['pattern']})", **common
        )
    if rule.check == "between":
        bounds = {k: rule.params.get(k) for k in ("min_value", "max_value")}
        strict = {k: bool(rule.params.get(k, False)) for k in ("strict_min", "strict_max")}
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, **bounds, **strict, **common)
    if rule.check == "pair_le":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.params["other"],
            column_B=rule.column,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            **common,
        )
    return None


def _contract_columns(extract: Extract) -> list[str]:
    extra = ["email_key"] if "email_key" in extract.natural_key else []
    return [*extract.column_names, *extra, *BOOKKEEPING_COLUMNS]


def contract_expectations(extract: Extract) -> list:
    """Structure of the batch: columns present, canonical types, a non-empty snapshot."""
    import great_expectations.expectations as gxe

    columns = _contract_columns(extract)
    expectations = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=columns,
            exact_match=False,
            severity=CRITICAL,
            meta={"description": "every column of the input contract is present"},
        ),
        gxe.ExpectTableRowCountToBeBetween(
            min_value=1,
            # An empty snapshot would delete every record; a quiet increment is normal.
            severity=CRITICAL if extract.kind is Kind.SNAPSHOT else INFO,
            meta={"description": "the batch holds at least one row"},
        ),
    ]
    typed = [(c.name, GX_TYPE_NAMES[c.type]) for c in extract.columns]
    typed += [("email_key", "str")] if "email_key" in columns else []
    expectations += [
        gxe.ExpectColumnValuesToBeOfType(
            column=name,
            type_=type_name,
            severity=CRITICAL,
            meta={"description": f"{name} has the canonical type ({type_name})"},
        )
        for name, type_name in typed
    ]
    return expectations


def _key_columns(extract: Extract) -> list[str]:
    """What a record is unique by within a drop: the uniqueness expectation's and the slices'."""
    return [*extract.natural_key, "_drop_date"]


def key_expectation(extract: Extract):
    """The natural key is unique within a drop (repeats across drops are expected)."""
    import great_expectations.expectations as gxe

    return gxe.ExpectCompoundColumnsToBeUnique(
        column_list=_key_columns(extract),
        # A row missing part of its key is the not-null rules' finding, not a repeat.
        ignore_row_if="any_value_is_missing",
        severity=WARNING,
        meta={
            "description": "natural key ("
            + ", ".join(extract.natural_key)
            + ") is unique within a drop; every copy of a repeated key is counted"
        },
    )


def informative_expectations(extract: Extract, rules: list[Rule]) -> list:
    """Email format where no rule quarantines on it, plausible timestamps and amounts."""
    import great_expectations.expectations as gxe

    regex_ruled = {r.column for r in rules if r.check == "regex"}
    names = set(extract.column_names)
    expectations = [
        gxe.ExpectColumnValuesToMatchRegex(
            column=column,
            regex=EMAIL_REGEX,
            severity=INFO,
            meta={
                "description": f"{column} looks like an email address (not quarantined: "
                "identity marks invalid addresses)"
            },
        )
        for column in sorted((EMAIL_COLUMNS & names) - regex_ruled)
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(
            column=c.name,
            min_value=EARLIEST_PLAUSIBLE_TIMESTAMP,
            severity=INFO,
            meta={"description": f"{c.name} is not before {EARLIEST_PLAUSIBLE_TIMESTAMP:%Y}"},
        )
        for c in extract.columns
        if c.type is Type.TIMESTAMP
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(
            column=column,
            max_value=maximum,
            severity=INFO,
            meta={"description": f"{column} is at most {maximum:,.0f}"},
        )
        for column, maximum in PLAUSIBLE_MAXIMA.items()
        if column in names
    ]
    return expectations


def build_suite(extract: Extract, exclude_unparsed: bool = True) -> "gx.ExpectationSuite":
    """The extract's suite: contract, mirrored row rules, key uniqueness, informative checks.

    ``exclude_unparsed``: see :func:`rule_expectation` (False only for batches without parse
    errors)."""
    import great_expectations as gx

    _context()  # GX suites need an active context to exist
    rules = rules_for(extract)
    suite = gx.ExpectationSuite(
        name=f"{extract.name}_suite",
        meta={
            "extract": extract.name,
            "rules_without_gx_counterpart": [r.name for r in rules if rule_expectation(r) is None],
        },
    )
    mirrored = [rule_expectation(r, exclude_unparsed) for r in rules]
    mirrored = [e for e in mirrored if e is not None]
    for expectation in [
        *contract_expectations(extract),
        *mirrored,
        key_expectation(extract),
        *informative_expectations(extract, rules),
    ]:
        suite.add_expectation(expectation)
    return suite


# ---------------------------------------------------------------- validation


@functools.cache
def _context():
    """One ephemeral context per process (no files, no analytics, no batch fingerprints), reused
    by every suite and validation: building one costs about a second."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every batch under this many bytes with pandas' hash_pandas_object, twice
    # per validation (2.4 s for 1.26M web events), for a batch marker nothing here reads.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


DATA_SOURCE = "cdp_frames"


@contextmanager
def _batch_definition():
    """A batch definition for one validation. Its data source goes after: the source's
    execution engine keeps the last batch and every metric it computed, which for an event
    extract at a million persons is a copy of the whole table."""
    context = _context()
    asset = context.data_sources.add_pandas(DATA_SOURCE).add_dataframe_asset("frame")
    try:
        yield asset.add_batch_definition_whole_dataframe("whole_frame")
    finally:
        context.data_sources.delete(DATA_SOURCE)


_SUITES: dict[tuple[str, bool, bool], Any] = {}  # built once per extract, variant and process
_VALIDATION_LOCK = threading.Lock()  # the GX context is not safe to share between threads
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": MAX_EXAMPLES,
    "return_unexpected_index_query": False,
}


def _table_level(suite: "gx.ExpectationSuite") -> "gx.ExpectationSuite":
    """The suite's table-level expectations (columns present, row count): a batch validated in
    slices is judged on them as a whole, since a slice's row count says nothing of the batch's."""
    import great_expectations as gx
    from great_expectations.core.metric_domain_types import MetricDomainTypes

    return gx.ExpectationSuite(
        name=f"{suite.name}_table_level",
        expectations=[
            e.configuration for e in suite.expectations if e.domain_type is MetricDomainTypes.TABLE
        ],
    )


def _suite(extract: Extract, has_parse_errors: bool, table_level: bool = False):
    """The extract's suite for the variant (see :func:`build_suite`), or its table-level part."""
    key = (extract.name, has_parse_errors, table_level)
    if key not in _SUITES:
        _SUITES[key] = (
            _table_level(_suite(extract, has_parse_errors))
            if table_level
            else build_suite(extract, exclude_unparsed=has_parse_errors)
        )
    return _SUITES[key]


def _prepare(extract: Extract, frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The frame as the suite expects it, and whether it holds any parse error.

    Only the contract's columns and ``_parse_errors`` are kept: row conditions copy every
    column of the batch, and the raw line is the widest of all. A frame without
    ``_parse_errors`` (the accepted rows, a hand-made frame) gets an all-NA one so the parse
    rules pass rather than err; a frame with parse errors gets the :func:`unparsed_flag`
    columns, computed by the rules' own ``parse_error_mask``.
    """
    wanted = [*_contract_columns(extract), PARSE_ERRORS_COLUMN]
    prepared = frame[[c for c in wanted if c in frame.columns]]
    if not prepared.index.is_unique:  # example rows are looked up by index label
        prepared = prepared.reset_index(drop=True)
    if PARSE_ERRORS_COLUMN not in prepared.columns:
        empty = pd.Series(pd.NA, index=prepared.index, dtype="string")
        return prepared.assign(**{PARSE_ERRORS_COLUMN: empty}), False
    if not prepared[PARSE_ERRORS_COLUMN].notna().any():
        return prepared, False
    line_broken = parse_error_mask(prepared, RAW_COLUMN)
    flags = {
        unparsed_flag(r.column): parse_error_mask(prepared, r.column) | line_broken
        for r in rules_for(extract)
        if r.check == "not_null"
    }
    return prepared.assign(**flags), True


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> JSON-friendly Python values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _mask(value: Any, column: str | None) -> Any:
    """An example value safe to show: text masked (addresses as addresses), the rest as is."""
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, str):
        return mask_email(value) if column in EMAIL_COLUMNS else mask_text(value)
    return _plain(value)


def _examples(values: list[Any], columns: list[str]) -> list[Any]:
    """Masked example values; a pair expectation's tuples become {column: value} dicts."""
    shown = []
    for value in values[:MAX_EXAMPLES]:  # a handful of examples, never the data
        if isinstance(value, (tuple, list)) and len(value) == len(columns):
            value = dict(zip(columns, value))
        masked = _mask(value, columns[0] if len(columns) == 1 else None)
        if masked is not None:
            shown.append(masked)
    return shown


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports an error either flat or per metric (e.g. a column that does not exist)."""
    candidates = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(c.get("exception_message"))
        for c in candidates
        if isinstance(c, dict) and c.get("raised_exception")
    ]
    return messages[0] if messages else None


def _where(frame: pd.DataFrame, labels: list[Any]) -> list[str]:
    """``file:line`` of the example rows, so they can be found in the landing file.

    Looked up here from GX's index labels: asking GX for index columns makes it build them
    row by row for every unexpected row, not just the examples."""
    if not labels or not {"_file", "_line"} <= set(frame.columns):
        return []
    rows = frame.loc[labels[:MAX_EXAMPLES], ["_file", "_line"]]
    return [f"{f}:{_plain(n)}" for f, n in zip(rows["_file"], rows["_line"])]


def _failure(result, frame: pd.DataFrame) -> ExpectationFailure:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
    meta = config.meta or {}
    detail = result.result or {}
    examples = _examples(list(detail.get("partial_unexpected_list") or []), columns)
    example_rows = _where(frame, list(detail.get("partial_unexpected_index_list") or []))
    rows = len(frame)
    unexpected = detail.get("unexpected_count")
    observed = _plain(detail.get("observed_value"))
    missing = (detail.get("details") or {}).get("mismatched", {}).get("missing")
    if missing:
        observed = "missing columns: " + ", ".join(missing)
    error = _exception_message(result.exception_info or {})
    if error:  # the only free text here: GX's message may quote a value
        observed = mask_text(error)
    severity = getattr(config, "severity", None)
    return ExpectationFailure(
        expectation=config.type,
        columns=columns,
        severity=str(getattr(severity, "value", severity) or CRITICAL),
        rule=meta.get("rule"),
        description=meta.get("description", ""),
        unexpected_count=None if unexpected is None else int(unexpected),
        unexpected_percent=(
            None if unexpected is None or rows == 0 else round(100.0 * unexpected / rows, 4)
        ),
        examples=examples,
        example_rows=example_rows,
        observed=None if observed is None else str(observed),
    )


def _validate(suite: "gx.ExpectationSuite", frame: pd.DataFrame) -> list:
    """GX's result of every expectation of ``suite`` on ``frame``, validated as a batch of its
    own (see :func:`_batch_definition`)."""
    with _batch_definition() as batch_definition:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format=RESULT_FORMAT).results


def _slices(frame: pd.DataFrame, key: list[str]) -> Iterator[np.ndarray]:
    """The positions of each slice's rows, in frame order.

    ``ceil(rows / SLICE_ROWS)`` slices by a hash of the natural key, so every copy of a key is
    in one slice and the uniqueness expectation counts them as on the whole frame. The hash
    spreads keys evenly: each slice holds an equal share of the rows, within a fraction of a
    percent at a million rows (7 slices of 478,426 to 480,245 for 3.36M web events). The key
    is hashed SLICE_ROWS rows at a time: pandas hashes text as Python strings, a few hundred
    bytes a row while they last.
    """
    count = -(-len(frame) // SLICE_ROWS)
    keys = frame[[c for c in key if c in frame.columns]]
    slice_of = np.empty(len(frame), dtype=np.min_scalar_type(count))
    for start in range(0, len(frame), SLICE_ROWS):
        part = keys.iloc[start : start + SLICE_ROWS]
        hashed = pd.util.hash_pandas_object(part, index=False, categorize=False)
        slice_of[start : start + SLICE_ROWS] = hashed.to_numpy() % count
    for k in range(count):
        rows = np.flatnonzero(slice_of == k)
        if len(rows):
            yield rows


def _merged(results: list):
    """One expectation's results on the slices as its result on the whole batch, in the fields
    :func:`_failure` reads: a success if every slice's is, unexpected rows summed, the first
    examples in frame order (the labels are row positions), what a failing slice observed."""
    from great_expectations.core import ExpectationValidationResult

    shown = next((r for r in results if not r.success), results[0])
    details = [r.result or {} for r in results]
    counts = [d.get("unexpected_count") for d in details]
    labelled = itertools.chain.from_iterable(
        zip(d.get("partial_unexpected_index_list") or [], d.get("partial_unexpected_list") or [])
        for d in details
    )
    first = sorted(labelled, key=lambda pair: pair[0])[:MAX_EXAMPLES]
    detail = {k: v for k, v in (shown.result or {}).items() if k in ("observed_value", "details")}
    detail["partial_unexpected_index_list"] = [label for label, _ in first]
    detail["partial_unexpected_list"] = [value for _, value in first]
    if None not in counts:
        detail["unexpected_count"] = sum(counts)
    return ExpectationValidationResult(
        success=all(r.success for r in results),
        result=detail,
        expectation_config=shown.expectation_config,
        exception_info=shown.exception_info,
    )


@contextmanager
def _collecting_new_objects_only():
    """Inside, ``gc.collect()`` looks at the objects created inside only: the process's others
    are frozen meanwhile. A full collection costs a tenth to a quarter of a second in a run's
    process, too much to pay once per slice."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _validate_in_slices(extract: Extract, has_parse_errors: bool, frame: pd.DataFrame) -> list:
    """GX's results on a batch too large for one, from slices of it: what the whole batch's
    validation reports, with GX's memory that of one slice.

    Each slice is a batch of its own, gone before the next is taken. The table-level
    expectations are judged on the whole frame (GX reads its columns and length only). The
    results come in the first slice's order, which is GX's on the whole batch (expectations
    that erred first, then by column). ``frame``'s index labels must be its row positions.
    """
    suite = _suite(extract, has_parse_errors)
    per_slice = []
    with _collecting_new_objects_only():
        for rows in _slices(frame, _key_columns(extract)):
            per_slice.append(_validate(suite, frame.take(rows)))
            gc.collect()  # GX's objects hold the slice in reference cycles: it goes only now
    on_whole = _validate(_suite(extract, has_parse_errors, table_level=True), frame)
    merged = defaultdict(list)  # an expectation's configuration is equal on every batch
    for result in itertools.chain(*per_slice):
        merged[result.expectation_config].append(result)
    merged.update({r.expectation_config: [r] for r in on_whole})
    return [_merged(merged[r.expectation_config]) for r in per_slice[0]]


def _statistics(results: list) -> dict[str, Any]:
    """The statistics GX reports for a suite's validation, from its results."""
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    statistics = calc_validation_statistics(results)
    names = ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations")
    return {
        **{name: getattr(statistics, name) for name in names},
        "success_percent": _plain(statistics.success_percent),
    }


def validate_frame(extract: Extract, frame: pd.DataFrame) -> SuiteOutcome:
    """Validates one batch (the parsed new rows of a run, before quarantine) with the extract's
    suite and returns counts and masked examples for every failed expectation.

    A batch of more than SLICE_ROWS rows is validated in slices (see
    :func:`_validate_in_slices`); the outcome is the same.

    ``elapsed_seconds`` is the validation itself; the one-off cost of a process's first call
    (importing GX, building the context and the suite, about 5 s) is not in it.
    """
    prepared, has_parse_errors = _prepare(extract, frame)
    with _VALIDATION_LOCK:
        suite = _suite(extract, has_parse_errors)
        started = time.perf_counter()
        if len(prepared) <= SLICE_ROWS:
            results = _validate(suite, prepared)
        else:  # the slices' examples merge in frame order by their labels
            prepared = prepared.reset_index(drop=True)
            results = _validate_in_slices(extract, has_parse_errors, prepared)
    failed = [_failure(r, prepared) for r in results if not r.success]
    elapsed = time.perf_counter() - started
    statistics = _statistics(results)
    return SuiteOutcome(
        extract=extract.name,
        success=not any(f.severity == CRITICAL for f in failed),
        evaluated=statistics["evaluated_expectations"],
        rows=len(prepared),
        failed=failed,
        statistics=statistics,
        elapsed_seconds=round(elapsed, 4),
    )
