"""Comparison levels between two identity records, evaluated for many pairs at once.

Each comparison turns a pair of attribute values into a small integer level: ``NULL`` (-1)
when either side is missing (no evidence either way), ``0`` when they disagree, and higher
levels for closer agreement. The Fellegi–Sunter model learns how much each level is worth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NULL = -1
NAME_SIMILAR = 0.9  # Jaro-Winkler above this is a typo, not another name (jon/john 0.93, ana/eva 0.78)


def _jaro_winkler(a: pd.Series, b: pd.Series) -> np.ndarray:
    from rapidfuzz import distance, process

    left = a.fillna("").astype(str).tolist()
    right = b.fillna("").astype(str).tolist()
    if not left:
        return np.zeros(0)
    return process.cpdist(left, right, scorer=distance.JaroWinkler.normalized_similarity, workers=-1)


def _take(values: pd.Series, idx: np.ndarray) -> pd.Series:
    return values.iloc[idx].reset_index(drop=True)


def _null(a: pd.Series, b: pd.Series) -> np.ndarray:
    return (a.isna() | b.isna()).to_numpy()


def _eq(a: pd.Series, b: pd.Series) -> np.ndarray:
    return (a == b).fillna(False).to_numpy(dtype=bool)


def first_name_levels(fold_a, fold_b, canon_a, canon_b) -> np.ndarray:
    """4 same name, 3 nickname-equivalent, 2 typo, 1 initial-compatible, 0 different."""
    first_a = fold_a.str.split(" ", n=1).str[0]
    first_b = fold_b.str.split(" ", n=1).str[0]
    similar = _jaro_winkler(first_a, first_b) >= NAME_SIMILAR
    initial = ((first_a.str.len() == 1) | (first_b.str.len() == 1)).fillna(False).to_numpy() & (
        first_a.str[0] == first_b.str[0]
    ).fillna(False).to_numpy()
    levels = np.select(
        [_null(fold_a, fold_b), _eq(fold_a, fold_b), _eq(canon_a, canon_b), similar, initial],
        [NULL, 4, 3, 2, 1],
        0,
    )
    return levels.astype(np.int8)


def last_name_levels(a: pd.Series, b: pd.Series) -> np.ndarray:
    """3 same, 2 typo, 1 one surname inside the other (double surnames, married names), 0 different."""
    tokens_a = a.fillna("").astype(str).to_numpy().astype(str)
    tokens_b = b.fillna("").astype(str).to_numpy().astype(str)
    padded_a = np.char.add(np.char.add(" ", tokens_a), " ")
    padded_b = np.char.add(np.char.add(" ", tokens_b), " ")
    inside = (np.char.find(padded_a, np.char.add(np.char.add(" ", tokens_b), " ")) >= 0) | (
        np.char.find(padded_b, np.char.add(np.char.add(" ", tokens_a), " ")) >= 0
    )
    similar = _jaro_winkler(a, b) >= NAME_SIMILAR
    levels = np.select([_null(a, b), _eq(a, b), similar, inside], [NULL, 3, 2, 1], 0)
    return levels.astype(np.int8)


def date_levels(a: pd.Series, b: pd.Series) -> np.ndarray:
    """2 same date, 1 day/month swapped or one part mistyped, 0 different."""
    ya, yb = a.dt.year.to_numpy(), b.dt.year.to_numpy()
    ma, mb = a.dt.month.to_numpy(), b.dt.month.to_numpy()
    da, db = a.dt.day.to_numpy(), b.dt.day.to_numpy()
    same_parts = (ya == yb).astype(int) + (ma == mb).astype(int) + (da == db).astype(int)
    swapped = (ya == yb) & (ma == db) & (da == mb)
    levels = np.select(
        [_null(a, b), same_parts == 3, swapped | (same_parts == 2)], [NULL, 2, 1], 0
    )
    return levels.astype(np.int8)


def address_levels(street_a, street_b, post_a, post_b) -> np.ndarray:
    """3 same street and postcode, 2 same street or near street in same postcode, 1 same postcode, 0 different."""
    street_null = _null(street_a, street_b)
    post_null = _null(post_a, post_b)
    street_eq = _eq(street_a, street_b)
    post_eq = _eq(post_a, post_b)
    street_near = _jaro_winkler(street_a, street_b) >= 0.88
    levels = np.select(
        [
            street_null & post_null,
            street_eq & post_eq,
            (street_eq & post_null) | (post_eq & street_near & ~street_null),
            post_eq,
            street_null & ~post_eq,
        ],
        [NULL, 3, 2, 1, NULL],
        0,
    )
    return levels.astype(np.int8)


def exact_levels(a: pd.Series, b: pd.Series) -> np.ndarray:
    """1 same, 0 different (city, country)."""
    return np.select([_null(a, b), _eq(a, b)], [NULL, 1], 0).astype(np.int8)


def phone_levels(a: pd.Series, b: pd.Series) -> np.ndarray:
    """2 same number, 1 same last seven digits (a national/international mix-up), 0 different."""
    tail = _eq(a.str[-7:], b.str[-7:])
    return np.select([_null(a, b), _eq(a, b), tail], [NULL, 2, 1], 0).astype(np.int8)


def employer_levels(a: pd.Series, b: pd.Series) -> np.ndarray:
    """2 same employer, 1 similar name, 0 different."""
    similar = _jaro_winkler(a, b) >= 0.9
    return np.select([_null(a, b), _eq(a, b), similar], [NULL, 2, 1], 0).astype(np.int8)


def email_levels(local_a, local_b, domain_a, domain_b, free_a, free_b, last_a, last_b, first_a, first_b):
    """Email local-part patterns.

    4 same address; 3 same local part at another domain (john.smith@acme vs john.smith@gmail);
    2 both local parts built from the same name at the same company domain (jsmith@acme vs
    john.smith@acme after a format change); 1 same company domain only; 0 different.
    """
    letters_a = local_a.str.replace(r"[^a-z]", "", regex=True)
    letters_b = local_b.str.replace(r"[^a-z]", "", regex=True)
    same_domain = _eq(domain_a, domain_b)
    company = same_domain & ~(free_a.to_numpy() | free_b.to_numpy())
    surname = last_a.fillna(last_b).str.replace(" ", "", regex=False).fillna("")
    first = first_a.fillna(first_b).str.split(" ", n=1).str[0].fillna("")
    la = letters_a.fillna("").astype(str).to_numpy().astype(str)
    lb = letters_b.fillna("").astype(str).to_numpy().astype(str)
    sn = surname.astype(str).to_numpy().astype(str)
    fi = first.str[:1].fillna("").astype(str).to_numpy().astype(str)
    has_surname = (np.char.str_len(sn) >= 3) & (np.char.find(la, sn) >= 0) & (np.char.find(lb, sn) >= 0)
    has_initial = (np.char.str_len(fi) == 1) & (np.char.find(la, fi) >= 0) & (np.char.find(lb, fi) >= 0)
    name_pattern = has_surname & has_initial
    levels = np.select(
        [
            _null(local_a, local_b),
            _eq(local_a, local_b) & same_domain,
            _eq(letters_a, letters_b) & (letters_a.str.len() >= 4).fillna(False).to_numpy(),
            company & name_pattern,
            company,
        ],
        [NULL, 4, 3, 2, 1],
        0,
    )
    return levels.astype(np.int8)


COMPARISONS = ("first", "last", "dob", "address", "city", "phone", "employer", "email", "country")


def compare_pairs(records: pd.DataFrame, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Comparison levels (one int8 column per comparison) for the record pairs (a[i], b[i]).

    ``records`` must carry the columns added by ``probabilistic.comparison_columns``.
    """
    def pick(column: str) -> tuple[pd.Series, pd.Series]:
        return _take(records[column], a), _take(records[column], b)

    fa, fb = pick("first_fold")
    ca, cb = pick("first_canon")
    la, lb = pick("last_fold")
    sa, sb = pick("street")
    pa, pb = pick("postcode")
    ea, eb = pick("email_local")
    da, db = pick("email_domain")
    free_a, free_b = pick("email_free")
    return pd.DataFrame(
        {
            "first": first_name_levels(fa, fb, ca, cb),
            "last": last_name_levels(la, lb),
            "dob": date_levels(*pick("dob")),
            "address": address_levels(sa, sb, pa, pb),
            "city": exact_levels(*pick("city")),
            "phone": phone_levels(*pick("phone")),
            "employer": employer_levels(*pick("employer")),
            "email": email_levels(ea, eb, da, db, free_a, free_b, la, lb, fa, fb),
            "country": exact_levels(*pick("country")),
        }
    )
