"""``cdp evaluate``: the published tables scored against a truth folder written by ``cdp synth``.

Only tests and benchmarks have a truth folder; the pipeline itself never reads one. Our
persons are mapped to true persons by the majority of their identity records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.config import Settings
from cdp_pipeline.models.artifacts import ENGAGEMENT_ARTIFACTS

RESPONSES_FOR_TRUTH_AGREEMENT = 5


def _truth(truth_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    meta = json.loads((truth_dir / "meta.json").read_text())
    records = pd.read_csv(truth_dir / "records.csv", dtype=str, keep_default_na=False)
    if "first_drop_date" in records:
        records = records[records["first_drop_date"] <= meta["reference_date"]]
    persons = pd.read_csv(truth_dir / "persons.csv", dtype={"true_person_id": str}, keep_default_na=False)
    return records, persons, meta


def identity_scores(identity_map: pd.DataFrame, records: pd.DataFrame) -> dict:
    from cdp_pipeline.identity.evaluate import pairwise_scores

    return pairwise_scores(identity_map, records)


def send_time_truth_agreement(
    send_times: pd.DataFrame, owner: pd.Series, persons: pd.DataFrame, min_responses: int = RESPONSES_FOR_TRUTH_AGREEMENT
) -> dict:
    """Share of persons with enough human responses whose recommended local hour is within
    ±1 hour (circular) of the hour they truly read."""
    from cdp_pipeline.models.send_time import circular_hour_distance

    enough = send_times[send_times["human_responses"] >= min_responses]
    true_hour = persons.set_index("true_person_id")["preferred_local_hour"].astype(int)
    hours = owner.reindex(enough["person_id"].astype("string").to_numpy()).map(true_hour)
    known = hours.notna().to_numpy()
    distance = circular_hour_distance(
        enough["best_local_hour"].to_numpy(dtype=int)[known], hours.to_numpy()[known].astype(int)
    )
    return {
        "persons_with_enough_responses": int(known.sum()),
        "min_responses": min_responses,
        "within_1h_of_true_hour": float(np.mean(distance <= 1)) if known.any() else None,
    }


def engagement_truth_ceiling(artifact_folder: Path, owner: pd.Series, propensity: pd.Series) -> dict:
    """ROC-AUC that each person's true propensity reaches on the model's validation labels:
    the best any model could do on those labels."""
    from sklearn.metrics import roc_auc_score

    from cdp_pipeline.models.artifacts import load_validation_labels

    labels = load_validation_labels(artifact_folder)
    truth = owner.reindex(labels.index.astype("string")).map(propensity)
    known = truth.notna().to_numpy()
    usable = known.any() and labels[known].nunique() == 2
    return {
        "labelled_persons": int(len(labels)),
        "persons_with_truth": int(known.sum()),
        "roc_auc": float(roc_auc_score(labels[known], truth[known])) if usable else None,
    }


def model_run_metrics(model_runs: pd.DataFrame) -> dict:
    runs = {}
    for row in model_runs.itertuples():
        runs[row.model] = {
            "version": row.model_version,
            "metrics": json.loads(row.metrics),
            "baselines": json.loads(row.baseline_metrics),
        }
    return runs


def evaluate(what: str, truth_dir: Path, warehouse_url: str | None = None) -> dict:
    from cdp_pipeline.segments.truth import segment_truth_scores, true_person_of
    from cdp_pipeline.warehouse.engine import make_engine
    from cdp_pipeline.warehouse.publish import read_table

    engine = make_engine(warehouse_url or Settings.from_env().warehouse_url)
    records, persons, meta = _truth(Path(truth_dir))
    identity_map = read_table(engine, "identity_map")
    owner = true_person_of(identity_map, records)
    result: dict = {"reference_date": meta["reference_date"]}
    if what in ("identity", "all"):
        result["identity"] = identity_scores(identity_map, records)
    if what in ("engagement", "send-time", "all"):
        runs = model_run_metrics(read_table(engine, "model_runs"))
        if what in ("engagement", "all"):
            engagement = runs.get("engagement", {})
            folder = Settings.from_env().state_dir / ENGAGEMENT_ARTIFACTS / engagement["version"]
            engagement["truth_ceiling"] = engagement_truth_ceiling(
                folder, owner, persons.set_index("true_person_id")["propensity"].astype(float)
            )
            result["engagement"] = engagement
        if what in ("send-time", "all"):
            send_time = runs.get("send_time", {})
            send_time["truth_agreement"] = send_time_truth_agreement(read_table(engine, "send_times"), owner, persons)
            result["send_time"] = send_time
    if what in ("segments", "all"):
        catalogue = read_table(engine, "segments")
        members = {slug: read_table(engine, f"segment_{slug}") for slug in catalogue["segment"]}
        email = dict(zip(catalogue["segment"], catalogue["email_segment"].astype(bool)))
        scores = segment_truth_scores(members, identity_map, truth_dir, email_segments=email)
        result["segments"] = {
            row.segment: {"precision": row.precision, "recall": row.recall, "members": row.members}
            for row in scores.itertuples()
        }
    engine.dispose()
    return result
