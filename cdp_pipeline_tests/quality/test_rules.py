"""Row rules: what each check kind rejects, and where quarantined rows go."""

import pandas as pd
import pytest

from cdp_pipeline.extracts import ALL_EXTRACTS, CRM_CONTACTS, ERASURE_REQUESTS, STORE_ORDERS
from cdp_pipeline.quality.rules import (
    QUARANTINE_COLUMNS,
    Rule,
    evaluate_rules,
    rules_for,
    split_valid_rows,
)


def frame(**columns):
    return pd.DataFrame(columns)


def test_every_extract_has_rules_on_existing_columns_with_unique_names():
    for extract in ALL_EXTRACTS:
        rules = rules_for(extract)
        names = [r.name for r in rules]
        assert len(names) == len(set(names)), extract.name
        known = set(extract.column_names) | {"_raw", "_drop_date"}
        assert {r.column for r in rules} <= known, extract.name
        assert all(r.description for r in rules)


def test_not_null_fails_on_missing_values_but_not_twice_for_an_unparseable_one():
    rule = Rule("t_not_null", "t", "not_null")
    data = frame(t=[1.0, None, None], _parse_errors=[None, None, "t"])
    assert rule.failing(data).tolist() == [False, True, False]


def test_in_set_regex_and_between_let_missing_values_pass():
    data = frame(v=pd.Series(["a", "z", None], dtype="string"), n=[0.5, 2000.0, None])
    assert Rule("s", "v", "in_set", {"values": ("a",)}).failing(data).tolist() == [False, True, False]
    assert Rule("r", "v", "regex", {"pattern": "^a$"}).failing(data).tolist() == [False, True, False]
    bounds = {"min_value": 1, "max_value": 1000, "strict_max": True}
    assert Rule("b", "n", "between", bounds).failing(data).tolist() == [True, True, False]


def test_between_bounds_are_inclusive_unless_strict():
    data = frame(n=[1, 1000])
    assert Rule("b", "n", "between", {"min_value": 1, "max_value": 1000}).failing(data).tolist() == [False, False]
    strict = {"min_value": 1, "max_value": 1000, "strict_min": True, "strict_max": True}
    assert Rule("b", "n", "between", strict).failing(data).tolist() == [True, True]


def test_parsed_matches_whole_column_names_in_parse_errors():
    data = frame(_parse_errors=pd.Series(["price;timestamp", "price_x", None], dtype="string"))
    assert Rule("p", "price", "parsed").failing(data).tolist() == [True, False, False]


def test_pair_le_fails_only_when_both_present_and_out_of_order():
    t = pd.to_datetime(["2026-11-02 10:00", "2026-11-02 11:00", None], utc=True)
    data = frame(join=t, leave=pd.to_datetime(["2026-11-02 10:30", "2026-11-02 10:30", "2026-11-02 10:30"], utc=True))
    assert Rule("j", "join", "pair_le", {"other": "leave"}).failing(data).tolist() == [False, True, False]


def test_order_lines_disagreeing_with_the_majority_total_fail_and_a_tie_fails_the_whole_order():
    data = frame(
        order_id=["A", "A", "A", "B", "B", "C"],
        total=[10.0, 10.0, 12.0, 5.0, 6.0, 3.0],
    )
    rule = next(r for r in rules_for(STORE_ORDERS) if r.name == "order_lines_share_total")
    assert rule.failing(data).tolist() == [False, False, True, True, True, False]


def test_birth_dates_must_lie_between_1900_and_the_drop_date():
    data = frame(
        record_id=["1", "2", "3", "4"],
        date_of_birth=pd.to_datetime(["1899-12-31", "1980-05-01", "2026-11-03", None]),
        _drop_date=pd.to_datetime(["2026-11-02"] * 4),
    )
    failures = evaluate_rules(rules_for(CRM_CONTACTS), data.assign(**{c: pd.NA for c in ("_parse_errors",)}))
    assert failures["date_of_birth_after_1900"].tolist() == [True, False, False, False]
    assert failures["date_of_birth_not_after_drop"].tolist() == [False, False, True, False]


def test_invalid_email_quarantines_an_erasure_request_but_not_a_crm_contact():
    emails = pd.Series(["n/a", "name@", " Ok@Example.com "], dtype="string")
    assert not any(r.check == "regex" for r in rules_for(CRM_CONTACTS))
    rule = next(r for r in rules_for(ERASURE_REQUESTS) if r.name == "email_format")
    assert rule.failing(frame(email=emails)).tolist() == [True, True, False]


def _orders(**overrides):
    base = dict(
        order_id=["O1", "O2", "O3"],
        customer_id=[None] * 3,
        email=["ann@example.com", "bob@example.com", "cy@example.com"],
        created_at=pd.to_datetime(["2026-11-02"] * 3, utc=True),
        financial_status=["paid", "stolen", "paid"],
        currency=["EUR"] * 3,
        total=[10.0, 5.0, 7.0],
        lineitem_sku=["S", "S", "S"],
        lineitem_quantity=pd.array([1, 1, 0], dtype="Int64"),
        lineitem_price=[10.0, 5.0, 7.0],
        _file=["store/2026-11-02/orders.csv"] * 3,
        _line=pd.array([2, 3, 4], dtype="Int64"),
        _drop_date=pd.to_datetime(["2026-11-02"] * 3),
        _raw=['{"Email":"ann@example.com"}', '{"Email":"bob@example.com","Phone":"+34 612 34 56 78"}', '{"Email":"cy@example.com"}'],
        _parse_errors=[None] * 3,
    )
    base.update(overrides)
    return frame(**{k: pd.Series(v) if not isinstance(v, (pd.Series, pd.Index)) else v for k, v in base.items()})


def test_split_valid_rows_sends_failing_rows_to_quarantine_with_every_failed_rule_and_masked_raw():
    data = _orders()
    accepted, quarantined = split_valid_rows(STORE_ORDERS, data)

    assert accepted["order_id"].tolist() == ["O1"]
    assert "_raw" not in accepted.columns and "_parse_errors" not in accepted.columns
    assert tuple(quarantined.columns) == QUARANTINE_COLUMNS
    assert quarantined["source"].tolist() == ["store_orders", "store_orders"]
    assert quarantined["line"].tolist() == [3, 4]
    assert quarantined["reason"].tolist() == ["financial_status_in_set", "lineitem_quantity_in_range"]
    raw = " ".join(quarantined["raw"])
    assert "bob@example.com" not in raw and "b***@e***.com" in raw
    assert "612 34 56 78" not in raw


def test_a_row_failing_several_rules_names_them_all_joined_by_semicolons():
    data = _orders(financial_status=["nope", "paid", "paid"], lineitem_quantity=pd.array([5000, 1, 1], dtype="Int64"))
    _, quarantined = split_valid_rows(STORE_ORDERS, data)
    assert quarantined["reason"].tolist() == ["financial_status_in_set; lineitem_quantity_in_range"]


def test_unknown_check_kind_is_refused_at_declaration():
    with pytest.raises(ValueError):
        Rule("x", "y", "looks_fine")


def test_webinar_rows_with_impossible_sessions_are_quarantined_but_no_shows_are_not():
    from cdp_pipeline.extracts import WEBINAR_ATTENDEES

    t = lambda *v: pd.to_datetime(list(v), utc=True)  # noqa: E731
    data = frame(
        webinar_id=["W1", "W1", "W1", "W1"],
        email=["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
        webinar_start=t("2026-11-02 15:00", "2026-11-02 15:00", "2026-11-02 15:00", "2026-11-02 15:00"),
        join_time=t("2026-11-02 15:05", "2026-11-02 16:00", None, "2026-11-02 15:05"),
        leave_time=t("2026-11-02 15:50", "2026-11-02 15:10", None, "2026-11-02 15:50"),
        time_in_session_minutes=pd.array([45, 10, None, 2000], dtype="Int64"),
        _parse_errors=[None] * 4,
    )
    failures = evaluate_rules(rules_for(WEBINAR_ATTENDEES), data)
    failing = failures.apply(lambda col: col.index[col].tolist()).to_dict()
    assert {name: rows for name, rows in failing.items() if rows} == {
        "join_not_after_leave": [1],
        "time_in_session_in_range": [3],
    }


def test_a_re_delivered_bad_row_is_kept_once_in_the_quarantine():
    from cdp_pipeline.quality.quarantine import accumulate_quarantine

    row = {"source": "crm_contacts", "file": "crm/2026-11-02/contacts.csv", "line": 7,
           "reason": "record_id_not_null", "drop_date": "2026-11-02", "raw": "{}"}
    other = {**row, "line": 8}
    previous = accumulate_quarantine(None, [pd.DataFrame([row])])
    table = accumulate_quarantine(previous, [pd.DataFrame([row, other])])
    assert table["line"].tolist() == [7, 8]
