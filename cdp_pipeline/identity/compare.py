"""Comparison levels between two identity records, evaluated for many pairs at once.

Each comparison turns a pair of attribute values into a small integer level: ``NULL`` (-1)
when either side is missing (no evidence either way), ``0`` when they disagree, and higher
levels for closer agreement. The Fellegi–Sunter model learns how much each level is worth.

Speed: attributes are factorised once per record into integer codes, so equality over millions
of pairs is an integer comparison; string similarity (Jaro–Winkler) runs once per distinct
pair of differing values, not once per record pair.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from cdp_pipeline.frames import distinct, factorized
from cdp_pipeline.identity.normalize import (
    ROLE_LOCAL_PARTS,
    canonical_first_name,
    on_unique,
    other_readings,
    without_spaces,
)

NULL = -1
NAME_SIMILAR = 0.9  # surnames: Jaro-Winkler above this is a typo (smith/smiht 0.96), not another family
STREET_SIMILAR = 0.88
EMPLOYER_SIMILAR = 0.9
DOMAIN_TYPO_SIMILAR = 0.92  # quantumcloud.de / qunatumcloud.de; unrelated domains score far lower

COMPARISONS = ("first", "last", "dob", "address", "city", "phone", "employer", "employer_domain", "job_title",
               "email", "country")
MAX_LEVEL = {"first": 4, "last": 3, "dob": 2, "address": 3, "city": 1, "phone": 2, "employer": 2, "employer_domain": 1,
             "job_title": 1, "email": 5, "country": 1}


@dataclass(frozen=True)
class Coded:
    """A column as integer codes (-1 = missing) plus the distinct values the codes point to."""

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, column: pd.Series) -> "Coded":
        codes, uniques = pd.factorize(column.astype("string"), use_na_sentinel=True)
        return cls(codes.astype(np.int32), np.asarray(uniques, dtype=object).astype(str))

    @cached_property
    def texts(self) -> np.ndarray:
        """``values`` as Python strings, made once: rapidfuzz reads those, and turning the
        fixed-width values of a million candidate pairs into strings cost more than scoring them."""
        return self.values.astype(object)

    def held(self) -> np.ndarray:
        """Records per distinct value (indexed by code); 0 for a value no record coded here holds."""
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.values))


def _first_token(folded: pd.Series) -> pd.Series:
    return on_unique(folded, lambda u: u.str.split(" ", n=1).str[0])


def prepare_features(records: pd.DataFrame) -> dict[str, Coded | np.ndarray]:
    """Per-record codes every comparison reads; computed once, reused for all pairs."""
    first = _first_token(records["first_fold"])
    letters = records["local_letters"]
    dob = records["dob"]
    first_coded = Coded.of(first)
    head, tail = beside_surname(letters, records["last_fold"])
    return {
        "first": first_coded,
        "canon": Coded.of(records["first_canon"]),
        "initial": Coded.of(first.str[:1]),
        "first_is_initial": (first.str.len() == 1).fillna(False).to_numpy(bool),
        "last": Coded.of(records["last_fold"]),
        "name_written": records["name_written"].to_numpy(),
        "name_reversed": records["name_reversed"].to_numpy(),
        "dob_y": dob.dt.year.fillna(-1).to_numpy(np.int16),
        "dob_m": dob.dt.month.fillna(-1).to_numpy(np.int8),
        "dob_d": dob.dt.day.fillna(-1).to_numpy(np.int8),
        "street": Coded.of(records["street"]),
        "postcode": Coded.of(records["postcode"]),
        "city": Coded.of(records["city"]),
        "city_latin": Coded.of(records["city_latin"]),
        "country": Coded.of(records["country"]),
        "phone": Coded.of(records["phone"]),
        "phone_tail": Coded.of(records["phone"].str[-7:]),
        "employer": Coded.of(records["employer"]),
        "job_title": Coded.of(records["job_title"]),
        "email_local": Coded.of(records["email_local"]),
        "email_domain": Coded.of(records["email_domain"]),
        "local_own_name": name_built_local(letters, first, records["last_fold"])
        | name_built_local(letters, records["first_canon"], records["last_latin"]),
        "local_given_head": _given_name_codes(first_coded, head),
        "local_given_tail": _given_name_codes(first_coded, tail),
        "local_has_letters": ((letters.str.len() >= 4).fillna(False).to_numpy(bool)
                              & ~records["email_local"].isin(ROLE_LOCAL_PARTS).fillna(False).to_numpy(bool)),
        "local_has_number": records["local_number"].notna().to_numpy(bool),
        "email_free": records["email_free"].to_numpy(bool),
        "email_company": Coded.of(records["email_domain"].where(~records["email_free"])),
        "local_without_digits": Coded.of(records["email_local"].str.replace(r"[0-9]+", "", regex=True).replace("", None)),
        "company_label": Coded.of(records["company_label"]),
        "surname_key": Coded.of(records["surname_key"]),
    }


def names_both_ways(first_fold: pd.Series, last_fold: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per record, its full name as one number, written as typed (first, last) and the other way
    round (last, first); -1 where a part is missing. Zhang Wei's number as typed is Wei Zhang's
    the other way round, so a pair of swapped names is one comparison of numbers. The name read
    as a first name stands in its nickname-canonical form (Sam Coleman is Samuel Coleman, and so
    is Coleman Sam the other way round). Names count whole, without their spaces: O'Connor
    typed as a first name folds to "o connor", one name."""
    parts = [Coded.of(names) for names in (read_as_given_name(first_fold), without_spaces(last_fold),
                                           read_as_given_name(last_fold), without_spaces(first_fold))]
    words, joint = np.unique(np.concatenate([part.values for part in parts]), return_inverse=True)
    bounds = np.cumsum([0] + [len(part.values) for part in parts])
    given_w, family_w, given_r, family_r = (np.append(joint[start:end], -1)[part.codes]  # code -1 picks the -1
                                            for part, start, end in zip(parts, bounds[:-1], bounds[1:]))
    width = np.int64(len(words))
    written = np.where((given_w >= 0) & (family_w >= 0), given_w * width + family_w, -1)
    reversed_ = np.where((given_r >= 0) & (family_r >= 0), given_r * width + family_r, -1)
    return written, reversed_


def read_as_given_name(folded: pd.Series) -> pd.Series:
    """A folded name read as a first name: one word by its canonical form (sam -> samuel); a name
    of several words whole, without its spaces, so two surnames that share a first word (van
    Dijk, van Berg) differ."""
    several_words = folded.str.contains(" ", regex=False).fillna(True)
    return without_spaces(folded).where(several_words, canonical_first_name(folded))


def swapped_names(f, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: 2 one record's first and last names are the other's the other way round (Wei
    Zhang, Zhang Wei): a registrant who typed each into the other's box, or a form that put the
    family name first; 1 the same but for a nickname (Samuel Coleman, Coleman Sam); 0 neither.
    A name written the same both ways (Thomas Thomas) is not swapped."""
    written, reversed_ = f["name_written"], f["name_reversed"]
    known = (written[a] >= 0) & (written[b] >= 0) & (written[a] != written[b])
    a_in_b, b_in_a = (written[a] == reversed_[b]) & known, (written[b] == reversed_[a]) & known
    return (a_in_b.astype(np.int8) + b_in_a).astype(np.int8)


def _text(values: pd.Series) -> np.ndarray:
    """Variable-width numpy text ("" for missing): fixed-width text would copy every value into
    the widest one."""
    return np.asarray(pd.Series(values, dtype="string").fillna("").to_numpy(object), dtype=StringDType())


def name_built_local(letters: pd.Series, first: pd.Series, last: pd.Series) -> np.ndarray:
    """True when the letters of an email local part (dots and digits aside) are only the person's
    own name: john.smith, jsmith, smithj, john.smith94.

    Such a local part repeats the name, so namesakes share it at different providers; only what
    it holds of its own (a word, or the number: see ``email_levels``) is evidence beyond the name.
    """
    text, f, s = _text(letters), _text(first), np.strings.replace(_text(last), " ", "")
    i = np.strings.slice(f, 0, 1)
    forms = [f + s, s + f, i + s, s + i, f + np.strings.slice(s, 0, 1), f, s]
    built = np.logical_or.reduce([text == form for form in forms])
    return built & (np.strings.str_len(f) > 0) & (np.strings.str_len(s) > 0)


MIN_GIVEN_NAME = 2  # a single letter beside the surname is an initial, which the own-name forms cover


def beside_surname(letters: pd.Series, last: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(the letters before a trailing surname, those after a leading one; "" where there are none):
    kimberly in kimberlythomas for Kim Thomas. Whether they are a given name depends on the
    records' first names, so ``local_spells_a_name`` decides it, among the records resolved."""
    text, surname = _text(letters), np.strings.replace(_text(last), " ", "")
    length, surname_length = np.strings.str_len(text), np.strings.str_len(surname)
    named = surname_length > 0
    head = np.where(named & np.strings.endswith(text, surname), np.strings.slice(text, 0, length - surname_length), "")
    tail = np.where(named & np.strings.startswith(text, surname), np.strings.slice(text, surname_length, None), "")
    return head, tail


def _given_name_codes(c: "Coded", parts: np.ndarray) -> np.ndarray:
    """Codes of ``parts`` among the first names ``c`` codes (-1: not a first name, or too short)."""
    codes = pd.Index(c.values).get_indexer(parts.astype(object)).astype(np.int32)
    return np.where(np.strings.str_len(parts) >= MIN_GIVEN_NAME, codes, -1)


def local_spells_a_name(f, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: either record's local part's letters are its own name, or a first name some record
    holds beside its surname (kimberlythomas for Kim Thomas: a nickname's full form; jose.marquez
    for Pepe Marquez)."""
    held = f["first"].held() > 0

    def spells(idx: np.ndarray) -> np.ndarray:
        head, tail = f["local_given_head"][idx], f["local_given_tail"][idx]
        return (f["local_own_name"][idx] | ((head >= 0) & held[np.maximum(head, 0)])
                | ((tail >= 0) & held[np.maximum(tail, 0)]))

    return spells(a) | spells(b)


def _eq(c: Coded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ca, cb = c.codes[a], c.codes[b]
    return (ca == cb) & (ca >= 0)


def _differ(coded: Coded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return coded.codes[a] != coded.codes[b]


def _null(c: Coded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (c.codes[a] < 0) | (c.codes[b] < 0)


def similarity(c: Coded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro–Winkler per pair, computed once per distinct pair of differing values."""
    from rapidfuzz import distance, process

    ca, cb = c.codes[a], c.codes[b]
    out = ((ca == cb) & (ca >= 0)).astype(np.float64)
    todo = (ca >= 0) & (cb >= 0) & (ca != cb)
    if todo.any():
        width = np.int64(len(c.values) + 1)
        keys, inverse = factorized(ca[todo] * width + cb[todo])
        scores = process.cpdist(c.texts[keys // width].tolist(), c.texts[keys % width].tolist(),
                                scorer=distance.JaroWinkler.normalized_similarity, workers=-1)
        out[todo] = np.asarray(scores, dtype=np.float64)[inverse]
    return out


# One slip apart, two spellings are two names when both are common among the records (mary and
# mark, andrea and andreas): a slip of the keyboard leaves a rare spelling of a common name.
COMMON_NAME_RECORDS = 5
TYPO_SHARE = 0.1  # at most this many records hold a typo's spelling per record holding the name


def _is_typo(left: np.ndarray, right: np.ndarray, left_held: np.ndarray, right_held: np.ndarray) -> np.ndarray:
    """One slip of the keyboard (two in a long name), same first letter, not a name pair that
    differs only by a gendered ending (mario/maria, daniel/daniela), and not two names each held
    by many records (``left_held``, ``right_held``: records per spelling)."""
    from rapidfuzz import distance, process

    edits = np.asarray(process.cpdist(left.tolist(), right.tolist(), scorer=distance.OSA.distance, workers=-1))
    shortest = np.minimum(np.strings.str_len(left), np.strings.str_len(right))
    close = (edits <= 1) | ((edits <= 2) & (shortest >= 8))
    same_start = np.strings.slice(left, 0, 1) == np.strings.slice(right, 0, 1)
    stem_l = np.strings.rstrip(left, "aeio")
    stem_r = np.strings.rstrip(right, "aeio")
    ending_l = np.strings.slice(left, np.strings.str_len(stem_l), None)
    ending_r = np.strings.slice(right, np.strings.str_len(stem_r), None)
    gendered = (stem_l == stem_r) & (ending_l != ending_r)
    rarer, commoner = np.minimum(left_held, right_held), np.maximum(left_held, right_held)
    two_names = (rarer >= COMMON_NAME_RECORDS) & (rarer > TYPO_SHARE * commoner)
    return close & same_start & ~gendered & ~two_names


def first_name_typos(c: Coded, a: np.ndarray, b: np.ndarray, held: np.ndarray | None = None) -> np.ndarray:
    """``_is_typo`` per pair, computed once per distinct pair of differing names. ``held``:
    records per distinct name (indexed by code); by default, the records ``c`` codes."""
    if held is None:
        held = c.held()
    ca, cb = c.codes[a], c.codes[b]
    out = np.zeros(len(a), dtype=bool)
    todo = (ca >= 0) & (cb >= 0) & (ca != cb)
    if todo.any():
        width = np.int64(len(c.values) + 1)
        keys, inverse = factorized(ca[todo] * width + cb[todo])
        left, right = keys // width, keys % width
        out[todo] = _is_typo(c.values[left], c.values[right], held[left], held[right])[inverse]
    return out


def may_stand_for(f, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: one first name is a short form that may also stand for the other's name, though
    it usually stands for another (Chris and Christine; ``normalize.other_readings``). Worked
    out once per distinct pair of (name, usual name)."""
    first, canon = f["first"], f["canon"]
    out = np.zeros(len(a), dtype=bool)
    readings = other_readings()
    fa, fb, ca, cb = first.codes[a], first.codes[b], canon.codes[a], canon.codes[b]
    todo = (fa >= 0) & (fb >= 0) & (ca >= 0) & (cb >= 0) & (ca != cb)
    if not readings or not todo.any():
        return out
    width = np.int64(len(canon.values) + 1)

    def reads(short: np.ndarray, usual: np.ndarray) -> np.ndarray:
        keys, inverse = factorized(short.astype(np.int64) * width + usual)
        text = np.char.add(np.char.add(first.values[keys // width], "|"), canon.values[keys % width])
        return np.isin(text, list(readings))[inverse]

    out[todo] = reads(fa[todo], cb[todo]) | reads(fb[todo], ca[todo])
    return out


def first_name_levels(f, a, b, swapped: np.ndarray | None = None) -> np.ndarray:
    """4 same name, 3 nickname-equivalent, 2 typo, 1 compatible but no evidence (an initial, or a
    short form that may stand for either name), 0 different. ``swapped``: ``swapped_names`` of
    the pairs, whose names the other way round count as the same name or its nickname."""
    initial = (f["first_is_initial"][a] | f["first_is_initial"][b]) & _eq(f["initial"], a, b)
    similar = first_name_typos(f["first"], a, b, f.get("first_held"))
    same, nickname = _eq(f["first"], a, b), _eq(f["canon"], a, b)
    if swapped is not None:
        same |= swapped == 2
        nickname |= swapped == 1
    return np.select(
        [_null(f["first"], a, b), same, nickname, similar,
         initial | may_stand_for(f, a, b)],
        [NULL, 4, 3, 2, 1], 0,
    ).astype(np.int8)


def last_name_levels(f, a, b, swapped: np.ndarray | None = None) -> np.ndarray:
    """3 same (spaces aside: O'Neill and ONeill, Mc Donald and McDonald; or the pair's names are
    ``swapped``), 2 typo, 1 one surname inside the other (double or married names), 0 different."""
    last = f["last"]
    null = _null(last, a, b)
    same = _eq(last, a, b) | _eq(f["surname_key"], a, b)
    if swapped is not None:
        same |= swapped > 0
    similar = similarity(last, a, b) >= NAME_SIMILAR
    inside = np.zeros(len(a), dtype=bool)
    check = ~null & ~same & ~similar
    if check.any():
        va = np.char.add(np.char.add(" ", last.values[last.codes[a[check]]]), " ")
        vb = np.char.add(np.char.add(" ", last.values[last.codes[b[check]]]), " ")
        inside[check] = (np.char.find(va, vb) >= 0) | (np.char.find(vb, va) >= 0)
    return np.select([null, same, similar, inside], [NULL, 3, 2, 1], 0).astype(np.int8)


def date_levels(f, a, b) -> np.ndarray:
    """2 same date, 1 day/month swapped or one part mistyped, 0 different."""
    ya, yb = f["dob_y"][a], f["dob_y"][b]
    ma, mb = f["dob_m"][a], f["dob_m"][b]
    da, db = f["dob_d"][a], f["dob_d"][b]
    parts = (ya == yb).astype(int) + (ma == mb).astype(int) + (da == db).astype(int)
    swapped = (ya == yb) & (ma == db) & (da == mb)
    null = (ya < 0) | (yb < 0)
    return np.select([null, parts == 3, swapped | (parts == 2)], [NULL, 2, 1], 0).astype(np.int8)


def address_levels(f, a, b) -> np.ndarray:
    """3 same street and postcode, 2 same street (or near street, same postcode), 1 same postcode,
    0 different (the streets differ, or the postcodes do while a street is missing: an order
    ships to a postcode without naming the street). How much a difference weighs against a
    match (people move) is learnt from the data, like every level."""
    street_null = _null(f["street"], a, b)
    post_null = _null(f["postcode"], a, b)
    street_eq = _eq(f["street"], a, b)
    post_eq = _eq(f["postcode"], a, b)
    near = np.zeros(len(a), dtype=bool)
    if post_eq.any():
        near[post_eq] = similarity(f["street"], a[post_eq], b[post_eq]) >= STREET_SIMILAR
    return np.select(
        [street_null & post_null, street_eq & (post_eq | post_null), street_eq | (post_eq & near),
         post_eq],
        [NULL, 3, 2, 1], 0,
    ).astype(np.int8)


def exact_levels(c: Coded, a, b) -> np.ndarray:
    """1 same, 0 different (country, job title)."""
    return np.select([_null(c, a, b), _eq(c, a, b)], [NULL, 1], 0).astype(np.int8)


def city_levels(f, a, b) -> np.ndarray:
    """1 same, letter by letter or as its language spells it in Latin letters (München, Munchen,
    Muenchen), 0 different."""
    city = f["city"]
    same = _eq(city, a, b) | _eq(f["city_latin"], a, b)
    return np.select([_null(city, a, b), same], [NULL, 1], 0).astype(np.int8)


def phone_levels(f, a, b) -> np.ndarray:
    """2 same number, 1 same last seven digits (a national/international mix-up), 0 different."""
    return np.select([_null(f["phone"], a, b), _eq(f["phone"], a, b), _eq(f["phone_tail"], a, b)],
                     [NULL, 2, 1], 0).astype(np.int8)


def employer_levels(f, a, b) -> np.ndarray:
    """2 same employer, 1 similar name, 0 different."""
    c = f["employer"]
    similar = similarity(c, a, b) >= EMPLOYER_SIMILAR
    return np.select([_null(c, a, b), _eq(c, a, b), similar], [NULL, 2, 1], 0).astype(np.int8)


def employer_domain_levels(f, a, b) -> np.ndarray:
    """Where only one side names an employer and the other has a work address: 1 the employer
    is the address's company, 0 another company. A webinar registrant often leaves Organization
    blank but registers with the work address. Undefined where both name an employer: that is
    ``employer_levels``' evidence, and counting the company twice would overstate it."""
    has_a, has_b = f["employer"].codes[a] >= 0, f["employer"].codes[b] >= 0
    one = np.flatnonzero(has_a != has_b)
    employer_side = np.where(has_a[one], a[one], b[one])
    address_side = np.where(has_a[one], b[one], a[one])
    with_address = f["company_label"].codes[address_side] >= 0
    out = np.full(len(a), NULL, dtype=np.int8)
    out[one[with_address]] = employer_names_domain(f, employer_side[with_address], address_side[with_address])
    return out


MIN_COMPANY_LABEL = 4  # "ab.com" could begin any employer's name


def _word_prefixes(names: np.ndarray) -> pd.DataFrame:
    """Each name's first words run together: (row, prefix) for "helix", "helixinsurance"…"""
    words = pd.Series(names, dtype="string").str.split(" ", expand=True)
    prefix = pd.Series("", index=words.index, dtype="string")
    parts = []
    for column in words.columns:
        prefix = prefix + words[column]
        parts.append(pd.DataFrame({"row": words.index.to_numpy(), "prefix": prefix}).dropna())
    return pd.concat(parts, ignore_index=True)


def employer_names_domain(f, a, b) -> np.ndarray:
    """Per pair: a's employer begins with whole words that, run together, spell the registrable
    name of b's work-address domain (Helix Insurance Group: helixinsurance.com).

    Works on codes: the prefixes of the employers involved are looked up among the domain names
    once, so no text is built per pair."""
    employer, label = f["employer"], f["company_label"]
    ea, lb = employer.codes[a], label.codes[b]
    out = np.zeros(len(a), dtype=bool)
    check = np.flatnonzero((ea >= 0) & (lb >= 0))
    if not len(check):
        return out
    involved = distinct(ea[check])
    prefixes = _word_prefixes(employer.values[involved])
    prefixes = prefixes[prefixes["prefix"].str.len() >= MIN_COMPANY_LABEL]
    spelt = pd.Index(label.values).get_indexer(prefixes["prefix"].to_numpy(dtype=object))
    width = np.int64(len(label.values))
    named = distinct(involved[prefixes["row"].to_numpy()[spelt >= 0]] * width + spelt[spelt >= 0])
    if not len(named):
        return out
    keys = ea[check] * width + lb[check]
    found = np.minimum(np.searchsorted(named, keys), len(named) - 1)
    out[check] = named[found] == keys
    return out


def email_levels(f, a, b) -> np.ndarray:
    """Email local-part patterns.

    5 same mailbox (only the dots a provider ignores, or a typo in the domain, differ:
    jurgen.kuhn@qunatumcloud); 4 same distinctive local part at another domain (bluefalcon@gmail
    vs bluefalcon@yahoo); 3 same local part at another domain that is a name and a number
    (christine.lemaire94): namesakes share the name, so only the number is evidence, weighed by
    how common it is (``probabilistic.TF_LEVELS``); a local part that is only a name is no
    evidence beyond the name (``local_spells_a_name``); 2 both local parts built from the same
    name at the same company domain (jsmith@acme vs john.smith@acme after a format change); 1 same
    company domain only; 0 different.
    """
    local, domain, company = f["email_local"], f["email_domain"], f["email_company"]
    same_local = _eq(local, a, b)
    domain_typo = np.zeros(len(a), dtype=bool)
    distinctive = np.zeros(len(a), dtype=bool)
    numbered_name = np.zeros(len(a), dtype=bool)
    if same_local.any():
        sa, sb = a[same_local], b[same_local]
        # Two providers' domains are two mailboxes, however alike (hotmail.com, hotmail.com.mx).
        domain_typo[same_local] = (similarity(domain, sa, sb) >= DOMAIN_TYPO_SIMILAR) & ~(
            f["email_free"][sa] & f["email_free"][sb])
        spells_name = local_spells_a_name(f, sa, sb)
        distinctive[same_local] = f["local_has_letters"][sa] & ~spells_name
        numbered_name[same_local] = spells_name & f["local_has_number"][sa]
    same_company = _eq(company, a, b)
    pattern = np.zeros(len(a), dtype=bool)
    check = same_company & ~same_local
    if check.any():
        ia, ib = a[check], b[check]
        la, lb = local.values[local.codes[ia]], local.values[local.codes[ib]]
        by_a = _locals_built_from_name(f, ia, ib, la, lb)
        # Either record's name may be the one both addresses are built from (a married name, names
        # typed into each other's boxes), so the level does not depend on which record comes first.
        other = ~by_a & (_differ(f["surname_key"], ia, ib) | _differ(f["initial"], ia, ib))
        by_a[other] = _locals_built_from_name(f, ib[other], ia[other], la[other], lb[other])
        pattern[check] = by_a
    return np.select(
        [_null(local, a, b), same_local & domain_typo, distinctive, numbered_name, pattern, same_company],
        [NULL, 5, 4, 3, 2, 1], 0,
    ).astype(np.int8)


def _locals_built_from_name(f, own: np.ndarray, other: np.ndarray, la: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Both local parts hold the surname of ``own`` (else of ``other``) and one starts with its
    first initial (else ``other``'s): jsmith and john.smith for John Smith."""
    def part(coded: Coded) -> np.ndarray:
        code = np.where(coded.codes[own] >= 0, coded.codes[own], coded.codes[other])
        return np.where(code >= 0, coded.values[np.maximum(code, 0)], "\x00").astype(str)

    surname, initial = part(f["surname_key"]), part(f["initial"])
    has_surname = (np.char.str_len(surname) >= 3) & (np.char.find(la, surname) >= 0) & (np.char.find(lb, surname) >= 0)
    starts = (np.char.find(la, initial) == 0) | (np.char.find(lb, initial) == 0)
    return has_surname & starts


def colleague_namesakes(f, a, b) -> np.ndarray:
    """Two mailboxes at one company whose local parts differ only in their digits (john.smith and
    john.smith2@acme): a company gives each employee one mailbox and numbers a namesake's, so
    these are two colleagues however alike the rest looks. At a free provider such addresses
    are often one person's (emmawood and emmawood58@gmail), so they are not counted there."""
    out = np.empty(len(a), dtype=bool)

    def check(part: slice) -> None:
        pa, pb = a[part], b[part]
        out[part] = _eq(f["email_company"], pa, pb) & ~_eq(f["email_local"], pa, pb) & _eq(
            f["local_without_digits"], pa, pb)

    over_chunks(check, len(a))
    return out


COMPARE_CHUNK_PAIRS = 1_000_000
"""Pairs compared at once: a comparison's temporaries (floats, string pairs for Jaro–Winkler)
cost tens of bytes a pair, and a million persons' blocking finds tens of millions of pairs."""
CHUNK_THREADS = 2
"""Chunks worked on at once. numpy's kernels and rapidfuzz release the GIL, so a second thread
puts the second core of a 2-core machine to work."""


def pair_chunks(n: int) -> list[slice]:
    """Slices of at most ``COMPARE_CHUNK_PAIRS`` covering ``range(n)`` (one, empty, for none)."""
    return [slice(start, start + COMPARE_CHUNK_PAIRS) for start in range(0, max(n, 1), COMPARE_CHUNK_PAIRS)]


def over_chunks(work, n: int) -> None:
    """Calls ``work(part)`` for each of ``pair_chunks(n)``, ``CHUNK_THREADS`` at a time; ``work``
    writes its own slice of a result made beforehand, so the parts need no joining (a copy)."""
    parts = pair_chunks(n)
    if len(parts) == 1:
        work(parts[0])
        return
    with ThreadPoolExecutor(CHUNK_THREADS) as pool:
        for _ in pool.map(work, parts):  # re-raises a part's error
            pass


def compare_pairs(features: dict, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Comparison levels (one int8 column per comparison) for the record pairs (a[i], b[i])."""
    a, b = np.asarray(a), np.asarray(b)  # row positions as given: int32 halves a million persons' pairs
    levels = {name: np.empty(len(a), dtype=np.int8) for name in COMPARISONS}

    def compare(part: slice) -> None:
        for name, values in _compare_chunk(features, a[part], b[part]).items():
            levels[name][part] = values

    over_chunks(compare, len(a))
    return pd.DataFrame(levels, copy=False)


def _compare_chunk(features: dict, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    swapped = swapped_names(features, a, b)
    return {
        "first": first_name_levels(features, a, b, swapped),
        "last": last_name_levels(features, a, b, swapped),
        "dob": date_levels(features, a, b),
        "address": address_levels(features, a, b),
        "city": city_levels(features, a, b),
        "phone": phone_levels(features, a, b),
        "employer": employer_levels(features, a, b),
        "employer_domain": employer_domain_levels(features, a, b),
        "job_title": exact_levels(features["job_title"], a, b),
        "email": email_levels(features, a, b),
        "country": exact_levels(features["country"], a, b),
    }


def first_names_compatible(first_a: pd.Series, first_b: pd.Series, canon_a: pd.Series,
                           canon_b: pd.Series, population: pd.Series) -> np.ndarray:
    """Pairwise: could these two first names be the same person's (same, nickname, typo, initial,
    unknown)? ``population``: every record's first name, which tells a typo from another name."""
    records = pd.DataFrame({
        "first_fold": pd.concat([first_a, first_b], ignore_index=True).astype("string"),
        "first_canon": pd.concat([canon_a, canon_b], ignore_index=True).astype("string"),
    })
    first = _first_token(records["first_fold"])
    features = {
        "first": Coded.of(first), "canon": Coded.of(records["first_canon"]),
        "initial": Coded.of(first.str[:1]),
        "first_is_initial": (first.str.len() == 1).fillna(False).to_numpy(bool),
    }
    held = _first_token(population.astype("string")).value_counts()
    features["first_held"] = held.reindex(features["first"].values).fillna(0).to_numpy(np.int64)
    n = len(first_a)
    return first_name_levels(features, np.arange(n), np.arange(n, 2 * n)) != 0
