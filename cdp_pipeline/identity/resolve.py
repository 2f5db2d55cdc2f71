"""Identity resolution: deterministic links, Fellegi–Sunter links, guards, clusters, stable ids.

Order of work, and why:

1. Deterministic links join records sharing a normalised email (dots as typed, see
   ``normalize_emails``), a phone, a store Customer ID
   (store account, its orders, the cookies whose ``userId`` it is) or an Order ID (the order
   and the cookie that completed it). Guards first: role addresses (info@, sales@) never link,
   and an identifier held by more than ``max_persons_per_identifier`` distinct names is shared
   (a family or office inbox) and links nobody. Inside one identifier, records only join when
   their first names are compatible (same, nickname, typo, initial or unknown) or another holder
   has their first and last names the other way round, so two spouses sharing an inbox stay two
   people. The addresses a CRM contact's email events went to count
   as that contact's addresses.
2. Fellegi–Sunter links, for pairs in different deterministic groups, are accepted above
   ``match_threshold``; hard guards veto them whatever the score: first names that are
   different names (households: same address and surname), different dates of birth
   (namesakes), mailboxes at one company that differ only in their digits (colleagues who share
   a name: john.smith and john.smith2@acme).
3. Clusters are connected components. A cluster whose strongly linked records still hold
   conflicting hard facts (two dates of birth, more than ``max_first_names`` distinct first
   names) loses its weakest probabilistic links; if the conflict survives it is flagged in the
   diagnostics, never silently kept.
4. Person ids persist through the previous ``identity_map`` (see ``clusters``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from cdp_pipeline.frames import distinct, distinct_per_key, factorized, isin, release_unused_memory
from cdp_pipeline.identity import clusters as cl
from cdp_pipeline.identity import probabilistic as fs
from cdp_pipeline.identity.compare import colleague_namesakes, first_names_compatible, names_both_ways
from cdp_pipeline.identity.records import IdentityRecords, build_records
from cdp_pipeline.privacy import hash_email

# Rule priority when a record joined its person in several ways: the strongest is reported.
RULE_CONFIDENCE = {"customer_id": 1.0, "order_id": 1.0, "email": 0.99, "phone": 0.97}
RULE_ORDER = ("customer_id", "order_id", "email", "phone", "probabilistic", "singleton")
SYSTEM_KEYS = ("customer_id", "order_id")  # issued by the store, never shared nor mistyped


@dataclass(frozen=True)
class ResolutionSettings:
    max_persons_per_identifier: int = 3
    match_threshold: float = 0.99
    strict_threshold: float = 0.9999  # links kept in a cluster with conflicting facts
    max_first_names: int = 3
    blocking_window: int = 8
    u_sample_pairs: int = 200_000
    seed: int = 20261124
    probabilistic: bool = True


@dataclass
class IdentityResolution:
    """Who is who: every record with its person, and how they were linked. Its tables are
    stored one Arrow file each (``ARROW_TABLES``), so a later step loads only the columns it
    reads; a table that step did not ask for is None."""

    ARROW_TABLES: ClassVar[tuple[str, ...]] = ("identity_map", "records", "record_emails", "system_keys", "links")

    identity_map: pd.DataFrame
    records: pd.DataFrame
    record_emails: pd.DataFrame
    system_keys: pd.DataFrame
    links: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


IDENTIFIER_KINDS = ("email", "phone", *SYSTEM_KEYS)
RULE_RANK_OF_KIND = np.array([RULE_ORDER.index(kind) for kind in IDENTIFIER_KINDS])


def identifier_table(records: pd.DataFrame, emails: pd.DataFrame, system_keys: pd.DataFrame) -> pd.DataFrame:
    """Every identifier a record holds, once: ``rec``, ``kind`` (``IDENTIFIER_KINDS``) and
    ``ident``, one code per distinct kind and value. Codes, not text: a night with erasures
    keeps the rows of the records that stay (``_kept_rows``) instead of deriving them again."""
    usable = emails[emails["email_valid"] & ~emails["email_role"]]
    parts = [
        pd.DataFrame({"rec": usable["rec"].to_numpy(), "kind": "email", "value": usable["email_typed"].to_numpy()}),
        pd.DataFrame({"rec": np.flatnonzero(records["phone"].notna().to_numpy()), "kind": "phone",
                      "value": records["phone"].dropna().to_numpy()}),
        system_keys[["rec", "kind", "value"]],
    ]
    table = pd.concat(parts, ignore_index=True).astype({"rec": "int64", "kind": "string", "value": "string"})
    ident, _ = pd.factorize(table["kind"] + "\x1f" + table["value"])
    coded = pd.DataFrame({"rec": table["rec"].to_numpy(), "kind": pd.Categorical(table["kind"], IDENTIFIER_KINDS),
                          "ident": ident})
    return coded.drop_duplicates(["rec", "ident"]).reset_index(drop=True)


def _kept_rows(table: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``table`` (one per ``rec``, a record's row position) whose record ``keep``
    keeps, with ``rec`` renumbered among the kept records."""
    position = np.cumsum(keep) - 1
    kept = table[keep[table["rec"].to_numpy()]]
    return kept.assign(rec=position[kept["rec"].to_numpy()]).reset_index(drop=True)


def deterministic_links(records: pd.DataFrame, identifiers: pd.DataFrame, max_persons: int):
    """Links (a, b, rule) between records sharing an identifier, with the shared-identifier guard.

    Returns the links and the number of identifiers rejected as shared. Works on integer codes
    of identifiers and names: grouping hundreds of thousands of strings is the slow part.
    """
    if identifiers.empty:  # nothing shared: every record stands alone
        return pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64),
                             "rule": pd.Categorical([], categories=list(RULE_ORDER))}), 0
    rec = identifiers["rec"].to_numpy()
    kind = identifiers["kind"].cat.codes.to_numpy()
    ident = identifiers["ident"].to_numpy()
    n_ident = int(ident.max()) + 1 if len(ident) else 0
    system = np.zeros(n_ident, dtype=bool)
    system[ident] = np.isin(kind, [IDENTIFIER_KINDS.index(key) for key in SYSTEM_KEYS])
    canon_of_record, canon_values = pd.factorize(records["first_canon"])
    fold_of_record, fold_values = pd.factorize(records["first_fold"], sort=True)  # code order = text order
    name_of_record, _ = pd.factorize(records["first_canon"].fillna("") + "|" + records["last_latin"].fillna(""))
    canon, fold = canon_of_record[rec], fold_of_record[rec]

    # An identifier held by more than ``max_persons`` distinct names is shared: it links nobody.
    named = canon >= 0
    holders = distinct_per_key(ident[named], name_of_record[rec][named], n_ident)
    guarded = (holders > max_persons) & ~system
    kept = ~guarded[ident]
    rec, kind, ident, canon, fold = rec[kept], kind[kept], ident[kept], canon[kept], fold[kept]

    # The identifier's most common first name (ties: the first in text order); a record joins
    # the group when its own is compatible.
    counted = (canon >= 0) & (fold >= 0)
    width = np.int64(len(fold_values) + 1)
    groups, sizes = np.unique(ident[counted].astype(np.int64) * width + fold[counted], return_counts=True)
    order = np.lexsort((groups % width, -sizes, groups // width))
    first = order[np.r_[True, (groups // width)[order][1:] != (groups // width)[order][:-1]]]
    modal_fold = np.full(n_ident, -1)
    modal_fold[groups[first] // width] = groups[first] % width
    canon_of_fold = np.full(len(fold_values) + 1, -1)
    canon_of_fold[fold_of_record[fold_of_record >= 0]] = canon_of_record[fold_of_record >= 0]
    modal_canon = np.where(modal_fold >= 0, canon_of_fold[modal_fold], -1)[ident]
    modal_fold = modal_fold[ident]
    compatible = (canon < 0) | (modal_canon < 0) | (canon == modal_canon) | system[ident]
    check = np.flatnonzero(~compatible)
    if len(check):
        def names(values, codes):
            return pd.Series(np.asarray(values, dtype=object)[codes], dtype="string")

        compatible[check] = first_names_compatible(names(fold_values, fold[check]), names(fold_values, modal_fold[check]),
                                                   names(canon_values, canon[check]),
                                                   names(canon_values, modal_canon[check]), records["first_fold"])
        compatible[check] |= _swaps_a_holders_name(records, rec, ident, check)
    subgroup = np.where(compatible, -1, canon)
    _, member_of = factorized(ident.astype(np.int64) * (len(canon_values) + 1) + subgroup + 1)
    anchor = np.full(member_of.max() + 1 if len(member_of) else 0, np.iinfo(np.int64).max)
    np.minimum.at(anchor, member_of, rec)
    a, b, rank = anchor[member_of], rec, RULE_RANK_OF_KIND[kind]
    # Each pair once, by its strongest rule (``RULE_ORDER``); rows in rule order, as found within a rule.
    by_rank = np.flatnonzero(a != b)
    by_rank = by_rank[np.argsort(rank[by_rank], kind="stable")]
    _, first = np.unique(a[by_rank].astype(np.int64) * np.int64(len(records)) + b[by_rank], return_index=True)
    rows = by_rank[np.sort(first)]
    links = pd.DataFrame({"a": a[rows], "b": b[rows],
                          "rule": pd.Categorical.from_codes(rank[rows], categories=list(RULE_ORDER))})
    return links, int(guarded.sum())


def _swaps_a_holders_name(records: pd.DataFrame, rec: np.ndarray, ident: np.ndarray, check: np.ndarray) -> np.ndarray:
    """Per identifier row in ``check``: another record holding the identifier has this record's
    first and last names the other way round (Zhang Wei and Wei Zhang on one email; Coleman Sam
    and Samuel Coleman): one person whose names went into each other's boxes, not a second
    person."""
    rows = np.flatnonzero(np.isin(ident, ident[check]))
    holders = rec[rows]
    written, reversed_ = names_both_ways(records["first_fold"].iloc[holders], records["last_fold"].iloc[holders])
    asked = np.searchsorted(rows, check)

    def held(names: np.ndarray, by: np.ndarray) -> np.ndarray:
        return pd.MultiIndex.from_arrays([ident[check], names[asked]]).isin(pd.MultiIndex.from_arrays([ident[rows], by]))

    named = (written[asked] >= 0) & (reversed_[asked] != written[asked])
    return named & (held(reversed_, written) | held(written, reversed_))


PRIOR_ROUNDS = 2


def _probabilistic_links(features: fs.RecordFeatures, det, det_labels, settings: ResolutionSettings):
    """Accepted Fellegi–Sunter links between deterministic groups.

    The prior (chance two random records are one person) starts from the deterministic groups,
    which undercount persons' records; it is re-estimated from the clusters the accepted links
    make, ``PRIOR_ROUNDS`` times.
    """
    scored, levels, model = fs.score_candidates(features, det_labels, settings.blocking_window,
                                                settings.u_sample_pairs, settings.seed)
    a, b = scored["a"].to_numpy(), scored["b"].to_numpy()
    # Hard guards: another first name is another person (households); another birth date too
    # (namesakes), and so is a namesake's numbered mailbox at the same company.
    vetoed = ((levels["first"].to_numpy() == 0) | (levels["dob"].to_numpy() == 0)
              | colleague_namesakes(features.coded, a, b))
    bayes_factor = scored["log2_bayes_factor"].to_numpy()
    prior = fs.random_pair_prior(det_labels)
    for _ in range(PRIOR_ROUNDS):
        accepted = ~vetoed & (bayes_factor >= fs.log2_bayes_factor_needed(settings.match_threshold, prior))
        labels = cl.connected_components(len(det_labels), np.concatenate([det["a"].to_numpy(), a[accepted]]),
                                         np.concatenate([det["b"].to_numpy(), b[accepted]]))
        prior = fs.random_pair_prior(labels)
    likely = bayes_factor >= fs.log2_bayes_factor_needed(settings.match_threshold, prior)
    accepted = ~vetoed & likely
    links = pd.DataFrame({"a": a[accepted], "b": b[accepted], "rule": "probabilistic",
                          "weight": fs.match_probability(bayes_factor[accepted], prior)})
    diagnostics = {
        "candidate_pairs_across_groups": int(len(scored)),
        "guard_vetoed_pairs": int((vetoed & likely).sum()),
        "em_iterations": model.iterations if model else 0,
        "random_pair_prior": prior,
        "em_blocked_match_share": model.blocked_prior if model else None,
        "match_weights_log2": model.weight_table() if model else {},
    }
    return links, diagnostics


@dataclass(frozen=True)
class _HardFacts:
    """Per record, its birth date and first name as integer codes (-1: missing), made once per
    pass: clusters are checked against them after every round of dropped links."""

    dob: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, records: pd.DataFrame) -> "_HardFacts":
        return cls(pd.factorize(records["dob"])[0], pd.factorize(records["first_canon"])[0])

    def conflicting_clusters(self, labels: np.ndarray, max_first_names: int) -> np.ndarray:
        """Cluster labels holding two dates of birth or too many distinct first names."""
        clusters = int(labels.max()) + 1 if len(labels) else 0
        return np.flatnonzero((distinct_per_key(labels, self.dob, clusters) > 1)
                              | (distinct_per_key(labels, self.first, clusters) > max_first_names))


def _cluster(records, links, settings: ResolutionSettings):
    """Components, then weakest probabilistic links dropped from clusters with conflicting facts."""
    n = len(records)
    facts = _HardFacts.of(records)
    a, b = links["a"].to_numpy(), links["b"].to_numpy()
    labels = cl.connected_components(n, a, b)
    conflicts = facts.conflicting_clusters(labels, settings.max_first_names)
    dropped = 0
    for floor in (settings.strict_threshold, np.inf):
        if not len(conflicts):
            break
        in_conflict = np.isin(labels[a], conflicts)
        weak = in_conflict & (links["rule"].to_numpy() == "probabilistic") & (links["weight"].to_numpy() < floor)
        dropped += int(weak.sum())
        links = links[~weak].reset_index(drop=True)
        a, b = links["a"].to_numpy(), links["b"].to_numpy()
        labels = cl.connected_components(n, a, b)
        conflicts = facts.conflicting_clusters(labels, settings.max_first_names)
    return labels, links, {"links_dropped_for_conflicts": dropped, "flagged_conflicting_clusters": int(len(conflicts))}, conflicts


def _keys_at(record_keys: pd.Series, positions: pd.Series) -> pd.Series:
    """The keys at these row positions, taken as Arrow text: no Python string per link."""
    return pd.Series(record_keys.array.take(positions.to_numpy())).astype("str")


def _record_rules(n: int, links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per record: the strongest rule among its links and the confidence that goes with it."""
    rank = pd.Index(RULE_ORDER).get_indexer(links["rule"])
    ends = np.concatenate([links["a"].to_numpy(), links["b"].to_numpy()])
    rank, weight = np.concatenate([rank, rank]), np.concatenate([links["weight"].to_numpy()] * 2)
    best_rank = np.full(n, RULE_ORDER.index("singleton"))
    confidence = np.ones(n)
    if len(ends):
        order = np.lexsort((-weight, rank, ends))  # by record, strongest rule, highest weight
        best = order[np.r_[True, ends[order][1:] != ends[order][:-1]]]
        best_rank[ends[best]], confidence[ends[best]] = rank[best], weight[best]
    return np.asarray(RULE_ORDER, dtype=object)[best_rank], confidence


def erased_clusters(emails: pd.DataFrame, labels: np.ndarray, erased_email_hashes) -> np.ndarray:
    """Cluster labels holding an address whose one-way hash is on the erasure list."""
    hashes = set(erased_email_hashes)
    if not hashes or emails.empty:
        return np.zeros(0, dtype=labels.dtype)
    both = pd.concat([emails["email_norm"], emails["email_typed"]], ignore_index=True).dropna().unique()
    unique = pd.Series(both, dtype="string")
    erased = unique[hash_email(unique).isin(hashes).to_numpy()]
    hit = isin(emails["email_norm"], erased) | isin(emails["email_typed"], erased)
    return distinct(labels[emails["rec"].to_numpy()[hit]])


def _kept_records(built: IdentityRecords, keep: np.ndarray) -> IdentityRecords:
    """The built records where ``keep`` is True (row positions remapped)."""
    return IdentityRecords(records=built.records.loc[keep].reset_index(drop=True),
                           emails=_kept_rows(built.emails, keep), system_keys=_kept_rows(built.system_keys, keep))


def _nobody(resolution: IdentityResolution) -> IdentityResolution:
    """The resolution of a night whose every person was erased: its tables, empty."""
    return IdentityResolution(
        identity_map=resolution.identity_map.iloc[:0], records=resolution.records.iloc[:0],
        record_emails=resolution.record_emails.iloc[:0], system_keys=resolution.system_keys.iloc[:0],
        links=resolution.links.iloc[:0], diagnostics=resolution.diagnostics,
    )


def resolve_identities(frames: dict[str, pd.DataFrame], previous_identity_map: pd.DataFrame | None = None,
                       settings: ResolutionSettings = ResolutionSettings(),
                       erased_email_hashes=()) -> IdentityResolution:
    """Canonical frames -> identity map, records, links and diagnostics (see module docstring).

    ``erased_email_hashes``: SHA-256 hashes (``privacy.hash_email``) of normalised addresses
    whose owners asked to be erased: every record of the persons holding one is left out of
    the result, so nothing downstream can see them, however often the data comes back.
    """
    return resolve_with_erasures(build_records(frames), previous_identity_map, settings, erased_email_hashes)[0]


def resolve_with_erasures(built: IdentityRecords, previous_identity_map: pd.DataFrame | None = None,
                          settings: ResolutionSettings = ResolutionSettings(),
                          erased_email_hashes=()) -> tuple[IdentityResolution, RecordsBeforeErasure | None]:
    """(the resolution without erased persons; every record as the pass that found them saw it,
    or None if nobody was erased).

    Takes the records ``build_records`` made, not the source frames, so a caller can free the
    frames (most of the memory at scale) before resolution starts. Handed over unnamed
    (``resolve_with_erasures(build_records(...))``), the records are let go once the first pass
    has used them: the second pass works on a copy of the rest.

    When someone is erased, the remaining records are resolved again without theirs: the match
    weights are estimated from the records, so this is what every later run computes once the
    erased rows are purged, and the tables do not depend on the night a request arrived. Only
    the linking and clustering run twice: the records are built, normalised and turned into
    comparison features once, and person ids and tables are made once, from the second pass.
    """
    previous = _previous_records(previous_identity_map)
    identifiers = identifier_table(*built)
    # Deterministic links need no comparison features: the second core finds them meanwhile.
    with ThreadPoolExecutor(1) as beside:
        linked = beside.submit(deterministic_links, built.records, identifiers, settings.max_persons_per_identifier)
        features = fs.RecordFeatures.of(built.records) if settings.probabilistic else None
        deterministic = linked.result()
        del linked
    clustered = _link_and_cluster(built.records, built.emails, identifiers, settings, features, deterministic)
    erased = erased_clusters(built.emails, clustered.labels, erased_email_hashes)
    clustered.diagnostics["erased_persons"] = int(len(erased))
    if not len(erased):
        return _identify(*built, previous, clustered), None
    keep = ~np.isin(clustered.labels, erased)
    before = RecordsBeforeErasure.of(built, keep)
    if not keep.any():
        return _nobody(_identify(*built, previous, clustered)), before
    kept = _kept_records(built, keep)
    kept_features = features.subset(keep) if features is not None else None
    identifiers = _kept_rows(identifiers, keep)
    del built, features, deterministic, clustered  # the first pass's records, features and links: room for the second
    release_unused_memory()
    again = _link_and_cluster(kept.records, kept.emails, identifiers, settings, kept_features)
    again.diagnostics["erased_persons"] = int(len(erased))
    del kept_features, identifiers  # the tables below need neither
    return _identify(*kept, previous, again), before


@dataclass
class RecordsBeforeErasure:
    """Every record of the night, whether it is an erased person's, and its addresses: what the
    purge needs of the pass that found the erased persons (``erasure.erased_rows``)."""

    records: pd.DataFrame  # record_key, erased
    record_emails: pd.DataFrame  # rec, email_norm, email_typed

    @classmethod
    def of(cls, built: IdentityRecords, keep: np.ndarray) -> RecordsBeforeErasure:
        return cls(
            records=pd.DataFrame({"record_key": built.records["record_key"], "erased": ~keep}),
            record_emails=built.emails[["rec", "email_norm", "email_typed"]],
        )


def _previous_records(previous_identity_map: pd.DataFrame | None) -> pd.DataFrame | None:
    if previous_identity_map is None or not len(previous_identity_map):
        return None
    return pd.DataFrame({
        "record_key": previous_identity_map["source"].astype("string") + ":"
        + previous_identity_map["source_record_id"].astype("string"),
        "person_id": previous_identity_map["person_id"].astype("string"),
    })


@dataclass
class _Clustered:
    """One pass's links and clusters, before person ids are given."""

    labels: np.ndarray
    links: pd.DataFrame  # a, b (row positions), rule, weight
    conflicts: np.ndarray
    diagnostics: dict


def _link_and_cluster(records: pd.DataFrame, emails: pd.DataFrame, identifiers: pd.DataFrame,
                      settings: ResolutionSettings, features: fs.RecordFeatures | None,
                      deterministic: tuple[pd.DataFrame, int] | None = None) -> _Clustered:
    """Built records and their ``identifier_table`` -> links and clusters. ``features``: the
    records' comparison features (needed when ``settings.probabilistic``); ``deterministic``:
    ``deterministic_links`` of these records, if already found."""
    n = len(records)
    det, shared = deterministic or deterministic_links(records, identifiers, settings.max_persons_per_identifier)
    det = det.assign(weight=det["rule"].map(RULE_CONFIDENCE).astype(float))
    diagnostics: dict = {"records": n, "shared_identifiers_rejected": int(shared),
                         "role_addresses": int(emails.loc[emails["email_role"], "email_norm"].nunique())}
    links = det
    if settings.probabilistic and n > 1:
        det_labels = cl.connected_components(n, det["a"].to_numpy(), det["b"].to_numpy())
        prob, prob_diag = _probabilistic_links(features, det, det_labels, settings)
        diagnostics.update(prob_diag)
        links = pd.concat([det, prob], ignore_index=True)
    labels, links, conflict_diag, conflicts = _cluster(records, links, settings)
    diagnostics.update(conflict_diag)
    diagnostics["links_per_rule"] = {str(k): int(v) for k, v in links["rule"].value_counts().items()}
    return _Clustered(labels, links, conflicts, diagnostics)


def _identify(records: pd.DataFrame, emails: pd.DataFrame, system_keys: pd.DataFrame,
              previous: pd.DataFrame | None, clustered: _Clustered) -> IdentityResolution:
    """Clusters -> person ids (kept from ``previous`` where they can be) and the resolution's tables.
    Run once per night, on the pass whose clusters stand: a night with erasures skips it on the first."""
    labels, links, diagnostics = clustered.labels, clustered.links, clustered.diagnostics
    person_id, id_stats = cl.assign_person_ids(records["record_key"], labels, previous)
    diagnostics["person_ids"] = id_stats
    diagnostics["persons"] = int(person_id.nunique())

    rule, confidence = _record_rules(len(records), links)
    records = records.assign(person_id=person_id.to_numpy(), cluster=labels)
    identity_map = pd.DataFrame({
        "source": records["source"], "source_record_id": records["source_record_id"],
        "person_id": records["person_id"].astype("string"),
        "match_rule": pd.Series(rule, dtype="string"),
        "match_confidence": np.round(confidence, 6),
        "conflict_flagged": np.isin(labels, clustered.conflicts),
    })
    links_out = pd.DataFrame({
        "record_key_a": _keys_at(records["record_key"], links["a"]),
        "record_key_b": _keys_at(records["record_key"], links["b"]),
        "rule": links["rule"].to_numpy(), "weight": links["weight"].to_numpy(),
    })
    return IdentityResolution(identity_map=identity_map, records=records, record_emails=emails,
                              system_keys=system_keys, links=links_out, diagnostics=diagnostics)
