"""Identity resolution: normalisation, deterministic and probabilistic links, stable person ids,
golden records, event attribution and evaluation against a truth file. No Dagster here."""

from cdp_pipeline.identity.attach import attribute_events
from cdp_pipeline.identity.evaluate import (
    holds_nothing_to_link_by,
    missed_pairs_by_evidence,
    pairwise_scores,
    read_truth_records,
)
from cdp_pipeline.identity.golden import build_golden_records
from cdp_pipeline.identity.normalize import (
    fold_name,
    normalize_emails,
    normalize_phones,
    normalize_postcode,
    normalize_street,
)
from cdp_pipeline.identity.resolve import IdentityResolution, ResolutionSettings, resolve_identities

__all__ = [
    "IdentityResolution",
    "ResolutionSettings",
    "attribute_events",
    "build_golden_records",
    "fold_name",
    "holds_nothing_to_link_by",
    "missed_pairs_by_evidence",
    "normalize_emails",
    "normalize_phones",
    "normalize_postcode",
    "normalize_street",
    "pairwise_scores",
    "read_truth_records",
    "resolve_identities",
]
