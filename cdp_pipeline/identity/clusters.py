"""Clusters over accepted links, and person ids that stay stable from one run to the next.

Stable ids. A person id looks like ``p0003-1a2b3c4d5e6f``: the generation (run count of the
identity state) that created it, then a hash of the smallest record key of the cluster it was
created for. The generation makes "older" a plain string comparison and the hash makes a new id
deterministic, with no randomness and no clock.

* each previous id is claimed by the cluster holding most of its records (ties: the cluster
  with the smallest record key);
* a cluster that claimed ids keeps the oldest of them, so when two persons merge the older id
  survives and the younger retires;
* a cluster that claimed none (new records, or the smaller part of a split) gets a new id.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

_ID_RE = re.compile(r"^p(\d{4,})-[0-9a-f]+$")


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label per node for an undirected graph given as edge arrays (scipy, no loops)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = scipy_components(graph, directed=False)
    return labels.astype(np.int64)


def generation_of(person_ids: pd.Series) -> pd.Series:
    """Generation number encoded in an id; ids made elsewhere count as generation 0 (oldest)."""
    return person_ids.astype("string").str.extract(_ID_RE.pattern, expand=False).astype("float").fillna(0)


def new_person_ids(smallest_keys: pd.Series, generation: int) -> pd.Series:
    digests = [hashlib.sha1(key.encode("utf-8")).hexdigest()[:12] for key in smallest_keys.astype(str).tolist()]
    return ("p" + f"{generation:04d}" + "-" + pd.Series(digests, index=smallest_keys.index, dtype="string"))


def assign_person_ids(record_keys: pd.Series, labels: np.ndarray,
                      previous: pd.DataFrame | None) -> tuple[pd.Series, dict[str, int]]:
    """A person id per record from its cluster label and the previous run's ``record_key -> person_id``.

    ``previous`` has columns ``record_key`` and ``person_id``. Returns the ids (aligned with
    ``record_keys``) and counts of kept, merged-away and new ids.
    """
    frame = pd.DataFrame({"record_key": record_keys.astype("string").to_numpy(), "cluster": labels})
    smallest = frame.groupby("cluster")["record_key"].min()
    generation = 1
    assigned = pd.Series(pd.NA, index=smallest.index, dtype="string")
    stats = {"kept": 0, "retired_by_merge": 0, "new": 0}
    if previous is not None and len(previous):
        prev = previous[["record_key", "person_id"]].dropna().astype("string").drop_duplicates("record_key")
        generation = int(generation_of(prev["person_id"]).max()) + 1
        held = frame.merge(prev, on="record_key", how="inner")
        if len(held):
            votes = held.groupby(["person_id", "cluster"], as_index=False).size()
            votes["smallest"] = smallest.loc[votes["cluster"]].to_numpy()
            votes = votes.sort_values(["person_id", "size", "smallest"], ascending=[True, False, True])
            claims = votes.drop_duplicates("person_id")
            claims = claims.assign(gen=generation_of(claims["person_id"]).to_numpy())
            claims = claims.sort_values(["cluster", "gen", "person_id"])
            winners = claims.drop_duplicates("cluster")
            assigned.loc[winners["cluster"].to_numpy()] = winners["person_id"].to_numpy()
            stats["kept"] = len(winners)
            stats["retired_by_merge"] = len(claims) - len(winners)
    missing = assigned.isna()
    assigned[missing] = new_person_ids(smallest[missing], generation).to_numpy()
    stats["new"] = int(missing.sum())
    ids = pd.Series(assigned.loc[labels].to_numpy(), index=record_keys.index, dtype="string")
    return ids, stats
