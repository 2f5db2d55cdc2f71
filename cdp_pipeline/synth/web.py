"""Storefront behaviour: browser cookies per device, browsing sessions, carts (abandoned or not),
logins, newsletter forms and the purchase sessions that end in ``Order Completed``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.synth import vocab
from cdp_pipeline.synth.mangling import TypoRates, typed_emails
from cdp_pipeline.synth.people import DAY, Timeline, personal_address_at, stream
from cdp_pipeline.synth.sources import CATEGORIES, pick_in_category, uuid_strings, people_categories

# Events are kept compact (codes and row numbers) until written: millions of rows at 1M persons.
EVENT_COLUMNS = (
    "person", "cookie", "customer", "timestamp", "kind", "item", "order", "price", "form_email", "email",
    "first_name", "last_name",
)
PAGE, VIEWED, ADDED, CART_VIEWED, CHECKOUT, COMPLETED, LOGIN, GUEST_IDENTIFY, FORM = range(9)
KIND_TYPE = np.array(["page", "track", "track", "track", "track", "track", "identify", "identify", "track"], dtype=object)
KIND_EVENT = np.array(
    [None, "Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed", None, None, "Form Submitted"],
    dtype=object,
)


def _catalog() -> pd.DataFrame:
    catalog = pd.DataFrame(vocab.CATALOG, columns=["category", "name", "price"])
    catalog["sku"] = [f"SKU-{i:04d}" for i in range(100, 100 + len(catalog))]
    catalog["cat_code"] = catalog["category"].map({c: i for i, c in enumerate(CATEGORIES)})
    return catalog


def build_cookies(seed: int, people: pd.DataFrame, orders: pd.DataFrame, t: Timeline) -> pd.DataFrame:
    """One row per browser cookie: owner, first and last day it is used."""
    rng = stream(seed, "cookies")
    n = len(people)
    buyers = np.zeros(n, dtype=bool)
    buyers[orders["person"].to_numpy()] = True
    browses = rng.random(n) < np.where(buyers, 0.95, 0.5)
    devices = np.where(browses, rng.choice([1, 2, 3], size=n, p=[0.55, 0.3, 0.15]), 0)
    person = np.repeat(np.arange(n), devices)
    m = len(person)
    born = rng.integers(t.start - 60 * DAY, t.end, size=m)
    life = (rng.exponential(120, size=m) * DAY).astype(np.int64)
    return pd.DataFrame(
        {
            "person": person,
            "anonymous_id": uuid_strings(rng, m),
            "from": np.maximum(born, t.start),
            "to": np.minimum(born + life + DAY, t.end),
        }
    )


def build_web_events(
    seed: int, people: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame,
    cookies: pd.DataFrame, t: Timeline,
) -> pd.DataFrame:
    """Every storefront event, in time order, with the hidden owner in ``person``."""
    rng = stream(seed, "web")
    catalog = _catalog()
    fav = people_categories(seed, people)

    # Browsing sessions per cookie: a Poisson number over its active days.
    active_days = np.maximum((cookies["to"] - cookies["from"]).to_numpy() / DAY, 0)
    rate = rng.gamma(1.2, 0.025, size=len(cookies))
    n_sessions = rng.poisson(rate * active_days)
    s_cookie = np.repeat(np.arange(len(cookies)), n_sessions)
    s_start = rng.integers(cookies["from"].to_numpy()[s_cookie], np.maximum(cookies["to"].to_numpy()[s_cookie], cookies["from"].to_numpy()[s_cookie] + 1))
    s_person = cookies["person"].to_numpy()[s_cookie]
    sessions = pd.DataFrame({"cookie": s_cookie, "start": s_start, "person": s_person, "order": -1})

    # Purchase sessions: one per order placed by someone who has a cookie.
    # cookies are grouped by owner: the k-th cookie of a person is first_cookie + k
    cookie_owner = cookies["person"].to_numpy()
    per_person = np.bincount(cookie_owner, minlength=len(people))
    first_cookie = np.r_[0, np.cumsum(per_person)[:-1]]
    order_person = orders["person"].to_numpy()
    o_rows = np.flatnonzero(per_person[order_person] > 0)
    pick = rng.integers(0, 3, size=len(o_rows))
    chosen = first_cookie[order_person[o_rows]] + pick % per_person[order_person[o_rows]]
    purchase = pd.DataFrame(
        {
            "cookie": chosen,
            "start": orders["created_at"].to_numpy()[o_rows] - rng.integers(120, 1800, size=len(o_rows)),
            "person": order_person[o_rows],
            "order": o_rows,
        }
    )
    sessions = pd.concat([sessions, purchase], ignore_index=True)
    ns = len(sessions)
    sess_person = sessions["person"].to_numpy()
    is_purchase = sessions["order"].to_numpy() >= 0

    # Login: account holders are logged in on many sessions after opening their account.
    acc = customers.drop_duplicates("person").set_index("person")
    acc_id = acc["customer_id"].reindex(sess_person).to_numpy()
    acc_created = acc["created_at"].reindex(sess_person).to_numpy()
    logged_in = pd.notna(acc_id) & (sessions["start"].to_numpy() >= np.nan_to_num(acc_created, nan=np.inf)) & (rng.random(ns) < 0.45)
    acc_row = pd.Series(np.arange(len(customers)), index=customers["person"].to_numpy())
    acc_row = acc_row[~acc_row.index.duplicated()].reindex(sess_person).fillna(-1).to_numpy(dtype=np.int64)

    parts = []
    # page views and product views
    n_pages = 1 + rng.poisson(0.6, size=ns)
    n_views = np.where(is_purchase, 1, 0) + rng.poisson(2.0, size=ns)
    page_rows = np.repeat(np.arange(ns), n_pages)
    parts.append({"session": page_rows, "kind": np.zeros(len(page_rows), dtype=int), "rank": _rank(page_rows)})
    view_rows = np.repeat(np.arange(ns), n_views)
    parts.append({"session": view_rows, "kind": np.ones(len(view_rows), dtype=int), "rank": 10 + _rank(view_rows)})
    # carts: added, viewed, checkout started; abandoned unless it is a purchase session
    adds = is_purchase | (rng.random(ns) < 0.2)
    add_rows = np.flatnonzero(adds)
    parts.append({"session": add_rows, "kind": np.full(len(add_rows), 2), "rank": np.full(len(add_rows), 100)})
    cart_rows = np.flatnonzero(adds & (rng.random(ns) < 0.6))
    parts.append({"session": cart_rows, "kind": np.full(len(cart_rows), 3), "rank": np.full(len(cart_rows), 101)})
    checkout = np.flatnonzero(is_purchase | (adds & (rng.random(ns) < 0.35)))
    parts.append({"session": checkout, "kind": np.full(len(checkout), 4), "rank": np.full(len(checkout), 102)})
    completed = np.flatnonzero(is_purchase)
    parts.append({"session": completed, "kind": np.full(len(completed), 5), "rank": np.full(len(completed), 104)})
    # identify: at login (account email), and at guest checkout (the checkout email)
    login_rows = np.flatnonzero(logged_in & (rng.random(ns) < 0.5))
    parts.append({"session": login_rows, "kind": np.full(len(login_rows), 6), "rank": np.full(len(login_rows), 1)})
    guest_ident = np.flatnonzero(is_purchase & ~logged_in & (rng.random(ns) < 0.5))
    parts.append({"session": guest_ident, "kind": np.full(len(guest_ident), 7), "rank": np.full(len(guest_ident), 103)})
    # newsletter form on a small share of sessions of people who have no account session
    form_rows = np.flatnonzero(~logged_in & ~is_purchase & (rng.random(ns) < 0.04))
    parts.append({"session": form_rows, "kind": np.full(len(form_rows), 8), "rank": np.full(len(form_rows), 50)})

    ev = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in ("session", "kind", "rank")})
    ev = ev.sort_values(["session", "rank"], kind="stable").reset_index(drop=True)
    s = ev["session"].to_numpy()
    kind = ev["kind"].to_numpy()
    step = _rank(s)
    ev["timestamp"] = sessions["start"].to_numpy()[s] + step * rng.integers(8, 90, size=len(ev)) + rng.integers(0, 8, size=len(ev))
    person = sess_person[s]
    ev["person"] = person.astype(np.int32)
    ev["cookie"] = sessions["cookie"].to_numpy()[s].astype(np.int32)
    ev["customer"] = np.where(logged_in, acc_row, -1)[s].astype(np.int32)
    ev["kind"] = kind.astype(np.int8)

    # Products: favourite category mostly; purchase sessions view/add what they buy.
    item = rng.integers(0, len(catalog), size=len(ev))
    fav_items = [np.flatnonzero(catalog["cat_code"].to_numpy() == c) for c in range(len(CATEGORIES))]
    pick = rng.integers(0, 1_000, size=len(ev))
    fav_choice = pick_in_category(np.array(fav_items, dtype=object), fav[person], pick)
    item = np.where(rng.random(len(ev)) < 0.65, fav_choice, item)
    order_idx = sessions["order"].to_numpy()[s]
    first_line = lines.drop_duplicates("order").set_index("order")["item"]
    bought = pd.Series(order_idx).map(first_line).to_numpy()
    item = np.where((order_idx >= 0) & pd.notna(bought), np.nan_to_num(bought.astype(float), nan=0).astype(int), item)
    has_product = np.isin(kind, [VIEWED, ADDED])
    ev["item"] = np.where(has_product, item, -1).astype(np.int16)
    ev["price"] = np.where(has_product, catalog["price"].to_numpy()[item], np.nan)
    is_done = kind == COMPLETED
    ev["order"] = np.where(is_done, order_idx, -1).astype(np.int32)
    ev.loc[is_done, "price"] = orders["total"].to_numpy()[order_idx[is_done]]
    ev.loc[is_done, "timestamp"] = orders["created_at"].to_numpy()[order_idx[is_done]]

    # Identity-bearing fields.
    form_rows = np.flatnonzero(kind == FORM)
    form_true = personal_address_at(people, person[form_rows], ev["timestamp"].to_numpy()[form_rows], rng.random(len(form_rows)) < 0.5)
    first = people["first_latin"].to_numpy()[person]
    last = people["last_latin"].to_numpy()[person]
    form_typed, _ = typed_emails(rng, form_true, first[form_rows], last[form_rows], TypoRates(0.05, 0.02, 0.01, 0.005, 0.004))
    form_email = np.full(len(ev), None, dtype=object)
    form_email[form_rows] = form_typed
    ev["form_email"] = form_email
    acc_email = acc["email"].reindex(person).to_numpy()
    checkout_email = orders["email"].to_numpy()[np.maximum(order_idx, 0)]
    ev["email"] = np.where(kind == LOGIN, acc_email, np.where(kind == GUEST_IDENTIFY, checkout_email, None))
    named = (kind == LOGIN) | (kind == GUEST_IDENTIFY)
    ev["first_name"] = np.where(named & (rng.random(len(ev)) < 0.7), first, None)
    ev["last_name"] = np.where(pd.notna(ev["first_name"]), last, None)
    ev = ev[(ev["timestamp"] >= t.start) & (ev["timestamp"] < t.end)]
    ev = ev.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return ev[list(EVENT_COLUMNS)]


def expand(ev: pd.DataFrame, cookies: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """The text columns of the storefront events (Segment field names), for the rows given."""
    catalog = _catalog()
    kind, item = ev["kind"].to_numpy(), ev["item"].to_numpy()
    customer, order = ev["customer"].to_numpy(), ev["order"].to_numpy()
    return pd.DataFrame(
        {
            "timestamp": ev["timestamp"].to_numpy(),
            "type": KIND_TYPE[kind],
            "event": KIND_EVENT[kind],
            "anonymous_id": cookies["anonymous_id"].to_numpy()[ev["cookie"].to_numpy()],
            "user_id": np.where(customer >= 0, customers["customer_id"].to_numpy()[np.maximum(customer, 0)], None),
            "category": np.where(item >= 0, catalog["category"].to_numpy()[np.maximum(item, 0)], None),
            "sku": np.where(item >= 0, catalog["sku"].to_numpy()[np.maximum(item, 0)], None),
            "price": ev["price"].to_numpy(),
            "order_id": np.where(order >= 0, orders["order_id"].to_numpy()[np.maximum(order, 0)], None),
            "form": np.where(kind == FORM, "newsletter", None),
            "form_email": ev["form_email"].to_numpy(),
            "email": ev["email"].to_numpy(),
            "first_name": ev["first_name"].to_numpy(),
            "last_name": ev["last_name"].to_numpy(),
        }
    )


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = (x + np.uint64(0x9E3779B97F4A7C15)).astype(np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def message_ids(rows: np.ndarray, seed: int) -> np.ndarray:
    """Random-looking, unique, reproducible ids computed from the event's row number, so that
    millions of them need not be kept in memory between simulation and writing."""
    with np.errstate(over="ignore"):
        key = np.asarray(rows, dtype=np.uint64) * np.uint64(2) + np.uint64(seed % 2**32) * np.uint64(2**33)
        halves = np.stack([_splitmix(key), _splitmix(key + np.uint64(1))], axis=1).astype(">u8")
    hexes = np.frombuffer(halves.tobytes().hex().encode("ascii"), dtype="S32").astype(str).astype(object)
    return "ajs-" + hexes


def _rank(group_rows: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal values (rows must be grouped)."""
    if len(group_rows) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group_rows[1:] != group_rows[:-1]]
    idx = np.arange(len(group_rows))
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))
