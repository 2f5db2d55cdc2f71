"""Normalisation: equal things must compare equal, different things must stay different."""

from __future__ import annotations

import gc
import weakref

import pandas as pd
import pytest

from cdp_pipeline.identity.normalize import (
    is_free_provider,
    canonical_first_name,
    company_label,
    country_code,
    fold_name,
    fold_name_as_spelt_in_latin,
    normalize_emails,
    normalize_phones,
    normalize_postcode,
    normalize_job_title,
    normalize_street,
    other_readings,
)


def _norm(*emails):
    return normalize_emails(pd.Series(list(emails), dtype="string"))


def test_case_spaces_and_unicode_compatibility_forms_do_not_distinguish_addresses():
    out = _norm(" Jane.Doe@Acme.COM ", "jane.doe@acme.com", "ｊａｎｅ.doe@acme.com")
    assert out["email_norm"].tolist() == ["jane.doe@acme.com"] * 3
    assert out["email_valid"].all()


def test_gmail_ignores_dots_and_plus_tags_and_googlemail_is_gmail():
    out = _norm("J.Smith+news@gmail.com", "jsmith@googlemail.com")
    assert out["email_norm"].tolist() == ["jsmith@gmail.com", "jsmith@gmail.com"]


def test_dots_and_plus_tags_are_kept_where_the_provider_does_not_ignore_them():
    out = _norm("j.smith@acme.com", "jsmith+x@acme.com")
    assert out["email_norm"].tolist() == ["j.smith@acme.com", "jsmith+x@acme.com"]


@pytest.mark.parametrize(
    "typed, fixed",
    [("ana@gmial.com", "ana@gmail.com"), ("ana@hotmal.com", "ana@hotmail.com"),
     ("ana@yahoo.con", "ana@yahoo.com"), ("ana@outlok.com", "ana@outlook.com")],
)
def test_misspelt_common_provider_domains_are_corrected_and_flagged(typed, fixed):
    out = _norm(typed)
    assert out["email_norm"].iloc[0] == fixed
    assert bool(out["email_corrected"].iloc[0])


def test_company_domains_are_never_corrected_towards_a_provider():
    out = _norm("bob@ge.com", "bob@acme.com", "bob@gmail-partners.com")
    assert out["email_norm"].tolist() == ["bob@ge.com", "bob@acme.com", "bob@gmail-partners.com"]
    assert not out["email_corrected"].any()


@pytest.mark.parametrize("raw", ["name@", "n/a", "john@@acme.com", "john@acme", "@acme.com", "john smith"])
def test_invalid_addresses_are_marked_not_guessed(raw):
    out = _norm(raw)
    assert not bool(out["email_valid"].iloc[0])
    assert not bool(out["email_corrected"].iloc[0])


def test_blank_and_missing_emails_are_missing():
    out = _norm(None, "   ")
    assert out["email_norm"].isna().all()
    assert not out["email_valid"].any()


def test_role_local_parts_are_flagged():
    out = _norm("info@acme.com", "sales@acme.com", "no-reply@acme.com", "ines@acme.com")
    assert out["email_role"].tolist() == [True, True, True, False]


def test_phones_become_e164_using_the_records_country_code_or_name():
    numbers = pd.Series(["612 34 56 78", "+34 612-345-678", "0034612345678", "(555) 010-0199", "020 7946 0958"])
    countries = pd.Series(["España", "ES", "Spain", "US", "United Kingdom"])
    assert normalize_phones(numbers, countries).tolist() == [
        "+34612345678", "+34612345678", "+34612345678", "+15550100199", "+442079460958"]


def test_a_phones_extension_is_dropped_however_it_is_written():
    numbers = pd.Series(["+1 202 555 0143 ext. 12", "+1 202 555 0143 x12", "+1 202 555 0143 #12",
                         "+1\u00a0202 555 0143\u00a0EXT\u00a0١٢", "+1 202 555 0143"])
    assert normalize_phones(numbers, pd.Series(["US"] * 5)).tolist() == ["+12025550143"] * 5


def test_unparseable_phones_are_missing_not_guessed():
    out = normalize_phones(pd.Series(["abc", "12", None]), pd.Series(["ES", "ES", "ES"]))
    assert out.isna().all()


def test_an_unreadable_phone_number_keeps_nothing_of_its_callers_in_memory():
    """phonenumbers keeps a parse error in a reference cycle with its own frames; left alone, it
    held every caller's locals (the night's source frames, at scale) until a full collection."""

    class SourceFrame:
        pass

    def build_records_from(frame: SourceFrame) -> weakref.ref:
        normalize_phones(pd.Series(["+999 5550 1234", "+1 202 555 0143"]), pd.Series(["ES", "US"]))
        return weakref.ref(frame)

    gc.disable()  # only reference counting frees memory here, as between two of Python's collections
    try:
        held = build_records_from(SourceFrame())
        assert held() is None
    finally:
        gc.enable()


def test_country_codes_from_codes_and_names_in_several_languages():
    out = country_code(pd.Series(["de", "Deutschland", "United States", "Ελλάδα", "Narnia"]))
    assert out.tolist()[:4] == ["DE", "DE", "US", "GR"]
    assert pd.isna(out.iloc[4])


def test_names_fold_accents_non_latin_scripts_case_and_punctuation():
    out = fold_name(pd.Series(["José Núñez", "Μαρία", "O'Brien-Smith", "ZOË", "  Anne\tMarie ", None, "--"]))
    assert out.tolist()[:5] == ["jose nunez", "maria", "o brien smith", "zoe", "anne marie"]
    assert out.iloc[5:].isna().all()


def test_nicknames_map_to_one_canonical_first_name():
    out = canonical_first_name(fold_name(pd.Series(["Bob", "Robert", "Bill", "Pepe", "Mary Ann", "Zoltan"])))
    assert out.tolist() == ["robert", "robert", "william", "joseph", "mary", "zoltan"]


def test_a_short_form_stands_for_one_usual_name_and_may_stand_for_others():
    assert canonical_first_name(pd.Series(["chris", "kim", "sandy"])).tolist() == ["christopher", "kimberly",
                                                                                  "alexandra"]
    assert {"chris|christine", "chris|christian", "sandy|sandra"} <= other_readings()
    assert "chris|christopher" not in other_readings()  # its usual reading is the canonical name


def test_a_name_folds_as_its_language_spells_it_in_latin_letters():
    names = pd.Series(["Δημήτρης", "ΧΡΉΣΤΟΣ Παπαδάκης", "Ευάγγελος", "Müller", "Søren Åberg", "José Núñez",
                       "O'Neill", None], dtype="string")
    assert fold_name_as_spelt_in_latin(names, fold_name(names)).tolist() == [
        "dimitris", "christos papadakis", "evangelos", "mueller", "soeren aaberg", "jose nunez", "o neill", pd.NA]
    assert fold_name(names).tolist()[:4] == ["demetres", "khrestos papadakes", "euaggelos", "muller"]


def test_spouses_names_are_not_nickname_equivalent():
    out = canonical_first_name(fold_name(pd.Series(["Alexander", "Alexandra", "John", "Joan"])))
    assert len(set(out)) == 4


def test_streets_and_postcodes_compare_equal_across_formats():
    assert normalize_street(pd.Series(["12, Baker Street", "12 BAKER ST."])).nunique() == 1
    assert normalize_street(pd.Series(["Hauptstraße 5", "Hauptstr. 5", "Haupt Straße 5"])).nunique() == 1
    assert normalize_street(pd.Series(["Kerkstraat 12", "Kerkstr 12"])).nunique() == 1
    assert normalize_street(pd.Series(["Avda. de la Constitución 4", "Avenida de la Constitucion 4"])).nunique() == 1
    assert normalize_postcode(pd.Series(["sw1a 1aa", "SW1A-1AA"])).tolist() == ["SW1A1AA", "SW1A1AA"]
    assert normalize_postcode(pd.Series(["12345-6789", "D-80331", "1012 AB", "01310-200"])).tolist() == [
        "12345", "80331", "1012AB", "01310200"]  # a ZIP+4 by its ZIP code; Brazil's CEP is whole


def test_job_titles_compare_equal_across_short_forms_punctuation_and_word_order():
    same = pd.Series(["VP, Marketing", "Marketing VP", "Vice President of Marketing", "vice-president  MARKETING"])
    assert normalize_job_title(same).nunique() == 1
    assert normalize_job_title(pd.Series(["Sr. Data Analyst", "Senior Data Analyst"])).nunique() == 1
    assert normalize_job_title(pd.Series(["Head of Sales", "Head of Marketing"])).nunique() == 2
    assert normalize_job_title(pd.Series([None, "", " , "])).isna().all()


def test_a_company_is_named_by_its_domain_without_subdomains_or_public_suffix():
    domains = pd.Series(["mail.helixinsurance.co.uk", "northstarlabs.com.mx", "acme.de", None], dtype="string")
    assert company_label(domains).tolist() == ["helixinsurance", "northstarlabs", "acme", pd.NA]


def test_an_international_providers_domain_in_any_country_is_a_provider_not_an_employer():
    """The list names yahoo.fr, yahoo.de…: yahoo.gr and hotmail.com.mx are the same brands' mailboxes."""
    domains = pd.Series(["yahoo.gr", "hotmail.com.mx", "gmail.com", "helixinsurance.co.uk", "orange.com", None],
                        dtype="string")
    assert is_free_provider(domains).tolist() == [True, True, True, False, False, False]
