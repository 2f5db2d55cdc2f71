"""What counts as evidence for and against a match, pinned on small hand-made records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.identity.compare import (
    NULL,
    Coded,
    address_levels,
    email_levels,
    employer_domain_levels,
    employer_names_domain,
    first_name_levels,
    last_name_levels,
    swapped_names,
)
from cdp_pipeline.identity.clusters import connected_components
from cdp_pipeline.identity.probabilistic import (
    RecordFeatures,
    candidate_pairs,
    log2_bayes_factor_needed,
    match_probability,
    score_candidates,
)
from cdp_pipeline.identity.records import build_records
from cdp_pipeline.identity.resolve import ResolutionSettings, identifier_table, deterministic_links
from cdp_pipeline_tests.identity.test_resolution import crm, person_of, resolve_with_crowd, webinar, with_crowd


def _spelt_as_folded(records: pd.DataFrame) -> pd.DataFrame:
    """Hand-written surnames and cities in Latin letters, unless a case gives another spelling:
    spelt in Latin as they are folded."""
    latin = records.reindex(columns=["last_latin", "city_latin"]).astype("string")
    return records.assign(last_latin=latin["last_latin"].fillna(records["last_fold"]),
                          city_latin=latin["city_latin"].fillna(records["city"]))


def _address_features(rows: list[dict]) -> dict:
    columns = ["first_fold", "first_canon", "last_fold", "email_norm", "email_free", "street", "postcode",
               "city", "country", "phone", "employer", "job_title", "dob"]
    records = _spelt_as_folded(pd.DataFrame(rows, columns=columns).astype("string")).assign(
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


def test_a_surname_written_with_or_without_its_spaces_is_the_same_surname():
    """Folding turns O'Neill into "o neill"; typed without the apostrophe it is "oneill"."""
    f = _address_features([{"last_fold": "o neill"}, {"last_fold": "oneill"}, {"last_fold": "mc donald"},
                           {"last_fold": "mcdonald"}, {"last_fold": "garcia lopez"}, {"last_fold": "garcia"}])
    assert last_name_levels(f, np.array([0, 2, 4]), np.array([1, 3, 5])).tolist() == [3, 3, 1]


def test_a_full_name_that_recurs_as_a_whole_is_weak_evidence_even_when_its_parts_are_rare():
    """Names are not independent: six unrelated 'Ottokar Wendelstein' make the full name common,
    so two of them sharing nothing but a city stay apart, whereas the product of the two (rare)
    parts' frequencies would have called them one person."""
    namesakes = [crm(f"OW{i}", "Ottokar", "Wendelstein", f"ow.{i}.{i * 7}@example-mail{i}.test", city="Zaragoza")
                 for i in range(6)]
    res = resolve_with_crowd(crm_contacts=namesakes)
    assert len({person_of(res, "crm", f"OW{i}") for i in range(6)}) == 6



def test_an_employer_names_the_company_of_a_work_address_only_in_whole_words():
    """Helix Insurance Group works at helixinsurance.*; "AB Testing" does not at abtest.*, nor does
    a two-letter domain name every employer could begin with."""
    employers = ["helix insurance group", "vandelay aerospace 1 sas", "ab testing", "ab testing", None]
    labels = ["helixinsurance", "vandelayaerospace1", "abtest", "ab", "helixinsurance"]
    f = {"employer": Coded.of(pd.Series(employers, dtype="string")),
         "company_label": Coded.of(pd.Series(labels, dtype="string"))}
    same = np.arange(len(employers))
    assert employer_names_domain(f, same, same).tolist() == [True, True, False, False, False]
    assert employer_names_domain(f, np.array([0]), np.array([1])).tolist() == [False]


def test_an_employer_is_compared_with_a_work_address_only_where_the_other_side_names_no_employer():
    """Where both name an employer, the employer comparison already holds the evidence."""
    employers = ["helix insurance group", None, None, "northwind", None]
    labels = [None, "helixinsurance", "northwindtraders", "helixinsurance", None]
    f = {"employer": Coded.of(pd.Series(employers, dtype="string")),
         "company_label": Coded.of(pd.Series(labels, dtype="string"))}
    a, b = np.array([0, 2, 0, 0, 1]), np.array([1, 0, 3, 4, 2])
    assert employer_domain_levels(f, a, b).tolist() == [1, 0, NULL, NULL, NULL]


def _email_levels_between_halves(rows: list[tuple[str, str, str]]) -> list[int]:
    """Email levels of record i and record i + n for n (first name, last name, address) pairs given
    as the first half and then the second half of ``rows``."""
    records = build_records({"crm_contacts": pd.DataFrame(
        [crm(f"E{i}", first, last, email) for i, (first, last, email) in enumerate(rows)])}).records
    n = len(rows) // 2
    return email_levels(RecordFeatures.of(records).coded, np.arange(n), np.arange(n, 2 * n)).tolist()


def test_a_local_part_that_only_spells_a_name_is_no_evidence_at_another_provider_but_its_number_is():
    """5 same mailbox, 4 same distinctive local part, 3 a name and a number, 0 a name only; a name
    is the person's own or another first name the records hold beside the surname (Kim Thomas's
    kimberlythomas), and two providers' domains are two mailboxes however alike."""
    pairs = [
        (("Jurgen", "Kuhn", "jurgen.kuhn@quantumcloud.de"), ("Jurgen", "Kuhn", "jurgen.kuhn@qunatumcloud.de")),
        (("Ada", "Lind", "bluefalcon@gmail.com"), ("Ada", "Lind", "bluefalcon@yahoo.com")),
        (("Christine", "Lemaire", "christine.lemaire94@outlook.com"),
         ("Christine", "Lemaire", "christine.lemaire94@hotmail.com")),
        (("Kim", "Thomas", "kimberlythomas@outlook.com"), ("Kim", "Thomas", "kimberlythomas@web.de")),
        (("Manuel", "Vazquez", "manuel.vazquez@hotmail.com"), ("Manuel", "Vazquez", "manuel.vazquez@hotmail.com.mx")),
        (("Kimberly", "Shaw", "kshaw@gmail.com"), ("Kimberly", "Shaw", "kim.shaw@gmail.com")),
    ]
    rows = [left for left, _ in pairs] + [right for _, right in pairs]
    assert _email_levels_between_halves(rows) == [5, 4, 3, 0, 0, 0]


def test_addresses_built_from_either_record_s_name_at_one_company_are_its_format_change_in_either_order():
    """2: both local parts are built from one of the two names at one company domain (jsmith and
    john.smith@acme), whichever record comes first; 1: the same company only."""
    pairs = [
        (("John", "Smith", "jsmith@acme-logistics.com"), ("John", "Smith", "john.smith@acme-logistics.com")),
        (("Zhang", "Wei", "wzhang@acme-logistics.com"), ("Wei", "Zhang", "wei.zhang@acme-logistics.com")),
        (("Anna", "Berg", "anna.novak@acme-logistics.com"), ("Anna", "Novak", "anovak@acme-logistics.com")),
        (("Anna", "Berg", "aberg@acme-logistics.com"), ("Maria", "Novak", "mnovak@acme-logistics.com")),
    ]
    forwards = [left for left, _ in pairs] + [right for _, right in pairs]
    backwards = [right for _, right in pairs] + [left for left, _ in pairs]
    assert _email_levels_between_halves(forwards) == [2, 2, 2, 1]
    assert _email_levels_between_halves(backwards) == [2, 2, 2, 1]


def _log2_bayes_factors(story: dict, pairs: list[tuple[str, str]]) -> list[float]:
    """The model's evidence (log2 Bayes factor) for record pairs of a story told inside the crowd."""
    records, emails, system_keys = build_records(with_crowd(**story))
    identifiers = identifier_table(records, emails, system_keys)
    det, _ = deterministic_links(records, identifiers, ResolutionSettings().max_persons_per_identifier)
    groups = connected_components(len(records), det["a"].to_numpy(), det["b"].to_numpy())
    scored, _, _ = score_candidates(RecordFeatures.of(records), groups, window=8, u_sample_pairs=50_000, seed=1)
    position = pd.Series(np.arange(len(records)), index=records["record_key"].to_numpy())
    scores = {(a, b): s for a, b, s in scored[["a", "b", "log2_bayes_factor"]].itertuples(index=False)}
    return [scores[tuple(sorted((position[x], position[y])))] for x, y in pairs]


def test_an_employer_named_by_a_work_address_is_evidence_the_rarer_the_company_the_stronger():
    """The CRM holds a personal address and the employer; a webinar registration holds only the
    work address (Organization left blank). A company the whole crowd works at (Acme) says less
    than one nobody else does (Helix Insurance Group)."""
    story = {
        "crm_contacts": [crm("E1", "Philippa", "Oduya", "philippa.oduya@gmail.com", company_name="Helix Insurance Group"),
                         crm("E2", "Leandro", "Fairweather", "leandro.fw@gmail.com", company_name="Acme")],
        "webinar_attendees": [webinar("W90", "Philippa", "Oduya", "poduya@helixinsurance.co.uk"),
                              webinar("W91", "Philippa", "Oduya", "philippa@northwindtraders.co.uk"),
                              webinar("W92", "Leandro", "Fairweather", "lfairweather@acme.com"),
                              webinar("W93", "Leandro", "Fairweather", "leandro@northwindtraders.co.uk")],
    }
    helix, elsewhere, acme, elsewhere_too = _log2_bayes_factors(story, [
        ("crm:E1", "webinar:W90:poduya@helixinsurance.co.uk"), ("crm:E1", "webinar:W91:philippa@northwindtraders.co.uk"),
        ("crm:E2", "webinar:W92:lfairweather@acme.com"), ("crm:E2", "webinar:W93:leandro@northwindtraders.co.uk"),
    ])
    assert helix - elsewhere > acme - elsewhere_too > 0


def _blocked(rows: list[dict]) -> RecordFeatures:
    columns = ["first_fold", "first_canon", "last_fold", "last_latin", "email_norm", "phone", "street", "postcode",
               "city", "country", "employer", "job_title"]
    records = _spelt_as_folded(pd.DataFrame(rows, columns=columns).astype("string"))
    return RecordFeatures.of(records.assign(dob=pd.Series(pd.NaT, index=records.index, dtype="datetime64[us]")))


def test_a_name_spelt_two_ways_in_latin_letters_is_blocked_with_both_spellings():
    """Δημήτρης Παπαδάκης (0) folds letter by letter to demetres papadakes, and as Greeks spell it
    to dimitris papadakis: he meets the records holding either (1, 2), which need not meet each
    other, and nobody else (3)."""
    records = _blocked([
        {"first_fold": "demetres", "first_canon": "dimitris", "last_fold": "papadakes", "last_latin": "papadakis",
         "email_norm": "mitsos81@yahoo.gr"},
        {"first_fold": "dimitris", "first_canon": "dimitris", "last_fold": "papadakis",
         "email_norm": "d.papadakis@helix.example"},
        {"first_fold": "demetres", "first_canon": "demetres", "last_fold": "papadakes",
         "email_norm": "demetres.p@gmail.com"},
        {"first_fold": "nikos", "first_canon": "nikos", "last_fold": "papadakis", "email_norm": "nikos.p@gmail.com"},
    ])

    pairs = candidate_pairs(records, window=3)

    assert list(zip(pairs["a"], pairs["b"])) == [(0, 1), (0, 2)]


def test_names_written_the_other_way_round_compare_as_the_same_name_and_are_blocked_together():
    """Wei Zhang (0) and Zhang Wei (1) at one postcode are one name swapped: the same first and last
    name, and they meet. Thomas Thomas (2) reads the same both ways: not a swap of himself, nor of
    Thomas Wei (3), who meets nobody. A surname of several words is one name in the first-name box
    too (Finn van der Heijden, 4 and 5), not its first word (nor Finn van Dijk's, 8). Coleman Sam
    (7) is Samuel Coleman (6) the other way round but for a nickname: a nickname of the first
    name, the same last name, and they meet."""
    records = _blocked([
        {"first_fold": "wei", "first_canon": "wei", "last_fold": "zhang", "email_norm": "wei.zhang@quillon.example",
         "postcode": "sw193ab"},
        {"first_fold": "zhang", "first_canon": "zhang", "last_fold": "wei", "email_norm": "weiwei83@outlook.com",
         "postcode": "sw193ab"},
        {"first_fold": "thomas", "first_canon": "thomas", "last_fold": "thomas", "email_norm": "tt@example.test"},
        {"first_fold": "thomas", "first_canon": "thomas", "last_fold": "wei", "email_norm": "tw@example.test"},
        {"first_fold": "finn", "first_canon": "finn", "last_fold": "van der heijden", "email_norm": "finn@evergreen.example"},
        {"first_fold": "van der heijden", "first_canon": "van", "last_fold": "finn", "email_norm": "fvdh@hetnet.example"},
        {"first_fold": "samuel", "first_canon": "samuel", "last_fold": "coleman", "email_norm": "samc@kestrel.example"},
        {"first_fold": "coleman", "first_canon": "coleman", "last_fold": "sam", "email_norm": "colemans@gmx.example"},
        {"first_fold": "finn", "first_canon": "finn", "last_fold": "van dijk", "email_norm": "finn.vd@ziggo.example"},
    ])
    a, b = np.array([0, 2, 2, 4, 6, 5]), np.array([1, 2, 3, 5, 7, 8])
    swapped = swapped_names(records.coded, a, b)

    assert swapped.tolist() == [2, 0, 0, 2, 1, 0]  # 2 exactly the other way round, 1 but for a nickname
    assert first_name_levels(records.coded, a, b, swapped).tolist() == [4, 4, 4, 4, 3, 0]
    assert last_name_levels(records.coded, a, b, swapped).tolist() == [3, 3, 0, 3, 3, 0]
    assert list(zip(*candidate_pairs(records, window=3)[["a", "b"]].to_numpy().T)) == [(0, 1), (4, 5), (6, 7)]


def test_blocking_pairs_neighbours_sharing_a_key_once_each_and_only_across_linked_groups():
    """Five Ana Ruiz share a full name (one block); with a window of 2 each meets her next two
    neighbours in email order. Records 0 and 1 are already linked (one group): never a candidate.
    A pair found by two keys (full name, surname + postcode) is listed once."""
    anas = [{"first_canon": "ana", "last_fold": "ruiz", "email_norm": f"ana{i}@example.test",
             "postcode": "50003" if i < 2 else None} for i in range(5)]
    records = _blocked([*anas, {"first_canon": "bo", "last_fold": "lund", "email_norm": "bo@example.test"}])

    everything = candidate_pairs(records, window=2)
    across = candidate_pairs(records, window=2, group=np.array([0, 0, 1, 2, 3, 4]))

    assert list(zip(everything["a"], everything["b"])) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]
    assert list(zip(across["a"], across["b"])) == [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def test_a_pair_is_accepted_from_its_bayes_factor_exactly_where_its_match_probability_reaches_the_threshold():
    """Resolution compares each candidate's Bayes factor with the one the threshold needs, rather
    than computing a probability for each of tens of millions of pairs."""
    for prior in (1e-7, 1e-4, 0.2):
        needed = log2_bayes_factor_needed(0.99, prior)
        below, at, above = match_probability(np.array([needed - 1e-6, needed, needed + 1e-6]), prior)
        assert below < 0.99 < above
        assert at == pytest.approx(0.99)



def test_records_holding_no_identifier_have_no_deterministic_links():
    records, emails, system_keys = build_records(with_crowd())
    identifiers = identifier_table(records.assign(phone=pd.NA), emails.iloc[:0], system_keys.iloc[:0])
    links, shared = deterministic_links(records, identifiers, ResolutionSettings().max_persons_per_identifier)
    assert identifiers.empty and links.empty and shared == 0
    assert list(links.columns) == ["a", "b", "rule"]
