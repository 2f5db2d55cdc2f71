"""Splink 4 (DuckDB backend) on the same identity records as our resolver, for the benchmark.

Splink gets one row per identity record of our resolution (``IdentityResolution.records``,
already normalised, so both start from the same data) with the evidence our resolver uses:

* columns: folded first and last name, date of birth, primary email, phone (E.164), postcode,
  folded city, normalised street, employer and job title; plus two arrays, every usable address the record was
  seen with (valid, not a role address: ``record_emails.email_typed``) and its system keys
  (``customer_id:…``, ``order_id:…`` from ``system_keys``: store account, orders, cookies that
  logged in or checked out);
* comparisons: ``NameComparison`` (exact, Jaro-Winkler 0.92/0.88/0.7) on both names with
  term-frequency adjustments, ``DateOfBirthComparison``, ``ArrayIntersectAtSizes`` on the
  addresses and on the system keys, exact phone, postcode, city, employer and job title (the
  last three with term frequencies), Jaro-Winkler 0.9 on the street;
* blocking for predictions: a shared address, a shared system key (arrays exploded), phone,
  first+last name, last name+postcode: the identifiers and name blocks our resolver uses;
* training, unsupervised as the Splink tutorials do it: λ from deterministic rules (same
  primary email; same first name, last name and date of birth) at an assumed recall of 0.7,
  u by random sampling (``U_SAMPLE_PAIRS`` pairs, fixed seed), m by EM in two sessions
  blocked on names and on the primary email, so each comparison is estimated in one of them;
* clusters: connected components of the pairs at ``THRESHOLD`` match probability, the same
  probability our resolver requires of a probabilistic link (``match_threshold``) and a
  value the threshold sweep in BENCHMARKS.md shows to be on Splink's plateau, not tuned
  to the truth.

Both are scored by ``identity.evaluate.pairwise_scores`` against the generator's truth and
measured the same way (wall time, peak resident memory of the process during the call). Our
time includes building the records; Splink's includes turning them into its input.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.bench.measure import ResourceSampler, current_rss_bytes
from cdp_pipeline.identity.evaluate import pairs_within

SPLINK_COLUMNS = {  # Splink input column -> column of IdentityResolution.records
    "first_name": "first_fold",
    "last_name": "last_fold",
    "email": "email_norm",
    "phone": "phone",
    "postcode": "postcode",
    "city": "city",
    "street": "street",
    "employer": "employer",
    "job_title": "job_title",
}
THRESHOLD = 0.99
SWEEP_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
U_SAMPLE_PAIRS = 5e6
SEED = 20261124


def _lists_by_record(rec: np.ndarray, values: pd.Series, n: int) -> "pa.Array":
    """Arrow list per record (null where a record has none), built from offsets, no row loop."""
    import pyarrow as pa

    frame = pd.DataFrame({"rec": rec, "value": values.astype("string").to_numpy()}).dropna()
    frame = frame.drop_duplicates().sort_values(["rec", "value"], kind="stable")
    offsets = np.searchsorted(frame["rec"].to_numpy(), np.arange(n + 1), side="left").astype(np.int32)
    has_values = np.diff(offsets) > 0
    flat = pa.array(frame["value"].to_numpy(dtype=object), type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(~has_values))


def splink_input(resolution) -> "pa.Table":
    """The resolution's records as Splink's input table (see the module docstring)."""
    import pyarrow as pa

    records = resolution.records
    n = len(records)
    columns = {"unique_id": pa.array(np.arange(n, dtype=np.int64))}
    for splink_name, our_name in SPLINK_COLUMNS.items():
        text = records[our_name].astype("string")
        columns[splink_name] = pa.array(text.mask(text == "").to_numpy(dtype=object, na_value=None), type=pa.string())
    dob = records["dob"].dt.strftime("%Y-%m-%d").astype("string")
    columns["dob"] = pa.array(dob.to_numpy(dtype=object, na_value=None), type=pa.string())
    emails = resolution.record_emails
    usable = emails[emails["email_valid"] & ~emails["email_role"]]
    columns["emails"] = _lists_by_record(usable["rec"].to_numpy(), usable["email_typed"], n)
    keys = resolution.system_keys
    columns["system_keys"] = _lists_by_record(keys["rec"].to_numpy(), keys["kind"] + ":" + keys["value"], n)
    return pa.table(columns)


def splink_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ArrayIntersectAtSizes("emails", [1]),
            cl.ArrayIntersectAtSizes("system_keys", [1]),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("street", [0.9]),
            cl.ExactMatch("employer").configure(term_frequency_adjustments=True),
            cl.ExactMatch("job_title").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("emails", arrays_to_explode=["emails"]),
            block_on("system_keys", arrays_to_explode=["system_keys"]),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("last_name", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train_and_predict(table, lowest_threshold: float):
    """(linker, pairwise predictions at or above ``lowest_threshold``), trained unsupervised."""
    from splink import DuckDBAPI, Linker, block_on

    linker = Linker(table, splink_settings(), db_api=DuckDBAPI())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "last_name", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    return linker, linker.inference.predict(threshold_match_probability=lowest_threshold)


def cluster_identity_map(linker, predictions, records: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Splink's clusters at ``threshold`` as an identity map keyed like ours."""
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    assigned = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    position = assigned["unique_id"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "source": records["source"].to_numpy()[position],
        "source_record_id": records["source_record_id"].to_numpy()[position],
        "person_id": assigned["cluster_id"].astype("string").to_numpy(),
    })


def run_splink(resolution, threshold: float = THRESHOLD) -> tuple[pd.DataFrame, object, object]:
    """(identity map at ``threshold``, linker, predictions) for ``resolution``'s records."""
    linker, predictions = train_and_predict(splink_input(resolution), min(SWEEP_THRESHOLDS))
    return cluster_identity_map(linker, predictions, resolution.records, threshold), linker, predictions


def _measured(call):
    """(result, {seconds, peak_rss_mib, rss_before_mib}) of ``call()``: the process's peak
    resident memory during the call, and what it held before (the peak's share that is not the call's)."""
    before = current_rss_bytes()
    with ResourceSampler() as sampler:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    return result, {"seconds": round(seconds, 2), "peak_rss_mib": round(sampler.peak_rss / 2**20, 1),
                    "rss_before_mib": round(before / 2**20, 1)}


def where_they_differ(records: pd.DataFrame, truth: pd.DataFrame, ours: pd.DataFrame, splink: pd.DataFrame) -> dict:
    """The pairs behind the score gap: Splink's wrong merges that look like households (same
    surname, another first name), and true pairs only ours found where one record has no first
    name (a cookie or order known by an address or a system key alone)."""
    key = ["source", "source_record_id"]
    frame = records[key + ["first_fold", "last_fold"]].assign(pos=np.arange(len(records)))
    frame = frame.merge(truth[key + ["true_person_id"]], on=key)
    frame = frame.merge(ours[key + ["person_id"]].rename(columns={"person_id": "ours"}), on=key)
    frame = frame.merge(splink[key + ["person_id"]].rename(columns={"person_id": "splink"}), on=key)
    wrong = pairs_within(frame.drop(columns="ours"), "splink")
    wrong = wrong[wrong["true_person_id_a"] != wrong["true_person_id_b"]]
    household = (wrong["last_fold_a"] == wrong["last_fold_b"]) & (wrong["first_fold_a"] != wrong["first_fold_b"])
    true_pairs = pairs_within(frame, "true_person_id")
    ours_only = true_pairs[(true_pairs["ours_a"] == true_pairs["ours_b"]) & (true_pairs["splink_a"] != true_pairs["splink_b"])]
    unnamed = ours_only["first_fold_a"].isna() | ours_only["first_fold_b"].isna()
    return {
        "splink_wrong_pairs": int(len(wrong)),
        "splink_wrong_pairs_same_surname_other_first_name": int(household.fillna(False).sum()),
        "true_pairs_only_ours_found": int(len(ours_only)),
        "true_pairs_only_ours_found_with_an_unnamed_record": int(unnamed.sum()),
    }


def resolve_state(truth_dir: Path):
    """(resolution, its cost, truth records): our resolver on the state's records, in this
    process, measured as Splink is."""
    from cdp_pipeline.config import Settings
    from cdp_pipeline.extracts import ALL_EXTRACTS
    from cdp_pipeline.identity import read_truth_records, resolve_identities
    from cdp_pipeline.ingest.state import StateStore

    store = StateStore(Settings.from_env().state_dir)
    frames = {e.name: store.load(e.name)[0] for e in ALL_EXTRACTS}
    ours, cost = _measured(lambda: resolve_identities(frames))
    return ours, cost, read_truth_records(truth_dir)


def compare_with_splink(ours, our_cost: dict, truth: pd.DataFrame) -> dict:
    """Splink on the records of our resolution ``ours``; both scored on the truth.

    Splink's threshold sweep (clusters at other probabilities from the same trained model) is
    scored too, outside the timing, to show how much the chosen threshold matters.
    """
    from cdp_pipeline.identity.evaluate import pairwise_scores

    (splink_map, linker, predictions), splink_cost = _measured(lambda: run_splink(ours))
    sweep = {
        str(t): pairwise_scores(cluster_identity_map(linker, predictions, ours.records, t), truth)["f1"]
        for t in SWEEP_THRESHOLDS
    }
    return {
        "records": len(ours.records),
        "threshold": THRESHOLD,
        "differences": where_they_differ(ours.records, truth, ours.identity_map, splink_map),
        "ours": {**pairwise_scores(ours.identity_map, truth), **our_cost},
        "splink": {**pairwise_scores(splink_map, truth), **splink_cost, "f1_by_threshold": sweep},
    }
