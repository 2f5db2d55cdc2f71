"""Scores of a predicted clustering against the truth, computed from cluster sizes alone.

Pairwise: a pair of records is a true positive when both clusterings put it together. With
``n_ij`` records in predicted person i and true person j, the true-positive pairs are
sum C(n_ij, 2), the predicted pairs sum C(a_i, 2) and the true pairs sum C(b_j, 2), so millions
of records are scored without listing a single pair. B-cubed averages, over records, the share
of the record's predicted cluster that is truly its person (precision) and the share of its
true person that it was clustered with (recall): a small error costs little, unlike pairwise
scores where one wrong merge of two big clusters dominates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pairwise_scores(identity_map: pd.DataFrame, truth_records: pd.DataFrame) -> dict:
    """Pairwise and B-cubed precision, recall and F1 over the records both frames know."""
    key = ["source", "source_record_id"]
    predicted = identity_map[key + ["person_id"]].astype("string")
    truth = truth_records[key + ["true_person_id"]].astype("string")
    joined = predicted.merge(truth, on=key, how="inner")
    n = len(joined)
    cells = joined.groupby(["person_id", "true_person_id"]).size().rename("n_ij").reset_index()
    a = joined.groupby("person_id").size()
    b = joined.groupby("true_person_id").size()
    tp = _pairs(cells["n_ij"].to_numpy())
    precision = _ratio(tp, _pairs(a.to_numpy()))
    recall = _ratio(tp, _pairs(b.to_numpy()))
    n_ij = cells["n_ij"].to_numpy(dtype=np.float64)
    a_i = a.loc[cells["person_id"]].to_numpy(dtype=np.float64)
    b_j = b.loc[cells["true_person_id"]].to_numpy(dtype=np.float64)
    b3_precision = float((n_ij * n_ij / a_i).sum() / n) if n else 1.0
    b3_recall = float((n_ij * n_ij / b_j).sum() / n) if n else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "b3_precision": b3_precision,
        "b3_recall": b3_recall,
        "b3_f1": _f1(b3_precision, b3_recall),
        "records": n,
        "true_persons": int(len(b)),
        "predicted_persons": int(len(a)),
        "unmatched_predicted_records": int(len(predicted) - n),
        "unmatched_truth_records": int(len(truth) - n),
    }


def read_truth_records(truth_dir) -> pd.DataFrame:
    """The truth folder's ``records.csv`` as strings (ids keep their leading zeros)."""
    from pathlib import Path

    return pd.read_csv(Path(truth_dir) / "records.csv", dtype="string", keep_default_na=False)
