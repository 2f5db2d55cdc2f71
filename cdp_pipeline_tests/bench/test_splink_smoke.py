"""A tiny Splink side by side: Splink deduplicates our resolution's records and is scored like ours.

It asserts the shape and that Splink found real duplicates, never a speed or a ranking:
those live in BENCHMARKS.md.
"""

import pytest

pytest.importorskip("splink", reason="Splink is in the benchmark-only extra: pip install -e '.[bench]'")

from cdp_pipeline.bench.splink_compare import run_splink, splink_input  # noqa: E402
from cdp_pipeline.identity import pairwise_scores, resolve_identities  # noqa: E402
from cdp_pipeline_tests.identity.frames import frames  # noqa: E402
from cdp_pipeline_tests.identity.population import population  # noqa: E402


@pytest.fixture(scope="module")
def resolution_and_truth():
    rows, truth = population(persons=300, seed=11)
    return resolve_identities(frames(**rows)), truth


def test_splink_input_has_one_row_per_identity_record_with_its_identifiers(resolution_and_truth):
    resolution, _ = resolution_and_truth
    table = splink_input(resolution).to_pandas()

    assert len(table) == len(resolution.records)
    assert table["unique_id"].is_unique
    assert {"first_name", "last_name", "dob", "email", "emails", "system_keys", "phone", "postcode"} <= set(table)
    store_rows = (resolution.records["source"] == "store").to_numpy()
    assert all(any(k.startswith("customer_id:") for k in keys) for keys in table.loc[store_rows, "system_keys"])


def test_splink_clusters_every_record_and_finds_duplicates_scored_like_ours(resolution_and_truth):
    resolution, truth = resolution_and_truth
    identity_map, _, _ = run_splink(resolution)

    assert len(identity_map) == len(resolution.records)
    assert identity_map["person_id"].notna().all()
    assert identity_map["person_id"].nunique() < len(identity_map)  # some records were merged
    scores = pairwise_scores(identity_map, truth)
    assert scores["unmatched_predicted_records"] == 0
    assert scores["f1"] > 0.5
