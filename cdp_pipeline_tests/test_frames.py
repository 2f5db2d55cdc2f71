"""The vectorised helpers answer exactly what pandas would."""

import numpy as np
import pandas as pd

from cdp_pipeline.frames import isin


def test_isin_answers_as_pandas_does_with_missing_values_on_either_side():
    values = pd.Series(["crm:1", None, "web:a", "crm:1", ""], dtype="string")
    candidates = pd.Index(["crm:1", "", None, "store:9"], dtype="string")

    assert isin(values, candidates).tolist() == [True, False, False, True, True]
    assert isin(values, candidates).tolist() == values.isin(candidates.dropna()).fillna(False).tolist()


def test_isin_takes_any_collection_and_empty_sides():
    assert isin(pd.Series(["a", "b"]), {"b"}).tolist() == [False, True]
    assert isin(pd.Series(["a"]), []).tolist() == [False]
    assert isin(pd.Series([], dtype="string"), ["a"]).dtype == np.bool_
