"""The vectorised helpers answer exactly what pandas would."""

import numpy as np
import pandas as pd

from cdp_pipeline.frames import (
    PARALLEL_SORT_VALUES,
    distinct,
    distinct_in_place,
    distinct_per_key,
    extract,
    factorized,
    isin,
    lookup,
)


def test_isin_answers_as_pandas_does_with_missing_values_on_either_side():
    values = pd.Series(["crm:1", None, "web:a", "crm:1", ""], dtype="string")
    candidates = pd.Index(["crm:1", "", None, "store:9"], dtype="string")

    assert isin(values, candidates).tolist() == [True, False, False, True, True]
    assert isin(values, candidates).tolist() == values.isin(candidates.dropna()).fillna(False).tolist()


def test_isin_takes_any_collection_and_empty_sides():
    assert isin(pd.Series(["a", "b"]), {"b"}).tolist() == [False, True]
    assert isin(pd.Series(["a"]), []).tolist() == [False]
    assert isin(pd.Series([], dtype="string"), ["a"]).dtype == np.bool_


def test_lookup_maps_as_pandas_does_and_leaves_unknown_and_missing_keys_missing():
    persons = pd.Series(["p1", "p2"], index=["crm:1", "web:a"], dtype="string")
    keys = pd.Series(["web:a", None, "crm:9", "crm:1"], index=[10, 11, 12, 13], dtype="string")

    found = lookup(keys, persons)

    pd.testing.assert_series_equal(found, keys.map(persons).astype("string"))
    assert found.index.tolist() == [10, 11, 12, 13]


def test_lookup_of_nothing_is_empty():
    assert lookup(pd.Series([], dtype="string"), pd.Series(["p1"], index=["k"], dtype="string")).empty


def test_lookup_in_an_empty_mapping_finds_nothing():
    found = lookup(pd.Series(["k"], dtype="string"), pd.Series([], dtype="string"))
    assert found.isna().all() and len(found) == 1


def test_extract_takes_the_named_group_and_leaves_non_matches_missing():
    domains = pd.Series(["mail.example.co.uk", "localhost", None], index=[5, 6, 7], dtype="string")

    found = extract(domains, r"(?:^|\.)(?P<label>[^.]*)\.[^.]*$")

    assert found.tolist()[0] == "co" and found.iloc[1:].isna().all() and found.index.tolist() == [5, 6, 7]


def _arrow_pool_of_a_fresh_process(**environment: str) -> str:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | environment
    program = "import cdp_pipeline, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_distinct_gives_what_numpy_unique_gives():
    values = np.array([7, -3, 7, 0, 2**40, -3, 0], dtype=np.int64)
    assert distinct(values).tolist() == np.unique(values).tolist() == [-3, 0, 7, 2**40]
    assert distinct(np.zeros(0, dtype=np.int64)).tolist() == []


def test_distinct_of_an_array_large_enough_to_sort_in_halves_is_still_sorted_and_whole():
    values = np.random.default_rng(3).integers(-10**12, 10**12, PARALLEL_SORT_VALUES + 11)
    values[::5] = values[1]  # repeats, within and across the halves
    expected = np.unique(values)
    assert np.array_equal(distinct(values), expected)
    assert np.array_equal(distinct_in_place(values), expected)


def test_distinct_per_key_counts_each_item_once_and_skips_missing_ones():
    keys = np.array([0, 0, 0, 2, 2, 1, 2])
    items = np.array([5, 5, 9, -1, 3, -1, 3])
    assert distinct_per_key(keys, items, 4).tolist() == [2, 0, 1, 0]
    assert distinct_per_key(keys[:0], items[:0], 2).tolist() == [0, 0]


def test_factorized_gives_each_value_its_distinct_value_back():
    values = np.array([2**40, 5, -1, 5, 2**40, 7], dtype=np.int64)
    uniques, inverse = factorized(values)
    assert sorted(uniques.tolist()) == np.unique(values).tolist()
    assert uniques[inverse].tolist() == values.tolist()


def test_the_pipeline_allocates_arrow_memory_from_jemalloc_which_hands_freed_memory_back():
    import pyarrow as pa
    import pytest

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow was built without jemalloc")
    assert _arrow_pool_of_a_fresh_process() == "jemalloc"


def test_an_operator_choosing_an_arrow_pool_keeps_it():
    assert _arrow_pool_of_a_fresh_process(ARROW_DEFAULT_MEMORY_POOL="system") == "system"
