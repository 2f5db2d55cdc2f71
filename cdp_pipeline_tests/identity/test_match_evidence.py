"""What counts as evidence for and against a match, pinned on small hand-made records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.identity.compare import NULL, address_levels
from cdp_pipeline.identity.probabilistic import RecordFeatures
from cdp_pipeline_tests.identity.test_resolution import crm, person_of, resolve_with_crowd


def _address_features(rows: list[dict]) -> dict:
    columns = ["first_fold", "first_canon", "last_fold", "email_norm", "email_free", "street", "postcode",
               "city", "country", "phone", "employer", "dob"]
    records = pd.DataFrame(rows, columns=columns).astype("string").assign(
        dob=pd.NaT, email_free=False)
    return RecordFeatures.of(records.assign(dob=pd.to_datetime(records["dob"]))).coded


def test_different_postcodes_are_a_disagreement_even_when_one_street_is_missing():
    """An order names a postcode but no street: another postcode is another address."""
    f = _address_features([
        {"street": "calle coso 14", "postcode": "50003"},
        {"postcode": "50017"},  # an order shipped elsewhere
        {"postcode": "50003"},  # an order shipped to the same postcode
        {},                     # nothing known
    ])
    a, b = np.array([0, 0, 0]), np.array([1, 2, 3])
    assert address_levels(f, a, b).tolist() == [0, 1, NULL]


def test_a_full_name_that_recurs_as_a_whole_is_weak_evidence_even_when_its_parts_are_rare():
    """Names are not independent: six unrelated 'Ottokar Wendelstein' make the full name common,
    so two of them sharing nothing but a city stay apart, whereas the product of the two (rare)
    parts' frequencies would have called them one person."""
    namesakes = [crm(f"OW{i}", "Ottokar", "Wendelstein", f"ow.{i}.{i * 7}@example-mail{i}.test", city="Zaragoza")
                 for i in range(6)]
    res = resolve_with_crowd(crm_contacts=namesakes)
    assert len({person_of(res, "crm", f"OW{i}") for i in range(6)}) == 6

