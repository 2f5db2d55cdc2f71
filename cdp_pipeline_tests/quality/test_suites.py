"""The GX suites: each kind of flaw is caught per extract, a clean batch passes, and every row
rule GX mirrors counts exactly the rows the pandas rule quarantines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.extracts import (
    ALL_EXTRACTS,
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
    Kind,
    Type,
)
from cdp_pipeline.quality import suites
from cdp_pipeline.quality.rules import (
    PARSE_ERRORS_COLUMN,
    RAW_COLUMN,
    Rule,
    rules_for,
    split_valid_rows,
)
from cdp_pipeline.quality.suites import (
    CRITICAL,
    INFO,
    WARNING,
    build_suite,
    validate_frame,
)

DROP = pd.Timestamp("2026-11-02")
IN_SET_VALUES = {
    "event_type": EMAIL_EVENT_TYPES,
    "financial_status": FINANCIAL_STATUSES,
    "type": WEB_EVENT_TYPES,
    "event": WEB_TRACK_EVENTS,
}
EMAILISH = {"email", "recipient", "form_email"}


def clean_frame(extract: Extract, rows: int = 6) -> pd.DataFrame:
    """A canonical frame (as ingest emits it) that breaks no rule of the extract."""
    i = np.arange(rows)
    data: dict[str, object] = {}
    for column in extract.columns:
        if column.type is Type.STRING:
            if column.name in IN_SET_VALUES:
                values = [IN_SET_VALUES[column.name][k % 2] for k in i]
            elif column.name in EMAILISH:
                values = [f"Person.{k}@Example.com" for k in i]
            else:
                values = [f"{column.name}-{k}" for k in i]
            data[column.name] = pd.array(values, dtype="string")
        elif column.type is Type.TIMESTAMP:
            stamps = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(i, unit="h")
            data[column.name] = pd.Series(stamps).astype("datetime64[us, UTC]")
        elif column.type is Type.DATE:
            data[column.name] = pd.Series([pd.Timestamp("1980-05-17")] * rows).astype(
                "datetime64[us]"
            )
        elif column.type is Type.BOOLEAN:
            data[column.name] = pd.array([k % 2 == 0 for k in i], dtype="boolean")
        elif column.type is Type.INTEGER:
            data[column.name] = pd.array([5] * rows, dtype="Int64")
        else:
            data[column.name] = np.full(rows, 10.0)
    frame = pd.DataFrame(data)
    if "email_key" in extract.natural_key:
        frame["email_key"] = frame["email"].str.strip().str.lower()
    frame["_file"] = pd.array([f"{extract.source}/2026-11-02/{extract.pattern}"] * rows, dtype="string")
    frame["_line"] = pd.array(i + 2, dtype="Int64")
    frame["_drop_date"] = pd.Series([DROP] * rows).astype("datetime64[us]")
    frame[RAW_COLUMN] = pd.array(["{}"] * rows, dtype="string")
    frame[PARSE_ERRORS_COLUMN] = pd.array([None] * rows, dtype="string")
    return frame


def rule_named_by(extract: Extract, column: str, check: str) -> str:
    """The name of the extract's rule of that kind on that column (names are rules.py's)."""
    return next(r.name for r in rules_for(extract) if r.column == column and r.check == check)


def failures_by_rule(outcome) -> dict[str, int]:
    return {f.rule: f.unexpected_count for f in outcome.failed if f.rule}


def failure_of(outcome, expectation: str, column: str | None = None):
    found = [
        f for f in outcome.failed
        if f.expectation == expectation and (column is None or column in f.columns)
    ]
    assert found, f"{expectation} on {column} did not fail: {[f.expectation for f in outcome.failed]}"
    return found[0]


EXTRACT_IDS = [e.name for e in ALL_EXTRACTS]


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_a_clean_batch_passes_every_expectation(extract):
    outcome = validate_frame(extract, clean_frame(extract))
    assert outcome.success
    assert outcome.failed == []
    assert outcome.evaluated == len(build_suite(extract).expectations)


def test_a_validated_batch_is_not_kept_once_its_outcome_is_returned():
    """GX's execution engine keeps its last batch and metrics; at a million persons that is a
    copy of a whole event table held into the next step."""
    import gc

    rows = 1237  # a length no other frame in this process has
    outcome = validate_frame(CRM_EMAIL_EVENTS, clean_frame(CRM_EMAIL_EVENTS, rows=rows))
    gc.collect()
    assert outcome.rows == rows
    assert not [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == rows]


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_a_missing_required_column_is_a_critical_failure_naming_the_column(extract):
    required = next(c.name for c in extract.columns if c.required and c.name not in extract.natural_key)
    outcome = validate_frame(extract, clean_frame(extract).drop(columns=[required]))
    assert not outcome.success
    columns_failure = failure_of(outcome, "expect_table_columns_to_match_set")
    assert columns_failure.severity == CRITICAL
    assert columns_failure.observed == f"missing columns: {required}"


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_a_key_repeated_within_a_drop_counts_every_copy(extract):
    frame = clean_frame(extract)
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    outcome = validate_frame(extract, frame)
    duplicate = failure_of(outcome, "expect_compound_columns_to_be_unique")
    assert duplicate.severity == WARNING
    assert duplicate.unexpected_count == 2
    assert duplicate.example_rows == [f"{frame['_file'][0]}:3"] * 2
    assert outcome.success  # duplicates are dropped by ingest, the batch stays usable


def test_rows_missing_their_key_are_not_counted_as_repeats():
    frame = clean_frame(STORE_WEB_EVENTS)
    frame.loc[[1, 2], "message_id"] = None
    outcome = validate_frame(STORE_WEB_EVENTS, frame)
    assert [f.expectation for f in outcome.failed] == ["expect_column_values_to_not_be_null"]


@pytest.mark.parametrize("extract", [WEBINAR_ATTENDEES, CRM_CONTACTS], ids=lambda e: e.name)
def test_the_same_key_in_two_drops_is_not_a_duplicate(extract):
    frame = clean_frame(extract)
    later = frame.iloc[[1]].copy()
    later["_drop_date"] = later["_drop_date"] + pd.Timedelta(days=1)
    outcome = validate_frame(extract, pd.concat([frame, later], ignore_index=True))
    assert outcome.failed == []


@pytest.mark.parametrize(
    ("extract", "column"),
    [
        (CRM_EMAIL_EVENTS, "event_type"),
        (STORE_ORDERS, "financial_status"),
        (STORE_WEB_EVENTS, "type"),
        (STORE_WEB_EVENTS, "event"),
    ],
)
def test_an_out_of_set_value_fails_its_rule_with_a_masked_example(extract, column):
    rule = rule_named_by(extract, column, "in_set")
    frame = clean_frame(extract)
    frame.loc[2, column] = "Call me at +34 612 34 56 78"
    outcome = validate_frame(extract, frame)
    failure = failure_of(outcome, "expect_column_values_to_be_in_set", column)
    assert (failure.rule, failure.unexpected_count, failure.severity) == (rule, 1, WARNING)
    assert failure.examples == ["Call me at +3***"]
    assert failure.example_rows == [f"{frame['_file'][0]}:4"]


@pytest.mark.parametrize(
    ("extract", "column", "value", "check"),
    [
        (WEBINAR_ATTENDEES, "time_in_session_minutes", 1441, "between"),
        (CRM_CONTACTS, "date_of_birth", pd.Timestamp("1899-12-31"), "between"),
        (CRM_CONTACTS, "date_of_birth", DROP + pd.Timedelta(days=1), "pair_le"),
        (STORE_ORDERS, "lineitem_quantity", 1000, "between"),
        (STORE_ORDERS, "lineitem_quantity", 0, "between"),
        (STORE_ORDERS, "lineitem_price", -0.01, "between"),
        (STORE_WEB_EVENTS, "price", -1.0, "between"),
    ],
)
def test_an_out_of_range_value_fails_its_rule(extract, column, value, check):
    rule = rule_named_by(extract, column, check)
    frame = clean_frame(extract)
    frame.loc[3, column] = value
    outcome = validate_frame(extract, frame)
    assert failures_by_rule(outcome) == {rule: 1}
    assert outcome.success


def test_an_order_total_beyond_a_plausible_amount_is_only_informative():
    frame = clean_frame(STORE_ORDERS)
    frame.loc[0, "total"] = 2_000_000.0
    outcome = validate_frame(STORE_ORDERS, frame)
    failure = failure_of(outcome, "expect_column_values_to_be_between", "total")
    assert (failure.severity, failure.rule, failure.examples) == (INFO, None, [2_000_000.0])


def test_a_timestamp_before_1995_is_only_informative():
    frame = clean_frame(CRM_EMAIL_EVENTS)
    frame.loc[0, "event_time"] = pd.Timestamp("1970-01-01", tz="UTC")
    outcome = validate_frame(CRM_EMAIL_EVENTS, frame)
    failure = failure_of(outcome, "expect_column_values_to_be_between", "event_time")
    assert failure.severity == INFO
    assert failure.examples == ["1970-01-01T00:00:00+00:00"]


WITH_EMAIL = [
    e for e in ALL_EXTRACTS
    if e is not ERASURE_REQUESTS and {"email", "recipient"} & set(e.column_names)
]


@pytest.mark.parametrize("extract", WITH_EMAIL, ids=lambda e: e.name)
def test_a_malformed_email_is_informative_where_rules_do_not_quarantine_on_it(extract):
    column = "recipient" if "recipient" in extract.column_names else "email"
    frame = clean_frame(extract)
    frame.loc[1, column] = "jane.doe@gmail"
    outcome = validate_frame(extract, frame)
    failure = failure_of(outcome, "expect_column_values_to_match_regex", column)
    assert (failure.severity, failure.rule, failure.unexpected_count) == (INFO, None, 1)
    assert failure.examples == ["j***@g***"]
    assert outcome.success and not failures_by_rule(outcome)


def test_a_malformed_email_quarantines_an_erasure_request():
    frame = clean_frame(ERASURE_REQUESTS)
    frame.loc[[1, 4], "email"] = ["n/a", "name@"]
    outcome = validate_frame(ERASURE_REQUESTS, frame)
    failure = failure_of(outcome, "expect_column_values_to_match_regex", "email")
    rule = rule_named_by(ERASURE_REQUESTS, "email", "regex")
    assert (failure.severity, failure.rule, failure.unexpected_count) == (WARNING, rule, 2)
    assert failure.examples == ["n***", "n***@***"]


@pytest.mark.parametrize("extract", [STORE_CUSTOMERS, STORE_WEB_EVENTS], ids=lambda e: e.name)
def test_a_column_of_the_wrong_type_is_a_critical_failure(extract):
    column = next(c for c in extract.columns if c.type is Type.TIMESTAMP)
    frame = clean_frame(extract)
    frame[column.name] = frame[column.name].dt.tz_localize(None)  # a naive timestamp
    outcome = validate_frame(extract, frame)
    failure = failure_of(outcome, "expect_column_values_to_be_of_type", column.name)
    assert failure.severity == CRITICAL and failure.observed == "datetime64"
    assert not outcome.success


@pytest.mark.parametrize("extract", [CRM_CONTACTS, STORE_ORDERS], ids=lambda e: e.name)
def test_an_empty_snapshot_is_critical_and_a_quiet_increment_is_not(extract):
    outcome = validate_frame(extract, clean_frame(extract).iloc[:0])
    failure = failure_of(outcome, "expect_table_row_count_to_be_between")
    assert failure.observed == "0"
    assert outcome.success is (extract.kind is Kind.INCREMENT)


# ------------------------------------------------------------- one definition of each rule


def violate(frame: pd.DataFrame, rule: Rule, row: int) -> None:
    """Makes ``row`` break ``rule`` the way real input does."""
    if rule.check == "not_null":
        frame.loc[row, rule.column] = None
    elif rule.check == "parsed":
        if rule.column != RAW_COLUMN:
            frame.loc[row, rule.column] = None
        frame.loc[row, PARSE_ERRORS_COLUMN] = rule.column
    elif rule.check == "in_set":
        frame.loc[row, rule.column] = "not-a-member"
    elif rule.check == "regex":
        frame.loc[row, rule.column] = "not-an-address"
    elif rule.check == "between":
        low, high = rule.params.get("min_value"), rule.params.get("max_value")
        step = pd.Timedelta(days=1) if isinstance(low, pd.Timestamp) else 1
        frame.loc[row, rule.column] = low - step if low is not None else high + step
    elif rule.check == "pair_le":
        frame.loc[row, rule.column] = frame.loc[row, rule.params["other"]] + pd.Timedelta(days=1)
    else:
        raise AssertionError(f"no GX counterpart expected for {rule.check}")


def flawed_frame(extract: Extract) -> pd.DataFrame:
    """Every mirrored rule broken on its own rows, plus rows that break several rules at once
    and unparsed values that must count for the parse rule only, never as missing."""
    rules = [r for r in rules_for(extract) if suites.rule_expectation(r) is not None]
    frame = clean_frame(extract, rows=3 * len(rules) + 4)
    for k, rule in enumerate(rules):
        violate(frame, rule, 3 * k)
        violate(frame, rule, 3 * k + 1)
    multi = len(frame) - 1
    for rule in rules[:3]:
        violate(frame, rule, multi)
    return frame


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_gx_counts_exactly_the_rows_each_mirrored_rule_quarantines(extract):
    frame = flawed_frame(extract)
    outcome = validate_frame(extract, frame)
    _, quarantined = split_valid_rows(extract, frame)
    reasons = quarantined["reason"].str.split("; ").explode()
    quarantined_per_rule = reasons.value_counts().to_dict()
    mirrored = [r for r in rules_for(extract) if suites.rule_expectation(r) is not None]
    gx_counts = failures_by_rule(outcome)
    for rule in mirrored:
        expected = int(rule.failing(frame).sum())
        assert expected >= 2, rule.name  # the flaw was really injected
        assert gx_counts.get(rule.name) == expected == quarantined_per_rule.get(rule.name), rule.name


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_the_accepted_rows_pass_every_row_rule(extract):
    accepted, quarantined = split_valid_rows(extract, flawed_frame(extract))
    assert len(quarantined) > 0
    outcome = validate_frame(extract, accepted)
    assert failures_by_rule(outcome) == {}


def test_unparsed_values_are_reported_by_the_parse_rule_not_as_missing():
    frame = clean_frame(CRM_EMAIL_EVENTS)
    frame.loc[1, "event_time"] = None
    frame.loc[1, PARSE_ERRORS_COLUMN] = "event_time"
    frame.loc[2, "event_time"] = None
    assert failures_by_rule(validate_frame(CRM_EMAIL_EVENTS, frame)) == {
        rule_named_by(CRM_EMAIL_EVENTS, "event_time", "parsed"): 1,
        rule_named_by(CRM_EMAIL_EVENTS, "event_time", "not_null"): 1,
    }


@pytest.mark.parametrize("extract", [STORE_WEB_EVENTS, CRM_EMAIL_EVENTS], ids=lambda e: e.name)
def test_a_malformed_line_is_reported_once_not_as_missing_fields(extract):
    frame = clean_frame(extract)
    frame.loc[0, list(extract.natural_key) + [extract.columns[1].name]] = None
    frame.loc[0, PARSE_ERRORS_COLUMN] = RAW_COLUMN
    malformed = rule_named_by(extract, RAW_COLUMN, "parsed")
    assert failures_by_rule(validate_frame(extract, frame)) == {malformed: 1}


def test_the_order_total_agreement_rule_is_named_as_pandas_only():
    suite = build_suite(STORE_ORDERS)
    assert suite.meta["rules_without_gx_counterpart"] == [
        rule_named_by(STORE_ORDERS, "total", "same_within_group")
    ]


def test_example_rows_name_file_and_line_even_when_the_index_repeats():
    frame = clean_frame(CRM_EMAIL_EVENTS)
    frame.index = [0, 0, 1, 1, 2, 2]  # e.g. frames of several files concatenated as they were
    frame.loc[:, "event_type"] = ["OPEN", "OPEN", "OPEN", "nope", "OPEN", "OPEN"]
    failure = failure_of(validate_frame(CRM_EMAIL_EVENTS, frame), "expect_column_values_to_be_in_set")
    assert failure.example_rows == [f"{frame['_file'].iloc[0]}:5"]


def test_a_frame_without_parse_errors_column_validates():
    frame = clean_frame(CRM_CONTACTS).drop(columns=[PARSE_ERRORS_COLUMN, RAW_COLUMN])
    assert validate_frame(CRM_CONTACTS, frame).failed == []


# ------------------------------------------------------------- outcome and privacy


def test_the_outcome_is_json_serialisable_and_never_shows_a_raw_address():
    frame = clean_frame(ERASURE_REQUESTS)
    frame.loc[0, "email"] = "jane.doe@acme"
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    text = json.dumps(validate_frame(ERASURE_REQUESTS, frame).to_dict())
    assert "jane.doe" not in text and "Person.0@Example.com" not in text
    assert '"max_severity": "warning"' in text


def test_all_extracts_share_one_gx_context():
    for extract in (CRM_CONTACTS, STORE_ORDERS, ERASURE_REQUESTS):
        validate_frame(extract, clean_frame(extract, rows=2))
    assert suites._context.cache_info().currsize == 1
    assert suites._context.cache_info().misses == 1


def test_a_batch_is_validated_without_hashing_its_rows(monkeypatch):
    """GX fingerprints a batch by hashing every row, for a marker nothing reads: seconds per
    million rows, so it is switched off."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(frame):
        raise AssertionError("the batch was hashed")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    assert validate_frame(STORE_WEB_EVENTS, clean_frame(STORE_WEB_EVENTS)).success


# ------------------------------------------------------------- a large batch, in slices


def batch_with_findings_everywhere(extract: Extract) -> pd.DataFrame:
    """What validating in slices could get wrong, spread over the whole batch: every mirrored
    rule broken twice (parse errors among them, see :func:`flawed_frame`), a timestamp before
    1995 on every fourth row (more findings than examples shown), a clean row's key repeated
    at the far end, and an index that neither starts at 0 nor ascends."""
    frame = flawed_frame(extract)
    column = next(c.name for c in extract.columns if c.type is Type.TIMESTAMP)
    early = frame.index[2::4]
    frame.loc[early, column] = pd.date_range("1970-01-01", periods=len(early), freq="D", tz="UTC")
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)
    frame.index = frame.index[::-1] + 100
    return frame


def without_time(outcome) -> dict:
    return {k: v for k, v in outcome.to_dict().items() if k != "elapsed_seconds"}


def batches_validated(monkeypatch) -> list[tuple[str, pd.DataFrame]]:
    """(suite name, frame) of every batch GX validates from now on."""
    batches = []
    validate = suites._validate

    def recorded(suite, frame):
        batches.append((suite.name, frame))
        return validate(suite, frame)

    monkeypatch.setattr(suites, "_validate", recorded)
    return batches


@pytest.mark.parametrize("extract", ALL_EXTRACTS, ids=EXTRACT_IDS)
def test_a_batch_validated_in_slices_reports_what_the_whole_batch_does(extract, monkeypatch):
    frame = batch_with_findings_everywhere(extract)
    whole = validate_frame(extract, frame)
    assert failure_of(whole, "expect_compound_columns_to_be_unique").unexpected_count == 2
    assert max(f.unexpected_count or 0 for f in whole.failed) > suites.MAX_EXAMPLES

    monkeypatch.setattr(suites, "SLICE_ROWS", 7)
    batches = batches_validated(monkeypatch)
    in_slices = validate_frame(extract, frame)

    assert len(batches) > 3
    assert without_time(in_slices) == without_time(whole)


@pytest.mark.parametrize("extract", [STORE_WEB_EVENTS, CRM_CONTACTS], ids=lambda e: e.name)
def test_a_missing_column_is_critical_in_slices_as_on_the_whole_batch(extract, monkeypatch):
    required = next(c.name for c in extract.columns if c.required and c.name not in extract.natural_key)
    frame = batch_with_findings_everywhere(extract).drop(columns=[required])
    whole = validate_frame(extract, frame)
    monkeypatch.setattr(suites, "SLICE_ROWS", 7)
    in_slices = validate_frame(extract, frame)
    assert not in_slices.success
    assert failure_of(in_slices, "expect_table_columns_to_match_set").observed == (
        f"missing columns: {required}"
    )
    assert without_time(in_slices) == without_time(whole)


def test_the_row_count_is_judged_on_the_whole_batch_not_on_a_slice(monkeypatch):
    """A bound the batch breaks and no slice does is still reported, with the batch's count."""
    import great_expectations.expectations as gxe

    frame = clean_frame(STORE_WEB_EVENTS, rows=40)
    contract = suites.contract_expectations

    def with_an_upper_bound(extract):
        bound = gxe.ExpectTableRowCountToBeBetween(max_value=39, severity=INFO)
        return [*contract(extract), bound]

    monkeypatch.setattr(suites, "contract_expectations", with_an_upper_bound)
    monkeypatch.setattr(suites, "_SUITES", {})
    monkeypatch.setattr(suites, "SLICE_ROWS", 7)
    outcome = validate_frame(STORE_WEB_EVENTS, frame)
    assert failure_of(outcome, "expect_table_row_count_to_be_between").observed == "40"


def test_every_row_is_in_one_slice_with_every_copy_of_its_key(monkeypatch):
    frame = batch_with_findings_everywhere(STORE_WEB_EVENTS)
    monkeypatch.setattr(suites, "SLICE_ROWS", 7)
    batches = batches_validated(monkeypatch)
    validate_frame(STORE_WEB_EVENTS, frame)
    slices = [part for name, part in batches if name == "store_web_events_suite"]
    positions = np.concatenate([part.index.to_numpy() for part in slices])
    assert sorted(positions) == list(range(len(frame)))
    assert all(part.index.is_monotonic_increasing for part in slices)  # in frame order
    copies = {2, len(frame) - 1}  # the repeated key's rows
    assert copies in [copies & set(part.index) for part in slices]
    # the table-level expectations see the whole batch once
    assert [len(part) for name, part in batches if name != "store_web_events_suite"] == [len(frame)]


def test_a_slice_is_gone_before_the_next_is_validated(monkeypatch):
    """GX's objects hold a batch in reference cycles; kept until a collection, the slices
    of a large batch would add up to the whole batch's memory."""
    import weakref

    monkeypatch.setattr(suites, "SLICE_ROWS", 7)
    earlier, alive_at_each = [], []
    validate = suites._validate

    def watched(suite, frame):
        alive_at_each.append(sum(ref() is not None for ref in earlier))
        earlier.append(weakref.ref(frame))
        return validate(suite, frame)

    monkeypatch.setattr(suites, "_validate", watched)
    validate_frame(STORE_WEB_EVENTS, clean_frame(STORE_WEB_EVENTS, rows=40))
    assert len(alive_at_each) > 3
    assert alive_at_each == [0] * len(alive_at_each)


@pytest.mark.parametrize("rows", [0, 1, 40], ids=["empty", "one row", "exactly SLICE_ROWS"])
def test_a_batch_of_at_most_slice_rows_is_validated_as_one(rows, monkeypatch):
    monkeypatch.setattr(suites, "SLICE_ROWS", 40)
    batches = batches_validated(monkeypatch)
    outcome = validate_frame(STORE_WEB_EVENTS, clean_frame(STORE_WEB_EVENTS, rows=40).iloc[:rows])
    assert [(name, len(part)) for name, part in batches] == [("store_web_events_suite", rows)]
    assert outcome.evaluated == len(build_suite(STORE_WEB_EVENTS).expectations)
