"""Splink (DuckDB backend) on the same person records as our resolver, for the benchmark.

Configuration, chosen to be a fair, ordinary Splink set-up rather than a tuned one:

* comparisons: first and last name (Jaro-Winkler levels via ``NameComparison``), date of
  birth, email (``EmailComparison``: exact, username, domain), phone, postcode, city and
  street (exact); term-frequency adjustments on names and city;
* blocking for predictions: email, phone, first+last name, last name+postcode, the same
  rules our resolver blocks on;
* training: λ from deterministic email matches, u by random sampling (1e6 pairs), m by EM
  on two blocking rules;
* clusters at a match probability of 0.95.

Splink gets the records our resolver builds (already normalised), so both start from the
same data; our time includes building those records, Splink's does not.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

SPLINK_COLUMNS = {
    "first_name": "first_name_norm",
    "last_name": "last_name_norm",
    "dob": "date_of_birth",
    "email": "email_norm",
    "phone": "phone_e164",
    "postcode": "postcode_norm",
    "city": "city_norm",
    "street": "street_norm",
}


def splink_input(records: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"unique_id": records["source"] + "|" + records["source_record_id"]})
    for splink_name, our_name in SPLINK_COLUMNS.items():
        values = records[our_name] if our_name in records.columns else pd.Series(pd.NA, index=records.index)
        frame[splink_name] = values.astype("string").replace("", pd.NA).astype(object).where(values.notna(), None).values
    frame["dob"] = frame["dob"].map(lambda v: str(v)[:10] if v is not None else None)
    return frame


def run_splink(records: pd.DataFrame, threshold: float = 0.95) -> tuple[pd.DataFrame, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = splink_input(records)
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("street"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("last_name", "postcode"),
        ],
    )
    linker = Linker(data, settings, db_api=DuckDBAPI())
    linker.training.estimate_probability_two_random_records_match([block_on("email")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    assigned = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    elapsed = time.perf_counter() - started
    source, record_id = assigned["unique_id"].str.split("|", n=1).str
    identity_map = pd.DataFrame(
        {"source": source, "source_record_id": record_id, "person_id": assigned["cluster_id"].astype(str)}
    )
    return identity_map, elapsed


def compare_with_splink(truth_dir: Path) -> dict:
    """Resolves the state's records with our resolver and with Splink; scores both on the truth."""
    from cdp_pipeline.config import Settings
    from cdp_pipeline.extracts import ALL_EXTRACTS
    from cdp_pipeline.identity import resolve_identities
    from cdp_pipeline.identity.evaluate import pairwise_scores
    from cdp_pipeline.ingest.state import StateStore

    store = StateStore(Settings.from_env().state_dir)
    frames = {e.name: store.load(e.name).table for e in ALL_EXTRACTS}
    truth = pd.read_csv(truth_dir / "records.csv", dtype=str)

    started = time.perf_counter()
    ours = resolve_identities(frames)
    our_seconds = time.perf_counter() - started
    splink_map, splink_seconds = run_splink(ours.records)
    return {
        "records": len(ours.records),
        "ours": {**pairwise_scores(ours.identity_map, truth), "seconds": round(our_seconds, 2)},
        "splink": {**pairwise_scores(splink_map, truth), "seconds": round(splink_seconds, 2)},
    }
