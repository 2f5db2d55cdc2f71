"""The true population: persons, households, companies and every email address they ever own.

Everything here is latent truth. Sources (CRM, store, webinars, web) later *observe* these
persons through their own imperfect records. Times are int64 seconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from romanize import romanize
from unidecode import unidecode

from cdp_pipeline.synth import vocab

DAY = 86_400
YEAR = 365 * DAY
NEVER = np.iinfo(np.int64).max // 2  # "no such event" that still sorts after every real time


@dataclass(frozen=True)
class Timeline:
    """Day numbers (days since epoch) of the drops and the first second of generated history."""

    start: int  # first second of history (seconds)
    first_drop: int  # day number of the first drop (carries the history backfill)
    reference: int  # newest complete drop (day number)
    last_drop: int  # the trailing drop without _SUCCESS

    @property
    def end(self) -> int:
        """Events stop here: the trailing drop holds the events of the day before it."""
        return self.last_drop * DAY

    @property
    def drops(self) -> list[int]:
        return list(range(self.first_drop, self.last_drop + 1))


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per component, so changing one part never shifts another."""
    key = [seed] + [ord(c) for c in name]
    return np.random.default_rng(key)


def slug(values: pd.Series) -> pd.Series:
    """ASCII, lower-case, letters only: the part of a name that goes into an email local part."""
    uniques = pd.unique(values.to_numpy())
    mapping = {u: "".join(ch for ch in unidecode(str(u)).lower() if ch.isalnum()) for u in uniques}
    return values.map(mapping)


def digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """``n`` random strings of ``width`` decimal digits, generated as one byte matrix."""
    raw = rng.integers(48, 58, size=(n, width), dtype=np.uint8)
    return raw.view(f"S{width}").ravel().astype(str)


def fill_template(templates: np.ndarray, numbers: np.ndarray, rng: np.random.Generator, random_markers: bool = True) -> np.ndarray:
    """Fills ``N`` with the next digit of ``numbers``; with ``random_markers`` also ``9`` with a
    random digit and ``A`` with a letter (phone templates keep their literal 9s: ``+49``)."""
    out = np.empty(len(templates), dtype=object)
    for template in pd.unique(templates):
        rows = np.flatnonzero(templates == template)
        chars = np.tile(np.array(list(template), dtype="<U1"), (len(rows), 1))
        slots = [i for i, c in enumerate(template) if c == "N"]
        if slots:
            number_chars = numbers[rows].astype(f"<U{len(slots)}").view("<U1").reshape(len(rows), -1)
            chars[:, slots] = number_chars[:, : len(slots)]
        markers = (("9", "0123456789"), ("A", "ABCDEFGHJKLMNPRSTUVWXYZ")) if random_markers else ()
        for marker, alphabet in markers:
            cols = [i for i, c in enumerate(template) if c == marker]
            if cols:
                pick = rng.integers(0, len(alphabet), size=(len(rows), len(cols)))
                chars[:, cols] = np.array(list(alphabet), dtype="<U1")[pick]
        out[rows] = chars.view(f"<U{len(template)}").ravel()
    return out


def build_companies(rng: np.random.Generator, n_people: int, t: Timeline) -> pd.DataFrame:
    """Employers with a domain, a mailbox naming format, maybe a format change and a link scanner."""
    n = max(12, n_people // 18)
    countries = rng.choice(len(vocab.COUNTRIES), size=n, p=[c.weight for c in vocab.COUNTRIES])
    # Unique base names by mixed-radix decomposition of a random permutation.
    n_pref, n_core = len(vocab.COMPANY_PREFIXES), len(vocab.COMPANY_CORES)
    code = rng.permutation(max(n, n_pref * n_core))[:n]
    prefix = np.array(vocab.COMPANY_PREFIXES)[code % n_pref]
    core = np.array(vocab.COMPANY_CORES)[(code // n_pref) % n_core]
    variant = code // (n_pref * n_core)
    tld = np.array([vocab.COUNTRIES[c].tld for c in countries])
    use_com = rng.random(n) < 0.5
    tld = np.where(use_com, "com", tld)
    suffix = np.where(variant > 0, variant.astype(str), "")
    domain = pd.Series(prefix).str.lower() + pd.Series(core).str.lower() + suffix + "." + tld
    forms = np.array([vocab.COMPANY_FORMS[vocab.COUNTRIES[c].code][0] for c in countries])
    name = pd.Series(prefix) + " " + pd.Series(core) + np.where(variant > 0, " " + suffix, "") + " " + forms
    awkward = min(len(vocab.AWKWARD_COMPANIES), max(1, n // 40))
    name.iloc[:awkward] = vocab.AWKWARD_COMPANIES[:awkward]
    fmt = rng.choice(len(vocab.EMAIL_FORMATS), size=n, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.1])
    # Some companies move to first.last addresses mid-history (old addresses keep working).
    changes = (rng.random(n) < 0.06) & (fmt != 0)
    change_at = np.where(changes, rng.integers(t.start, t.end, size=n), NEVER)
    return pd.DataFrame(
        {
            "name": name.to_numpy(),
            "domain": domain.to_numpy(),
            "country": countries,
            "fmt": fmt,
            "fmt_change_at": change_at,
            "scanner": rng.random(n) < 0.15,
        }
    )


def _local_part(fmt: np.ndarray, first: pd.Series, last: pd.Series) -> pd.Series:
    """Mailbox names by company/person format (``first.last``, ``flast``...)."""
    f, l = first.fillna(""), last.fillna("")
    options = {
        0: f + "." + l,
        1: f.str[:1] + l,
        2: f,
        3: f + "_" + l,
        4: f + l.str[:1],
        5: l + "." + f,
    }
    out = options[0].copy()
    for k, values in options.items():
        out = out.where(fmt != k, values)
    return out


def _personal_local(rng: np.random.Generator, first: pd.Series, last: pd.Series, birth_year: np.ndarray) -> pd.Series:
    n = len(first)
    style = rng.choice(6, size=n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    yy = pd.Series((birth_year % 100).astype(str)).str.zfill(2)
    nn = pd.Series(rng.integers(1, 999, size=n).astype(str))
    options = {
        0: first + "." + last,
        1: first + last,
        2: first.str[:1] + last + nn,
        3: first + "." + last + yy,
        4: first + "_" + last,
        5: first + nn,
    }
    out = options[0].copy()
    for k, values in options.items():
        out = out.where(style != k, values)
    return out


def _personal_domain(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    names = [d for d, _ in vocab.PERSONAL_DOMAINS]
    weights = np.array([w for _, w in vocab.PERSONAL_DOMAINS])
    domain = np.array(names, dtype=object)[rng.choice(len(names), size=len(country), p=weights / weights.sum())]
    isp = rng.random(len(country)) < vocab.ISP_SHARE
    pick = rng.integers(0, 1_000, size=len(country))
    for ci, c in enumerate(vocab.COUNTRIES):
        rows = isp & (country == ci)
        domain[rows] = np.array(c.isp_domains, dtype=object)[pick[rows] % len(c.isp_domains)]
    return domain


def _by_country(attribute: str) -> np.ndarray:
    """A per-country attribute as an array indexed by country number (for vectorised lookups)."""
    return np.array([getattr(c, attribute) for c in vocab.COUNTRIES], dtype=object)


def build_people(seed: int, n: int, t: Timeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Persons (one row each) and their employers. All columns vectorised over persons."""
    rng = stream(seed, "people")
    companies = build_companies(stream(seed, "companies"), n, t)

    # Households: consecutive persons share surname, address, maybe a landline and a family mailbox.
    sizes = rng.choice([1, 2, 3, 4], size=n, p=[0.62, 0.22, 0.11, 0.05])
    household = np.repeat(np.arange(n), sizes)[:n]
    position = pd.Series(household).groupby(household).cumcount().to_numpy()
    hh_size = np.bincount(household)[household]
    hh_rng = rng.random((n, 8))  # per-household draws read at the household's first member
    head = np.flatnonzero(position == 0)
    head_of = np.searchsorted(head, np.arange(n), side="right") - 1
    hh_draw = hh_rng[head[head_of]]

    country = rng.choice(len(vocab.COUNTRIES), size=n, p=[c.weight for c in vocab.COUNTRIES])
    country = country[head[head_of]]
    culture = _by_country("culture")[country]
    gender = rng.integers(0, 2, size=n)  # 0 male, 1 female

    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for cult, (male, female, surnames) in vocab.CULTURES.items():
        rows = culture == cult
        if not rows.any():
            continue
        first_base = rng.integers(0, 10_000, size=n)
        pool_m, pool_f = np.array(male, dtype=object), np.array(female, dtype=object)
        # household members get distinct first names: offset by position
        idx = first_base[head[head_of]] + position * 7 + rng.integers(0, 3, size=n) * (position > 0)
        g = gender[rows]
        first[rows] = np.where(g == 0, pool_m[idx[rows] % len(pool_m)], pool_f[idx[rows] % len(pool_f)])
        sur_idx = (hh_draw[rows, 0] * len(surnames)).astype(int)
        sur = np.array(surnames, dtype=object)
        last[rows] = np.where(g == 0, sur[sur_idx, 0], sur[sur_idx, 1])

    # Cities, streets, postcodes per household.
    city_table = [(ci, city, zone, pre) for ci, c in enumerate(vocab.COUNTRIES) for city, zone, pre in c.cities]
    city_country = np.array([r[0] for r in city_table])
    city_idx = np.empty(n, dtype=int)
    for ci in range(len(vocab.COUNTRIES)):
        options = np.flatnonzero(city_country == ci)
        rows = country == ci
        city_idx[rows] = options[(hh_draw[rows, 1] * len(options)).astype(int)]

    # Namesakes: a few persons share first and last name with an unrelated person elsewhere.
    singles = np.flatnonzero(hh_size == 1)
    n_namesakes = int(round(0.03 * n))
    if n_namesakes and len(singles) > 2:
        takers = rng.choice(singles, size=min(n_namesakes, len(singles) // 2), replace=False)
        donors = np.empty(len(takers), dtype=np.int64)
        is_taker = np.zeros(n, dtype=bool)
        is_taker[takers] = True
        for cult in pd.unique(culture[takers]):
            sel = culture[takers] == cult
            pool = np.flatnonzero((culture == cult) & ~is_taker)
            donors[sel] = pool[rng.integers(0, len(pool), size=sel.sum())] if len(pool) else takers[sel]
        takers, donors = takers[donors != takers], donors[donors != takers]
        first[takers], last[takers], gender[takers] = first[donors], last[donors], gender[donors]
        other_city = rng.integers(0, 1_000, size=len(takers))
        for ci in range(len(vocab.COUNTRIES)):
            rows = country[takers] == ci
            options = np.flatnonzero(city_country == ci)
            city_idx[takers[rows]] = options[other_city[rows] % len(options)]
    namesake_of = np.full(n, -1)
    if n_namesakes and len(singles) > 2:
        namesake_of[takers] = donors

    city = np.array([r[1] for r in city_table], dtype=object)[city_idx]
    zone = np.array([r[2] for r in city_table], dtype=object)[city_idx]
    prefix = np.array([r[3] for r in city_table], dtype=object)[city_idx]
    street_no = (hh_draw[:, 2] * 180 + 1).astype(int).astype(str)
    street = np.empty(n, dtype=object)
    postcode_tpl = _by_country("postcode_format")[country]
    postcode = fill_template(postcode_tpl, np.zeros(n, dtype="<U1"), stream(seed, "postcodes"))
    for pre in pd.unique(prefix):
        rows = prefix == pre
        postcode[rows] = (pre + pd.Series(postcode[rows]).str[len(pre) :]).to_numpy()
    for ci, c in enumerate(vocab.COUNTRIES):
        rows = country == ci
        names = pd.Series(np.array(c.streets, dtype=object)[(hh_draw[rows, 3] * len(c.streets)).astype(int)])
        numbers = pd.Series(street_no[rows], dtype=object)
        pieces = [names if p == "{street}" else numbers if p == "{no}" else p for p in re.split(r"(\{no\}|\{street\})", c.street_format) if p]
        street[rows] = functools.reduce(lambda a, b: a + b, pieces).to_numpy(dtype=object)
    # Postcodes are fixed per household (the draw above is per person: copy the head's).
    postcode = postcode[head[head_of]]
    street = street[head[head_of]]

    birth = (t.reference - (rng.uniform(18, 82, size=n) * 365.25)).astype(np.int64)

    # Phones: a personal mobile each, a landline per household.
    mobile = digits(rng, n, 11)  # templates use the first subscriber_digits of them
    land_tpl = _by_country("landline_format")[country]
    landline = fill_template(land_tpl, np.zeros(n, dtype="<U1"), stream(seed, "landlines"))[head[head_of]]

    # Behaviour latents.
    propensity = rng.beta(1.4, 4.5, size=n)
    drift = rng.normal(0.0, 0.06, size=n)  # change of propensity per year
    hour_mode = rng.choice(3, size=n, p=[0.4, 0.25, 0.35])
    hour_center = np.array([8.0, 12.5, 20.0])[hour_mode]
    preferred_hour = np.mod(np.round(hour_center + rng.normal(0, 1.3, size=n)), 24).astype(int)
    weekday_pref = rng.choice(np.array(["weekdays", "weekends", "any"], dtype=object), size=n, p=[0.5, 0.15, 0.35])
    mpp = rng.random(n) < 0.28  # reads on Apple Mail with Privacy Protection
    preferred_channel = rng.choice(np.array(["email", "phone", "sms", ""], dtype=object), size=n, p=[0.6, 0.15, 0.1, 0.15])

    # Employment and job changes.
    employed = rng.random(n) < 0.72
    comp_country = companies["country"].to_numpy()
    company1 = rng.integers(0, len(companies), size=n)
    local_pick = rng.random(n) < 0.7  # most people work for a company of their own country
    for ci in range(len(vocab.COUNTRIES)):
        local = np.flatnonzero(comp_country == ci)
        rows = local_pick & (country == ci)
        if len(local):
            company1[rows] = local[rng.integers(0, len(local), size=rows.sum())]
    # Zipf-ish company sizes: a few large employers.
    big = rng.random(n) < 0.25
    company1[big] = (rng.zipf(1.6, size=big.sum()) - 1) % len(companies)
    changes_job = employed & (rng.random(n) < 0.18)
    job_change_at = np.where(changes_job, rng.integers(t.start, t.end, size=n), NEVER)
    company2 = np.where(changes_job, (company1 + rng.integers(1, len(companies), size=n)) % len(companies), -1)
    title_pool = np.array(vocab.JOB_TITLES, dtype=object)
    title1 = title_pool[rng.integers(0, len(title_pool), size=n)]
    title2 = title_pool[rng.integers(0, len(title_pool), size=n)]

    people = pd.DataFrame(
        {
            "person": np.arange(n),
            "true_person_id": "TP" + np.char.zfill(np.arange(1, n + 1).astype(str), 7).astype(object),
            "household": household,
            "household_size": hh_size,
            "country": country,
            "country_code": _by_country("code")[country],
            "culture": culture,
            "gender": gender,
            "first_name": first,
            "last_name": last,
            "namesake_of": namesake_of,
            "city": city,
            "time_zone": zone,
            "street": street,
            "postcode": postcode,
            "birth_day": birth,
            "mobile": mobile,
            "landline": landline,
            "propensity": propensity,
            "drift": drift,
            "preferred_hour": preferred_hour,
            "preferred_weekdays": weekday_pref,
            "mpp": mpp,
            "preferred_channel": preferred_channel,
            "employed": employed,
            "company1": np.where(employed, company1, -1),
            "title1": title1,
            "job_change_at": job_change_at,
            "company2": company2,
            "title2": title2,
        }
    )
    # Greeks write their names in Latin letters as ISO 843 (their passports) does: Dimitris, not
    # the letter-by-letter Demetres.
    greek = people["culture"] == "el"
    people["first_latin"] = people["first_name"].where(~greek, people["first_name"].map(romanize))
    people["last_latin"] = people["last_name"].where(~greek, people["last_name"].map(romanize))
    nick_pick = rng.integers(0, 3, size=n)
    people["nickname"] = _nicknames(people["first_name"], nick_pick)
    _assign_addresses(rng, people, companies, t, hh_draw)
    return people, companies


def _nicknames(first: pd.Series, pick: np.ndarray) -> pd.Series:
    """A usable short form per person (blank when the name has none)."""
    out = pd.Series("", index=first.index, dtype=object)
    for full, shorts in vocab.NICKNAMES.items():
        rows = (first == full).to_numpy()
        out[rows] = np.array(shorts, dtype=object)[pick[rows] % len(shorts)]
    return out


def _assign_addresses(
    rng: np.random.Generator, people: pd.DataFrame, companies: pd.DataFrame, t: Timeline, hh_draw: np.ndarray
) -> None:
    """Every mailbox a person owns, with the moment it appears (and, for work ones, stops working)."""
    n = len(people)
    f, l = slug(people["first_latin"]), slug(people["last_latin"])
    birth_year = 1970 + people["birth_day"].to_numpy() // 365
    personal1 = _personal_local(rng, f, l, birth_year) + "@" + _personal_domain(rng, people["country"].to_numpy())
    has_p2 = rng.random(n) < 0.3
    personal2 = _personal_local(rng, f, l, birth_year) + "@" + _personal_domain(rng, people["country"].to_numpy())
    personal2 = personal2.where(has_p2, "")
    personal2_from = np.where(has_p2, rng.integers(t.start - YEAR, t.end, size=n), NEVER)

    domains = companies["domain"].to_numpy()
    fmt = companies["fmt"].to_numpy()
    c1, c2 = people["company1"].to_numpy(), people["company2"].to_numpy()
    c1s, c2s = np.maximum(c1, 0), np.maximum(c2, 0)
    work1 = _local_part(fmt[c1s], f, l) + "@" + domains[c1s]
    work1_new = _local_part(np.zeros(n, dtype=int), f, l) + "@" + domains[c1s]
    work2 = _local_part(fmt[c2s], f, l) + "@" + domains[c2s]
    fmt_change = companies["fmt_change_at"].to_numpy()[c1s]
    people["work1"] = work1.where(c1 >= 0, "")
    people["work1_new"] = work1_new.where((c1 >= 0) & (fmt_change < NEVER), "")
    people["work1_new_from"] = np.where((c1 >= 0) & (fmt_change < NEVER), fmt_change, NEVER)
    people["work2"] = work2.where(c2 >= 0, "")
    # The old work mailbox is closed a few days after leaving.
    people["work1_dead_from"] = np.where(
        c2 >= 0, people["job_change_at"].to_numpy() + rng.integers(1, 15, size=n) * DAY, NEVER
    )
    people["personal1"] = personal1
    people["personal2"] = personal2
    people["personal2_from"] = personal2_from

    # A shared family mailbox for some households of two or more.
    household = people["household"].to_numpy()
    family = (people["household_size"].to_numpy() > 1) & (hh_draw[:, 4] < 0.12)
    family_addr = pd.Series(l.to_numpy() + np.where(hh_draw[:, 5] < 0.5, "family", "s") + "@", dtype=object)
    family_addr = family_addr + np.where(hh_draw[:, 6] < 0.6, "gmail.com", "yahoo.com")
    first_member = head_of_household(household)
    # One mailbox per household: two Smith households cannot both own smithfamily@gmail.com, so
    # a later household gets a number, as the provider's sign-up form would insist.
    head_rows = np.unique(first_member[family])
    head_addr = pd.Series(family_addr.to_numpy()[head_rows], dtype=object)
    repeat = head_addr.groupby(head_addr).cumcount()
    parts = head_addr.str.split("@", n=1)
    head_addr = head_addr.where(repeat == 0, parts.str[0] + (repeat + 1).astype(str) + "@" + parts.str[1])
    family_of_head = pd.Series(head_addr.to_numpy(), index=head_rows)
    people["family"] = np.where(family, family_of_head.reindex(first_member).to_numpy(), "")

    # Global uniqueness across every kind of mailbox (the family one is shared on purpose);
    # one person may own the same string twice (a format change that changed nothing). Gmail
    # ignores dots, so ana.ruiz@ and anaruiz@gmail.com are one mailbox and cannot have two owners.
    kinds = ["personal1", "personal2", "work1", "work1_new", "work2"]
    stacked = pd.concat([people[k] for k in kinds], ignore_index=True).to_numpy().astype(object)
    owner = np.tile(np.arange(n), len(kinds))
    present = stacked != ""
    for round_ in range(1, 8):
        codes, uniques = pd.factorize(_mailbox(stacked), sort=False)
        lowest = np.full(len(uniques), n, dtype=np.int64)
        np.minimum.at(lowest, codes, owner)
        first_owner = lowest[codes]
        clash = present & (first_owner != owner)
        if not clash.any():
            break
        parts = pd.Series(stacked[clash]).str.split("@", n=1)
        number = ((owner[clash] * (2 * round_ + 1)) % 997 + 2).astype(str)
        stacked[clash] = (parts.str[0] + number + "@" + parts.str[1]).to_numpy()
    for i, k in enumerate(kinds):
        people[k] = stacked[i * n : (i + 1) * n]
    people.loc[people["personal2"] == people["personal1"], "personal2"] = ""
    # A format change that produced the same address is no change at all.
    same = people["work1_new"] == people["work1"]
    people.loc[same, "work1_new"] = ""
    people.loc[same, "work1_new_from"] = NEVER


def _mailbox(addresses: np.ndarray) -> np.ndarray:
    """The mailbox an address reaches: dots in a Gmail local part do not count."""
    text = pd.Series(addresses, dtype=object)
    gmail = text.str.endswith("@gmail.com").fillna(False)
    return text.where(~gmail, text.str.split("@").str[0].str.replace(".", "", regex=False) + "@gmail.com").to_numpy()


def head_of_household(household: np.ndarray) -> np.ndarray:
    """Index of each person's household head (households are consecutive runs of persons)."""
    starts = np.flatnonzero(np.r_[True, household[1:] != household[:-1]])
    return starts[np.searchsorted(starts, np.arange(len(household)), side="right") - 1]


def work_address_at(people: pd.DataFrame, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The work mailbox a person would type at time ``at`` (blank when not employed)."""
    p = people
    job2 = at >= p["job_change_at"].to_numpy()[rows]
    new_fmt = at >= p["work1_new_from"].to_numpy()[rows]
    w1 = np.where(new_fmt & (p["work1_new"].to_numpy()[rows] != ""), p["work1_new"].to_numpy()[rows], p["work1"].to_numpy()[rows])
    return np.where(job2 & (p["work2"].to_numpy()[rows] != ""), p["work2"].to_numpy()[rows], w1)


def personal_address_at(people: pd.DataFrame, rows: np.ndarray, at: np.ndarray, prefer_new: np.ndarray) -> np.ndarray:
    """A personal mailbox at time ``at``: the newer one once it exists, when the person prefers it."""
    p2 = people["personal2"].to_numpy()[rows]
    use2 = prefer_new & (p2 != "") & (at >= people["personal2_from"].to_numpy()[rows])
    return np.where(use2, p2, people["personal1"].to_numpy()[rows])


def company_at(people: pd.DataFrame, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Employer index at time ``at`` (-1 when not employed)."""
    job2 = at >= people["job_change_at"].to_numpy()[rows]
    return np.where(job2 & (people["company2"].to_numpy()[rows] >= 0), people["company2"].to_numpy()[rows], people["company1"].to_numpy()[rows])
