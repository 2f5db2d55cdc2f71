"""Normalisation of identifiers and attributes so that equal things compare equal.

Every function works on unique values and maps the result back: a column of a million emails
usually holds far fewer distinct values, and the expensive parts (edit distances against the
provider list, ``phonenumbers`` parsing) then run once per distinct value.
"""

from __future__ import annotations

import csv
import re
import traceback
import unicodedata
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from cdp_pipeline.frames import extract

ROLE_LOCAL_PARTS = frozenset(
    """info sales admin administrator support contact contacts office hello hi marketing team
    billing accounts accounting finance hr jobs careers recruiting noreply no-reply donotreply
    webmaster postmaster hostmaster enquiries enquiry inquiries help mail service services
    reception orders shop store newsletter press media legal privacy security abuse it
    mailbox general""".split()
)
# Providers where dots in the local part are ignored: j.o.h.n@gmail.com reaches john@gmail.com.
DOT_BLIND_DOMAINS = frozenset({"gmail.com"})
# Providers delivering local+tag@ to local@ (sub-addressing): the tag never names a new person.
PLUS_TAG_DOMAINS = frozenset(
    {"gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
     "protonmail.com", "proton.me", "fastmail.com"}
)
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
# A typo is corrected only towards a provider with a name long enough that one edit cannot
# turn a real company domain into it (ge.com is not a misspelt me.com).
MIN_CORRECTABLE_DOMAIN_LENGTH = 9
MAX_DOMAIN_EDITS = 1

_EMAIL_RE = re.compile(r"^[^@\s]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$")
_LOCAL_RE = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+$")
_SPACES_RE = re.compile(r"\s+")
_NON_ALNUM = r"[^a-z0-9 ]+"


def _read_data(name: str) -> str:
    return resources.files("cdp_pipeline.identity").joinpath("data", name).read_text("utf-8")


@lru_cache(maxsize=1)
def known_providers() -> tuple[str, ...]:
    """Well-known mailbox providers (package data): typo targets and 'free' domains."""
    lines = (line.strip() for line in _read_data("email_providers.txt").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def _nickname_rows() -> tuple[tuple[str, str], ...]:
    rows = csv.DictReader(_read_data("nicknames.csv").splitlines())
    return tuple((row["name"], row["canonical"]) for row in rows)


@lru_cache(maxsize=1)
def nickname_table() -> dict[str, str]:
    """Folded nickname or variant -> the folded first name it usually stands for: its first row
    in the package data."""
    table: dict[str, str] = {}
    for name, canonical in _nickname_rows():
        table.setdefault(name, canonical)
    return table


@lru_cache(maxsize=1)
def other_readings() -> frozenset[str]:
    """"nickname|canonical" for the other names a short form may stand for (its later rows in the
    package data): Chris is usually Christopher, but may be Christine or Christian."""
    usual = nickname_table()
    return frozenset(f"{name}|{canonical}" for name, canonical in _nickname_rows() if usual[name] != canonical)


@lru_cache(maxsize=1)
def country_table() -> dict[str, str]:
    """Folded country name -> ISO-2 code (package data)."""
    rows = csv.DictReader(_read_data("countries.csv").splitlines())
    return {row["name"]: row["iso2"] for row in rows}


def on_unique(values: pd.Series, func):
    """Applies ``func`` to the distinct non-null values only, then maps results back (NA stays NA)."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    result = func(pd.Series(np.asarray(uniques, dtype=object), dtype="string")).reset_index(drop=True)
    padded = result.reindex(range(len(uniques) + 1))  # row len(uniques) is all-NA, for NA inputs
    taken = padded.iloc[np.where(codes < 0, len(uniques), codes)]
    taken.index = values.index
    return taken


def _non_ascii_converted(values: pd.Series, convert) -> pd.Series:
    """``convert`` applied to the values that are not plain ASCII, the rest kept: ASCII text is
    its own NFKC form and transliteration, so only the few others go through Python, one at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.astype("string")
    other = ~pc.string_is_ascii(pa.array(text)).fill_null(True).to_numpy(zero_copy_only=False)
    if other.any():
        text = text.copy()
        text[other] = [convert(s) for s in text[other]]
    return text


def _nfkc_lower(values: pd.Series) -> pd.Series:
    text = _non_ascii_converted(values, lambda s: unicodedata.normalize("NFKC", s))
    return text.str.lower().str.replace(_SPACES_RE, "", regex=True)


def split_address(emails: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(local part, domain), split at the last ``@``; missing where there is none."""
    return extract(emails, r"^(?P<local>.*)@[^@]*$"), extract(emails, r"^.*@(?P<domain>[^@]*)$")


def _correct_domains(domains: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Misspelt provider domains -> the provider, when exactly one provider is one edit away."""
    from rapidfuzz import distance, process

    providers = known_providers()
    targets = [p for p in providers if len(p) >= MIN_CORRECTABLE_DOMAIN_LENGTH]
    unique = pd.unique(domains.dropna())
    candidates = [d for d in unique if d not in providers and d not in DOMAIN_ALIASES]
    fixes: dict[str, str] = {}
    if candidates and targets:
        dist = process.cdist(candidates, targets, scorer=distance.OSA.distance, workers=-1)
        best = dist.min(axis=1)
        hits = (dist == best[:, None]).sum(axis=1)
        for i in np.flatnonzero((best <= MAX_DOMAIN_EDITS) & (best > 0) & (hits == 1)):
            fixes[candidates[i]] = targets[int(dist[i].argmin())]
    corrected = domains.replace(fixes).astype("string")
    return corrected, (corrected != domains).fillna(False).astype(bool)


def _normalise_unique_emails(raw: pd.Series) -> pd.DataFrame:
    text = _nfkc_lower(raw).str.strip("<>\"'.,;")
    local, domain = split_address(text)
    local = local.fillna(text)
    domain = domain.replace(DOMAIN_ALIASES)
    domain, corrected = _correct_domains(domain)
    plus = domain.isin(PLUS_TAG_DOMAINS).fillna(False)
    local = local.where(~plus, local.str.replace(r"\+.*$", "", regex=True))
    as_typed = (local + "@" + domain).fillna(text)
    dots = domain.isin(DOT_BLIND_DOMAINS).fillna(False)
    local = local.where(~dots, local.str.replace(".", "", regex=False))
    normalised = (local + "@" + domain).fillna(text)
    valid = (
        normalised.str.match(_EMAIL_RE).fillna(False)
        & local.str.match(_LOCAL_RE).fillna(False)
        & (local.str.len() > 0).fillna(False)
    ).astype(bool)
    role = local.isin(ROLE_LOCAL_PARTS).fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "email_norm": normalised.astype("string"),
            "email_typed": as_typed.astype("string"),
            "email_valid": valid.to_numpy(),
            "email_corrected": (corrected & valid).to_numpy(),
            "email_role": role.to_numpy(),
        }
    )


def normalize_emails(emails: pd.Series) -> pd.DataFrame:
    """Email -> ``email_norm``, ``email_valid``, ``email_corrected``, ``email_role``, ``email_typed``.

    Case, spaces and Unicode compatibility forms never distinguish mailboxes; dots and +tags do,
    except at providers that ignore them. Invalid addresses keep their cleaned text and are
    marked, not guessed. Role addresses (info@, sales@) are flagged: they name a desk, not a person.
    ``email_typed`` is the same address with the dots the person typed kept (case, typos and
    +tags still normalised): ``jose.ramirez@gmail`` and ``joseramirez@gmail`` reach one mailbox,
    but two namesakes may well have typed them, so linking treats that as evidence, not identity.
    """
    out = on_unique(emails, _normalise_unique_emails)
    blank = out["email_norm"].isna() | (out["email_norm"] == "")
    out["email_norm"] = out["email_norm"].mask(blank)
    out["email_typed"] = out["email_typed"].mask(blank)
    for column in ("email_valid", "email_corrected", "email_role"):
        out[column] = out[column].fillna(False).astype(bool)
    return out


def is_free_provider(domain: pd.Series, labels: pd.Series | None = None) -> pd.Series:
    """True for mailbox providers: a shared free domain says nothing about who the person is.
    A listed provider's domain, or one of a brand the list holds in several countries under
    another country's suffix (yahoo.gr, hotmail.com.mx). ``labels``: the domains'
    ``company_label``, where the caller has them."""
    labels = company_label(domain) if labels is None else labels
    listed = domain.isin(set(known_providers())) | labels.isin(_international_provider_labels())
    return listed.fillna(False).astype(bool)


@lru_cache(maxsize=1)
def _international_provider_labels() -> frozenset[str]:
    """Registrable names the provider list holds under more than one suffix (yahoo.fr, yahoo.de)."""
    counts = company_label(pd.Series(known_providers(), dtype="string")).value_counts()
    return frozenset(counts.index[counts >= 2])


@lru_cache(maxsize=1)
def _registrable_domains():
    import tldextract

    # The public-suffix list bundled with the package: no download at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def company_label(domains: pd.Series) -> pd.Series:
    """The registrable name of a domain, without its public suffix or subdomains:
    mail.helixinsurance.co.uk -> helixinsurance (what a company is called in its addresses)."""
    def label(unique: pd.Series) -> pd.Series:
        extract_domain = _registrable_domains()
        return pd.Series([extract_domain(d).domain for d in unique], dtype="string").replace("", pd.NA)

    return on_unique(domains, label)


def fold_text(values: pd.Series) -> pd.Series:
    """Accents transliterated (Unidecode, so Greek and Cyrillic too), lower case, no punctuation."""
    from unidecode import unidecode

    def fold(unique: pd.Series) -> pd.Series:
        text = _non_ascii_converted(unique, unidecode)
        # Patterns as text, not compiled, so Arrow runs them on this ASCII text, not Python's re.
        cleaned = text.str.lower().str.replace(_NON_ALNUM, " ", regex=True)
        cleaned = cleaned.str.replace(" +", " ", regex=True).str.strip()  # only spaces are left
        return cleaned.mask(cleaned == "")

    return on_unique(values, fold)


def without_spaces(names: pd.Series) -> pd.Series:
    """A folded name without its spaces: O'Neill folds to "o neill", typed without its
    apostrophe to "oneill": one name."""
    return names.astype("string").str.replace(" ", "", regex=False)


def fold_name(names: pd.Series) -> pd.Series:
    """A person's name folded for comparison: José Núñez -> jose nunez, O'Brien -> o brien."""
    return fold_text(names)


_GREEK_RE = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
# Letters German and Nordic names spell out when written without them: Müller is Mueller.
_SPELT_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                            "ø": "oe", "Ø": "Oe", "å": "aa", "Å": "Aa"})
_SPELT_OUT_RE = re.compile("[äöüÄÖÜøØåÅ]")
_SPELT_OTHERWISE_RE = "[\u0370-\u03ff\u1f00-\u1fffäöüÄÖÜøØåÅ]"


def fold_name_as_spelt_in_latin(names: pd.Series, folded: pd.Series) -> pd.Series:
    """A name folded as its own language spells it in Latin letters, where that differs from
    ``folded`` (the names' ``fold_name``, which every other name keeps): Greek by ISO 843, the
    standard of Greek passports (Δημήτρης -> dimitris, where Unidecode gives demetres, which
    nobody types), and German and Nordic vowels spelt out (Müller -> mueller, Søren -> soeren)."""
    from romanize import romanize

    def spell(unique: pd.Series) -> pd.Series:
        greek = unique.str.contains(_GREEK_RE, regex=True)
        latin = unique.where(~greek, unique[greek].map(romanize))
        spelt_out = latin.str.contains(_SPELT_OUT_RE, regex=True)
        latin = latin.where(~spelt_out, latin[spelt_out].str.translate(_SPELT_OUT))
        return fold_text(latin.astype("string"))

    otherwise = names.str.contains(_SPELT_OTHERWISE_RE, regex=True).fillna(False).to_numpy(bool)
    if not otherwise.any():
        return folded
    out = folded.copy()
    out[otherwise] = on_unique(names[otherwise], spell)
    return out


def canonical_first_name(folded_first: pd.Series) -> pd.Series:
    """Folded first name -> its canonical form (Bob -> robert), first token only ("mary ann" -> mary)."""
    def canonical(unique: pd.Series) -> pd.Series:
        first_token = unique.str.split(" ", n=1).str[0]
        return first_token.map(nickname_table()).astype("string").fillna(first_token)

    return on_unique(folded_first, canonical)


def country_code(countries: pd.Series) -> pd.Series:
    """ISO-2 code from a code or a country name in several languages; unknown names -> NA."""
    import phonenumbers

    regions = phonenumbers.SUPPORTED_REGIONS
    table = country_table()

    def to_code(unique: pd.Series) -> pd.Series:
        folded = fold_text(unique)
        upper = folded.str.upper()
        by_code = upper.where(upper.isin(regions) & (upper.str.len() == 2))
        by_name = folded.map(table).astype("string")
        return by_code.fillna(by_name).astype("string")

    return on_unique(countries, to_code)


def _phone_digits(numbers: pd.Series) -> pd.Series:
    """Typed number -> '+digits' or 'digits': separators, '(0)' and an extension dropped, 00 -> +."""
    text = numbers.astype("string").str.strip()
    # The extension pattern needs Python's re (Unicode spaces and digits): only numbers that
    # could hold one go through it.
    extended = text.str.contains("[xX#]", regex=True).fillna(False)
    text = text.where(~extended, text[extended].str.replace(r"(?i)\s*(ext\.?|x|#)\s*\d+$", "", regex=True))
    text = text.str.replace("(0)", "", regex=False)
    plus = text.str.startswith("+") | text.str.startswith("00")
    digits = text.str.replace(r"\D", "", regex=True).str.replace(r"^00", "", regex=True)
    out = digits.where(~plus.fillna(False), "+" + digits)
    return out.mask((digits.str.len() < 4).fillna(True))


def _fast_e164(digits: pd.Series, region: pd.Series) -> pd.Series:
    """E.164 straight from the library's metadata for the plain cases (most numbers).

    A number in its region's national format (national prefix stripped) or already written
    with the region's calling code, whose length is a possible length there, needs no parser.
    Anything else is left NA for ``phonenumbers.parse``.
    """
    from phonenumbers import PhoneMetadata

    out = pd.Series(pd.NA, index=digits.index, dtype="string")
    for code in region.dropna().unique():
        meta = PhoneMetadata.metadata_for_region(str(code))
        if meta is None:
            continue
        prefix = meta.national_prefix
        parsing = meta.national_prefix_for_parsing
        if parsing is not None and (prefix is None or parsing.split("|")[0] != prefix):
            continue  # the region's national prefix rules need the real parser
        lengths = {str(n) for n in meta.general_desc.possible_length}
        calling = str(meta.country_code)
        rows = (region == code).fillna(False) & digits.notna()
        sub = digits[rows]
        international = sub.str.startswith("+" + calling)
        national = sub.where(~international, sub.str.slice(len(calling) + 1))
        if prefix:
            strip = ~international & national.str.startswith(prefix) & national.str.slice(len(prefix)).str.len().astype(
                "string").isin(lengths)
            national = national.where(~strip, national.str.slice(len(prefix)))
        plain = ~sub.str.startswith("+") | international
        ok = plain & national.str.len().astype("string").isin(lengths)
        out[sub.index[ok.to_numpy(bool)]] = ("+" + calling + national[ok]).to_numpy()
    return out


def normalize_phones(numbers: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Phone numbers -> E.164 (``+34612345678``) via ``phonenumbers`` using the record's country.

    National formats need the country to be read; numbers that do not parse to a possible number
    become NA rather than a guess. Plain cases are resolved from the library's metadata in bulk;
    the rest are parsed once per distinct (digits, country) pair.
    """
    import phonenumbers

    if countries is None:
        countries = pd.Series(pd.NA, index=numbers.index, dtype="string")
    region = country_code(countries.reindex(numbers.index))
    digits = _phone_digits(numbers)
    out = _fast_e164(digits, region)
    rest = pd.DataFrame({"number": digits, "region": region})[out.isna() & digits.notna()]
    pairs = rest.drop_duplicates()

    def parse(number: str, region: object) -> object:
        try:
            parsed = phonenumbers.parse(number, None if pd.isna(region) else str(region))
        except phonenumbers.NumberParseException as unreadable:
            # phonenumbers keeps the exception in a local of its own frame, a reference cycle that
            # would keep this call's callers, and the source frames in their locals, in memory
            # until Python's next full collection (1.9 GiB at a million persons).
            traceback.clear_frames(unreadable.__traceback__)
            return pd.NA
        if not phonenumbers.is_possible_number(parsed):
            return pd.NA
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    parsed = [parse(n, r) for n, r in zip(pairs["number"], pairs["region"])]
    lookup = pairs.assign(e164=pd.array(parsed, dtype="string"))
    merged = rest.reset_index().merge(lookup, on=["number", "region"], how="left").set_index("index")
    out.loc[merged.index] = merged["e164"]
    return out.astype("string")


STREET_ABBREVIATIONS = {
    "street": "st", "str": "st", "strasse": "st", "avenue": "ave", "av": "ave", "avenida": "ave",
    "road": "rd", "drive": "dr", "lane": "ln", "boulevard": "blvd", "court": "ct", "place": "pl",
    "square": "sq", "terrace": "ter", "apartment": "apt", "calle": "c", "carrer": "c",
    "rue": "r", "rua": "r", "via": "v", "plaza": "pl", "pza": "pl", "avda": "ave", "bd": "blvd",
    "piso": "apt", "flat": "apt", "unit": "apt",
    "north": "n", "south": "s", "east": "e", "west": "w", "numero": "", "no": "", "number": "",
}


# German and Dutch streets end in a word for street, written whole or short: Hauptstraße,
# Hauptstrasse, Hauptstr., Haupt Straße; Kerkstraat, Kerkstr.
_COMPOUND_STREET_RE = r"\b([a-z]{3,})(?:strasse|straat|str)\b"


def normalize_street(streets: pd.Series) -> pd.Series:
    """Street line folded with common words abbreviated: '12, Baker Street' == '12 baker st',
    'Hauptstraße 5' == 'Hauptstr. 5'."""

    def norm(unique: pd.Series) -> pd.Series:
        text = fold_text(unique).str.replace(_COMPOUND_STREET_RE, r"\1 st", regex=True)
        for word, short in STREET_ABBREVIATIONS.items():
            text = text.str.replace(rf"\b{word}\b", short, regex=True)
        text = text.str.replace(" +", " ", regex=True).str.strip()
        return text.mask(text == "")

    return on_unique(streets, norm)


# Job titles are typed freely: the short forms people write, spelt out, and the filler words
# that change with word order dropped ("Sr. Manager, Sales" == "Senior Sales Manager").
JOB_TITLE_ABBREVIATIONS = {
    "sr": "senior", "snr": "senior", "jr": "junior", "mgr": "manager", "mngr": "manager", "dir": "director",
    "vp": "vice president", "svp": "senior vice president", "evp": "executive vice president",
    "eng": "engineer", "engr": "engineer", "exec": "executive", "asst": "assistant", "assoc": "associate",
    "coord": "coordinator", "mktg": "marketing", "ops": "operations", "admin": "administrator",
    "hr": "human resources", "it": "information technology", "rep": "representative", "dev": "developer",
}
JOB_TITLE_FILLERS = frozenset({"of", "and", "the", "for", "a"})


def normalize_job_title(titles: pd.Series) -> pd.Series:
    """Job title folded, short forms spelt out, its words in a fixed order: 'VP, Marketing',
    'Marketing VP' and 'Vice President of Marketing' are one title."""

    def norm(unique: pd.Series) -> pd.Series:
        words = fold_text(unique).str.split(" ").explode()  # one row per word, indexed by its title
        words = words.replace(JOB_TITLE_ABBREVIATIONS).str.split(" ").explode()
        words = words[words.notna() & ~words.isin(JOB_TITLE_FILLERS)].sort_values(kind="stable")
        return words.groupby(level=0).agg(" ".join).astype("string").reindex(unique.index)

    return on_unique(titles, norm)


_ZIP_PLUS_FOUR_RE = r"^(\d{5}) \d{4}$"  # 12345-6789: the US ZIP code and the delivery route within it
_COUNTRY_PREFIX_RE = r"^[a-z]{1,2} ?(\d{4,5})$"  # D-80331, CH-8001, L-1234: the old European style


def normalize_postcode(postcodes: pd.Series) -> pd.Series:
    """Postcode upper-cased without spaces or dashes: 'sw1a 1aa' == 'SW1A1AA', '28001' stays; a
    US ZIP+4 compares by its ZIP code and 'D-80331' as '80331'."""

    def norm(unique: pd.Series) -> pd.Series:
        text = fold_text(unique).str.replace(_ZIP_PLUS_FOUR_RE, r"\1", regex=True)
        text = text.str.replace(_COUNTRY_PREFIX_RE, r"\1", regex=True).str.upper().str.replace(" ", "", regex=False)
        return text.mask(text == "")

    return on_unique(postcodes, norm)
