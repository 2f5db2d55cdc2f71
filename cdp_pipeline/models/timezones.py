"""Time zones for send-time decisions: which zone a person reads in, and local <-> UTC hours.

A person's zone comes from the best evidence available, in this order (``timezone_basis``):

* ``crm``: the CRM's ``timezone`` when it is a valid IANA name (case and spaces tolerated);
* ``city``: the zone most profiles of the same country and city carry in the CRM (at least
  ``MIN_CITY_PEERS`` of them): in a multi-zone country the city tells Los Angeles from New York,
  and it is learnt from the customers' own data, no gazetteer needed;
* ``country``: the main zone of the profile's country (ISO-2 code or English name);
* ``phone``: the main zone of the country of the phone number's international calling code
  (``+34 ...`` / ``0034 ...``), when the profile has no usable country;
* ``population``: the most common zone among the persons resolved by the evidence above, so an
  unknown person is treated like the typical customer rather than like UTC.

For a country spanning several zones we take its most populous zone (US -> New_York,
AU -> Sydney, BR -> Sao_Paulo, CA -> Toronto, RU -> Moscow, ...): that choice is right for the
largest share of the country's residents. Country -> zones comes from ``pytz.country_timezones``
(the IANA ``zone.tab``; pytz is already a Dagster dependency) and the zone rules from the standard
library's ``zoneinfo`` via pandas.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from unidecode import unidecode

HOURS_PER_WEEK = 168
FALLBACK_ZONE = "UTC"  # used only when no person at all has any time-zone evidence
MIN_CITY_PEERS = 3  # CRM-zoned profiles of a city needed before its zone is lent to the others

# zone.tab lists a country's zones geographically, not by population: override where the first
# listed zone is not the one most residents live in.
MOST_POPULOUS_ZONE = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UZ": "Asia/Tashkent",
    "PS": "Asia/Hebron",
    "US": "America/New_York",
    "MX": "America/Mexico_City",
    "AR": "America/Argentina/Buenos_Aires",
    "ID": "Asia/Jakarta",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "DE": "Europe/Berlin",
}

# Common ways CRMs spell countries that are not pytz's English names.
COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "deutschland": "DE",
    "espana": "ES",
    "italia": "IT",
    "brasil": "BR",
    "nederland": "NL",
    "holland": "NL",
    "the netherlands": "NL",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "belgique": "BE",
    "belgie": "BE",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "eire": "IE",
    "hellas": "GR",
    "ellada": "GR",
    "south korea": "KR",
    "korea": "KR",
    "czechia": "CZ",
    "viet nam": "VN",
}

_CALLING_CODE = re.compile(r"^\s*(?:\+|00)\s*(\d{1,3})")


def _normalise_name(text: pd.Series) -> pd.Series:
    """Lower-case, accent-free, single-spaced: 'España ' and 'espana' become the same key.

    The work is done once per distinct value and mapped back (names repeat a lot)."""
    plain = text.astype("string").str.strip().str.lower()
    uniques = pd.Series(plain.dropna().unique(), dtype="string")
    keys = uniques.map(unidecode).astype("string").str.replace(r"\s+", " ", regex=True)
    return plain.map(dict(zip(uniques, keys))).astype("string")


@lru_cache(maxsize=1)
def _valid_zones() -> dict[str, str]:
    """Lower-cased IANA name -> canonical spelling, for every zone this machine's tzdata knows."""
    return {z.lower(): z for z in zoneinfo.available_timezones()}


@lru_cache(maxsize=1)
def country_zone_table() -> dict[str, str]:
    """ISO-2 country code -> the zone most of its residents live in."""
    import pytz

    valid = set(_valid_zones().values())
    table = {code: zones[0] for code, zones in pytz.country_timezones.items() if zones}
    table.update(MOST_POPULOUS_ZONE)
    return {code: zone for code, zone in table.items() if zone in valid}


@lru_cache(maxsize=1)
def _country_lookup() -> dict[str, str]:
    """Normalised country name or code -> ISO-2 code."""
    import pytz

    lookup = {code.lower(): code for code in pytz.country_timezones}
    names = pd.Series(list(pytz.country_names.values()))
    codes = list(pytz.country_names.keys())
    lookup.update(dict(zip(_normalise_name(names), codes)))
    alias_keys = _normalise_name(pd.Series(list(COUNTRY_ALIASES.keys())))
    lookup.update(dict(zip(alias_keys, COUNTRY_ALIASES.values())))
    return lookup


def country_codes(countries: pd.Series) -> pd.Series:
    """ISO-2 code for each country given as a code or a name; <NA> when not recognised."""
    return _normalise_name(countries).map(_country_lookup()).astype("string")


def phone_country_codes(phones: pd.Series) -> pd.Series:
    """ISO-2 code of the main region of an international phone number's calling code.

    Calling codes are prefix-free, so at most one of the 1-, 2- and 3-digit prefixes is a code.
    Numbers written in national format carry no country and give <NA>.
    """
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code

    region = {str(cc): region_code_for_country_code(cc) for cc in COUNTRY_CODE_TO_REGION_CODE}
    digits = phones.astype("string").str.extract(_CALLING_CODE, expand=False).astype("string")
    result = pd.Series(pd.NA, index=phones.index, dtype="string")
    for length in (1, 2, 3):
        candidate = digits.str.slice(0, length).map(region).astype("string")
        result = result.fillna(candidate.where(candidate != "001"))
    return result


def valid_zone_names(zones: pd.Series) -> pd.Series:
    """The canonical IANA spelling of each valid zone name, <NA> for blanks and unknown names."""
    return zones.astype("string").str.strip().str.lower().map(_valid_zones()).astype("string")


def city_zones(crm_zones: pd.Series, countries: pd.Series, cities: pd.Series) -> pd.Series:
    """Zone of each profile's (country, city) learnt from the CRM zones of its peers.

    The most common valid CRM zone among profiles of the same country and city, when at least
    ``MIN_CITY_PEERS`` of them have one; <NA> otherwise.
    """
    key = countries.fillna("") + "|" + _normalise_name(cities)
    known = pd.DataFrame({"key": key, "zone": crm_zones}).dropna()
    counts = known.groupby(["key", "zone"]).size().rename("n").reset_index()
    counts = counts.sort_values(["key", "n", "zone"], ascending=[True, False, True], kind="stable")
    totals = counts.groupby("key")["n"].transform("sum")
    best = counts[totals >= MIN_CITY_PEERS].drop_duplicates("key").set_index("key")["zone"]
    return key.map(best).astype("string")


def resolve_timezones(profiles: pd.DataFrame) -> pd.DataFrame:
    """``timezone`` (IANA) and ``timezone_basis`` (crm / city / country / phone / population).

    Uses the columns ``timezone``, ``country``, ``city`` and ``phone`` when present; the result
    has the profiles' index so it lines up with them row by row.
    """
    empty = pd.Series(pd.NA, index=profiles.index, dtype="string")
    crm = valid_zone_names(profiles["timezone"]) if "timezone" in profiles else empty
    table = country_zone_table()
    country = country_codes(profiles["country"]) if "country" in profiles else empty
    by_city = city_zones(crm, country, profiles["city"]) if "city" in profiles else empty
    by_country = country.map(table).astype("string")
    by_phone = (
        phone_country_codes(profiles["phone"]).map(table).astype("string")
        if "phone" in profiles
        else empty
    )
    candidates = [("crm", crm), ("city", by_city), ("country", by_country), ("phone", by_phone)]
    zone = empty
    for _, candidate in candidates:
        zone = zone.fillna(candidate)
    basis = pd.Series(
        np.select([c.notna().to_numpy() for _, c in candidates], [name for name, _ in candidates],
                  default="population"),
        index=profiles.index,
        dtype="string",
    )
    known = zone.dropna()
    population_zone = known.value_counts().sort_index().idxmax() if len(known) else FALLBACK_ZONE
    return pd.DataFrame({"timezone": zone.fillna(population_zone), "timezone_basis": basis})


def local_hour_of_week(utc_times: pd.Series, zones: pd.Series) -> pd.Series:
    """Hour of the week in each row's own zone (0 = Monday 00:00 local .. 167), vectorised per zone.

    ``utc_times`` must be tz-aware; ``zones`` valid IANA names aligned with it.
    """
    zone_codes, zone_names = pd.factorize(pd.Series(zones).to_numpy(), sort=True)
    nanoseconds = pd.DatetimeIndex(utc_times).as_unit("ns").asi8
    hours = local_hour_of_week_codes(nanoseconds, zone_codes, zone_names)
    return pd.Series(hours, index=utc_times.index, name="local_hour_of_week")


def local_hour_of_week_codes(
    utc_nanoseconds: np.ndarray, zone_codes: np.ndarray, zone_names
) -> np.ndarray:
    """:func:`local_hour_of_week` on integer arrays: UTC epoch nanoseconds and zone codes."""
    result = np.full(len(utc_nanoseconds), -1, dtype=np.int16)
    order = np.argsort(zone_codes, kind="stable")
    bounds = np.searchsorted(zone_codes[order], np.arange(len(zone_names) + 1))
    for code, name in enumerate(zone_names):
        rows = order[bounds[code] : bounds[code + 1]]
        if not len(rows):
            continue
        local = pd.DatetimeIndex(utc_nanoseconds[rows].view("datetime64[ns]")).tz_localize(
            "UTC"
        ).tz_convert(name)
        result[rows] = local.dayofweek.to_numpy() * 24 + local.hour.to_numpy()
    return result


def week_start(reference_date: date | pd.Timestamp) -> pd.Timestamp:
    """The first day of 'the coming week': the day after the reference date (naive midnight)."""
    return pd.Timestamp(reference_date).normalize().tz_localize(None) + pd.Timedelta(days=1)


def next_week_utc(
    local_how: np.ndarray | pd.Series | int,
    zones: pd.Series | np.ndarray | str,
    reference_date: date | pd.Timestamp,
) -> np.ndarray:
    """UTC hour of the week (0 = Monday 00:00 UTC .. 167) of the next occurrence of each local hour.

    The coming week is the seven local days after ``reference_date``; the local hour of week is
    placed on the matching day in that window, converted with that day's rules, so a send planned
    across a daylight-saving change lands on the right UTC hour. A local hour that does not exist
    (clocks jump forward: 02:00 in Madrid on the last Sunday of March) moves forward to the first
    instant that exists (03:00 local); a repeated local hour (clocks go back) takes its first
    occurrence, the earlier UTC instant.
    """
    how = np.atleast_1d(np.asarray(local_how, dtype=np.int64))
    zone_values = np.broadcast_to(np.asarray(zones, dtype=object), how.shape)
    start = week_start(reference_date)
    day_offset = (how // 24 - start.dayofweek) % 7
    local_naive = (
        start.to_datetime64()
        + day_offset.astype("timedelta64[D]")
        + (how % 24).astype("timedelta64[h]")
    )
    result = np.empty(len(how), dtype=np.int64)
    zone_codes, zone_names = pd.factorize(pd.Series(zone_values), sort=True)
    for code, name in enumerate(zone_names):
        rows = np.flatnonzero(zone_codes == code)
        naive = pd.DatetimeIndex(local_naive[rows])
        # Both readings of a repeated hour; the earlier instant is its first occurrence.
        as_dst = naive.tz_localize(name, ambiguous=np.ones(len(rows), bool),
                                   nonexistent="shift_forward").tz_convert("UTC")
        as_std = naive.tz_localize(name, ambiguous=np.zeros(len(rows), bool),
                                   nonexistent="shift_forward").tz_convert("UTC")
        utc = pd.DatetimeIndex(np.minimum(as_dst.as_unit("s").asi8, as_std.as_unit("s").asi8)
                               .astype("datetime64[s]")).tz_localize("UTC")
        result[rows] = utc.dayofweek.to_numpy() * 24 + utc.hour.to_numpy()
    return result
