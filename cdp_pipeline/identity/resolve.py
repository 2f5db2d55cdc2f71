"""Identity resolution: deterministic links, Fellegi–Sunter links, guards, clusters, stable ids.

Order of work, and why:

1. Deterministic links join records sharing a normalised email, a phone, a store Customer ID
   (store account, its orders, the cookies whose ``userId`` it is) or a CRM Record ID (the
   addresses its email events went to). Guards first: role addresses (info@, sales@) never link,
   and an identifier held by more than ``max_persons_per_identifier`` distinct names is shared
   (a family or office inbox) and links nobody. Inside one identifier, records only join when
   their first names are compatible (same, nickname, typo, initial or unknown), so two spouses
   sharing an inbox stay two people. The addresses a CRM contact's email events went to count
   as that contact's addresses.
2. Fellegi–Sunter links, for pairs in different deterministic groups, are accepted above
   ``match_threshold``; hard guards veto them whatever the score: first names that are
   different names (households: same address and surname), different dates of birth
   (namesakes).
3. Clusters are connected components. A cluster whose strongly linked records still hold
   conflicting hard facts (two dates of birth, more than ``max_first_names`` distinct first
   names) loses its weakest probabilistic links; if the conflict survives it is flagged in the
   diagnostics, never silently kept.
4. Person ids persist through the previous ``identity_map`` (see ``clusters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cdp_pipeline.identity import clusters as cl
from cdp_pipeline.identity import probabilistic as fs
from cdp_pipeline.identity.compare import first_names_compatible
from cdp_pipeline.identity.records import build_records

# Rule priority when a record joined its person in several ways: the strongest is reported.
RULE_CONFIDENCE = {"customer_id": 1.0, "email": 0.99, "phone": 0.97}
RULE_ORDER = ("customer_id", "email", "phone", "probabilistic", "singleton")


@dataclass(frozen=True)
class ResolutionSettings:
    max_persons_per_identifier: int = 3
    match_threshold: float = 0.99
    strict_threshold: float = 0.9999  # links kept in a cluster with conflicting facts
    max_first_names: int = 3
    blocking_window: int = 12
    u_sample_pairs: int = 200_000
    seed: int = 20261124
    probabilistic: bool = True


@dataclass
class IdentityResolution:
    identity_map: pd.DataFrame
    records: pd.DataFrame
    record_emails: pd.DataFrame
    record_customer_ids: pd.DataFrame
    links: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)


def _identifier_table(records: pd.DataFrame, emails: pd.DataFrame, customer_ids: pd.DataFrame) -> pd.DataFrame:
    usable = emails[emails["email_valid"] & ~emails["email_role"]]
    parts = [
        pd.DataFrame({"rec": usable["rec"].to_numpy(), "kind": "email", "value": usable["email_norm"].to_numpy()}),
        pd.DataFrame({"rec": np.flatnonzero(records["phone"].notna().to_numpy()), "kind": "phone",
                      "value": records["phone"].dropna().to_numpy()}),
        pd.DataFrame({"rec": customer_ids["rec"].to_numpy(), "kind": "customer_id",
                      "value": customer_ids["customer_id"].to_numpy()}),
    ]
    table = pd.concat(parts, ignore_index=True).drop_duplicates(["rec", "kind", "value"])
    return table.astype({"rec": "int64", "kind": "string", "value": "string"})


def deterministic_links(records: pd.DataFrame, identifiers: pd.DataFrame, max_persons: int):
    """Links (a, b, rule) between records sharing an identifier, with the shared-identifier guard.

    Returns the links and the number of identifiers rejected as shared.
    """
    ids = identifiers.copy()
    ids["first_canon"] = records["first_canon"].to_numpy()[ids["rec"].to_numpy()]
    ids["first_fold"] = records["first_fold"].to_numpy()[ids["rec"].to_numpy()]
    full_name = records["first_canon"].fillna("") + "|" + records["last_fold"].fillna("")
    ids["name"] = full_name.to_numpy()[ids["rec"].to_numpy()]
    named = ids[ids["first_canon"].notna()]
    distinct = named.groupby(["kind", "value"])["name"].nunique()
    guarded = distinct[(distinct > max_persons) & (distinct.index.get_level_values("kind") != "customer_id")]
    if len(guarded):
        shared = pd.MultiIndex.from_frame(ids[["kind", "value"]]).isin(guarded.index)
        ids = ids[~shared]
    # The group's most common first name; a record joins it when its own is compatible.
    counts = ids.dropna(subset=["first_canon"]).groupby(["kind", "value", "first_canon", "first_fold"]).size()
    modal = (counts.reset_index(name="n").sort_values(["kind", "value", "n", "first_fold"],
                                                      ascending=[True, True, False, True])
             .drop_duplicates(["kind", "value"]).rename(columns={"first_canon": "modal_canon",
                                                                "first_fold": "modal_fold"})
             .drop(columns="n"))
    ids = ids.merge(modal, on=["kind", "value"], how="left")
    compatible = (ids["first_canon"] == ids["modal_canon"]).fillna(True).to_numpy(bool).copy()
    compatible |= ids["kind"].eq("customer_id").to_numpy(bool)
    check = np.flatnonzero(~compatible)
    compatible[check] = first_names_compatible(ids["first_fold"].iloc[check], ids["modal_fold"].iloc[check],
                                               ids["first_canon"].iloc[check], ids["modal_canon"].iloc[check])
    ids["subgroup"] = ids["first_canon"].where(~compatible, "").fillna("")
    anchors = ids.groupby(["kind", "value", "subgroup"])["rec"].transform("min")
    links = pd.DataFrame({"a": anchors.to_numpy(), "b": ids["rec"].to_numpy(), "rule": ids["kind"].to_numpy()})
    links["order"] = links["rule"].map({r: i for i, r in enumerate(RULE_ORDER)})
    links = links[links["a"] != links["b"]].sort_values("order", kind="stable").drop_duplicates(["a", "b"])
    links = links.drop(columns="order")
    return links.reset_index(drop=True), len(guarded)


def _probabilistic_links(records, det_labels, settings: ResolutionSettings):
    scored, levels, model = fs.score_candidates(records, det_labels, settings.blocking_window,
                                                settings.u_sample_pairs, settings.seed)
    probability = scored["probability"].to_numpy()
    # Hard guards: another first name is another person (households); another birth date too (namesakes).
    vetoed = (levels["first"].to_numpy() == 0) | (levels["dob"].to_numpy() == 0)
    accepted = ~vetoed & (probability >= settings.match_threshold)
    links = pd.DataFrame({"a": scored["a"].to_numpy()[accepted], "b": scored["b"].to_numpy()[accepted],
                          "rule": "probabilistic", "weight": probability[accepted]})
    diagnostics = {
        "candidate_pairs_across_groups": int(len(scored)),
        "guard_vetoed_pairs": int((vetoed & (probability >= settings.match_threshold)).sum()),
        "em_iterations": model.iterations if model else 0,
        "em_blocked_match_share": model.blocked_prior if model else None,
        "match_weights_log2": model.weight_table() if model else {},
    }
    return links, diagnostics


def _conflicting_clusters(records: pd.DataFrame, labels: np.ndarray, max_first_names: int) -> np.ndarray:
    """Cluster labels holding two dates of birth or too many distinct first names."""
    facts = pd.DataFrame({"cluster": labels, "dob": records["dob"].to_numpy(),
                          "first": records["first_canon"].to_numpy()})
    stats = facts.groupby("cluster").agg(dobs=("dob", "nunique"), firsts=("first", "nunique"))
    return stats.index[(stats["dobs"] > 1) | (stats["firsts"] > max_first_names)].to_numpy()


def _cluster(records, links, settings: ResolutionSettings):
    """Components, then weakest probabilistic links dropped from clusters with conflicting facts."""
    n = len(records)
    a, b = links["a"].to_numpy(), links["b"].to_numpy()
    labels = cl.connected_components(n, a, b)
    conflicts = _conflicting_clusters(records, labels, settings.max_first_names)
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
        conflicts = _conflicting_clusters(records, labels, settings.max_first_names)
    return labels, links, {"links_dropped_for_conflicts": dropped, "flagged_conflicting_clusters": int(len(conflicts))}, conflicts


def _record_rules(n: int, links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per record: the strongest rule among its links and the confidence that goes with it."""
    ends = pd.DataFrame({
        "rec": np.concatenate([links["a"].to_numpy(), links["b"].to_numpy()]),
        "rule": np.concatenate([links["rule"].to_numpy(), links["rule"].to_numpy()]),
        "weight": np.concatenate([links["weight"].to_numpy(), links["weight"].to_numpy()]),
    })
    ends["order"] = ends["rule"].map({r: i for i, r in enumerate(RULE_ORDER)})
    best = ends.sort_values(["rec", "order", "weight"], ascending=[True, True, False]).drop_duplicates("rec")
    rule = np.full(n, "singleton", dtype=object)
    confidence = np.ones(n)
    rule[best["rec"].to_numpy()] = best["rule"].to_numpy()
    confidence[best["rec"].to_numpy()] = best["weight"].to_numpy()
    return rule, confidence


def resolve_identities(frames: dict[str, pd.DataFrame], previous_identity_map: pd.DataFrame | None = None,
                       settings: ResolutionSettings = ResolutionSettings()) -> IdentityResolution:
    """Canonical frames -> identity map, records, links and diagnostics (see module docstring)."""
    records, emails, customer_ids = build_records(frames)
    n = len(records)
    identifiers = _identifier_table(records, emails, customer_ids)
    det, shared = deterministic_links(records, identifiers, settings.max_persons_per_identifier)
    det = det.assign(weight=det["rule"].map(RULE_CONFIDENCE).astype(float))
    diagnostics: dict = {"records": n, "shared_identifiers_rejected": int(shared),
                         "role_addresses": int(emails.loc[emails["email_role"], "email_norm"].nunique())}
    links = det
    if settings.probabilistic and n > 1:
        det_labels = cl.connected_components(n, det["a"].to_numpy(), det["b"].to_numpy())
        prob, prob_diag = _probabilistic_links(records, det_labels, settings)
        diagnostics.update(prob_diag)
        links = pd.concat([det, prob], ignore_index=True)
    labels, links, conflict_diag, conflicts = _cluster(records, links, settings)
    diagnostics.update(conflict_diag)
    diagnostics["links_per_rule"] = {str(k): int(v) for k, v in links["rule"].value_counts().items()}

    previous = None
    if previous_identity_map is not None and len(previous_identity_map):
        previous = pd.DataFrame({
            "record_key": previous_identity_map["source"].astype("string") + ":"
            + previous_identity_map["source_record_id"].astype("string"),
            "person_id": previous_identity_map["person_id"].astype("string"),
        })
    person_id, id_stats = cl.assign_person_ids(records["record_key"], labels, previous)
    diagnostics["person_ids"] = id_stats
    diagnostics["persons"] = int(person_id.nunique())

    rule, confidence = _record_rules(n, links)
    records = records.assign(person_id=person_id.to_numpy(), cluster=labels)
    identity_map = pd.DataFrame({
        "source": records["source"], "source_record_id": records["source_record_id"],
        "person_id": records["person_id"].astype("string"),
        "match_rule": pd.Series(rule, dtype="string"),
        "match_confidence": np.round(confidence, 6),
        "conflict_flagged": np.isin(labels, conflicts),
    })
    links_out = pd.DataFrame({
        "record_key_a": records["record_key"].to_numpy()[links["a"].to_numpy()],
        "record_key_b": records["record_key"].to_numpy()[links["b"].to_numpy()],
        "rule": links["rule"].to_numpy(), "weight": links["weight"].to_numpy(),
    })
    return IdentityResolution(identity_map=identity_map, records=records, record_emails=emails,
                              record_customer_ids=customer_ids, links=links_out, diagnostics=diagnostics)
