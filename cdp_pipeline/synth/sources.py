"""What each source system records about the population: CRM contacts, store accounts, webinar
registrations, orders, storefront events and erasure requests.

Every frame keeps the hidden ``person`` column (the truth) next to the values the source shows;
the writer drops it. Times are int64 seconds (UTC); ``NEVER`` means "did not happen".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.synth import vocab
from cdp_pipeline.synth.mangling import TypoRates, typed_emails
from cdp_pipeline.synth.people import (
    DAY,
    NEVER,
    YEAR,
    Timeline,
    company_at,
    fill_template,
    personal_address_at,
    stream,
    work_address_at,
)

CATEGORIES = sorted({c for c, _, _ in vocab.CATALOG})


def _ids(rng: np.random.Generator, n: int, base: int, spread: int) -> np.ndarray:
    """Distinct numeric ids as strings, unordered like a real system's ids."""
    return (base + rng.choice(spread, size=n, replace=False)).astype(str).astype(object)


def uuid_strings(rng: np.random.Generator, n: int) -> np.ndarray:
    hexes = pd.Series(np.frombuffer(rng.bytes(16 * n).hex().encode("ascii"), dtype="S32").astype(str))
    return (
        hexes.str[:8] + "-" + hexes.str[8:12] + "-4" + hexes.str[13:16] + "-a" + hexes.str[17:20] + "-" + hexes.str[20:32]
    ).to_numpy(dtype=object)


def _phones(rng: np.random.Generator, people: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The person's mobile in one of their country's national or international spellings."""
    country = people["country"].to_numpy()[rows]
    formats = np.empty(len(rows), dtype=object)
    pick = rng.integers(0, 6, size=len(rows))
    for ci, c in enumerate(vocab.COUNTRIES):
        sel = country == ci
        options = np.array(c.national_formats + c.international_formats, dtype=object)
        formats[sel] = options[pick[sel] % len(options)]
    return fill_template(formats, people["mobile"].to_numpy()[rows].astype(str), rng, random_markers=False)


def _created(rng: np.random.Generator, n: int, t: Timeline, before_share: float) -> np.ndarray:
    """Record creation: most before the history window, the rest during it (new sign-ups)."""
    before = rng.random(n) < before_share
    old = rng.integers(t.start - 3 * YEAR, t.start, size=n)
    new = rng.integers(t.start, t.end, size=n)
    return np.where(before, old, new)


def _deleted(rng: np.random.Generator, created: np.ndarray, t: Timeline, share: float) -> np.ndarray:
    """Deletion inside the daily-drop window, so snapshots lose the record."""
    gone = rng.random(len(created)) < share
    at = rng.integers(t.first_drop * DAY, t.end, size=len(created))
    return np.where(gone & (at > created), at, NEVER)


def _country_text(rng: np.random.Generator, country: np.ndarray, iso_share: float) -> np.ndarray:
    iso = np.array([c.code for c in vocab.COUNTRIES], dtype=object)[country]
    pick = rng.integers(0, 3, size=len(country))
    names = np.array(
        [
            [c.name, c.local_names[0], c.local_names[min(1, len(c.local_names) - 1)]]
            for c in vocab.COUNTRIES
        ],
        dtype=object,
    )[country, pick]
    return np.where(rng.random(len(country)) < iso_share, iso, names)


def build_crm(seed: int, people: pd.DataFrame, companies: pd.DataFrame, t: Timeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CRM contacts (one row per record, with a possible job-change update) and consent answers."""
    rng = stream(seed, "crm")
    n = len(people)
    employed = people["employed"].to_numpy()
    has = rng.random(n) < np.where(employed, 0.68, 0.45)
    person = np.flatnonzero(has)
    dup = person[rng.random(len(person)) < 0.05]  # a second record for the same person
    person = np.sort(np.concatenate([person, dup]))
    is_dup = np.zeros(len(person), dtype=bool)
    is_dup[np.flatnonzero(np.r_[False, person[1:] == person[:-1]])] = True
    m = len(person)
    created = _created(rng, m, t, 0.7)
    deleted = _deleted(rng, created, t, 0.012)
    deleted = np.where(is_dup & (rng.random(m) < 0.3), _deleted(rng, created, t, 1.0), deleted)

    work = work_address_at(people, person, created)
    personal = personal_address_at(people, person, created, rng.random(m) < 0.5)
    use_work = (work != "") & (rng.random(m) < 0.7)
    use_work = np.where(is_dup, ~use_work & (work != ""), use_work)
    true_primary = np.where(use_work, work, personal)
    first = people["first_name"].to_numpy()[person]
    last = people["last_name"].to_numpy()[person]
    # Greek persons appear in Greek script in the CRM most of the time.
    latin = (people["culture"].to_numpy()[person] == "el") & (rng.random(m) < 0.35)
    first = np.where(latin, people["first_latin"].to_numpy()[person], first)
    last = np.where(latin, people["last_latin"].to_numpy()[person], last)
    typed, delivers = typed_emails(rng, true_primary, first, last, TypoRates())
    other = np.where(use_work, personal, work)
    additional = np.where((rng.random(m) < 0.35) & (other != ""), other, "")
    sep = np.array([";", "; ", ";"], dtype=object)[rng.integers(0, 3, size=m)]
    p2 = people["personal2"].to_numpy()[person]
    more = (additional != "") & (p2 != "") & (p2 != personal) & (rng.random(m) < 0.3)
    additional = np.where(more, additional + sep + p2, additional)

    company = company_at(people, person, created)
    company_name = np.where(company >= 0, companies["name"].to_numpy()[np.maximum(company, 0)], "")
    job_changed = people["job_change_at"].to_numpy()[person] < NEVER
    title = np.where(
        created >= people["job_change_at"].to_numpy()[person],
        people["title2"].to_numpy()[person],
        people["title1"].to_numpy()[person],
    )
    title = np.where(company >= 0, title, np.where(rng.random(m) < 0.5, title, ""))

    phone = np.where(rng.random(m) < 0.7, _phones(rng, people, person), "")
    landline = people["landline"].to_numpy()[person]
    phone = np.where((rng.random(m) < 0.08) & (people["household_size"].to_numpy()[person] > 1), landline, phone)
    has_address = rng.random(m) < 0.6
    # Some addresses span two lines: the newline must survive quoting.
    street = people["street"].to_numpy()[person]
    two_lines = has_address & (rng.random(m) < 0.03)
    street = np.where(two_lines, "Apt " + pd.Series(rng.integers(1, 40, size=m)).astype(str).to_numpy() + "\n" + street, street)

    # Job changers: some records get updated (new company, new work email, old one kept).
    updated = job_changed & use_work & (rng.random(m) < 0.4)
    update_at = np.where(updated, people["job_change_at"].to_numpy()[person] + rng.integers(20, 90, size=m) * DAY, NEVER)
    new_primary = people["work2"].to_numpy()[person]
    comp2 = people["company2"].to_numpy()[person]
    contacts = pd.DataFrame(
        {
            "person": person,
            "record_id": _ids(rng, m, 5_000_000, 90_000_000),
            "created_at": created,
            "deleted_at": deleted,
            "first_name": first,
            "last_name": last,
            "email": typed,
            "email_delivers": delivers,
            "email_true": true_primary,
            "additional_emails": additional,
            "phone": phone,
            "company_name": company_name,
            "job_title": title,
            "street_address": np.where(has_address, street, ""),
            "city": np.where(has_address | (rng.random(m) < 0.3), people["city"].to_numpy()[person], ""),
            "postal_code": np.where(has_address, people["postcode"].to_numpy()[person], ""),
            "country": np.where(rng.random(m) < 0.9, _country_text(rng, people["country"].to_numpy()[person], 0.6), ""),
            "date_of_birth": np.where(rng.random(m) < 0.3, people["birth_day"].to_numpy()[person], NEVER),
            "time_zone": np.where(rng.random(m) < 0.4, people["time_zone"].to_numpy()[person], ""),
            "preferred_channel": np.where(rng.random(m) < 0.75, people["preferred_channel"].to_numpy()[person], ""),
            "update_at": update_at,
            "new_email": np.where(updated, new_primary, ""),
            "new_additional": np.where(
                updated, np.where(additional != "", additional + ";" + true_primary, true_primary), ""
            ),
            "new_company_name": np.where(updated, companies["name"].to_numpy()[np.maximum(comp2, 0)], ""),
            "new_job_title": np.where(updated, people["title2"].to_numpy()[person], ""),
        }
    )
    # Consent answers: an initial answer (or never asked), then occasional changes of mind.
    answer = rng.choice(3, size=m, p=[0.58, 0.2, 0.22])  # 0 yes, 1 no, 2 never asked
    initial = pd.DataFrame({"record": np.arange(m), "at": created, "value": answer == 0})[answer < 2]
    flips = rng.random(m) < 0.04
    flip = pd.DataFrame(
        {
            "record": np.flatnonzero(flips),
            "at": rng.integers(np.maximum(created[flips], t.start), t.end),
            "value": rng.random(flips.sum()) < 0.5,
        }
    )
    consent = pd.concat([initial, flip], ignore_index=True)
    consent["source"] = "crm_form"
    return contacts, consent


def build_store(seed: int, people: pd.DataFrame, t: Timeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Store accounts with personal (or family) addresses, and their email-marketing answers."""
    rng = stream(seed, "store")
    n = len(people)
    has = rng.random(n) < 0.4
    person = np.flatnonzero(has)
    dup = person[rng.random(len(person)) < 0.02]
    person = np.sort(np.concatenate([person, dup]))
    m = len(person)
    created = _created(rng, m, t, 0.65)
    deleted = _deleted(rng, created, t, 0.005)
    personal = personal_address_at(people, person, created, rng.random(m) < 0.6)
    family = people["family"].to_numpy()[person]
    true = np.where((family != "") & (rng.random(m) < 0.3), family, personal)
    use_nick = (people["nickname"].to_numpy()[person] != "") & (rng.random(m) < 0.3)
    first = np.where(use_nick, people["nickname"].to_numpy()[person], people["first_latin"].to_numpy()[person])
    last = people["last_latin"].to_numpy()[person]
    native = (people["culture"].to_numpy()[person] == "el") & (rng.random(m) < 0.3)
    first = np.where(native, people["first_name"].to_numpy()[person], first)
    last = np.where(native, people["last_name"].to_numpy()[person], last)
    rates = TypoRates(case=0.04, spaces=0.01, domain_typo=0.01, local_typo=0.003, invalid=0.0)
    typed, delivers = typed_emails(rng, true, first, last, rates)
    tags = np.array(["", "", "", "vip", "newsletter", "vip, wholesale", "returning, newsletter", "b2b"], dtype=object)
    accepts = rng.random(m) < 0.45
    customers = pd.DataFrame(
        {
            "person": person,
            "customer_id": _ids(rng, m, 7_100_000_000_000, 800_000_000_000),
            "created_at": created,
            "deleted_at": deleted,
            "first_name": first,
            "last_name": last,
            "email": typed,
            "email_delivers": delivers,
            "email_true": true,
            "phone": np.where(rng.random(m) < 0.5, _phones(rng, people, person), ""),
            "address1": people["street"].to_numpy()[person],
            "city": people["city"].to_numpy()[person],
            "zip": people["postcode"].to_numpy()[person],
            "country_code": people["country_code"].to_numpy()[person],
            "tags": tags[rng.integers(0, len(tags), size=m)],
        }
    )
    initial = pd.DataFrame({"record": np.arange(m), "at": created, "value": accepts})
    flips = rng.random(m) < 0.03
    flip = pd.DataFrame(
        {
            "record": np.flatnonzero(flips),
            "at": rng.integers(np.maximum(created[flips], t.start), t.end),
            "value": ~accepts[flips],
        }
    )
    consent = pd.concat([initial, flip], ignore_index=True)
    consent["source"] = "store"
    return customers, consent


NAME_SWAP_SHARE = 0.015
"""Webinar registrations whose first and last names were typed into each other's boxes."""


def build_webinars(seed: int, people: pd.DataFrame, companies: pd.DataFrame, t: Timeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Webinar schedule and registrations (mostly with a work address; no-shows included)."""
    rng = stream(seed, "webinars")
    span_days = (t.end - t.start) // DAY
    n_web = max(2, int(span_days * 2 / 7))
    day = np.sort(rng.integers(t.start // DAY, t.end // DAY, size=n_web))
    hour = rng.choice([9, 14, 15, 16, 17, 18], size=n_web)
    start = day * DAY + hour * 3600
    webinars = pd.DataFrame(
        {
            "webinar_id": _ids(rng, n_web, 81_000_000_000, 9_000_000_000),
            "topic": np.array(vocab.WEBINAR_TOPICS, dtype=object)[rng.integers(0, len(vocab.WEBINAR_TOPICS), size=n_web)],
            "start": start,
        }
    )
    n = len(people)
    interested = rng.random(n) < np.where(people["employed"].to_numpy(), 0.4, 0.1)
    rate = rng.gamma(1.0, 0.04, size=n) * interested
    counts = rng.poisson(rate * n_web)
    person = np.repeat(np.arange(n), counts)
    web = rng.integers(0, n_web, size=len(person))
    start_r = start[web]
    registered = start_r - rng.integers(3600, 21 * DAY, size=len(person))
    work = work_address_at(people, person, registered)
    personal = personal_address_at(people, person, registered, rng.random(len(person)) < 0.5)
    true = np.where((work != "") & (rng.random(len(person)) < 0.82), work, personal)
    comp = company_at(people, person, registered)
    role = (comp >= 0) & (rng.random(len(person)) < 0.012)
    role_local = np.array(vocab.ROLE_LOCALS, dtype=object)[rng.integers(0, len(vocab.ROLE_LOCALS), size=len(person))]
    true = np.where(role, role_local + "@" + companies["domain"].to_numpy()[np.maximum(comp, 0)], true)
    use_nick = (people["nickname"].to_numpy()[person] != "") & (rng.random(len(person)) < 0.35)
    first = np.where(use_nick, people["nickname"].to_numpy()[person], people["first_latin"].to_numpy()[person])
    last = people["last_latin"].to_numpy()[person]
    rates = TypoRates(case=0.08, spaces=0.03, domain_typo=0.02, local_typo=0.01, invalid=0.006)
    typed, _ = typed_emails(rng, true, first, last, rates)
    # A few registrants type each name into the other's box (its own stream: the rest of the
    # report is drawn as before).
    swapped = stream(seed, "webinar_name_swaps").random(len(person)) < NAME_SWAP_SHARE
    first, last = np.where(swapped, last, first), np.where(swapped, first, last)
    lower = rng.random(len(person)) < 0.04
    first = np.where(lower, pd.Series(first).str.lower(), first)
    last = np.where(lower, pd.Series(last).str.lower(), last)
    attended = rng.random(len(person)) < 0.58
    joined = start_r + rng.integers(-300, 1200, size=len(person))
    minutes = rng.integers(3, 95, size=len(person))
    consent = rng.choice(3, size=len(person), p=[0.4, 0.35, 0.25])  # yes / no / blank
    regs = pd.DataFrame(
        {
            "person": person,
            "webinar": web,
            "webinar_id": webinars["webinar_id"].to_numpy()[web],
            "topic": webinars["topic"].to_numpy()[web],
            "start": start_r,
            "attended": attended,
            "first_name": first,
            "last_name": last,
            "email": typed,
            "organization": np.where((comp >= 0) & (rng.random(len(person)) < 0.8), companies["name"].to_numpy()[np.maximum(comp, 0)], ""),
            "job_title": np.where(rng.random(len(person)) < 0.7, people["title1"].to_numpy()[person], ""),
            "country": _country_text(rng, people["country"].to_numpy()[person], 0.0),
            "registered_at": registered,
            "join_at": np.where(attended, joined, NEVER),
            "leave_at": np.where(attended, joined + minutes * 60, NEVER),
            "minutes": np.where(attended, minutes, -1),
            "consent": consent,
        }
    )
    # One registration per (webinar, address as typed): the platform refuses a second one.
    regs["email_key"] = pd.Series(regs["email"], dtype=object).str.strip().str.lower()
    regs = regs.sort_values(["registered_at"], kind="stable").drop_duplicates(["webinar_id", "email_key"])
    return webinars, regs.reset_index(drop=True)


def build_orders(seed: int, people: pd.DataFrame, customers: pd.DataFrame, t: Timeline) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders (one-off, repeat, high-value, lapsed buyers; guests included) and their lines."""
    rng = stream(seed, "orders")
    n = len(people)
    account = pd.Series(-1, index=np.arange(n))
    first_acc = customers.drop_duplicates("person")
    account[first_acc["person"].to_numpy()] = np.arange(len(customers))[first_acc.index.to_numpy()]
    account = account.to_numpy()
    buyer = np.where(account >= 0, rng.random(n) < 0.8, rng.random(n) < 0.14)
    kind = rng.choice(4, size=n, p=[0.45, 0.33, 0.08, 0.14])  # one-off, repeat, high value, lapsed
    span = (t.end - t.start) / YEAR
    rate = np.array([0.0, 4.0, 11.0, 6.0])[kind]
    window_end = np.where(kind == 3, t.start + 0.4 * (t.end - t.start), t.end).astype(np.int64)
    counts = np.where(kind == 0, 1, rng.poisson(rate * span * np.where(kind == 3, 0.4, 1.0)))
    counts = np.where(buyer, np.maximum(counts, kind != 3), 0)
    person = np.repeat(np.arange(n), counts)
    created = rng.integers(t.start, window_end[person])
    order_n = len(person)
    order_of = np.argsort(created, kind="stable")
    person, created = person[order_of], created[order_of]
    acc = account[person]
    guest = (acc < 0) | (rng.random(order_n) < 0.08)
    acc_ok = (acc >= 0) & (customers["created_at"].to_numpy()[np.maximum(acc, 0)] <= created)
    guest = guest | ~acc_ok
    customer_id = np.where(guest, "", customers["customer_id"].to_numpy()[np.maximum(acc, 0)])
    acc_email = customers["email"].to_numpy()[np.maximum(acc, 0)]
    personal = personal_address_at(people, person, created, rng.random(order_n) < 0.5)
    family = people["family"].to_numpy()[person]
    checkout_true = np.where((family != "") & (rng.random(order_n) < 0.3), family, personal)
    first = people["first_latin"].to_numpy()[person]
    last = people["last_latin"].to_numpy()[person]
    typed, _ = typed_emails(rng, checkout_true, first, last, TypoRates(0.03, 0.01, 0.01, 0.003, 0.0))
    email = np.where(~guest & (rng.random(order_n) < 0.85), acc_email, typed)
    status = rng.choice(np.array(["paid", "pending", "refunded", "partially_refunded", "voided"], dtype=object),
                        size=order_n, p=[0.88, 0.03, 0.05, 0.03, 0.01])
    currency = np.array([vocab.COUNTRIES[c].currency for c in range(len(vocab.COUNTRIES))], dtype=object)[
        people["country"].to_numpy()[person]
    ]
    use_nick = (people["nickname"].to_numpy()[person] != "") & (rng.random(order_n) < 0.2)
    billing_first = np.where(use_nick, people["nickname"].to_numpy()[person], first)
    billing = pd.Series(billing_first, dtype=object) + " " + pd.Series(last, dtype=object)
    upper = rng.random(order_n) < 0.05
    billing = billing.where(~upper, billing.str.upper())
    orders = pd.DataFrame(
        {
            "person": person,
            "order_id": (5_900_000_000_000 + np.arange(order_n) * 13 + rng.integers(0, 13, size=order_n)).astype(str).astype(object),
            "customer_id": customer_id,
            "email": email,
            "created_at": created,
            "status": status,
            "currency": currency,
            "billing_name": billing.to_numpy(),
            "billing_street": people["street"].to_numpy()[person],
            "billing_city": people["city"].to_numpy()[person],
            "billing_zip": people["postcode"].to_numpy()[person],
            "billing_country": people["country_code"].to_numpy()[person],
            "high_value": kind[person] == 2,
        }
    )
    n_lines = 1 + rng.poisson(np.where(orders["high_value"], 1.8, 0.6))
    line_order = np.repeat(np.arange(order_n), n_lines)
    pref = people_categories(seed, people)[person[line_order]]
    catalog = pd.DataFrame(vocab.CATALOG, columns=["category", "name", "price"])
    catalog["sku"] = [f"SKU-{i:04d}" for i in range(100, 100 + len(catalog))]
    cat_codes = catalog["category"].map({c: i for i, c in enumerate(CATEGORIES)}).to_numpy()
    random_item = rng.integers(0, len(catalog), size=len(line_order))
    # prefer an item of the person's favourite category
    fav_item = np.array([np.flatnonzero(cat_codes == c) for c in range(len(CATEGORIES))], dtype=object)
    fav_pick = rng.integers(0, 1_000, size=len(line_order))
    fav_choice = pick_in_category(fav_item, pref, fav_pick)
    item = np.where(rng.random(len(line_order)) < 0.6, fav_choice, random_item)
    lines = pd.DataFrame({"order": line_order, "item": item})
    lines = lines.drop_duplicates(["order", "item"]).reset_index(drop=True)
    rate_fx = pd.Series(orders["currency"]).map(vocab.CURRENCY_RATE).to_numpy()[lines["order"].to_numpy()]
    premium = np.where(orders["high_value"].to_numpy()[lines["order"].to_numpy()], 2.5, 1.0)
    lines["sku"] = catalog["sku"].to_numpy()[lines["item"]]
    lines["name"] = catalog["name"].to_numpy()[lines["item"]]
    lines["category"] = catalog["category"].to_numpy()[lines["item"]]
    lines["quantity"] = 1 + rng.poisson(np.where(premium > 1, 1.0, 0.3))
    lines["price"] = np.round(catalog["price"].to_numpy()[lines["item"]] * rate_fx * premium, 2)
    totals = (lines["price"] * lines["quantity"]).groupby(lines["order"]).sum()
    orders["total"] = np.round(totals.reindex(np.arange(order_n)).to_numpy(), 2)
    return orders, lines


def pick_in_category(items_by_category: np.ndarray, category: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Vectorised choice of a catalogue item inside each row's category."""
    out = np.empty(len(category), dtype=np.int64)
    for c, items in enumerate(items_by_category):
        rows = category == c
        out[rows] = np.asarray(items)[pick[rows] % len(items)]
    return out


def people_categories(seed: int, people: pd.DataFrame) -> np.ndarray:
    """Each person's favourite store category (index into CATEGORIES)."""
    return stream(seed, "taste").integers(0, len(CATEGORIES), size=len(people))


def build_erasures(seed: int, people: pd.DataFrame, contacts: pd.DataFrame, customers: pd.DataFrame, t: Timeline) -> pd.DataFrame:
    """A few right-to-erasure requests from known persons, and one for an address nobody has."""
    rng = stream(seed, "erasures")
    known = np.union1d(contacts["person"].to_numpy(), customers["person"].to_numpy())
    k = min(len(known), max(2, int(round(0.003 * len(people)))))
    person = np.sort(rng.choice(known, size=k, replace=False))
    window = t.first_drop * DAY - (t.first_drop * DAY - t.start) // 4
    at = rng.integers(window, t.end, size=k)
    email = pd.Series(people["personal1"].to_numpy()[person], dtype=object)
    email = email.where(rng.random(k) < 0.7, email.str.upper())
    unknown_at = rng.integers(window, t.end)
    frame = pd.DataFrame(
        {
            "person": np.r_[person, -1],
            "email": np.r_[email.to_numpy(dtype=object), np.array(["no.such.person@example.org"], dtype=object)],
            "requested_at": np.r_[at, unknown_at],
        }
    ).sort_values("requested_at", kind="stable").reset_index(drop=True)
    frame["request_id"] = [f"ER-{i + 1:06d}" for i in range(len(frame))]
    return frame
