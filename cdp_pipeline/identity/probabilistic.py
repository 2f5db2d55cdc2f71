"""Fellegi–Sunter linkage for records whose identifiers differ.

* Blocking: several keys (surname + postcode, full name, email local part, company domain +
  surname, phone tail, birth date + first name, initial + surname + city). Within a key, records
  are sorted and each is paired with its next ``window`` neighbours only (sorted neighbourhood),
  so a huge block (every "john smith") costs ``n * window`` pairs, not ``n²``: cost stays linear.
* ``u`` (chance a level occurs between two different people) comes from random record pairs,
  which are almost all non-matches; for exact name agreement it is the name's own frequency
  (agreeing on "smith" is weaker evidence than agreeing on "zwicky").
* ``m`` (chance a level occurs between two records of the same person) and the match prior are
  estimated by EM on the blocked pairs, so nothing is hand-set beyond the starting point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdp_pipeline.identity import normalize as nz
from cdp_pipeline.identity.compare import COMPARISONS, NULL, compare_pairs

TF_COMPARISONS = {"first": ("first_canon", 4), "last": ("last_fold", 3)}


@dataclass(frozen=True)
class FSModel:
    """Learned parameters: per comparison, per level, m and u; and the match prior."""

    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    prior: float
    iterations: int

    def weights(self) -> dict[str, list[float]]:
        """log2(m/u) per level: the evidence each level carries, for diagnostics."""
        return {k: np.round(np.log2(self.m[k] / self.u[k]), 3).tolist() for k in self.m}


def comparison_columns(records: pd.DataFrame) -> pd.DataFrame:
    """Adds the derived columns the comparisons read (email local part, domain, free provider)."""
    out = records.copy()
    out["email_local"] = nz.email_local(out["email_norm"])
    out["email_domain"] = nz.email_domain(out["email_norm"])
    out["email_free"] = nz.is_free_provider(out["email_domain"])
    return out


def blocking_keys(records: pd.DataFrame) -> dict[str, pd.Series]:
    """Blocking rules as keys; a record with any part missing is not blocked by that rule."""
    first = records["first_canon"]
    last = records["last_fold"]
    letters = records["email_local"].str.replace(r"[^a-z]", "", regex=True)
    company = records["email_domain"].where(~records["email_free"])
    return {
        "surname_postcode": last + "|" + records["postcode"],
        "full_name": first + "|" + last,
        "email_local": letters.where(letters.str.len() >= 5),
        "company_surname": company + "|" + last,
        "phone_tail": records["phone"].str[-7:],
        "dob_first": records["dob"].dt.strftime("%Y-%m-%d").astype("string") + "|" + first,
        "initial_surname_city": first.str[:1] + "|" + last + "|" + records["city"],
    }


def candidate_pairs(records: pd.DataFrame, window: int) -> pd.DataFrame:
    """Distinct record pairs (a < b) sharing a blocking key within ``window`` sorted neighbours."""
    found = []
    tiebreak = records["email_norm"].fillna("").to_numpy().astype(str)
    for rule, key in blocking_keys(records).items():
        present = np.flatnonzero(key.notna().to_numpy())
        if len(present) < 2:
            continue
        k = key.to_numpy()[present].astype(str)
        order = np.lexsort((tiebreak[present], k))
        idx, k = present[order], k[order]
        for step in range(1, window + 1):
            same = k[:-step] == k[step:]
            if not same.any():
                break
            found.append(np.stack([idx[:-step][same], idx[step:][same]], axis=1))
    if not found:
        return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64)})
    pairs = np.concatenate(found)
    pairs.sort(axis=1)
    pairs = np.unique(pairs, axis=0)
    return pd.DataFrame({"a": pairs[:, 0].astype(np.int64), "b": pairs[:, 1].astype(np.int64)})


def _level_probabilities(levels: pd.DataFrame, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    out = {}
    for name in COMPARISONS:
        column = levels[name].to_numpy()
        size = int(max(column.max(initial=0), _MAX_LEVEL[name])) + 1
        known = column != NULL
        w = np.ones(len(column)) if weights is None else weights
        counts = np.bincount(column[known], weights=w[known], minlength=size)
        out[name] = (counts + 0.5) / (counts.sum() + 0.5 * size)  # smoothed: no level is impossible
    return out


_MAX_LEVEL = {"first": 4, "last": 3, "dob": 2, "address": 3, "city": 1, "phone": 2, "employer": 2,
              "email": 4, "country": 1}


def estimate_u(records: pd.DataFrame, sample_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """u per level from random pairs: two random records are nearly always different people."""
    n = len(records)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=sample_pairs)
    b = rng.integers(0, n, size=sample_pairs)
    keep = a != b
    return _level_probabilities(compare_pairs(records, a[keep], b[keep]))


def _tf_u(records: pd.DataFrame, pairs: pd.DataFrame, levels: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per pair u for exact name agreement: the frequency of the shared value."""
    out = {}
    for name, (column, exact_level) in TF_COMPARISONS.items():
        values = records[column]
        freq = values.map(values.value_counts(normalize=True)).to_numpy(dtype=float, na_value=np.nan)
        u = freq[pairs["a"].to_numpy()]
        out[name] = np.where(levels[name].to_numpy() == exact_level, u, np.nan)
    return out


def _log_ratio(model_m, model_u, levels: pd.DataFrame, tf_u: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(levels))
    for name in COMPARISONS:
        column = levels[name].to_numpy()
        known = column != NULL
        safe = np.where(known, column, 0)
        ratio = np.log2(model_m[name][safe] / model_u[name][safe])
        if name in tf_u:
            tf = tf_u[name]
            use_tf = known & ~np.isnan(tf)
            ratio = np.where(use_tf, np.log2(model_m[name][safe] / np.maximum(np.nan_to_num(tf, nan=1.0), 1e-6)), ratio)
        total += np.where(known, ratio, 0.0)
    return total


def _initial_m() -> dict[str, np.ndarray]:
    """EM start: agreement likely among matches; the data moves these wherever it says."""
    shapes = {name: size + 1 for name, size in _MAX_LEVEL.items()}
    out = {}
    for name, size in shapes.items():
        raw = np.linspace(0.05, 1.0, size) ** 2
        out[name] = raw / raw.sum()
    return out


def fit(levels: pd.DataFrame, u: dict[str, np.ndarray], tf_u: dict[str, np.ndarray],
        max_iterations: int = 25, tolerance: float = 1e-4) -> FSModel:
    """EM over the blocked pairs with u held fixed (Splink's scheme: u from random sampling)."""
    m = _initial_m()
    prior = 0.1
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        score = _log_ratio(m, u, levels, tf_u) + np.log2(prior / (1 - prior))
        p = 1.0 / (1.0 + np.exp2(-np.clip(score, -60, 60)))
        new_m = _level_probabilities(levels, weights=p)
        new_prior = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        change = max(float(np.abs(new_m[k] - m[k]).max()) for k in m)
        m, prior = new_m, new_prior
        if change < tolerance:
            break
    return FSModel(m=m, u=u, prior=prior, iterations=iteration)


def match_probability(model: FSModel, levels: pd.DataFrame, tf_u: dict[str, np.ndarray]) -> np.ndarray:
    score = _log_ratio(model.m, model.u, levels, tf_u) + np.log2(model.prior / (1 - model.prior))
    return 1.0 / (1.0 + np.exp2(-np.clip(score, -60, 60)))


def score_candidates(records: pd.DataFrame, window: int, u_sample_pairs: int, seed: int):
    """Blocked pairs with their comparison levels, match probability and the fitted model."""
    records = comparison_columns(records)
    pairs = candidate_pairs(records, window)
    levels = compare_pairs(records, pairs["a"].to_numpy(), pairs["b"].to_numpy())
    if len(records) < 2 or len(pairs) == 0:
        return pairs.assign(probability=np.zeros(len(pairs))), levels, None
    u = estimate_u(records, u_sample_pairs, seed)
    tf_u = _tf_u(records, pairs, levels)
    model = fit(levels, u, tf_u)
    probability = match_probability(model, levels, tf_u)
    return pairs.assign(probability=probability), levels, model
