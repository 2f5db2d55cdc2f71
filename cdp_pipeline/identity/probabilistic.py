"""Fellegi–Sunter linkage for records whose identifiers differ.

* Blocking: several keys (surname + postcode, full name, email local part, company domain +
  surname, organisation + surname, phone tail, birth date + first name, initial + surname +
  city). Within a key, records are sorted and each is paired with its next ``window``
  neighbours only (sorted neighbourhood), so a huge block (every "john smith") costs
  ``n * window`` pairs, not ``n²``: cost stays linear.
* ``u`` (chance a level occurs between two different people) comes from random record pairs,
  which are almost all non-matches; for exact agreement on a name, birth date, employer, city or
  job title, and for an employer matching a work address's company, it is the value's own frequency
  (agreeing on "smith" or "london" is weaker evidence than agreeing on "zwicky" or "erakleio"),
  and for a full name the full name's frequency: names run in languages and families, so the
  product of the two parts' frequencies would overstate how rare "giuseppe russo" is.
* ``m`` (chance a level occurs between two records of the same person) is measured on pairs
  that share an identifier (labels the data gives for free); for the identifier comparisons
  themselves (email, phone) it is estimated by EM on the blocked pairs. Nothing is hand-set.
* The prior (chance two random records are one person) comes from the clusters, not from the
  blocked pairs; see ``resolve._probabilistic_links``.
* Country agreement is not counted (it follows from the name, phone and address), nor are
  email local parts that merely spell the name (namesakes share them): the model's
  independence assumption would count that evidence twice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdp_pipeline.frames import distinct_in_place
from cdp_pipeline.identity import normalize as nz
from cdp_pipeline.identity.compare import (
    CHUNK_THREADS,
    COMPARISONS,
    MAX_LEVEL,
    NULL,
    Coded,
    compare_pairs,
    names_both_ways,
    over_chunks,
    prepare_features,
    read_as_given_name,
)

# Agreement at these levels weighs by the shared value's frequency: key -> (comparison, column
# holding the value, level). An employer named by the other's work address weighs by how many
# records hold that company's domain ("acme" is weaker evidence than "helixinsurance"); one
# local part that is a name and a number at two providers, by how many local parts hold the
# number (namesakes born in '94 share christine.lemaire94).
TF_LEVELS = {"first": ("first", "first_canon", 4), "last": ("last", "last_fold", 3), "dob": ("dob", "dob_key", 2),
             "employer": ("employer", "employer", 2), "employer_domain": ("employer_domain", "company_label", 1),
             "city": ("city", "city", 1), "job_title": ("job_title", "job_title", 1),
             "email_number": ("email", "local_number", 3)}
# First and last names are not independent (names run in languages and families): when both
# agree exactly, the pair weighs by how common the full name is, not by the product of the two.
FULL_NAME = ("first", "last")


# What blocking, the comparisons and the value frequencies read of a record (``RecordFeatures``
# keeps them as integer codes).
FEATURE_COLUMNS = ("first_fold", "first_canon", "last_fold", "last_latin", "email_norm", "phone", "street", "postcode",
                   "city", "city_latin", "country", "dob", "employer", "job_title")


def comparison_columns(records: pd.DataFrame) -> pd.DataFrame:
    """The records' ``FEATURE_COLUMNS`` (those they hold) and the columns derived from them
    (surname as spelt in Latin letters without spaces, full name as written and the other way
    round, email local part, its number and its letters, domain, free provider, company, birth
    date as text)."""
    out = records[[column for column in FEATURE_COLUMNS if column in records]]
    out["surname_key"] = nz.without_spaces(out["last_latin"])
    out["name_written"], out["name_reversed"] = names_both_ways(out["first_fold"], out["last_fold"])
    out["email_local"], out["email_domain"] = nz.split_address(out["email_norm"])
    out["local_number"] = out["email_local"].str.replace(r"[^0-9]+", "", regex=True).replace("", None)
    out["local_letters"] = out["email_local"].str.replace(r"[^a-z]+", "", regex=True)
    labels = nz.company_label(out["email_domain"])
    out["email_free"] = nz.is_free_provider(out["email_domain"], labels)
    out["company_label"] = labels.where(~out["email_free"])
    out["dob_key"] = out["dob"].dt.strftime("%Y-%m-%d").astype("string")
    return out


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column (-1 where missing): equal values, equal codes."""
    return pd.factorize(values, use_na_sentinel=True)[0].astype(np.int32)


@dataclass(frozen=True)
class RecordFeatures:
    """What blocking, the comparisons and the value frequencies read of each record, as integer
    codes derived once per run: the text they came from is let go.

    ``subset`` keeps rows without deriving anything again: when erased persons' records leave,
    the rest are resolved from the same per-record codes, only the set changes. Equal values
    keep equal codes, so the blocks, comparisons and frequencies of the subset are those of a
    run on the kept records alone.
    """

    coded: dict  # ``compare.prepare_features``
    blocks: dict[str, np.ndarray]  # blocking rule -> key code per record (-1: the rule does not block it)
    email_order: np.ndarray  # a record's email in text order: the order of records inside a block
    values: dict[str, np.ndarray]  # ``TF_LEVELS`` key or "full_name" -> value code per record

    @classmethod
    def of(cls, records: pd.DataFrame) -> "RecordFeatures":
        columns = comparison_columns(records)

        def blocks_and_values():
            values = {key: _codes(columns[column]) for key, (_, column, _) in TF_LEVELS.items()}
            values["full_name"] = _codes(columns[TF_LEVELS["first"][1]] + "|" + columns[TF_LEVELS["last"][1]])
            return {rule: _codes(key) for rule, key in blocking_keys(columns).items()}, values

        with ThreadPoolExecutor(1) as beside:  # factorising text releases the GIL: a second core helps
            other = beside.submit(blocks_and_values)
            coded = prepare_features(columns)
            blocks, values = other.result()
        email_order = pd.factorize(columns["email_norm"], sort=True, use_na_sentinel=True)[0].astype(np.int32)
        return cls(coded=coded, blocks=blocks, email_order=email_order, values=values)

    def __len__(self) -> int:
        return len(self.email_order)

    def subset(self, keep: np.ndarray) -> "RecordFeatures":
        coded = {name: (Coded(value.codes[keep], value.values) if isinstance(value, Coded) else value[keep])
                 for name, value in self.coded.items()}
        return RecordFeatures(coded, {rule: codes[keep] for rule, codes in self.blocks.items()},
                              self.email_order[keep], {key: codes[keep] for key, codes in self.values.items()})


def blocking_keys(records: pd.DataFrame) -> dict[str, pd.Series]:
    """Blocking rules as keys; a record with any part missing is not blocked by that rule.

    A name its language spells otherwise in Latin letters (Δημήτρης: dimitris, or demetres
    letter by letter; Müller: mueller, or muller) blocks by both spellings: each name rule has a
    twin holding the letter-by-letter spelling of those records, and the records whose own key is
    one of those spellings.
    """
    letters = records["local_letters"]
    company = records["email_domain"].where(~records["email_free"])
    keys = {
        "email_local": letters.where(letters.str.len() >= 5),
        "phone_tail": records["phone"].str[-7:],
        **_name_keys(records, records["first_canon"], records["surname_key"], company),
    }
    spelt_first = nz.canonical_first_name(records["first_fold"])
    spelt_last = nz.without_spaces(records["last_fold"])
    spelt_otherwise = ((spelt_first != records["first_canon"]) | (spelt_last != records["surname_key"])).fillna(False)
    if spelt_otherwise.any():
        rows = spelt_otherwise.to_numpy()
        spelt = _name_keys(records[rows], spelt_first[rows], spelt_last[rows], company[rows])
        for rule, key in spelt.items():
            twin = keys[rule].where(keys[rule].isin(key.dropna()) & ~spelt_otherwise)
            twin[rows] = key
            keys[f"{rule}_spelt"] = twin
    keys.update(_swapped_name_keys(records, company))
    return keys


def _swapped_name_keys(records: pd.DataFrame, company: pd.Series) -> dict[str, pd.Series]:
    """Name rules again for the few records whose first and last names another record has the
    other way round (Zhang Wei for Wei Zhang, Coleman Sam for Samuel Coleman), read the other way
    round, and for those other records, read as written, with both names put in one order,
    alphabetical, so the two meet; every other record is left out of these rules."""
    written, reversed_ = records["name_written"].to_numpy(), records["name_reversed"].to_numpy()
    swapped = np.isin(reversed_, written[written >= 0]) & (reversed_ >= 0) & (reversed_ != written)
    if not swapped.any():
        return {}
    partner = np.isin(written, reversed_[swapped]) & ~swapped
    first_fold, last_fold = records["first_fold"], records["last_fold"]
    given = read_as_given_name(first_fold.where(partner, last_fold))
    family = nz.without_spaces(last_fold.where(partner, first_fold))
    rows = swapped | partner
    given, family = given[rows], family[rows]
    in_order = given <= family
    keys = _name_keys(records[rows], given.where(in_order, family), family.where(in_order, given), company[rows])
    return {f"{rule}_swapped": key.reindex(records.index) for rule, key in keys.items()}


def _name_keys(records: pd.DataFrame, first: pd.Series, last: pd.Series, company: pd.Series) -> dict[str, pd.Series]:
    return {
        "surname_postcode": last + "|" + records["postcode"],
        "full_name": first + "|" + last,
        "company_surname": company + "|" + last,
        # The employer a CRM contact typed and the company in a work address, by their first letters
        # ("helix insurance" and helixinsurance.com): one person's records from two sources.
        "organisation_surname": _organisation_prefix(records) + "|" + last,
        "dob_first": records["dob_key"] + "|" + first,
        "initial_surname_city": first.str[:1] + "|" + last + "|" + records["city"],
    }


ORGANISATION_PREFIX = 6


def _organisation_prefix(records: pd.DataFrame) -> pd.Series:
    named = records["employer"].str.replace(" ", "", regex=False).where(lambda v: v.str.len() >= ORGANISATION_PREFIX)
    return named.fillna(records["company_label"]).str[:ORGANISATION_PREFIX].where(
        lambda v: v.str.len() == ORGANISATION_PREFIX)


def candidate_pairs(features: RecordFeatures, window: int, group: np.ndarray | None = None) -> pd.DataFrame:
    """Distinct record pairs (a < b) sharing a blocking key within ``window`` sorted neighbours.

    With ``group`` (a label per record), only pairs across groups: records of one group are
    linked already, and at a million persons they are most of the blocked pairs.
    """
    n = np.int64(len(features))

    def pairs_in(codes: np.ndarray) -> np.ndarray:  # each pair as one number, a * n + b: half the memory of two columns
        present = np.flatnonzero(codes >= 0)
        order = np.lexsort((features.email_order[present], codes[present]))
        idx, k = present[order], codes[present][order]
        found = []
        for step in range(1, window + 1):
            same = k[:-step] == k[step:]
            if not same.any():
                break
            a, b = idx[:-step][same].astype(np.int64), idx[step:][same].astype(np.int64)
            if group is not None:
                across = group[a] != group[b]
                a, b = a[across], b[across]
            found.append(np.minimum(a, b) * n + np.maximum(a, b))
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    with ThreadPoolExecutor(CHUNK_THREADS) as pool:  # numpy's sorting and gathering release the GIL
        found = list(pool.map(pairs_in, features.blocks.values()))
    code = np.concatenate(found) if found else np.zeros(0, np.int64)
    del found
    code = distinct_in_place(code)
    position = np.int32 if n <= np.iinfo(np.int32).max else np.int64  # tens of millions of pairs: half the bytes
    return pd.DataFrame({"a": (code // n).astype(position), "b": (code % n).astype(position)})


def _level_counts(levels: pd.DataFrame, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    out = {}
    for name in COMPARISONS:
        column = levels[name].to_numpy()
        known = column != NULL
        w = np.ones(len(column)) if weights is None else weights
        out[name] = np.bincount(column[known], weights=w[known], minlength=MAX_LEVEL[name] + 1)
    return out


def _probabilities(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Smoothed level frequencies: no level is impossible."""
    return {k: (c + 0.5) / (c.sum() + 0.5 * len(c)) for k, c in counts.items()}


def estimate_u(features: dict, n: int, sample_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """u per level from random pairs: two random records are nearly always different people."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=sample_pairs)
    b = rng.integers(0, n, size=sample_pairs)
    keep = a != b
    return _level_counts(compare_pairs(features, a[keep], b[keep]))


def _shares(codes: np.ndarray) -> np.ndarray:
    """Per record, the share of records holding its value (NaN where it has none)."""
    known = codes >= 0
    share = np.bincount(codes[known], minlength=1) / max(int(known.sum()), 1)
    return np.where(known, share[np.maximum(codes, 0)], np.nan)


@dataclass(frozen=True)
class ValueFrequencies:
    """The u of agreeing on a value: its share of the records, per ``TF_LEVELS`` key and for the
    full name. Kept per record and gathered for the pairs of one comparison at a time: a float
    per candidate pair and key would hold 1.5 GiB at once for a 1M-person run."""

    per_record: dict[str, np.ndarray]

    @classmethod
    def of(cls, features: RecordFeatures) -> "ValueFrequencies":
        return cls({key: _shares(codes) for key, codes in features.values.items()})

    def of_pairs(self, key: str, a: np.ndarray, b: np.ndarray, agree: np.ndarray) -> np.ndarray:
        """Per pair, the share of the value it agrees on (NaN where it doesn't). Where the sides
        hold different values (an employer and a domain), the commoner counts."""
        freq, out = self.per_record[key], np.full(len(a), np.nan)
        rows = np.flatnonzero(agree)  # most pairs agree on few values: gather those alone
        out[rows] = np.fmax(freq[a[rows]], freq[b[rows]])
        return out


MIN_LEVEL_OBSERVATIONS = 5  # a level seen fewer times among matches and random pairs carries no weight


# Agreement here follows from agreement elsewhere (a Spanish name, a Spanish phone: Spain), so
# Fellegi–Sunter's independence assumption would count it twice; only disagreement is evidence.
DISAGREEMENT_ONLY = ("country",)


def level_weights(m_counts: dict[str, np.ndarray], u_counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """log2(m/u) per level; levels too rare to measure on either side weigh nothing."""
    m, u = _probabilities(m_counts), _probabilities(u_counts)
    weights = {k: np.where(m_counts[k] + u_counts[k] >= MIN_LEVEL_OBSERVATIONS, np.log2(m[k] / u[k]), 0.0)
               for k in m}
    for k in DISAGREEMENT_ONLY:
        weights[k] = np.minimum(weights[k], 0.0)
    return weights


def _bayes_factor(weights, m_probs, levels: pd.DataFrame, freqs: ValueFrequencies, a: np.ndarray,
                  b: np.ndarray) -> np.ndarray:
    """Sum of level weights (log2) of the pairs (a[i], b[i]); agreement on a value weighs by the
    value's own frequency, and on a full name by the full name's."""
    columns = {name: levels[name].to_numpy() for name in COMPARISONS}
    total = np.empty(len(levels))

    def add_up(part: slice) -> None:
        total[part] = _bayes_factor_chunk(weights, m_probs, {name: c[part] for name, c in columns.items()}, freqs,
                                          a[part], b[part])

    over_chunks(add_up, len(levels))
    return total


def _bayes_factor_chunk(weights, m_probs, levels: dict[str, np.ndarray], freqs: ValueFrequencies, a: np.ndarray,
                        b: np.ndarray) -> np.ndarray:
    total = np.zeros(len(a))
    for name in COMPARISONS:
        column = levels[name]
        known = column != NULL
        weight = weights[name][np.where(known, column, 0)]
        for key, (comparison, _, level) in TF_LEVELS.items():
            if comparison == name:
                tf = freqs.of_pairs(key, a, b, column == level)
                agreed = ~np.isnan(tf)
                weight[agreed] = _tf_weight(m_probs[name][level], tf[agreed])
        total += np.where(known, weight, 0.0)
    parts = {n: freqs.of_pairs(n, a, b, levels[n] == TF_LEVELS[n][2]) for n in FULL_NAME}
    full_tf = freqs.of_pairs("full_name", a, b, np.logical_and.reduce([~np.isnan(t) for t in parts.values()]))
    full = ~np.isnan(full_tf)
    if full.any():
        separate = sum(_tf_weight(m_probs[n][TF_LEVELS[n][2]], parts[n][full]) for n in FULL_NAME)
        joint_m = np.prod([m_probs[n][TF_LEVELS[n][2]] for n in FULL_NAME])
        total[full] += _tf_weight(joint_m, full_tf[full]) - separate
    return total


def _tf_weight(exact_m: float, tf: np.ndarray) -> np.ndarray:
    return np.log2(exact_m / np.maximum(np.nan_to_num(tf, nan=1.0), 1e-6))


def _sigmoid2(score: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(score, -60, 60)))


@dataclass(frozen=True)
class FSModel:
    """Learned parameters: per comparison and level the weight log2(m/u), the m used for
    frequency-adjusted names, and the share of matches among the blocked pairs (EM's mixing weight)."""

    weights: dict[str, np.ndarray]
    m: dict[str, np.ndarray]
    blocked_prior: float
    iterations: int

    def weight_table(self) -> dict[str, list[float]]:
        return {k: np.round(v, 3).tolist() for k, v in self.weights.items()}


def fit(levels: pd.DataFrame, pairs: tuple[np.ndarray, np.ndarray], u_counts: dict[str, np.ndarray],
        freqs: ValueFrequencies, m_counts: dict[str, np.ndarray], learn: tuple[str, ...],
        max_iterations: int = 30, tolerance: float = 1e-4) -> FSModel:
    """EM over the blocked pairs with u held fixed (u comes from random sampling, as in Splink).

    Only the m of the comparisons in ``learn`` (and the mixing weight) are re-estimated. Blocked
    non-matches (a couple sharing surname and address) resemble no random pair, so a free EM
    over every comparison drifts to "everything matches"; anchoring the comparisons whose m was
    measured on identifier-linked pairs keeps the posterior honest while EM learns the rest.
    """
    counts, prior = dict(m_counts), 0.1
    iteration = 0
    for iteration in range(1, max_iterations + 1):
        m = _probabilities(counts)
        score = _bayes_factor(level_weights(counts, u_counts), m, levels, freqs, *pairs)
        p = _sigmoid2(score + np.log2(prior / (1 - prior)))
        estimated = _level_counts(levels, weights=p)
        new_counts = {k: (estimated[k] if k in learn else counts[k]) for k in counts}
        new_m = _probabilities(new_counts)
        new_prior = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        change = max(max(float(np.abs(new_m[k] - m[k]).max()) for k in m), abs(new_prior - prior))
        counts, prior = new_counts, new_prior
        if change < tolerance:
            break
    return FSModel(weights=level_weights(counts, u_counts), m=_probabilities(counts),
                   blocked_prior=prior, iterations=iteration)


def match_probability(log2_bayes_factor: np.ndarray, prior: float) -> np.ndarray:
    """Posterior that a pair is one person, from its Bayes factor and the prior of a random pair.

    The prior is that of two *random* records, not of blocked pairs: blocking chose the pairs
    because they look alike, and that evidence is already in the Bayes factor.
    """
    return _sigmoid2(log2_bayes_factor + np.log2(prior / (1 - prior)))


def log2_bayes_factor_needed(threshold: float, prior: float) -> float:
    """The Bayes factor (log2) at which ``match_probability`` reaches ``threshold``: a pair is
    accepted by comparing its factor with this, without a probability for each of millions of pairs."""
    return float(np.log2(threshold / (1 - threshold)) - np.log2(prior / (1 - prior)))


def random_pair_prior(group: np.ndarray) -> float:
    """Chance two random records are one person, from a clustering of the records."""
    n = len(group)
    sizes = np.bincount(group).astype(np.float64)
    same = (sizes * (sizes - 1) / 2).sum()
    return float(np.clip(same / max(n * (n - 1) / 2, 1.0), 1e-9, 0.5))


IDENTIFIER_COMPARISONS = ("email", "phone")
MIN_LABELLED_PAIRS = 50
EM_SAMPLE_PAIRS = 400_000


def labelled_pairs(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive members of each deterministic group: same-person pairs not chosen by blocking."""
    order = np.argsort(group, kind="stable")
    same = group[order][1:] == group[order][:-1]
    return order[:-1][same], order[1:][same]


def score_candidates(record_features: RecordFeatures, group: np.ndarray, window: int, u_sample_pairs: int,
                     seed: int):
    """Blocked pairs across deterministic groups, with comparison levels, Bayes factor and model.

    ``group`` is each record's deterministic group. Records a shared identifier joined are
    training labels: their attribute agreement gives m for every comparison except the
    identifiers that formed the groups (email, phone), whose m EM learns on the blocked pairs.
    """
    features = record_features.coded
    pairs = candidate_pairs(record_features, window, group)
    if len(pairs) == 0:
        return pairs.assign(log2_bayes_factor=np.zeros(0)), compare_pairs(features, pairs["a"], pairs["b"]), None
    levels = compare_pairs(features, pairs["a"].to_numpy(), pairs["b"].to_numpy())
    # Enough random pairs to measure u, without spending more on a small run than on its records.
    n = len(record_features)
    u = estimate_u(features, n, min(u_sample_pairs, 100 * n), seed)
    freqs = ValueFrequencies.of(record_features)
    la, lb = labelled_pairs(group)
    m_counts, learn = {}, tuple(COMPARISONS)
    if len(la) >= MIN_LABELLED_PAIRS:
        m_counts = _level_counts(compare_pairs(features, la, lb))
        learn = IDENTIFIER_COMPARISONS
    for name in learn:  # start: closer agreement more likely among matches; EM moves it
        m_counts[name] = 100 * np.linspace(0.05, 1.0, MAX_LEVEL[name] + 1) ** 2
    # EM needs a representative sample of the blocked pairs, not all of them.
    sample = np.sort(np.random.default_rng(seed).permutation(len(levels))[:EM_SAMPLE_PAIRS])
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    model = fit(levels.iloc[sample].reset_index(drop=True), (a[sample], b[sample]), u, freqs, m_counts, learn=learn)
    return pairs.assign(log2_bayes_factor=_bayes_factor(model.weights, model.m, levels, freqs, a, b)), levels, model
