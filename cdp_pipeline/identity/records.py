"""Identity records: one row per thing that can belong to a person, with normalised attributes.

The warehouse contract fixes what an identity record is (crm contact, webinar registration,
store account, order, browser cookie). Each source is reshaped into one common frame so that
linking, scoring and survivorship never need to know which system a value came from, plus a
long frame of every email a record was seen with (a CRM contact has several; a cookie collects
the addresses of its identify calls and form submissions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd

from cdp_pipeline.frames import isin, release_unused_memory
from cdp_pipeline.identity import normalize as nz

# Survivorship trust: a CRM contact is curated, a store account is typed by its owner, a webinar
# form is typed in a hurry, an order's billing name may be someone else's, a cookie's traits least.
SOURCE_TRUST = {"crm": 5, "store": 4, "webinar": 3, "order": 2, "web": 1}

ENGAGEMENT_EVENTS = ("OPEN", "CLICK")
SOURCE_COLUMNS = {
    "crm_contacts": ("record_id", "first_name", "last_name", "email", "additional_emails", "phone", "company_name",
                     "job_title", "street_address", "city", "postal_code", "country", "date_of_birth", "time_zone",
                     "create_date", "last_modified_date"),
    "webinar_attendees": ("webinar_id", "email_key", "email", "first_name", "last_name", "organization", "job_title",
                          "country", "registration_time", "join_time", "webinar_start"),
    "store_customers": ("customer_id", "first_name", "last_name", "email", "phone", "address1", "city", "zip",
                        "country_code", "created_at", "updated_at"),
    "store_orders": ("order_id", "customer_id", "email", "created_at", "billing_name", "billing_street",
                     "billing_city", "billing_zip", "billing_country"),
    "store_web_events": ("anonymous_id", "user_id", "order_id", "email", "form_email", "first_name", "last_name",
                         "timestamp"),
    "crm_email_events": ("record_id", "recipient", "event_type", "event_time"),
}
"""What ``build_records`` (and the attribution of events, ``attach``) reads of each source: all a
caller need load. The event extracts are most of the data and identity needs few of their columns."""
RECORD_COLUMNS = (
    "record_key", "source", "source_record_id", "first_name", "last_name", "first_fold",
    "first_canon", "last_fold", "last_latin", "email_norm", "phone", "street", "postcode", "city",
    "city_latin", "city_display", "postal_code", "country", "dob", "employer", "job_title", "time_zone", "seen_at",
    "trust", "customer_id",
)


def _s(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as string, all-NA when the extract did not carry it."""
    if column in frame.columns:
        return frame[column].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _ts(frame: pd.DataFrame, *columns: str) -> pd.Series:
    """First non-null timestamp among ``columns`` (UTC)."""
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    for column in columns:
        if column in frame.columns:
            out = out.fillna(pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]"))
    return out


def _blank(n: int) -> pd.Series:
    return pd.Series(pd.NA, index=range(n), dtype="string")


def _base(source: str, ids: pd.Series, n: int) -> dict[str, pd.Series]:
    ids = ids.astype("string").reset_index(drop=True)
    return {
        "record_key": (source + ":" + ids).astype("string"),
        "source": pd.Series([source] * n, dtype="string"),
        "source_record_id": ids,
    }


def _split_name(full: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'Ana María López' -> ('Ana', 'María López'): billing names carry no first/last split."""
    parts = full.astype("string").str.strip().str.split(" ", n=1)
    return parts.str[0].astype("string"), parts.str[1].astype("string")


def _crm(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(frame)
    f = frame.reset_index(drop=True)
    rec = _base("crm", _s(f, "record_id"), n) | {
        "first_name": _s(f, "first_name"), "last_name": _s(f, "last_name"),
        "phone_raw": _s(f, "phone"), "street_raw": _s(f, "street_address"),
        "city_display": _s(f, "city"), "postal_code": _s(f, "postal_code"),
        "country_raw": _s(f, "country"), "dob": pd.to_datetime(f.get("date_of_birth", pd.Series(pd.NaT, index=f.index))),
        "employer_raw": _s(f, "company_name"), "job_title_raw": _s(f, "job_title"),
        "time_zone": _s(f, "time_zone"),
        "seen_at": _ts(f, "last_modified_date", "create_date"),
        "customer_id": _blank(n),
    }
    records = pd.DataFrame(rec)
    primary = pd.DataFrame({"rec": np.arange(n), "email": _s(f, "email"), "origin": "primary"})
    extra = pd.DataFrame({"rec": np.arange(n), "email": _s(f, "additional_emails").str.split(r"[;,]")})
    extra = extra.explode("email").assign(origin="additional")
    emails = pd.concat([primary, extra], ignore_index=True)
    emails["seen_at"] = records["seen_at"].array.take(emails["rec"].to_numpy())
    return records, emails


def _webinar(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(frame)
    f = frame.reset_index(drop=True)
    key = _s(f, "email_key").fillna(_s(f, "email").str.strip().str.lower())
    records = pd.DataFrame(
        _base("webinar", _s(f, "webinar_id") + ":" + key, n) | {
            "first_name": _s(f, "first_name"), "last_name": _s(f, "last_name"),
            "phone_raw": _blank(n), "street_raw": _blank(n), "city_display": _blank(n),
            "postal_code": _blank(n), "country_raw": _s(f, "country"),
            "dob": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
            "employer_raw": _s(f, "organization"), "job_title_raw": _s(f, "job_title"),
            "time_zone": _blank(n),
            "seen_at": _ts(f, "join_time", "registration_time", "webinar_start"),
            "customer_id": _blank(n),
        }
    )
    emails = pd.DataFrame({"rec": np.arange(n), "email": _s(f, "email"), "origin": "webinar",
                           "seen_at": records["seen_at"]})
    return records, emails


def _store(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(frame)
    f = frame.reset_index(drop=True)
    records = pd.DataFrame(
        _base("store", _s(f, "customer_id"), n) | {
            "first_name": _s(f, "first_name"), "last_name": _s(f, "last_name"),
            "phone_raw": _s(f, "phone"), "street_raw": _s(f, "address1"),
            "city_display": _s(f, "city"), "postal_code": _s(f, "zip"),
            "country_raw": _s(f, "country_code"),
            "dob": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
            "employer_raw": _blank(n), "job_title_raw": _blank(n), "time_zone": _blank(n),
            "seen_at": _ts(f, "updated_at", "created_at"),
            "customer_id": _s(f, "customer_id"),
        }
    )
    emails = pd.DataFrame({"rec": np.arange(n), "email": _s(f, "email"), "origin": "store",
                           "seen_at": records["seen_at"]})
    return records, emails


def _orders(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One record per order (lines collapsed): its checkout email, billing name and address."""
    f = frame.sort_values(["order_id", "created_at"], kind="stable").drop_duplicates("order_id")
    f = f.reset_index(drop=True)
    n = len(f)
    first, last = _split_name(_s(f, "billing_name"))
    records = pd.DataFrame(
        _base("order", _s(f, "order_id"), n) | {
            "first_name": first, "last_name": last, "phone_raw": _blank(n),
            "street_raw": _s(f, "billing_street"), "city_display": _s(f, "billing_city"),
            "postal_code": _s(f, "billing_zip"), "country_raw": _s(f, "billing_country"),
            "dob": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
            "employer_raw": _blank(n), "job_title_raw": _blank(n), "time_zone": _blank(n),
            "seen_at": _ts(f, "created_at"), "customer_id": _s(f, "customer_id"),
        }
    )
    emails = pd.DataFrame({"rec": np.arange(n), "email": _s(f, "email"), "origin": "checkout",
                           "seen_at": records["seen_at"]})
    return records, emails


def _web(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One record per cookie: its identify traits and form emails, its last known name."""
    f = frame[_s(frame, "anonymous_id").notna()]
    ts = _ts(f, "timestamp")
    anon = _s(f, "anonymous_id")
    order = np.argsort(ts.to_numpy("datetime64[us]"), kind="stable")
    f, ts, anon = f.iloc[order], ts.iloc[order], anon.iloc[order]
    grouped = pd.DataFrame({
        "anon": anon, "first_name": _s(f, "first_name"), "last_name": _s(f, "last_name"),
        "user_id": _s(f, "user_id"), "seen_at": ts,
    }).groupby("anon", sort=True)
    agg = grouped.agg(first_name=("first_name", "last"), last_name=("last_name", "last"),
                      user_id=("user_id", "last"), seen_at=("seen_at", "max"))
    n = len(agg)
    records = pd.DataFrame(
        _base("web", pd.Series(agg.index, dtype="string"), n) | {
            "first_name": agg["first_name"].astype("string").reset_index(drop=True),
            "last_name": agg["last_name"].astype("string").reset_index(drop=True),
            "phone_raw": _blank(n), "street_raw": _blank(n), "city_display": _blank(n),
            "postal_code": _blank(n), "country_raw": _blank(n),
            "dob": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
            "employer_raw": _blank(n), "job_title_raw": _blank(n), "time_zone": _blank(n),
            "seen_at": agg["seen_at"].reset_index(drop=True),
            "customer_id": agg["user_id"].astype("string").reset_index(drop=True),
        }
    )
    position = pd.Series(np.arange(n), index=agg.index)
    long = pd.concat([
        pd.DataFrame({"anon": anon, "email": _s(f, "email"), "origin": "identify", "seen_at": ts}),
        pd.DataFrame({"anon": anon, "email": _s(f, "form_email"), "origin": "form", "seen_at": ts}),
    ]).dropna(subset=["email"])
    long = long.groupby(["anon", "email", "origin"], as_index=False, sort=False)["seen_at"].max()
    emails = pd.DataFrame({"rec": position.loc[long["anon"]].to_numpy(), "email": long["email"],
                           "origin": long["origin"], "seen_at": long["seen_at"]})
    # Every userId the cookie carried ties it to that store account, every completed order's id
    # to that order: system keys, not typed by anyone.
    users = pd.DataFrame({"anon": anon, "value": _s(f, "user_id")}).dropna().assign(kind="customer_id")
    orders = pd.DataFrame({"anon": anon, "value": _s(f, "order_id")}).dropna().assign(kind="order_id")
    keys = pd.concat([users, orders], ignore_index=True).drop_duplicates()
    keys = pd.DataFrame({"rec": position.loc[keys["anon"]].to_numpy(), "kind": keys["kind"].to_numpy(),
                         "value": keys["value"].to_numpy()})
    return records, emails, keys


class IdentityRecords(NamedTuple):
    """What resolution works on, built once from the source frames (a fraction of their size,
    so a caller can let the frames go).

    ``records``: one row per identity record with normalised attributes (``RECORD_COLUMNS``);
    ``emails``: ``rec`` (row position in records), ``email_norm``, ``email_valid``,
    ``email_role``, ``email_corrected``, ``origin``, ``seen_at``;
    ``system_keys``: ``rec``, ``kind`` (``customer_id`` or ``order_id``), ``value``: the store
    account and order ids a record carries (an account, its orders, the cookies that logged in
    or completed an order).
    """

    records: pd.DataFrame
    emails: pd.DataFrame
    system_keys: pd.DataFrame


def build_records(frames: Mapping[str, pd.DataFrame | None]) -> IdentityRecords:
    """Canonical frames (``SOURCE_COLUMNS`` suffice; a missing or None frame is skipped) -> records."""
    return _build_records(frames.get)


def build_records_releasing(frames: dict[str, pd.DataFrame | None]) -> IdentityRecords:
    """``build_records``, taking each frame out of ``frames`` as it is read, so its memory goes as
    soon as its records are built: at scale the source frames are several times the records (the
    web and email events alone 2 GiB at a million persons), and nothing after this needs them."""
    built = _build_records(frames.pop)
    frames.clear()
    release_unused_memory()
    return built


def _build_records(take: Callable[[str, None], pd.DataFrame | None]) -> IdentityRecords:
    """Records from the frames ``take(name, None)`` gives, holding none longer than its builder needs."""
    builders = (("crm_contacts", _crm), ("webinar_attendees", _webinar),
                ("store_customers", _store), ("store_orders", _orders))
    # Two threads (Arrow's and pandas' string kernels release the GIL): the web events, the
    # largest source, are built beside the other sources, and the CRM's mailing history beside
    # the normalising of the records. Not the web events beside the mailing history: together
    # their working sets took a 1M-person night's peak from 5.5 to 6.4 GiB.
    with ThreadPoolExecutor(1) as beside:
        web_built = _submitted(beside, _web, take("store_web_events", None))
        parts, email_parts, id_parts = [], [], []
        offset = 0
        crm_ids = pd.Series(dtype="string")
        for name, builder in builders:
            frame = take(name, None)
            if frame is None or frame.empty:
                continue
            recs, emails = builder(frame)
            del frame
            parts.append(recs)
            email_parts.append(emails.assign(rec=emails["rec"].to_numpy() + offset))
            rec = np.arange(len(recs)) + offset
            id_parts.append(pd.DataFrame({"rec": rec, "kind": "customer_id", "value": recs["customer_id"].to_numpy()}))
            if name == "crm_contacts":
                crm_ids = recs["source_record_id"].set_axis(rec)
            if name == "store_orders":
                id_parts.append(pd.DataFrame({"rec": rec, "kind": "order_id", "value": recs["source_record_id"].to_numpy()}))
            offset += len(recs)
        if web_built is not None:
            recs, emails, extra_ids = web_built.result()
            del web_built
            parts.append(recs)
            email_parts.append(emails.assign(rec=emails["rec"].to_numpy() + offset))
            id_parts.append(extra_ids.assign(rec=extra_ids["rec"].to_numpy() + offset))
            offset += len(recs)
        if not parts:
            raise ValueError("identity resolution needs at least one non-empty source frame")
        event_addresses = beside.submit(_email_event_addresses, take("crm_email_events", None), crm_ids)
        records = _normalise_records(pd.concat(parts, ignore_index=True))
        email_parts.append(event_addresses.result())
        del event_addresses
    emails = pd.concat(email_parts, ignore_index=True).dropna(subset=["email"])
    norm = nz.normalize_emails(emails["email"])
    emails = pd.concat([emails[["rec", "origin", "seen_at"]].reset_index(drop=True),
                        norm.reset_index(drop=True)], axis=1).dropna(subset=["email_norm"])
    emails = emails.astype({"rec": "int64"}).reset_index(drop=True)
    records["email_norm"] = _primary_email(emails, len(records))
    keys = pd.concat(id_parts, ignore_index=True).astype({"rec": "int64", "kind": "string", "value": "string"})
    keys["value"] = keys["value"].str.strip()
    keys = keys[keys["value"].notna() & (keys["value"] != "")].drop_duplicates()
    return IdentityRecords(records, emails, keys.reset_index(drop=True))


def _submitted(pool: ThreadPoolExecutor, build, frame: pd.DataFrame | None) -> Future | None:
    """``build(frame)`` started on ``pool``, or None for a missing or empty frame; only the pool
    holds the frame, so it goes when its build is done."""
    return pool.submit(build, frame) if frame is not None and not frame.empty else None


def _normalise_records(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw[["record_key", "source", "source_record_id"]].copy()
    out["first_name"] = raw["first_name"].str.strip().mask(raw["first_name"].str.strip() == "")
    out["last_name"] = raw["last_name"].str.strip().mask(raw["last_name"].str.strip() == "")
    out["first_fold"] = nz.fold_name(out["first_name"])
    out["first_canon"] = nz.canonical_first_name(nz.fold_name_as_spelt_in_latin(out["first_name"], out["first_fold"]))
    out["last_fold"] = nz.fold_name(out["last_name"])
    out["last_latin"] = nz.fold_name_as_spelt_in_latin(out["last_name"], out["last_fold"])
    out["email_norm"] = pd.Series(pd.NA, index=raw.index, dtype="string")
    out["country"] = nz.country_code(raw["country_raw"])
    out["phone"] = nz.normalize_phones(raw["phone_raw"], out["country"])
    out["street"] = nz.normalize_street(raw["street_raw"])
    out["postcode"] = nz.normalize_postcode(raw["postal_code"])
    out["city"] = nz.fold_text(raw["city_display"])
    out["city_latin"] = nz.fold_name_as_spelt_in_latin(raw["city_display"], out["city"])
    out["city_display"] = raw["city_display"].str.strip()
    out["postal_code"] = raw["postal_code"].str.strip()
    out["dob"] = pd.to_datetime(raw["dob"]).astype("datetime64[us]")
    out["employer"] = normalize_employer(raw["employer_raw"])
    out["job_title"] = nz.normalize_job_title(raw["job_title_raw"])
    out["time_zone"] = raw["time_zone"].str.strip()
    out["seen_at"] = raw["seen_at"].astype("datetime64[us, UTC]")
    out["trust"] = raw["source"].map(SOURCE_TRUST).astype("int8")
    out["customer_id"] = raw["customer_id"]
    return out[list(RECORD_COLUMNS)]


_COMPANY_SUFFIXES = r"\b(inc|llc|ltd|limited|gmbh|ag|sa|sl|srl|spa|bv|nv|plc|co|corp|corporation|company|group)\b"


def normalize_employer(names: pd.Series) -> pd.Series:
    """Company name folded without legal suffixes: 'Acme, Inc.' == 'ACME'."""
    def strip_suffixes(unique: pd.Series) -> pd.Series:
        folded = nz.fold_text(unique)  # lower-case letters, digits and single spaces
        stripped = folded.str.replace(_COMPANY_SUFFIXES, " ", regex=True).str.replace(" +", " ", regex=True)
        stripped = stripped.str.strip()
        return stripped.mask(stripped == "")

    return nz.on_unique(names, strip_suffixes)


def _primary_email(emails: pd.DataFrame, n: int) -> pd.Series:
    """A record's own valid address: its primary one, else its most recently seen one."""
    rank = emails["origin"].map({"primary": 0}).fillna(1)
    ordered = emails.assign(_rank=rank, _invalid=~emails["email_valid"]).sort_values(
        ["rec", "_invalid", "_rank", "seen_at"], ascending=[True, True, True, False], kind="stable"
    )
    first = ordered.drop_duplicates("rec")
    out = pd.Series(pd.NA, index=range(n), dtype="string")
    out.iloc[first["rec"].to_numpy()] = first["email_norm"].to_numpy()
    return out


def _email_event_addresses(events: pd.DataFrame | None, crm_ids: pd.Series) -> pd.DataFrame:
    """Recipients the CRM mailed under a Record ID belong to that contact (old addresses too)."""
    columns = {"rec": pd.Series(dtype="int64"), "email": pd.Series(dtype="string"),
               "origin": pd.Series(dtype="string"), "seen_at": pd.Series(dtype="datetime64[us, UTC]")}
    if events is None or events.empty or crm_ids.empty:
        return pd.DataFrame(columns)
    # Only opens and clicks are the person using the address; sends and bounces are the CRM's doing.
    engaged = _s(events, "event_type").isin(ENGAGEMENT_EVENTS).fillna(False).to_numpy()
    pairs = pd.DataFrame({"record_id": _s(events, "record_id"), "email": _s(events, "recipient"),
                          "seen_at": _ts(events, "event_time").where(engaged)}).dropna(subset=["record_id", "email"])
    pairs = pairs.groupby(["record_id", "email"], as_index=False, sort=False)["seen_at"].max()
    position = pd.Series(crm_ids.index.to_numpy(), index=crm_ids.to_numpy())
    position = position[~position.index.duplicated()]
    pairs = pairs[isin(pairs["record_id"], position.index)]
    return pd.DataFrame({"rec": position.loc[pairs["record_id"]].to_numpy(), "email": pairs["email"].to_numpy(),
                         "origin": "email_event", "seen_at": pairs["seen_at"].array})
