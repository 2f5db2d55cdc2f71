"""The rule language: what it accepts, what it refuses, and how it evaluates."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cdp_pipeline.segments.build import load_catalogue, load_definitions, parse_definition
from cdp_pipeline.segments.rules import (
    AllOf,
    Compare,
    RelativeDate,
    RuleError,
    evaluate,
    is_valid_slug,
    parse_rule,
)

REFERENCE = date(2026, 11, 20)


def mask(raw, frame):
    return evaluate(parse_rule("t", raw), frame, REFERENCE).tolist()


def definition(**overrides):
    raw = {"slug": "ok", "description": "d", "owner": "o", "email": True,
           "rule": {"column": "orders", "op": ">=", "value": 1}}
    raw.update(overrides)
    return raw


def test_rules_parse_into_a_dataclass_tree():
    rule = parse_rule(
        "s",
        {"all": [{"column": "orders", "op": ">=", "value": 1},
                 {"column": "last_order_at", "op": "<", "value": "reference_date - 180 days"}]},
    )
    assert rule == AllOf((Compare("orders", ">=", 1),
                        Compare("last_order_at", "<", RelativeDate(-180))))


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"column": "password", "op": "=", "value": "x"}, "unknown column 'password'"),
        ({"column": "orders", "op": "~=", "value": 1}, "operator '~=' is not allowed"),
        ({"column": "tier", "op": "<", "value": "high"}, "operator '<' is not allowed"),
        ({"column": "orders", "op": ">=", "value": "1; DROP TABLE profiles"}, "expected a number"),
        ({"column": "orders", "op": "between", "value": [5, 1]}, "greater than high"),
        ({"column": "orders", "op": "in", "value": []}, "non-empty list"),
        ({"column": "last_order_at", "op": "<", "value": "__import__('os')"}, "expected a date"),
        ({"column": "orders", "op": "is null", "value": 1}, "takes no value"),
        ({"all": []}, "non-empty list"),
        ({"column": "orders", "op": ">", "value": 1, "extra": 2}, "unexpected key"),
        ("orders > 1", "expected a mapping"),
    ],
)
def test_invalid_rules_are_refused_naming_segment_and_part(raw, problem):
    with pytest.raises(RuleError, match="segment 'promo'") as error:
        parse_rule("promo", {"any": [{"column": "orders", "op": "=", "value": 0}, raw]})
    assert problem in str(error.value)
    assert error.value.where.startswith("rule.any[1]")


@pytest.mark.parametrize(
    "slug", ["x; DROP TABLE profiles", "Upper", "1starts_with_digit", "a" * 52, "", "dash-ed",
             "space d", "x\nDROP"],
)
def test_slugs_outside_the_table_name_alphabet_are_refused(slug):
    assert not is_valid_slug(slug)
    with pytest.raises(RuleError, match="slug must match"):
        parse_definition(definition(slug=slug))


def test_definition_fields_are_validated():
    with pytest.raises(RuleError, match="holdout_share"):
        parse_definition(definition(holdout_share=1.5))
    with pytest.raises(RuleError, match="owner"):
        parse_definition(definition(owner=""))
    with pytest.raises(RuleError, match="unexpected key"):
        parse_definition(definition(hold_out=0.2))
    assert parse_definition(definition()).holdout_share == 0.10


def test_text_values_that_look_like_code_are_plain_data():
    frame = pd.DataFrame(
        {"country": pd.array(["ES", "'; DROP TABLE profiles; --", None], dtype="string")}
    )
    rule = {"column": "country", "op": "=", "value": "'; DROP TABLE profiles; --"}
    assert mask(rule, frame) == [False, True, False]
    code = {"column": "country", "op": "in", "value": ["__import__('os').system('x')", "ES"]}
    assert mask(code, frame) == [True, False, False]


def test_relative_dates_count_back_from_the_reference_date():
    frame = pd.DataFrame(
        {"last_order_at": pd.to_datetime(["2026-05-23", "2026-05-24", "2026-11-19", None],
                                          utc=True)}
    )
    # reference 2026-11-20 - 180 days = 2026-05-24 00:00 UTC
    assert mask({"column": "last_order_at", "op": "<", "value": "reference_date - 180 days"},
                frame) == [True, False, False, False]
    assert mask({"column": "last_order_at", "op": ">=", "value": "reference_date - 2 weeks"},
                frame) == [False, False, True, False]
    assert mask({"column": "last_order_at", "op": "between",
                 "value": ["2026-05-24", "reference_date"]}, frame) == [False, True, True, False]


def test_missing_values_follow_sql_three_valued_logic():
    frame = pd.DataFrame({"orders": pd.array([0, 3, None], dtype="Int64")})
    assert mask({"column": "orders", "op": ">", "value": 1}, frame) == [False, True, False]
    # not(unknown) is unknown: a person with no value is not a member either way
    assert mask({"not": {"column": "orders", "op": ">", "value": 1}}, frame) == [True, False, False]
    assert mask({"any": [{"column": "orders", "op": ">", "value": 1},
                         {"column": "orders", "op": "is null"}]}, frame) == [False, True, True]
    assert mask({"column": "orders", "op": "is not null"}, frame) == [True, True, False]


def test_in_between_and_not_in_on_numbers_and_text():
    frame = pd.DataFrame({"tier": pd.array(["high", "low", None], dtype="string"),
                          "score": [0.9, 0.1, 0.5]})
    assert mask({"column": "tier", "op": "not in", "value": ["low"]}, frame) == [True, False, False]
    assert mask({"column": "score", "op": "between", "value": [0.1, 0.5]}, frame) == [
        False, True, True
    ]


def test_category_columns_are_allowed_by_pattern_only():
    parse_rule("s", {"column": "viewed_category_shoes", "op": "=", "value": True})
    with pytest.raises(RuleError, match="unknown column"):
        parse_rule("s", {"column": "viewed_category_Shoes; drop", "op": "=", "value": True})


def test_builtin_definitions_load_and_cover_the_issue_list():
    definitions, templates = load_catalogue()
    assert {d.slug for d in definitions} == {
        "webinar_attendees", "webinar_never_attended", "webinar_no_shows", "engagement_high",
        "engagement_medium", "engagement_low", "cart_abandoners", "multi_category_shoppers",
        "high_value", "engaged_prospects", "lapsed_customers", "birthdays_next_7_days",
        "prefers_phone",
    }
    assert [t.slug for t in templates] == ["category_browsers_{category}"]
    assert [d.slug for d in definitions if not d.email] == ["prefers_phone"]


def test_a_folder_of_yaml_files_is_one_catalogue_and_duplicate_slugs_are_refused(tmp_path):
    text = (
        "segments:\n"
        "  - {slug: vip, description: d, owner: o, rule: {column: orders, op: '>', value: 9}}\n"
    )
    (tmp_path / "a.yaml").write_text(text)
    assert [d.slug for d in load_definitions(tmp_path)] == ["vip"]
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(RuleError, match="defined more than once"):
        load_definitions(tmp_path)
