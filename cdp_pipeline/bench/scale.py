"""A run N times larger than a measured one, for what costs too much to generate at that size.

Every person is copied under new ids (``<person_id>-<k>``), with all their rows, so per-person
work stays realistic while the row counts grow N-fold.
"""

from __future__ import annotations

import pandas as pd


def copies_of_persons(frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``frame`` with every person's rows repeated ``copies`` times under new person ids
    (the first copy keeps the original ids); a frame without ``person_id`` is returned as is."""
    if "person_id" not in frame.columns or copies <= 1:
        return frame
    ids = frame["person_id"].astype("string")
    return pd.concat([frame.assign(person_id=ids + f"-{k}") if k else frame for k in range(copies)],
                     ignore_index=True)
