"""Writes the simulated world as nightly drops, one date folder per source per day.

Drop ``D`` holds the increments whose events happened on day ``D-1`` (the first drop also carries
the whole history backfill) and snapshots of the state at ``D`` 00:00 UTC. Flaws that the pipeline
must survive (repeated rows, re-delivered files, garbage values, malformed JSON, a truncated last
line) are *added* rows, so the truth about real records never depends on how a flaw is handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cdp_pipeline.extracts import (
    CRM_CONTACTS,
    CRM_EMAIL_EVENTS,
    ERASURE_REQUESTS,
    STORE_CUSTOMERS,
    STORE_ORDERS,
    WEBINAR_ATTENDEES,
    Extract,
)
from cdp_pipeline.synth import vocab
from cdp_pipeline.synth.dialects import (
    Dialect,
    choose_dialect,
    csv_line,
    csv_lines,
    dialect_offsets,
    format_booleans,
    format_dates,
    format_decimals,
    format_timestamps,
    header_text,
    json_strings,
    text_array,
)
from cdp_pipeline.synth.emails import EVENT_TYPES, USER_AGENTS
from cdp_pipeline.synth.people import DAY, NEVER, Timeline, stream
from cdp_pipeline.synth.web import expand, message_ids

EXTRA_COLUMNS = {
    "crm_contacts": ("Lifecycle Stage", ("lead", "subscriber", "customer", "opportunity", "")),
    "crm_email_events": ("Campaign Type", ("newsletter", "promotional", "transactional")),
    "store_customers": ("Note", ("", "", 'Asked for "gift wrap", twice', "Prefers DHL;\nleave at door")),
    "store_orders": ("Fulfillment Status", ("fulfilled", "unfulfilled", "partial", "")),
    "webinar_attendees": ("Source", ("LinkedIn", "Newsletter", "Website, footer", "")),
    "erasure_requests": ("Channel", ("web form", "email", "phone")),
}
# Optional columns a file may lack. Only descriptive ones: a missing consent, user agent or
# customer id column would change what the truth says about real records.
OMITTABLE = {
    "crm_contacts": ("Job Title", "Time Zone", "Date of Birth"),
    "crm_email_events": ("Campaign Name",),
    "store_customers": ("Tags", "Phone"),
    "store_orders": ("Lineitem Name", "Billing Street"),
    "webinar_attendees": ("Webinar Topic", "Organization", "Job Title"),
}
GARBAGE_TIMESTAMPS = ("2026-02-30 25:61:00", "not a date", "N/A", "31/31/2026", "0000-00-00T00:00:00Z", "yesterday")
SHOP_URL = "https://shop.example.com/"
CHUNK_ROWS = 250_000  # rows formatted at once: bounds memory on the big backfill files


@dataclass
class World:
    """Everything simulated, ready to be observed by the source systems."""

    people: pd.DataFrame
    companies: pd.DataFrame
    contacts: pd.DataFrame
    crm_consent: pd.DataFrame  # form answers + email withdrawals, by contact row
    customers: pd.DataFrame
    store_consent: pd.DataFrame
    webinars: pd.DataFrame
    registrations: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    cookies: pd.DataFrame
    web_events: pd.DataFrame
    campaigns: pd.DataFrame
    email_events: pd.DataFrame
    erasures: pd.DataFrame


@dataclass
class LandingStats:
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    flaws: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int, flaw: bool = False) -> None:
        target = self.flaws if flaw else self.rows
        target[key] = target.get(key, 0) + int(n)


def drop_of(times: np.ndarray, t: Timeline) -> np.ndarray:
    """The drop that delivers an event: the next day's, or the first drop for the backfill."""
    return np.maximum(np.asarray(times, dtype=np.int64) // DAY + 1, t.first_drop)


def _slicer(columns: dict[str, np.ndarray]):
    """A chunk builder over columns that are already formatted for all rows."""
    return lambda part: {name: np.asarray(values)[part] for name, values in columns.items()}


def _rename(extract: Extract, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {extract.column(name).header: values for name, values in columns.items()}


class LandingWriter:
    """Writes every drop of every source; one instance per generation run."""

    def __init__(self, out: Path, world: World, t: Timeline, seed: int):
        self.out, self.w, self.t, self.seed = out, world, t, seed
        self.rng = stream(seed, "landing")
        self.offsets = {e.name: dialect_offsets(stream(seed, "dialect-" + e.name)) for e in (
            CRM_CONTACTS, CRM_EMAIL_EVENTS, STORE_CUSTOMERS, STORE_ORDERS, WEBINAR_ATTENDEES, ERASURE_REQUESTS)}
        self.flaw_offset = int(self.rng.integers(0, 1000))
        self.stats = LandingStats()
        self.email_drop = drop_of(world.email_events["time"].to_numpy(), t)
        self.line_drop = drop_of(world.orders["created_at"].to_numpy()[world.lines["order"].to_numpy()], t)
        self.web_drop = drop_of(world.web_events["timestamp"].to_numpy(), t)
        self.webinar_drop = drop_of(world.webinars["start"].to_numpy(), t)
        self.erasure_drop = drop_of(world.erasures["requested_at"].to_numpy(), t)
        self.consent_crm = world.crm_consent.sort_values("at", kind="stable")
        self.consent_store = world.store_consent.sort_values("at", kind="stable")

    # -- helpers ---------------------------------------------------------------------------
    def _dialect(self, extract: Extract, i: int) -> Dialect:
        return choose_dialect(self.offsets[extract.name], i, crm=extract.source == "crm",
                              webinar=extract.name == "webinar_attendees")

    def _previous_delivery(self, drops: np.ndarray, d: int) -> np.ndarray:
        """Rows of the latest earlier daily drop that had any (the backfill is never re-sent)."""
        earlier = drops[(drops < d) & (drops > self.t.first_drop)]
        return np.flatnonzero(drops == earlier.max()) if len(earlier) else np.zeros(0, dtype=np.int64)

    def _flaw_due(self, i: int, period: int, phase: int) -> bool:
        return (i + self.flaw_offset + phase) % period == 0

    def _emit(self, path: Path, extract: Extract, build, rows: np.ndarray, dialect: Dialect, increment: bool,
              garbage=None, truncate: bool = False) -> None:
        """Writes one CSV file in chunks of rows: ``build(rows)`` gives the columns (canonical
        names), ``garbage(columns)`` optional extra bad rows; file-level variations and flaws here."""
        rng = self.rng
        headers = [c.header for c in extract.columns]
        order = list(headers)
        optional = OMITTABLE.get(extract.name, ())
        if dialect.omit_optional and optional:
            order.remove(optional[int(rng.integers(0, len(optional)))])
            self.stats.add("omitted_optional_column", 1, flaw=True)
        extra_name, extra_values = EXTRA_COLUMNS[extract.name]
        if dialect.extra_column:
            order.append(extra_name)
        if dialect.shuffle:
            order = [order[k] for k in rng.permutation(len(order))]
        errors = "synth_transliterate" if dialect.encoding == "cp1252" else "strict"
        path.parent.mkdir(parents=True, exist_ok=True)
        last_line = None
        with open(path, "w", encoding=dialect.encoding, errors=errors, newline="") as handle:
            handle.write(csv_line([header_text(h, dialect.header_style) for h in order], dialect))
            for start in range(0, len(rows), CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                columns = build(part)
                frame = pd.DataFrame(_rename(extract, columns))
                if increment:
                    dup = np.flatnonzero(rng.random(len(frame)) < 0.008)
                    frame = frame.iloc[np.sort(np.concatenate([np.arange(len(frame)), dup]))].reset_index(drop=True)
                    self.stats.add("repeated_rows", len(dup), flaw=True)
                bad = garbage(columns) if garbage is not None else None
                if bad is not None and len(next(iter(bad.values()))):
                    frame = pd.concat([frame, pd.DataFrame(_rename(extract, bad))], ignore_index=True)
                    self.stats.add("garbage_rows", len(next(iter(bad.values()))), flaw=True)
                frame[extra_name] = np.array(extra_values, dtype=object)[rng.integers(0, len(extra_values), size=len(frame))]
                lines = csv_lines(frame, order, dialect.delimiter)
                if len(lines):
                    handle.write(dialect.eol.join(lines) + dialect.eol)
                    last_line = lines[-1]
                self.stats.add(extract.name, len(part))
            if truncate and last_line is not None:
                handle.write(last_line[: max(3, len(last_line) // 2)].rstrip("\r\n"))
                self.stats.add("truncated_last_line", 1, flaw=True)
        self.stats.files += 1

    # -- per extract -------------------------------------------------------------------------
    def crm_contacts(self, d: int, i: int, folder: Path) -> None:
        w, dl = self.w, self._dialect(CRM_CONTACTS, i)
        c = w.contacts
        at = d * DAY
        live = (c["created_at"].to_numpy() < at) & (c["deleted_at"].to_numpy() >= at)
        rows = np.flatnonzero(live)
        answers = self.consent_crm[self.consent_crm["at"] < at].drop_duplicates("record", keep="last").set_index("record")
        value = answers["value"].reindex(rows).to_numpy(dtype=object)
        value = np.where(pd.isna(value), None, value)
        value_at = answers["at"].reindex(rows).to_numpy(dtype=float)
        no_answer = np.isnan(value_at)
        value_at = np.where(no_answer, 0, value_at).astype(np.int64)
        updated = c["update_at"].to_numpy()[rows] < at
        pick = lambda old, new: np.where(updated, c[new].to_numpy()[rows], c[old].to_numpy()[rows])  # noqa: E731
        created = c["created_at"].to_numpy()[rows]
        modified = np.maximum.reduce([created, value_at, np.where(updated, c["update_at"].to_numpy()[rows], 0)])
        dob = c["date_of_birth"].to_numpy()[rows]
        r = self.rng
        columns = {
            "record_id": c["record_id"].to_numpy()[rows],
            "first_name": c["first_name"].to_numpy()[rows],
            "last_name": c["last_name"].to_numpy()[rows],
            "email": pick("email", "new_email"),
            "additional_emails": pick("additional_emails", "new_additional"),
            "phone": c["phone"].to_numpy()[rows],
            "company_name": pick("company_name", "new_company_name"),
            "job_title": pick("job_title", "new_job_title"),
            "street_address": c["street_address"].to_numpy()[rows],
            "city": c["city"].to_numpy()[rows],
            "postal_code": c["postal_code"].to_numpy()[rows],
            "country": c["country"].to_numpy()[rows],
            "date_of_birth": format_dates(dob, dl.day_first_dates, dob == NEVER),
            "time_zone": c["time_zone"].to_numpy()[rows],
            "preferred_channel": c["preferred_channel"].to_numpy()[rows],
            "marketing_email_opt_in": format_booleans(value, dl.boolean_style),
            "opt_in_updated_at": format_timestamps(value_at, dl.timestamp_style, r, no_answer),
            "create_date": format_timestamps(created, dl.timestamp_style, r),
            "last_modified_date": format_timestamps(modified, dl.timestamp_style, r),
        }
        self._emit(folder / "contacts.csv", CRM_CONTACTS, _slicer(columns), np.arange(len(rows)), dl, increment=False)

    def _email_rows(self, d: int, i: int) -> np.ndarray:
        rows = np.flatnonzero(self.email_drop == d)
        if i > 1 and self._flaw_due(i, 5, 0):  # an earlier file delivered again inside today's
            again = self._previous_delivery(self.email_drop, d)
            self.stats.add("redelivered_rows", len(again), flaw=True)
            rows = np.concatenate([again, rows])
        return rows

    def crm_email_events(self, d: int, i: int, folder: Path) -> None:
        w, dl, r = self.w, self._dialect(CRM_EMAIL_EVENTS, i), self.rng
        rows = self._email_rows(d, i)
        if len(rows) == 0:
            return
        ev = w.email_events

        def build(rows: np.ndarray) -> dict[str, np.ndarray]:
            contact = ev["contact"].to_numpy()[rows]
            camp = ev["campaign"].to_numpy()[rows]
            new = ev["new_address"].to_numpy()[rows]
            ua = ev["ua"].to_numpy()[rows]
            link = ev["link"].to_numpy()[rows]
            cid = w.campaigns["campaign_id"].to_numpy()[camp]
            paths = np.array(vocab.LINK_PATHS, dtype=object)[np.maximum(link, 0)]
            return {
                "event_id": (700_000_000 + rows * 3).astype(str).astype(object),
                "campaign_id": cid,
                "campaign_name": w.campaigns["name"].to_numpy()[camp],
                "recipient": np.where(new, w.contacts["new_email"].to_numpy()[contact], w.contacts["email"].to_numpy()[contact]),
                "record_id": np.where(r.random(len(rows)) < 0.08, "", w.contacts["record_id"].to_numpy()[contact]),
                "event_type": np.array(EVENT_TYPES, dtype=object)[ev["etype"].to_numpy()[rows]],
                "event_time": format_timestamps(ev["time"].to_numpy()[rows], dl.timestamp_style, r),
                "user_agent": np.where(ua >= 0, np.array(USER_AGENTS, dtype=object)[np.maximum(ua, 0)], ""),
                "link_url": np.where(link >= 0, SHOP_URL + paths + "?utm_source=email&utm_campaign=" + cid, ""),
            }

        def garbage(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            """Copies of real rows under new Event IDs whose timestamp no parser accepts."""
            k = r.integers(0, len(columns["event_id"]), size=int(r.binomial(len(columns["event_id"]), 0.003)))
            bad = {name: values[k] for name, values in columns.items()}
            bad["event_id"] = ("G" + pd.Series(bad["event_id"], dtype=object) + f"-{d}").to_numpy(dtype=object)
            bad["event_time"] = np.array(GARBAGE_TIMESTAMPS, dtype=object)[r.integers(0, len(GARBAGE_TIMESTAMPS), size=len(k))]
            unique = ~pd.Series(bad["event_id"]).duplicated().to_numpy()
            return {name: values[unique] for name, values in bad.items()}

        self._emit(folder / "email_events.csv", CRM_EMAIL_EVENTS, build, rows, dl, increment=True, garbage=garbage,
                   truncate=self._flaw_due(i, 4, 1))

    def store_customers(self, d: int, i: int, folder: Path) -> None:
        w, dl, r = self.w, self._dialect(STORE_CUSTOMERS, i), self.rng
        c = w.customers
        at = d * DAY
        rows = np.flatnonzero((c["created_at"].to_numpy() < at) & (c["deleted_at"].to_numpy() >= at))
        answers = self.consent_store[self.consent_store["at"] < at].drop_duplicates("record", keep="last").set_index("record")
        value = answers["value"].reindex(rows).to_numpy(dtype=object)
        value = np.where(pd.isna(value), None, value)
        value_at = answers["at"].reindex(rows).to_numpy(dtype=float)
        value_at = np.where(np.isnan(value_at), 0, value_at).astype(np.int64)
        created = c["created_at"].to_numpy()[rows]
        columns = {
            "customer_id": c["customer_id"].to_numpy()[rows],
            "first_name": c["first_name"].to_numpy()[rows],
            "last_name": c["last_name"].to_numpy()[rows],
            "email": c["email"].to_numpy()[rows],
            "phone": c["phone"].to_numpy()[rows],
            "accepts_email_marketing": format_booleans(value, dl.boolean_style),
            "email_marketing_consent_updated_at": format_timestamps(value_at, dl.timestamp_style, r),
            "address1": c["address1"].to_numpy()[rows],
            "city": c["city"].to_numpy()[rows],
            "zip": c["zip"].to_numpy()[rows],
            "country_code": c["country_code"].to_numpy()[rows],
            "created_at": format_timestamps(created, dl.timestamp_style, r),
            "updated_at": format_timestamps(np.maximum(created, value_at), dl.timestamp_style, r),
            "tags": c["tags"].to_numpy()[rows],
        }
        self._emit(folder / "customers.csv", STORE_CUSTOMERS, _slicer(columns), np.arange(len(rows)), dl, increment=False)

    def store_orders(self, d: int, i: int, folder: Path) -> None:
        w, dl, r = self.w, self._dialect(STORE_ORDERS, i), self.rng
        rows = np.flatnonzero(self.line_drop == d)
        if i > 1 and self._flaw_due(i, 5, 2):
            again = self._previous_delivery(self.line_drop, d)
            self.stats.add("redelivered_rows", len(again), flaw=True)
            rows = np.concatenate([again, rows])
        if len(rows) == 0:
            return
        lines, orders = w.lines, w.orders

        def build(rows: np.ndarray) -> dict[str, np.ndarray]:
            o = lines["order"].to_numpy()[rows]
            col = lambda name: orders[name].to_numpy()[o]  # noqa: E731
            return {
                "order_id": col("order_id"),
                "customer_id": col("customer_id"),
                "email": col("email"),
                "created_at": format_timestamps(col("created_at"), dl.timestamp_style, r),
                "financial_status": col("status"),
                "currency": col("currency"),
                "total": format_decimals(col("total"), dl.decimal_comma),
                "lineitem_sku": lines["sku"].to_numpy()[rows],
                "lineitem_name": lines["name"].to_numpy()[rows],
                "lineitem_category": lines["category"].to_numpy()[rows],
                "lineitem_quantity": lines["quantity"].to_numpy()[rows].astype(str).astype(object),
                "lineitem_price": format_decimals(lines["price"].to_numpy()[rows], dl.decimal_comma),
                "billing_name": col("billing_name"),
                "billing_street": col("billing_street"),
                "billing_city": col("billing_city"),
                "billing_zip": col("billing_zip"),
                "billing_country": col("billing_country"),
            }

        def garbage(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            """An extra line (its own SKU) in a real order, with a quantity or price no order has."""
            k = r.integers(0, len(columns["order_id"]), size=int(r.binomial(len(columns["order_id"]), 0.01)))
            bad = {name: values[k] for name, values in columns.items()}
            bad["lineitem_sku"] = np.full(len(k), "SKU-0000", dtype=object)
            kind = r.integers(0, 3, size=len(k))
            bad["lineitem_quantity"] = np.where(kind == 0, "-2", np.where(kind == 1, "-1", "1")).astype(object)
            bad["lineitem_price"] = np.where(kind == 2, "abc", bad["lineitem_price"]).astype(object)
            unique = ~pd.Series(bad["order_id"]).duplicated().to_numpy()
            return {name: values[unique] for name, values in bad.items()}

        self._emit(folder / "orders.csv", STORE_ORDERS, build, rows, dl, increment=True, garbage=garbage,
                   truncate=self._flaw_due(i, 4, 3))

    def store_web_events(self, d: int, i: int, folder: Path) -> None:
        r = self.rng
        rows = np.flatnonzero(self.web_drop == d)
        if i > 1 and self._flaw_due(i, 5, 4):
            again = self._previous_delivery(self.web_drop, d)
            self.stats.add("redelivered_rows", len(again), flaw=True)
            rows = np.concatenate([again, rows])
        if len(rows) == 0:
            return
        style = ("iso_millis", "iso_z", "iso_offset")[(i + self.flaw_offset) % 3]
        eol = "\r\n" if (i + self.flaw_offset) % 3 == 1 else "\n"
        path = folder / "web_events.jsonl"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            for start in range(0, len(rows), CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                w = self.w
                events = expand(w.web_events.iloc[part], w.cookies, w.customers, w.orders)
                events["message_id"] = message_ids(part, self.seed)
                lines = web_json_lines(events, r, style)
                content = self._json_flaws(lines)
                if start + CHUNK_ROWS >= len(rows) and self._flaw_due(i, 4, 2):
                    content = np.append(content, content[-1][: len(content[-1]) // 2])
                    self.stats.add("truncated_last_line", 1, flaw=True)
                    handle.write(eol.join(content))
                else:
                    handle.write(eol.join(content) + eol)
                self.stats.add("store_web_events", len(lines))
        self.stats.files += 1

    def _json_flaws(self, lines: np.ndarray) -> np.ndarray:
        """Mixes in repeated lines, malformed copies and lines with a garbage timestamp."""
        r = self.rng
        dup = np.flatnonzero(r.random(len(lines)) < 0.008)
        self.stats.add("repeated_rows", len(dup), flaw=True)
        bad = r.integers(0, len(lines), size=max(1, int(r.binomial(len(lines), 0.005))))
        broken = malformed(lines[bad], r)
        self.stats.add("malformed_json_lines", len(broken), flaw=True)
        garbage_k = r.integers(0, len(lines), size=int(r.binomial(len(lines), 0.002)))
        stamp = GARBAGE_TIMESTAMPS[int(r.integers(0, len(GARBAGE_TIMESTAMPS)))]
        garbage = (
            pd.Series(lines[garbage_k], dtype=object)
            .str.replace(r'"timestamp":"[^"]*"', f'"timestamp":"{stamp}"', regex=True)
            .str.replace('"messageId":"ajs-', '"messageId":"ajs-x', regex=False)
            .to_numpy(dtype=object)
        )
        self.stats.add("garbage_rows", len(garbage), flaw=True)
        position = np.concatenate([np.arange(len(lines)), dup, bad, garbage_k]).astype(float)
        position[len(lines) :] += r.random(len(position) - len(lines))
        return np.concatenate([lines, lines[dup], broken, garbage])[np.argsort(position, kind="stable")]

    def webinar_reports(self, d: int, i: int, folder: Path) -> None:
        w, r = self.w, self.rng
        regs = w.registrations
        todays = list(np.flatnonzero(self.webinar_drop == d))
        if i > 0 and self._flaw_due(i, 6, 5):  # the previous report is exported again
            earlier = np.flatnonzero((self.webinar_drop < d) & (self.webinar_drop >= d - 7))
            if len(earlier):
                todays.append(int(earlier[-1]))
                self.stats.add("redelivered_files", 1, flaw=True)
        for k, web in enumerate(todays):
            dl = self._dialect(WEBINAR_ATTENDEES, i + k)
            rows = np.flatnonzero(regs["webinar"].to_numpy() == web)
            if len(rows) == 0:
                continue
            g = lambda name: regs[name].to_numpy()[rows]  # noqa: E731
            attended = g("attended")
            consent = g("consent")
            columns = {
                "webinar_id": g("webinar_id"),
                "webinar_topic": g("topic"),
                "webinar_start": format_timestamps(g("start"), dl.timestamp_style, r),
                "attended": format_booleans(attended, dl.boolean_style),
                "first_name": g("first_name"),
                "last_name": g("last_name"),
                "email": g("email"),
                "organization": g("organization"),
                "job_title": g("job_title"),
                "country": g("country"),
                "registration_time": format_timestamps(g("registered_at"), dl.timestamp_style, r),
                "join_time": format_timestamps(g("join_at"), dl.timestamp_style, r, ~attended),
                "leave_time": format_timestamps(g("leave_at"), dl.timestamp_style, r, ~attended),
                "time_in_session_minutes": np.where(attended, g("minutes").astype(str), ""),
                "marketing_consent": format_booleans(np.where(consent == 0, True, np.where(consent == 1, False, None)), dl.boolean_style),
            }
            webinar_id = w.webinars["webinar_id"].iloc[web]
            name = ("attendees_{}.csv", "attendees_report_{}.csv", "attendees-{}-export.csv")[(web + i) % 3].format(webinar_id)
            self._emit(folder / name, WEBINAR_ATTENDEES, _slicer(columns), np.arange(len(rows)), dl, increment=True)

    def erasure_requests(self, d: int, i: int, folder: Path) -> None:
        w, dl, r = self.w, self._dialect(ERASURE_REQUESTS, i), self.rng
        rows = np.flatnonzero(self.erasure_drop == d)
        if len(rows) == 0 and not self._flaw_due(i, 3, 0):
            return  # quiet day, no file; on other quiet days a header-only file
        e = w.erasures
        columns = {
            "request_id": e["request_id"].to_numpy()[rows],
            "email": e["email"].to_numpy()[rows],
            "requested_at": format_timestamps(e["requested_at"].to_numpy()[rows], dl.timestamp_style, r),
        }
        self._emit(folder / "erasure_requests.csv", ERASURE_REQUESTS, _slicer(columns), np.arange(len(rows)), dl, increment=True)

    # -- all drops ---------------------------------------------------------------------------
    def write(self) -> LandingStats:
        t = self.t
        for i, d in enumerate(t.drops):
            date = str(np.datetime64(int(d), "D"))
            complete = d != t.last_drop
            folders = {s: self.out / s / date for s in ("webinar", "crm", "store", "privacy")}
            for folder in folders.values():
                folder.mkdir(parents=True, exist_ok=True)
            self.webinar_reports(d, i, folders["webinar"])
            self.crm_contacts(d, i, folders["crm"])
            self.crm_email_events(d, i, folders["crm"])
            self.store_customers(d, i, folders["store"])
            self.store_orders(d, i, folders["store"])
            self.store_web_events(d, i, folders["store"])
            self.erasure_requests(d, i, folders["privacy"])
            if complete:
                for folder in folders.values():
                    (folder / "_SUCCESS").touch()
        return self.stats


def web_json_lines(ev: pd.DataFrame, rng: np.random.Generator, style: str) -> np.ndarray:
    """Segment-like JSON objects, one per line, built column-wise (no per-row json.dumps)."""
    if len(ev) == 0:
        return np.zeros(0, dtype=object)
    ts = text_array(format_timestamps(ev["timestamp"].to_numpy(), style, rng))
    ident = lambda col: json_strings(ev[col].to_numpy(), escape=False)  # noqa: E731
    free = lambda col: json_strings(ev[col].to_numpy())  # noqa: E731
    cat = lambda *parts: pc.binary_join_element_wise(*parts, "")  # noqa: E731
    kind = ev["type"].to_numpy()
    price = ev["price"].to_numpy(dtype=float)
    price_text = text_array(np.where(np.isnan(price), "null", format_decimals(price, comma=False)))
    props = cat('{"category":', ident("category"), ',"sku":', ident("sku"), ',"price":', price_text,
                ',"order_id":', ident("order_id"), ',"form":', ident("form"), ',"email":', free("form_email"), "}")
    traits = cat('{"email":', free("email"), ',"first_name":', free("first_name"), ',"last_name":', free("last_name"), "}")
    track_body = cat(',"event":', ident("event"), ',"properties":', props)
    body = pc.if_else(pa.array(kind == "track"), track_body,
                      pc.if_else(pa.array(kind == "identify"), cat(',"traits":', traits), ',"properties":{}'))
    line = cat('{"messageId":', ident("message_id"), ',"type":', ident("type"), ',"anonymousId":', ident("anonymous_id"),
               ',"userId":', ident("user_id"), ',"timestamp":"', ts, '"', body, "}")
    return line.to_numpy(zero_copy_only=False)


def malformed(lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Broken copies of real lines: cut short, single-quoted, or with a trailing comma."""
    s = pd.Series(lines, dtype=object)
    how = rng.integers(0, 3, size=len(s))
    cut = s.str[:40]
    single = s.str.replace('"', "'", regex=False)
    comma = s.str[:-1] + ",}"
    return np.where(how == 0, cut, np.where(how == 1, single, comma)).astype(object)
