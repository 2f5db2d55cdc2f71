"""Linking rules, each pinned by a hand-written story inside a seeded crowd (EM needs data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.identity import pairwise_scores, resolve_identities
from cdp_pipeline.identity.compare import colleague_namesakes, first_names_compatible
from cdp_pipeline.identity.normalize import canonical_first_name
from cdp_pipeline.identity.probabilistic import RecordFeatures
from cdp_pipeline.identity.records import build_records
from cdp_pipeline_tests.identity.frames import frames
from cdp_pipeline_tests.identity.population import population

CROWD_ROWS, CROWD_TRUTH = population(persons=300, seed=7)
CROWD = frames(**CROWD_ROWS)


def with_crowd(**story: list[dict]) -> dict[str, pd.DataFrame]:
    combined = dict(CROWD)
    for name, frame in frames(**story).items():
        combined[name] = pd.concat([CROWD[name], frame], ignore_index=True) if name in CROWD else frame
    return combined


def resolve_with_crowd(**story: list[dict]):
    return resolve_identities(with_crowd(**story))


def person_of(resolution, source: str, record_id: str) -> str:
    m = resolution.identity_map
    hit = m[(m["source"] == source) & (m["source_record_id"] == record_id)]
    assert len(hit) == 1, (source, record_id)
    return hit["person_id"].iloc[0]


def crm(record_id, first, last, email, **extra):
    return {"record_id": record_id, "first_name": first, "last_name": last, "email": email,
            "last_modified_date": "2026-01-10T00:00:00Z", **extra}


def webinar(webinar_id, first, last, email, **extra):
    return {"webinar_id": webinar_id, "first_name": first, "last_name": last, "email": email,
            "webinar_start": "2024-03-01T10:00:00Z", "attended": True, **extra}


def store(customer_id, first, last, email, **extra):
    return {"customer_id": customer_id, "first_name": first, "last_name": last, "email": email,
            "updated_at": "2026-02-01T00:00:00Z", **extra}


HOME = {"city": "Zaragoza", "country_code": "ES"}


def test_the_seed_story_old_work_email_new_form_email_and_home_address_make_one_person():
    res = resolve_with_crowd(
        webinar_attendees=[webinar("W77", "Íñigo", "Zubizarreta", "izubizarreta@oldco.example", organization="OldCo")],
        crm_contacts=[crm("S1", "Iñigo", "Zubizarreta", "izubizarreta@oldco.example", company_name="OldCo",
                          street_address="Calle Coso 14", city="Zaragoza", postal_code="50003", country="Spain")],
        store_customers=[store("SC1", "Inigo", "Zubizarreta", "inigo.zubi@gmail.com", address1="C/ Coso 14",
                               zip="50003", **HOME)],
        store_web_events=[
            {"message_id": "s1", "type": "page", "anonymous_id": "cookie-1", "timestamp": "2026-03-01T09:00:00Z"},
            {"message_id": "s2", "type": "track", "event": "Form Submitted", "form": "whitepaper",
             "anonymous_id": "cookie-1", "form_email": "inigo.zubizarreta@newco.example", "timestamp": "2026-03-01T09:05:00Z"},
            {"message_id": "s3", "type": "identify", "anonymous_id": "cookie-1", "user_id": "SC1",
             "email": "inigo.zubi@gmail.com", "timestamp": "2026-03-02T09:00:00Z"},
        ],
    )
    ids = {person_of(res, "webinar", "W77:izubizarreta@oldco.example"), person_of(res, "crm", "S1"),
           person_of(res, "store", "SC1"), person_of(res, "web", "cookie-1")}
    assert len(ids) == 1


def test_typos_in_email_domain_and_name_still_link():
    res = resolve_with_crowd(
        crm_contacts=[crm("T1", "Bartholomew", "Quigley", "bart.quigley@gmail.com", phone="611 222 333", country="ES",
                          street_address="Calle Alfonso I 3", postal_code="50001", city="Zaragoza")],
        store_customers=[store("TC1", "Bartholomew", "Quigley", "bart.quigley@gmial.com", **HOME),
                         store("TC2", "Bartholomwe", "Quigley", "bq1990@yahoo.es", phone="+34 611 222 333",
                               address1="Calle Alfonso I, 3", zip="50001", **HOME)],
    )
    assert person_of(res, "crm", "T1") == person_of(res, "store", "TC1") == person_of(res, "store", "TC2")


def test_a_company_email_format_change_links_the_same_colleague():
    res = resolve_with_crowd(webinar_attendees=[
        webinar("W80", "Perpetua", "Oyelaran", "poyelaran@zentrix.example", organization="Zentrix Ltd"),
        webinar("W81", "Perpetua", "Oyelaran", "perpetua.oyelaran@zentrix.example", organization="Zentrix",
                webinar_start="2026-03-01T10:00:00Z"),
    ])
    assert person_of(res, "webinar", "W80:poyelaran@zentrix.example") == person_of(
        res, "webinar", "W81:perpetua.oyelaran@zentrix.example")


def test_colleagues_sharing_a_name_keep_their_numbered_mailboxes_and_stay_apart():
    """Same name, employer and city: only the company's numbering of the second mailbox tells them apart."""
    res = resolve_with_crowd(crm_contacts=[
        crm("C1", "Barbel", "Roth", "roth.barbel@aurorabank.example", company_name="Aurora Bank", city="Munchen",
            country="DE", phone="+49 131 4441521"),
        crm("C2", "Barbel", "Roth", "roth.barbel189@aurorabank.example", company_name="Aurora Bank", city="Munchen",
            country="DE", phone="+49 116 8745211"),
    ])
    assert person_of(res, "crm", "C1") != person_of(res, "crm", "C2")


def test_numbered_mailboxes_count_as_colleagues_only_at_a_company():
    emails = ["roth.barbel@aurorabank.example", "roth.barbel189@aurorabank.example", "emmawood@gmail.com",
              "emmawood58@gmail.com", "j.ito@aurorabank.example", "2024@aurorabank.example", "77@aurorabank.example"]
    records = build_records({"crm_contacts": pd.DataFrame(
        [crm(f"E{i}", "", "", email) for i, email in enumerate(emails)])}).records
    features = RecordFeatures.of(records).coded
    a, b = np.array([0, 2, 0, 0, 5]), np.array([1, 3, 4, 0, 6])
    assert colleague_namesakes(features, a, b).tolist() == [True, False, False, False, False]


def test_household_members_sharing_address_surname_and_inbox_stay_apart():
    address = {"street_address": "Calle Delicias 8", "postal_code": "50017", "city": "Zaragoza", "country": "ES"}
    res = resolve_with_crowd(crm_contacts=[
        crm("H1", "Leocadia", "Brunfeld", "brunfeld.family@gmail.com", **address),
        crm("H2", "Evaristo", "Brunfeld", "brunfeld.family@gmail.com", **address),
        crm("H3", "Evaristo", "Brunfeld", "evaristo.b@outlook.com", **address),
    ])
    assert person_of(res, "crm", "H1") != person_of(res, "crm", "H2")
    assert person_of(res, "crm", "H2") == person_of(res, "crm", "H3")


def test_household_members_whose_common_names_are_one_letter_apart_stay_apart():
    """Ana and Ava are each held by many records of the crowd: two names, not a slip of the keyboard."""
    address = {"street_address": "Calle Goya 110", "postal_code": "28001", "city": "Madrid", "country": "ES"}
    res = resolve_with_crowd(crm_contacts=[
        crm("HA1", "Ana", "Brunfeld", "ana.brunfeld@gmail.com", **address),
        crm("HA2", "Ava", "Brunfeld", "avabrunfeld86@yahoo.es", **address),
        crm("HA3", "Ana", "Brunfeld", "brunfelds@gmail.com", **address),
        crm("HA4", "Ava", "Brunfeld", "brunfelds@gmail.com", **address),
    ])
    assert person_of(res, "crm", "HA1") != person_of(res, "crm", "HA2")
    assert person_of(res, "crm", "HA3") != person_of(res, "crm", "HA4")


def test_a_short_form_joins_either_name_it_may_stand_for_but_never_makes_two_names_one():
    """Chris is usually Christopher but may be Christine: over a shared inbox, Chris joins
    Christine; Christine and Christopher at one address stay two people."""
    address = {"street_address": "Calle Goya 110", "postal_code": "28001", "city": "Madrid", "country": "ES"}
    res = resolve_with_crowd(
        crm_contacts=[crm("CS1", "Christine", "Achterberg", "c.achterberg@quillon.example", **address),
                      crm("CS2", "Christopher", "Achterberg", "chris.achterberg@gmail.com", **address)],
        webinar_attendees=[webinar("CW1", "Chris", "Achterberg", "c.achterberg@quillon.example")],
    )
    assert person_of(res, "webinar", "CW1:c.achterberg@quillon.example") == person_of(res, "crm", "CS1")
    assert person_of(res, "crm", "CS1") != person_of(res, "crm", "CS2")


def test_first_names_are_compatible_when_one_may_stand_for_the_other():
    population = pd.Series(["chris", "christine", "christopher", "kim", "kimberly", "sandy", "sandra"])
    first = pd.Series(["chris", "chris", "christine", "kim", "sandy"], dtype="string")
    other = pd.Series(["christine", "christopher", "christopher", "kimberly", "sandra"], dtype="string")
    assert first_names_compatible(first, other, canonical_first_name(first), canonical_first_name(other),
                                  population).tolist() == [True, True, False, True, True]


def test_a_rare_spelling_one_slip_from_a_common_name_is_a_typo_two_common_names_are_not():
    population = pd.Series(["ana"] * 20 + ["ava"] * 12 + ["anna"] + ["bartholomew"] * 2 + ["bartholomwe"])
    first = pd.Series(["ana", "ana", "bartholomew"], dtype="string")
    other = pd.Series(["ava", "anna", "bartholomwe"], dtype="string")
    assert first_names_compatible(first, other, first, other, population).tolist() == [False, True, True]


def test_a_name_in_greek_letters_joins_the_same_name_as_greeks_spell_it_in_latin_letters():
    """Δημήτρης Παπαδάκης checks out in Greek letters; his CRM contact, typed in Latin letters,
    says Dimitris Papadakis (ISO 843), not Demetres Papadakes (letter by letter). His sister
    Δήμητρα at the same address stays herself."""
    address = {"street_address": "Odos Ermou 25", "postal_code": "10563", "city": "Athens", "country": "GR"}
    res = resolve_with_crowd(
        crm_contacts=[crm("GR1", "Dimitris", "Papadakis", "d.papadakis@helixinsurance.example",
                          date_of_birth="1981-05-17", **address),
                      crm("GR2", "Dimitra", "Papadakis", "dimitra.papadakis@gmail.com",
                          date_of_birth="1984-09-02", **address)],
        store_customers=[store("GRS1", "Δημήτρης", "Παπαδάκης", "mitsos81@yahoo.gr", address1="Οδός Ερμού 25",
                               zip="10563", city="Athens", country_code="GR")],  # the city from a list
    )
    assert person_of(res, "store", "GRS1") == person_of(res, "crm", "GR1")
    assert person_of(res, "crm", "GR1") != person_of(res, "crm", "GR2")


def test_a_german_surname_is_the_same_with_its_umlaut_spelt_out():
    """Müller typed where umlauts are missing is Mueller; Muller stays a typo-level match."""
    address = {"street_address": "Hauptstraße 7", "postal_code": "80331", "city": "München", "country": "DE"}
    res = resolve_with_crowd(
        crm_contacts=[crm("DE1", "Jürgen", "Müller", "j.mueller@quillon.example", date_of_birth="1975-03-08",
                          **address)],
        webinar_attendees=[webinar("DW1", "Juergen", "Mueller", "juergen.mueller@gmail.com")],
        store_customers=[store("DS1", "Juergen", "Mueller", "juergen.mueller@gmail.com", address1="Hauptstr. 7",
                               zip="80331", city="Muenchen", country_code="DE")],
    )
    assert person_of(res, "crm", "DE1") == person_of(res, "store", "DS1") == person_of(
        res, "webinar", "DW1:juergen.mueller@gmail.com")


@pytest.mark.parametrize("him, her, typed, work, own, family, street", [
    (("Wei", "Zhang"), ("Li", "Zhang"), ("Zhang", "Wei"), "wei.zhang@quillon.example", "weiwei83@outlook.com",
     "zhang.family@gmail.com", ("12 Harcourt Road", "12 Harcourt Rd", "SW19 3AB", "London")),
    (("Samuel", "Coleman"), ("Sarah", "Coleman"), ("Coleman", "Sam"), "samuel.coleman@brightwater.example",
     "sammyc79@outlook.com", "colemans.home@gmail.com", ("4 Larkspur Close", "4 Larkspur Cl", "LS6 2QT", "Leeds")),
], ids=["exactly", "with a nickname"])
def test_first_and_last_names_typed_into_each_other_s_boxes_are_the_same_name(him, her, typed, work, own, family, street):
    """He registers for a webinar with his names in each other's boxes (Zhang Wei for Wei Zhang,
    Coleman Sam for Samuel Coleman): on his CRM contact's email he joins it. His store account,
    typed the same way with another email, joins him by his home address. His wife stays
    herself, also when he registers with their family inbox: his names the other way round are
    not hers."""
    line, abbreviated, postcode, city = street
    address = {"street_address": line, "postal_code": postcode, "city": city, "country": "GB"}
    res = resolve_with_crowd(
        crm_contacts=[crm("H1", *him, work, date_of_birth="1983-06-21", **address),
                      crm("W1", *her, family, date_of_birth="1985-01-09", **address)],
        webinar_attendees=[webinar("HW", *typed, work), webinar("HF", *typed, family)],
        store_customers=[store("HS", *typed, own, address1=abbreviated, zip=postcode, city=city, country_code="GB")],
    )
    he = person_of(res, "crm", "H1")
    assert person_of(res, "webinar", f"HW:{work}") == he
    assert person_of(res, "store", "HS") == he
    she = person_of(res, "crm", "W1")
    assert she != he
    assert person_of(res, "webinar", f"HF:{family}") != she


def test_namesakes_in_different_cities_with_different_birth_dates_stay_apart():
    res = resolve_with_crowd(crm_contacts=[
        crm("N1", "Casimiro", "Vallejo", "casimiro.v@gmail.com", city="Bilbao", postal_code="48001",
            date_of_birth="1970-02-03", country="ES"),
        crm("N2", "Casimiro", "Vallejo", "cvallejo77@yahoo.es", city="Sevilla", postal_code="41001",
            date_of_birth="1988-11-30", country="ES"),
    ])
    assert person_of(res, "crm", "N1") != person_of(res, "crm", "N2")


def test_namesakes_with_nothing_in_common_but_the_name_stay_apart():
    res = resolve_with_crowd(store_customers=[
        store("NS1", "Laura", "Garcia", "lg.one@gmail.com", address1="Calle Mayor 1", zip="28013", city="Madrid"),
        store("NS2", "Laura", "Garcia", "lauragarcia.bcn@hotmail.com", address1="Carrer Gran 9", zip="08001",
              city="Barcelona"),
    ])
    assert person_of(res, "store", "NS1") != person_of(res, "store", "NS2")


@pytest.mark.parametrize("organization, her_title, his_title, one_person", [
    (None, "Chief Actuary", "Chief Actuary", True),  # a title few people hold
    (None, "Head of Sales", "Head of Sales", False),  # one held across the crowd: not enough alone...
    ("Acme", "Head of Sales", "Head of Sales", True),  # ...but enough beside the same employer
    ("Acme", None, None, False),
    ("Acme", "Chief Actuary", "Nurse", False),  # another job: another person
])
def test_a_shared_job_title_is_evidence_weighed_by_how_many_people_hold_it(organization, her_title, his_title,
                                                                          one_person):
    res = resolve_with_crowd(
        webinar_attendees=[webinar("W90", "Ottoline", "Brackenridge", "obrackenridge@brightwave.example",
                                   organization=organization, job_title=her_title)],
        crm_contacts=[crm("J1", "Ottoline", "Brackenridge", "ottoline.brackenridge77@gmail.com", country="ES",
                          company_name=organization, job_title=his_title)],
    )
    webinar_person = person_of(res, "webinar", "W90:obrackenridge@brightwave.example")
    assert (webinar_person == person_of(res, "crm", "J1")) is one_person


def test_role_addresses_never_link_different_people():
    res = resolve_with_crowd(webinar_attendees=[
        webinar("W90", "Rosalind", "Achterberg", "info@quillon.example"),
        webinar("W91", "Torvald", "Mbeki", "info@quillon.example"),
    ])
    assert person_of(res, "webinar", "W90:info@quillon.example") != person_of(res, "webinar", "W91:info@quillon.example")
    assert res.diagnostics["role_addresses"] >= 1


def test_an_identifier_held_by_more_people_than_allowed_links_nobody():
    people = [("Anselm", "Kroll"), ("Brigida", "Oduya"), ("Cosmin", "Petrov"), ("Dagny", "Ruiz")]
    res = resolve_with_crowd(crm_contacts=[
        crm(f"P{i}", first, last, f"{first.lower()}.{last.lower()}@gmail.com", phone="+34 600 000 001")
        for i, (first, last) in enumerate(people)])
    assert len({person_of(res, "crm", f"P{i}") for i in range(4)}) == 4
    assert res.diagnostics["shared_identifiers_rejected"] >= 1


def test_store_account_orders_and_cookies_join_by_customer_id():
    res = resolve_with_crowd(
        store_customers=[store("K1", "Filomena", "Tarrago", "filo@gmail.com")],
        store_orders=[{"order_id": "KO1", "customer_id": "K1", "email": "other.person@gmail.com",
                       "created_at": "2026-03-01T00:00:00Z", "financial_status": "paid", "total": 5.0,
                       "lineitem_sku": "X", "lineitem_quantity": 1, "lineitem_price": 5.0}],
        store_web_events=[{"message_id": "k1", "type": "page", "anonymous_id": "ck", "user_id": "K1",
                           "timestamp": "2026-03-01T00:00:00Z"}],
    )
    assert person_of(res, "store", "K1") == person_of(res, "order", "KO1") == person_of(res, "web", "ck")
    assert res.identity_map.set_index("source_record_id").loc["KO1", "match_rule"] == "customer_id"


def test_conflicting_birth_dates_in_one_cluster_are_flagged_never_silently_kept():
    res = resolve_with_crowd(crm_contacts=[
        crm("D1", "Walburga", "Eistrup", "w.eistrup@gmail.com", date_of_birth="1961-01-01"),
        crm("D2", "Walburga", "Eistrup", "w.eistrup@gmail.com", date_of_birth="1999-09-09"),
    ])
    m = res.identity_map.set_index("source_record_id")
    assert m.loc["D1", "conflict_flagged"] and m.loc["D2", "conflict_flagged"]
    assert res.diagnostics["flagged_conflicting_clusters"] >= 1


def test_the_crowd_itself_is_resolved_with_high_precision():
    res = resolve_identities(CROWD)
    scores = pairwise_scores(res.identity_map, CROWD_TRUTH)
    assert scores["precision"] >= 0.99
    assert scores["b3_recall"] >= 0.8


def test_resolution_is_deterministic():
    first = resolve_identities(CROWD).identity_map
    second = resolve_identities(CROWD).identity_map
    pd.testing.assert_frame_equal(first, second)
