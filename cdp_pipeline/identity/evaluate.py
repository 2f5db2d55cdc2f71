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


def pairs_within(frame: pd.DataFrame, group: str) -> pd.DataFrame:
    """Every unordered pair of rows sharing ``group`` (suffixes _a, _b; ``pos`` orders them)."""
    pairs = frame.merge(frame, on=group, suffixes=("_a", "_b"))
    return pairs[pairs["pos_a"] < pairs["pos_b"]]


# Why a true pair of records was not linked, judged on what the two records hold, in this
# order (the first that applies). Only the last could be found by weighing the evidence
# differently; the first can never be found, a guard vetoes the second on purpose, and the
# others hold nothing to compare but a name.
MISSED_PAIR_EVIDENCE = (
    "a record holding nothing to link by",
    "shared email or phone refused by a guard",
    "a record without a name",
    "another surname",
    "another first name",
    "same name, nothing else in common",
    "same name and more in common",
)
# What may agree besides the name: what the probabilistic model weighs.
CORROBORATING_FIELDS = ("dob", "street", "postcode", "city", "employer", "job_title")
# Everything of a record that another record could share.
LINKABLE_FIELDS = ("first_canon", "last_fold", "email_norm", "phone", *CORROBORATING_FIELDS, "customer_id")


def holds_nothing_to_link_by(records: pd.DataFrame, record_emails: pd.DataFrame,
                             system_keys: pd.DataFrame) -> np.ndarray:
    """Records with no name, address, birth date, employer, job title, email, phone or system key.

    A browser cookie that never logged in, identified itself, filled a form or completed an
    order is such a record: it belongs to its person, but nothing in any extract says so, and
    every true pair it is part of is beyond any resolver's reach. They bound recall.
    """
    present = [column for column in LINKABLE_FIELDS if column in records.columns]
    nothing = records[present].isna().all(axis=1).to_numpy(dtype=bool, copy=True)
    for held in (record_emails, system_keys):
        nothing[held["rec"].to_numpy()] = False
    return nothing


def missed_pairs_by_evidence(records: pd.DataFrame, identity_map: pd.DataFrame,
                             truth_records: pd.DataFrame, nothing_to_link_by: np.ndarray) -> dict:
    """The true pairs the resolution left apart, by what their two records hold.

    Recall's gap is only worth chasing where the records hold something to link by: a cookie
    never identified cannot be linked at all, and two records sharing a common name and nothing
    else are left apart on purpose (a namesake looks exactly the same). ``records`` are the resolution's (names folded,
    identifiers normalised) and ``nothing_to_link_by`` flags them as
    ``holds_nothing_to_link_by`` does; pairs are counted over the records the truth knows, so
    ``missed`` is the pairwise scores' true pairs minus their true positives. ``recall_ceiling``
    is the pairwise recall of a resolver that found every true pair but the unreachable ones,
    and ``recall_of_reachable`` ours over the reachable pairs alone.
    """
    key = ["source", "source_record_id"]
    fields = ["first_canon", "last_fold", "email_norm", "phone", *CORROBORATING_FIELDS]
    frame = (records[key + fields].assign(nothing=np.asarray(nothing_to_link_by, dtype=bool))
             .astype({"source_record_id": "string"})
             .merge(identity_map[key + ["person_id"]].astype({"source_record_id": "string"}), on=key)
             .merge(truth_records[key + ["true_person_id"]].astype("string"), on=key))
    true_pairs = _pairs(frame.groupby("true_person_id").size().to_numpy())
    split = frame.groupby("true_person_id")["person_id"].transform("nunique") > 1
    frame = frame[split.to_numpy()].assign(pos=np.arange(int(split.sum())))
    pairs = pairs_within(frame, "true_person_id")
    pairs = pairs[pairs["person_id_a"] != pairs["person_id_b"]]

    def agree(field: str) -> pd.Series:
        return (pairs[f"{field}_a"] == pairs[f"{field}_b"]).fillna(False).astype(bool)

    unreachable = (pairs["nothing_a"] | pairs["nothing_b"]).to_numpy()
    unnamed = (pairs[["first_canon_a", "last_fold_a", "first_canon_b", "last_fold_b"]].isna().any(axis=1))
    corroborated = np.logical_or.reduce([agree(f).to_numpy() for f in CORROBORATING_FIELDS])
    evidence = np.select(
        [unreachable, agree("email_norm") | agree("phone"), unnamed, ~agree("last_fold"), ~agree("first_canon"),
         ~corroborated],
        MISSED_PAIR_EVIDENCE[:-1], default=MISSED_PAIR_EVIDENCE[-1])
    counts = pd.Series(evidence).value_counts().reindex(list(MISSED_PAIR_EVIDENCE), fill_value=0)
    missed, beyond_reach = int(counts.sum()), int(unreachable.sum())
    reachable = true_pairs - beyond_reach
    return {"missed_pairs": missed,
            "true_pairs": int(true_pairs),
            "unreachable_pairs": beyond_reach,
            "recall_ceiling": _ratio(reachable, true_pairs),
            "recall_of_reachable": _ratio(true_pairs - missed, reachable),
            "by_evidence": {name: {"pairs": int(n), "share": n / missed if missed else 0.0} for name, n in counts.items()}}


def read_truth_records(truth_dir) -> pd.DataFrame:
    """The truth folder's ``records.csv`` as strings (ids keep their leading zeros)."""
    from pathlib import Path

    return pd.read_csv(Path(truth_dir) / "records.csv", dtype="string", keep_default_na=False)
