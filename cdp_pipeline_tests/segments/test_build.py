"""Holdout, catalogue, changes between runs and the tables a run publishes."""

from __future__ import annotations

import pandas as pd
import pytest

from cdp_pipeline.segments.build import (
    holdout_flags,
    parse_definition,
    segment_changes,
    segment_tables,
)
from cdp_pipeline.segments.rules import RuleError
from cdp_pipeline_tests.segments.helpers import REFERENCE, profiles, run

IDS = pd.Series([f"p{i:05d}" for i in range(20_000)], dtype="string")


def test_holdout_is_about_the_configured_share():
    share = holdout_flags("engagement_high", IDS, 0.10).mean()
    assert 0.09 < share < 0.11
    assert not holdout_flags("engagement_high", IDS, 0.0).any()


def test_holdout_is_stable_across_runs_whatever_else_is_in_the_segment():
    full = pd.Series(holdout_flags("cart_abandoners", IDS, 0.1), index=IDS)
    subset = IDS.iloc[::7].iloc[::-1]  # another run: fewer members, another order
    again = pd.Series(holdout_flags("cart_abandoners", subset, 0.1), index=subset)
    assert again.equals(full[subset])


def test_each_segment_draws_its_own_control_group():
    a = holdout_flags("engagement_high", IDS, 0.1)
    b = holdout_flags("engagement_low", IDS, 0.1)
    assert (a != b).sum() > 1000


def test_catalogue_describes_each_segment_of_the_run():
    people = [f"p{i}" for i in range(40)]
    catalogue, tables = run(people, tiers={p: "high" for p in people}, run_id="r-7")
    row = catalogue.set_index("segment").loc["engagement_high"]
    assert row["members"] == 40
    assert row["holdout_members"] == tables["engagement_high"]["holdout"].sum()
    assert row["definition"] == "{column: tier, op: '=', value: high}"
    assert row["refreshed_at"] == pd.Timestamp(REFERENCE, tz="UTC")
    assert row["run_id"] == "r-7"
    assert set(catalogue["segment"]) == set(tables)


def test_segment_changes_record_who_entered_and_who_left():
    def members(*ids):
        return pd.DataFrame({"person_id": list(ids)})

    previous = {"vip": members("a", "b"), "retired": members("c")}
    current = {"vip": members("b", "d"), "fresh": members("e")}
    changes = segment_changes(previous, current, "run-2")
    assert changes[["segment", "person_id", "change"]].values.tolist() == [
        ["fresh", "e", "entered"],
        ["retired", "c", "left"],
        ["vip", "d", "entered"],
        ["vip", "a", "left"],
    ]
    assert set(changes["run_id"]) == {"run-2"}
    assert segment_changes(current, current, "run-3").empty


def test_segment_changes_keep_the_history_of_earlier_runs_once():
    first = segment_changes(None, {"vip": pd.DataFrame({"person_id": ["a"]})}, "run-1")
    second = segment_changes(
        {"vip": pd.DataFrame({"person_id": ["a"]})}, {"vip": pd.DataFrame({"person_id": []})},
        "run-2", history=first,
    )
    rerun = segment_changes(
        {"vip": pd.DataFrame({"person_id": ["a"]})}, {"vip": pd.DataFrame({"person_id": []})},
        "run-2", history=second,
    )
    expected = [["vip", "a", "entered", "run-1"], ["vip", "a", "left", "run-2"]]
    assert second.values.tolist() == expected
    assert rerun.values.tolist() == expected


def test_segment_changes_forget_everyone_who_no_longer_exists_history_included():
    first = segment_changes(None, {"vip": pd.DataFrame({"person_id": ["a", "erased"]})}, "run-1")
    second = segment_changes(
        {"vip": pd.DataFrame({"person_id": ["a", "erased"]})}, {"vip": pd.DataFrame({"person_id": ["a"]})},
        "run-2", history=first, persons=pd.Index(["a"]),
    )
    assert second.values.tolist() == [["vip", "a", "entered", "run-1"]]


def test_segment_tables_name_each_member_table_after_its_slug_and_refuse_other_names():
    catalogue, tables = run(["a"])
    changes = segment_changes(None, tables, "run-1")
    published = segment_tables(catalogue, tables, changes)
    assert {"segments", "segment_changes", "segment_engagement_high"} <= set(published)
    with pytest.raises(RuleError, match="not a valid table name"):
        segment_tables(catalogue, {"x; DROP TABLE profiles": tables["engagement_high"]}, changes)


def test_a_new_segment_is_only_yaml():
    custom = parse_definition(
        {
            "slug": "spanish_big_spenders",
            "description": "Customers in Spain who spent over 100",
            "owner": "iberia",
            "holdout_share": 0.5,
            "rule": {"all": [{"column": "country", "op": "=", "value": "ES"},
                             {"column": "total_spent", "op": ">", "value": 100}]},
        }
    )
    people = ["es_big", "es_small", "fr_big"]
    frame = profiles(people, country=["ES", "ES", "FR"], total_spent=[500.0, 10.0, 900.0])
    catalogue, tables = run(people, profile_frame=frame, definitions=[custom])
    assert tables["spanish_big_spenders"]["person_id"].tolist() == ["es_big"]
    assert catalogue["segment"].tolist() == ["spanish_big_spenders"]
