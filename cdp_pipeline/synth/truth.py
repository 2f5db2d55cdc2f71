"""The truth folder: who is behind every identity record, and each person's latent traits and
behaviour facts as of the reference date (everything delivered by complete drops: events
before reference-date 00:00 UTC)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cdp_pipeline.synth.emails import BOUNCE_HARD, CLICK, N_HUMAN, N_PROXY, OPEN
from cdp_pipeline.synth.landing import World, drop_of
from cdp_pipeline.synth import vocab
from cdp_pipeline.synth.people import DAY, NEVER, Timeline
from cdp_pipeline.synth.web import ADDED, CHECKOUT, VIEWED

CANCELLED_STATUSES = ("refunded", "voided")


def _date(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), unit="D")


def _iso(seconds: np.ndarray) -> np.ndarray:
    seconds = np.asarray(seconds, dtype=float)
    missing = np.isnan(seconds)
    text = np.datetime_as_string(np.where(missing, 0, seconds).astype(np.int64).astype("datetime64[s]"), unit="s")
    return np.where(missing, "", text.astype(object) + "Z")


def identity_records(w: World, t: Timeline) -> pd.DataFrame:
    """Every identity record written to the landing folder, with its owner and first drop."""
    pid = w.people["true_person_id"].to_numpy()
    c = w.contacts
    crm_seen = (c["created_at"].to_numpy() < t.last_drop * DAY) & (c["deleted_at"].to_numpy() >= t.first_drop * DAY)
    s = w.customers
    store_seen = (s["created_at"].to_numpy() < t.last_drop * DAY) & (s["deleted_at"].to_numpy() >= t.first_drop * DAY)
    web_first = w.web_events.groupby("cookie", sort=False).agg(person=("person", "first"), at=("timestamp", "min"))
    reg_drop = drop_of(w.webinars["start"].to_numpy()[w.registrations["webinar"].to_numpy()], t)
    parts = [
        ("crm", c["record_id"][crm_seen], c["person"][crm_seen], drop_of(c["created_at"][crm_seen].to_numpy(), t)),
        ("webinar", w.registrations["webinar_id"] + ":" + w.registrations["email_key"], w.registrations["person"], reg_drop),
        ("store", s["customer_id"][store_seen], s["person"][store_seen], drop_of(s["created_at"][store_seen].to_numpy(), t)),
        ("order", w.orders["order_id"], w.orders["person"], drop_of(w.orders["created_at"].to_numpy(), t)),
        ("web", w.cookies["anonymous_id"].to_numpy()[web_first.index.to_numpy()], web_first["person"], drop_of(web_first["at"].to_numpy(), t)),
    ]
    frames = [
        pd.DataFrame(
            {
                "source": source,
                "source_record_id": np.asarray(ids, dtype=object),
                "true_person_id": pid[np.asarray(owner, dtype=np.int64)],
                "first_drop_date": _date(first),
            }
        )
        for source, ids, owner, first in parts
    ]
    return pd.concat(frames, ignore_index=True)


def _known_cookies(w: World, cutoff: int) -> np.ndarray:
    """Cookies that a login, an identify, a form or a completed order (its Order ID is in the
    orders extract) tied to a person before ``cutoff``."""
    ev = w.web_events
    before = ev["timestamp"].to_numpy() < cutoff
    identifying = ((ev["customer"].to_numpy() >= 0) | ev["email"].notna().to_numpy()
                   | ev["form_email"].notna().to_numpy() | (ev["order"].to_numpy() >= 0))
    return np.unique(ev["cookie"].to_numpy()[before & identifying])


def person_facts(w: World, t: Timeline) -> pd.DataFrame:
    """One row per true person: latent traits plus the behaviour facts segments are checked against."""
    p = w.people
    n = len(p)
    cutoff = t.reference * DAY
    facts = pd.DataFrame(
        {
            "true_person_id": p["true_person_id"],
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "household_id": "H" + np.char.zfill(p["household"].to_numpy().astype(str), 7).astype(object),
            "country": p["country_code"],
            "city": p["city"],
            "time_zone": p["time_zone"],
            "propensity": p["propensity"].round(4),
            "preferred_local_hour": p["preferred_hour"],
            "preferred_weekdays": p["preferred_weekdays"],
            "apple_mail_privacy": p["mpp"],
            "preferred_channel": p["preferred_channel"],
            "birth_date": _date(p["birth_day"].to_numpy()),
            "namesake_of": np.where(p["namesake_of"] >= 0, p["true_person_id"].to_numpy()[np.maximum(p["namesake_of"], 0)], ""),
        }
    )
    # Birth dates and channel preferences only reach the pipeline on a live CRM contact that
    # carries them; a segment can only be expected to find what was delivered.
    c = w.contacts
    live = (c["created_at"].to_numpy() < cutoff) & (c["deleted_at"].to_numpy() >= cutoff)
    for column, carried in (("birth_date_delivered", c["date_of_birth"].to_numpy() != NEVER),
                            ("preferred_channel_delivered", c["preferred_channel"].to_numpy() != "")):
        facts[column] = np.bincount(c["person"].to_numpy()[live & carried], minlength=n) > 0

    reg = w.registrations
    delivered = drop_of(reg["start"].to_numpy(), t) <= t.reference
    facts["registered_webinars"] = np.bincount(reg["person"][delivered], minlength=n)
    facts["attended_webinars"] = np.bincount(reg["person"][delivered & reg["attended"].to_numpy()], minlength=n)

    o = w.orders
    counted = (o["created_at"].to_numpy() < cutoff) & ~o["status"].isin(CANCELLED_STATUSES).to_numpy()
    facts["orders"] = np.bincount(o["person"][counted], minlength=n)
    facts["total_spent"] = np.round(np.bincount(o["person"][counted], weights=o["total"][counted], minlength=n), 2)
    last_order = o[counted].groupby("person")["created_at"].max().reindex(np.arange(n)).to_numpy(dtype=float)
    facts["last_order_at"] = _iso(last_order)

    ev = w.web_events
    known = np.isin(ev["cookie"].to_numpy(), _known_cookies(w, cutoff)) & (ev["timestamp"].to_numpy() < cutoff)
    kind = ev["kind"].to_numpy()
    cart = known & np.isin(kind, [ADDED, CHECKOUT])
    last_cart = ev[cart].groupby("person")["timestamp"].max().reindex(np.arange(n)).to_numpy(dtype=float)
    facts["last_cart_activity_at"] = _iso(last_cart)
    viewed = known & (kind == VIEWED) & (ev["timestamp"].to_numpy() >= cutoff - 90 * DAY)
    names = pd.Series(np.array([c for c, _, _ in vocab.CATALOG], dtype=object)[ev["item"].to_numpy()[viewed]])
    seen = pd.DataFrame({"person": ev["person"].to_numpy()[viewed], "category": names.to_numpy()}).drop_duplicates()
    cats = seen.sort_values(["person", "category"]).groupby("person")["category"].agg(";".join)
    facts["categories_viewed_90d"] = cats.reindex(np.arange(n)).fillna("").to_numpy()

    facts["consent_final"] = _final_consent(w, t, n)
    withdrawn = w.crm_consent[w.crm_consent["source"].isin(["unsubscribe", "spam_report"]) & (w.crm_consent["at"] < cutoff)]
    unsub = np.zeros(n, dtype=bool)
    unsub[w.contacts["person"].to_numpy()[withdrawn["record"].to_numpy()]] = True
    facts["unsubscribed"] = unsub

    e = w.email_events
    hard = e[(e["etype"] == BOUNCE_HARD) & (e["time"] < cutoff)]
    c = w.contacts
    addr = np.where(hard["new_address"], c["new_email"].to_numpy()[hard["contact"]], c["email"].to_numpy()[hard["contact"]])
    bounced = pd.DataFrame({"person": c["person"].to_numpy()[hard["contact"]], "addr": pd.Series(addr, dtype=object).str.strip().str.lower()})
    facts["hard_bounced_emails"] = bounced.drop_duplicates().groupby("person").size().reindex(np.arange(n)).fillna(0).astype(int).to_numpy()

    er = w.erasures
    erased = np.zeros(n, dtype=bool)
    done = (er["person"].to_numpy() >= 0) & (drop_of(er["requested_at"].to_numpy(), t) <= t.reference)
    erased[er["person"].to_numpy()[done]] = True
    facts["erased"] = erased
    return facts


def _final_consent(w: World, t: Timeline, n: int) -> np.ndarray:
    """Latest explicit answer across CRM, store, webinar forms and email opt-outs; else unknown."""
    cutoff = t.reference * DAY
    # Snapshots only show records alive on the reference date: a deleted record's answer is gone.
    def live(records: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
        alive = (records["created_at"].to_numpy() < cutoff) & (records["deleted_at"].to_numpy() >= cutoff)
        rows = answers["record"].to_numpy()
        return answers[alive[rows]].assign(person=records["person"].to_numpy()[rows[alive[rows]]])

    withdrawal = w.crm_consent["source"].isin(["unsubscribe", "spam_report"]).to_numpy()
    opt_outs = w.crm_consent[withdrawal]  # email events stay visible even if the contact is deleted
    opt_outs = opt_outs.assign(person=w.contacts["person"].to_numpy()[opt_outs["record"].to_numpy()])
    crm = pd.concat([live(w.contacts, w.crm_consent[~withdrawal]), opt_outs], ignore_index=True)
    store = live(w.customers, w.store_consent)
    reg = w.registrations[w.registrations["consent"] < 2]
    web = pd.DataFrame({"person": reg["person"], "at": reg["registered_at"], "value": reg["consent"] == 0})
    web = web[drop_of(w.webinars["start"].to_numpy()[reg["webinar"].to_numpy()], t) <= t.reference]
    answers = pd.concat([crm[["person", "at", "value"]], store[["person", "at", "value"]], web], ignore_index=True)
    answers = answers[answers["at"] < cutoff].sort_values("at", kind="stable").drop_duplicates("person", keep="last")
    out = np.full(n, "unknown", dtype=object)
    out[answers["person"].to_numpy()] = np.where(answers["value"].to_numpy(dtype=bool), "granted", "denied")
    return out


def email_event_truth(w: World) -> pd.DataFrame:
    """For every OPEN and CLICK: was a human behind it, or a privacy proxy / link scanner?"""
    e = w.email_events
    rows = np.flatnonzero(e["etype"].isin([OPEN, CLICK]).to_numpy())
    ua = e["ua"].to_numpy()[rows]
    actor = np.where(e["human"].to_numpy()[rows], "human", np.where(ua < N_HUMAN + N_PROXY, "privacy_proxy", "link_scanner"))
    return pd.DataFrame({"event_id": (700_000_000 + rows * 3).astype(str), "actor": actor})


def write_truth(folder: Path, w: World, t: Timeline, meta: dict) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    records = identity_records(w, t)
    records.to_csv(folder / "records.csv", index=False, lineterminator="\n")
    facts = person_facts(w, t)
    visible = records[records["first_drop_date"] <= str(np.datetime64(t.reference, "D"))]
    facts["identity_records"] = visible.groupby("true_person_id").size().reindex(facts["true_person_id"]).fillna(0).astype(int).to_numpy()
    facts.to_csv(folder / "persons.csv", index=False, lineterminator="\n")
    email_event_truth(w).to_csv(folder / "email_events.csv", index=False, lineterminator="\n")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return len(records)

