"""Point-in-time engagement features and labels.

``engagement_features(data, cut)`` is the only way features are made, for training cuts and for
scoring alike, so the two cannot drift apart. Every source is masked to events strictly before
``cut`` *before* anything is derived from it, including the human/machine flags (whose
recipient-pattern rule looks at a recipient's whole history): an event at or after the cut
changes no feature.

``data`` is either a dict of person-attributed frames or the same frames already encoded by
``prepare_engagement_data`` (training encodes once and cuts three times). Each frame may be
absent and optional columns may be missing:

* ``email_events`` (or ``crm_email_events``): campaign_id, recipient, event_type, event_time,
  user_agent, link_url, person_id
* ``orders`` (or ``store_orders``): order_id, created_at, total, financial_status,
  lineitem_category, person_id (one row per order line)
* ``web_events`` (or ``store_web_events``): timestamp, event, category, anonymous_id, user_id,
  person_id
* ``webinar_registrations`` (or ``webinar_attendees``): webinar_start, attended,
  registration_time, person_id
* ``profiles``: person_id, email_consent, consent_updated_at, primary_email

Counts are 0 when a person has no such event; "days since" features are NaN when there was
never one (gradient boosting treats missing values natively; a made-up 9999 would distort the
baselines). An email is one campaign to one address; opens and clicks count emails, not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import EMAIL_EVENT_TYPES
from cdp_pipeline.frames import distinct, distinct_per_key, extract
from cdp_pipeline.models.human_engagement import (
    CLICK,
    DELIVERED,
    OPEN,
    SENT,
    EncodedEmailEvents,
    MachineRules,
    encode_email_events,
    machine_reason_codes,
    min_per_key,
    time_us,
)

EMAIL_TYPE = {name: code for code, name in enumerate(EMAIL_EVENT_TYPES)}
WINDOWS = (7, 30, 90)
SESSION_GAP_US = 30 * 60e6
LABEL_WINDOW_DAYS = 30
DAY_US = 86_400e6
# Weak fixed prior for the smoothed response rate (one response in four sends): 1 of 1 is
# less certain than 20 of 20; fixed, so a person's value never depends on who else is scored.
PRIOR_RESPONSES, PRIOR_SENDS = 1.0, 4.0

ENGAGEMENT_COLUMNS = {
    "email_events": ("event_time", "campaign_id", "recipient", "event_type", "user_agent", "link_url"),
    "orders": ("created_at", "order_id", "total", "financial_status", "lineitem_category"),
    "web_events": ("timestamp", "anonymous_id", "user_id", "event", "category"),
    "webinar_registrations": ("webinar_start", "attended", "registration_time"),
}
"""What the features read of each attributed frame besides ``person_id``, its time first."""

FRAME_ALIASES = {
    "email_events": ("email_events", "crm_email_events"),
    "orders": ("orders", "store_orders"),
    "web_events": ("web_events", "store_web_events"),
    "webinar_registrations": ("webinar_registrations", "webinar_attendees"),
    "profiles": ("profiles",),
}

# Second-level labels of consumer mailbox providers (and frequent typos of them); every other
# domain is taken as a work (company) domain.
PERSONAL_DOMAIN_LABELS = frozenset(
    "gmail googlemail gmial gmal yahoo ymail yaho hotmail hotmal hotmial outlook live msn "
    "icloud me mac aol gmx web proton protonmail pm mail yandex orange free laposte sfr "
    "wanadoo libero virgilio tiscali alice t-online freenet btinternet sky talktalk "
    "virginmedia ntlworld qq 163 126 naver daum hanmail terra uol bol ig telefonica movistar "
    "comcast verizon att sbcglobal bellsouth cox charter earthlink bigpond optusnet shaw "
    "rogers sympatico videotron telus seznam wp o2 interia onet rambler ukr".split()
)

# Features left NaN (not 0) for a person with no history of that kind.
NAN_WHEN_NEVER = frozenset(
    {
        "days_since_last_send", "days_since_first_send", "days_since_last_open", "days_since_last_click",
        "open_rate_90d", "click_to_open_90d", "days_since_last_order", "average_order_value",
        "days_since_last_web", "days_since_last_webinar", "tenure_days", "is_work_domain",
    }
)

SECOND_LEVEL_SUFFIXES = frozenset({"co", "com", "net", "org", "ac", "gov", "ne", "or", "gob", "edu"})


def get_frame(frames: dict[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The frame under its short name or its extract name, or None when absent."""
    for alias in FRAME_ALIASES[name]:
        if frames.get(alias) is not None:
            return frames[alias]
    return None


def as_utc(moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _instant_us(moment) -> float:
    return float(as_utc(moment).value // 1000)


def work_domain_flags(emails: pd.Series) -> np.ndarray:
    """1.0 for a company domain, 0.0 for a consumer mailbox provider, NaN when unknown."""
    codes, uniques = pd.factorize(pd.Series(emails, dtype="string"))
    domain = pd.Series(uniques, dtype="string").str.strip().str.lower().str.replace(r"(?s)^.*@", "", regex=True)
    second = extract(domain, r"(?:^|\.)(?P<label>[^.]*)\.[^.]*$")  # the label before the last
    third = extract(domain, r"(?:^|\.)(?P<label>[^.]*)\.[^.]*\.[^.]*$")
    # yahoo.co.uk, bigpond.com.au: the provider sits before a two-part public suffix.
    second = second.where(~(second.isin(SECOND_LEVEL_SUFFIXES) & third.notna()), third)
    flag = (~second.isin(PERSONAL_DOMAIN_LABELS)).astype(float).where(second.notna() & (second != ""))
    values = flag.to_numpy(dtype=float, na_value=np.nan)
    return np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else np.nan, np.nan)


@dataclass
class _Events:
    """One source as arrays: global person code and event time, plus source-specific columns."""

    person: np.ndarray
    time: np.ndarray
    columns: dict[str, np.ndarray]


@dataclass
class EngagementData:
    """All sources encoded once against one global person index (see module docstring)."""

    persons: pd.Index
    email: EncodedEmailEvents | None
    email_person: np.ndarray  # per email event: person code (-1 when unattributed)
    recipient_work: np.ndarray  # per recipient code: work domain flag
    orders: _Events | None
    web: _Events | None  # rows sorted by (cookie, time) so sessions are one pass
    webinars: _Events | None
    consent: np.ndarray  # per person: granted 1 / denied -1 / unknown 0
    consent_updated: np.ndarray  # per person: time of that answer (NaN when unknown)
    profile_work: np.ndarray  # per person: work flag of the primary email

    def codes(self, person_ids) -> np.ndarray:
        return self.persons.get_indexer(pd.Index(person_ids))


def _person_ids(frame: pd.DataFrame | None) -> pd.Index:
    if frame is None or "person_id" not in frame:
        return pd.Index([])
    return pd.Index(frame["person_id"].dropna().unique())


def person_codes(person_ids: pd.Series, persons: pd.Index) -> np.ndarray:
    """Position of each row's person in ``persons`` (-1 when absent), looked up once per id."""
    codes, uniques = pd.factorize(person_ids)
    positions = persons.get_indexer(pd.Index(uniques))
    return np.where(codes >= 0, positions[np.maximum(codes, 0)] if len(positions) else -1, -1)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="string")


def _encode_orders(orders: pd.DataFrame, persons: pd.Index) -> _Events:
    """Order lines: an order counts once (Total repeats on every line); voided orders do not
    count, refunded ones earn nothing."""
    status = _column(orders, "financial_status").astype("string").str.strip().str.lower()
    person = person_codes(orders["person_id"], persons)
    first_line = ~pd.DataFrame({"p": person, "o": _column(orders, "order_id").to_numpy()}).duplicated().to_numpy()
    counted = first_line & ~status.isin(("voided",)).fillna(False).to_numpy()
    earning = counted & ~status.isin(("refunded",)).fillna(False).to_numpy()
    total = pd.to_numeric(_column(orders, "total"), errors="coerce").fillna(0.0).to_numpy(dtype=float)
    return _Events(
        person=person,
        time=time_us(orders["created_at"]),
        columns={
            "order": counted,
            "spend": np.where(earning, total, 0.0),
            "earning": earning,
            "category": pd.factorize(_column(orders, "lineitem_category"))[0],
        },
    )


def _encode_web(web: pd.DataFrame, persons: pd.Index) -> _Events:
    """Sorted by (cookie, time); the cookie is the anonymousId, else the userId, else the person."""
    cookie = _column(web, "anonymous_id").astype("string")
    cookie = cookie.fillna(_column(web, "user_id").astype("string"))
    cookie = cookie.fillna("person:" + web["person_id"].astype("string"))
    cookie_code = pd.factorize(cookie)[0]
    times = time_us(web["timestamp"])
    order = np.lexsort((times, cookie_code))
    event = _column(web, "event").astype("string")
    return _Events(
        person=person_codes(web["person_id"], persons)[order],
        time=times[order],
        columns={
            "cookie": cookie_code[order],
            "cart": event.isin(("Product Added", "Checkout Started")).fillna(False).to_numpy()[order],
            "category": pd.factorize(_column(web, "category"))[0][order],
        },
    )


def _encode_webinars(webinars: pd.DataFrame, persons: pd.Index) -> _Events:
    """A registration is known from its registration time (else the start); attendance only
    once the webinar has started."""
    start = time_us(webinars["webinar_start"])
    registered = time_us(webinars["registration_time"]) if "registration_time" in webinars else start.copy()
    registered = np.where(np.isnan(registered), start, registered)
    attended = webinars["attended"].fillna(False).to_numpy(dtype=bool) if "attended" in webinars else np.zeros(len(webinars), bool)
    return _Events(person=person_codes(webinars["person_id"], persons), time=registered, columns={"start": start, "attended": attended})


def _attributed(
    frame: pd.DataFrame | None, time_column: str, columns: tuple[str, ...], keep_unattributed: bool = False
) -> pd.DataFrame | None:
    """The columns used (copying wide frames is slow) of the rows with a person; email events
    keep unattributed rows (masked later by person code) to avoid copying the largest frame."""
    if frame is None or time_column not in frame or "person_id" not in frame:
        return None
    narrow = frame[[c for c in dict.fromkeys(("person_id", time_column, *columns)) if c in frame]]
    if keep_unattributed:
        return narrow
    has_person = narrow["person_id"].notna().to_numpy()
    return narrow if has_person.all() else narrow[has_person]


def prepare_engagement_data(frames: dict[str, pd.DataFrame]) -> EngagementData:
    """Encode every source once; cutting is then masking (see ``engagement_features``)."""
    def read(name: str, **keep) -> pd.DataFrame | None:
        time_column, *columns = ENGAGEMENT_COLUMNS[name]
        return _attributed(get_frame(frames, name), time_column, tuple(columns), **keep)

    email = read("email_events", keep_unattributed=True)
    orders, web, webinars = read("orders"), read("web_events"), read("webinar_registrations")
    profiles = get_frame(frames, "profiles")
    persons = _person_ids(profiles)
    for frame in (email, orders, web, webinars):
        persons = persons.append(_person_ids(frame))
    persons = pd.Index(persons.unique(), name="person_id")

    encoded = encode_email_events(email) if email is not None else None

    n = len(persons)
    consent, consent_updated, profile_work = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    if profiles is not None and "person_id" in profiles:
        rows = profiles[profiles["person_id"].notna()].drop_duplicates("person_id")
        where = persons.get_indexer(rows["person_id"])
        if "email_consent" in rows:
            state = rows["email_consent"].astype("string").str.strip().str.lower()
            consent[where] = state.map({"granted": 1.0, "denied": -1.0}).astype(float).fillna(0.0).to_numpy()
        if "consent_updated_at" in rows:
            consent_updated[where] = time_us(rows["consent_updated_at"])
        if "primary_email" in rows:
            profile_work[where] = work_domain_flags(rows["primary_email"])

    return EngagementData(
        persons=persons,
        email=encoded,
        email_person=person_codes(email["person_id"], persons) if email is not None else np.zeros(0, np.int64),
        recipient_work=work_domain_flags(pd.Series(encoded.recipients)) if encoded is not None else np.zeros(0),
        orders=_encode_orders(orders, persons) if orders is not None else None,
        web=_encode_web(web, persons) if web is not None else None,
        webinars=_encode_webinars(webinars, persons) if webinars is not None else None,
        consent=consent,
        consent_updated=consent_updated,
        profile_work=profile_work,
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


class _Aggregator:
    """Per-person aggregations over one cut: counts, windows, minima of ages in days."""

    def __init__(self, n_persons: int, cut_us: float):
        self.n, self.cut_us = n_persons, cut_us

    def ages(self, times: np.ndarray) -> np.ndarray:
        return (self.cut_us - times) / DAY_US

    def count(self, person: np.ndarray, weights=None) -> np.ndarray:
        return np.bincount(person, weights=weights, minlength=self.n).astype(float)

    def windows(self, prefix: str, person: np.ndarray, ages: np.ndarray) -> dict:
        out = {f"{prefix}{w}d": self.count(person, ages < w) for w in WINDOWS}
        out[f"{prefix}total"] = self.count(person)
        return out

    def days_since_last(self, person: np.ndarray, ages: np.ndarray) -> np.ndarray:
        return min_per_key(person, ages, self.n)

    def days_since_first(self, person: np.ndarray, ages: np.ndarray) -> np.ndarray:
        return -min_per_key(person, -ages, self.n)

    def distinct(self, person: np.ndarray, items: np.ndarray) -> np.ndarray:
        return distinct_per_key(person, items, self.n).astype(float)


def _email_features(data: EngagementData, agg: _Aggregator, rules: MachineRules) -> dict:
    encoded = data.email
    before = (encoded.time_us < agg.cut_us) & (data.email_person >= 0)
    machine = machine_reason_codes(encoded, rules, before) > 0
    kind, email, person = encoded.event_type[before], encoded.email[before], data.email_person[before]
    ages = agg.ages(encoded.time_us[before])
    n_emails = encoded.n_emails
    email_person = np.full(n_emails, -1, dtype=np.int64)
    email_person[email] = person

    def first_age(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Emails with a masked row: their code, person and the age of their earliest masked row."""
        oldest = -min_per_key(email, np.where(mask, -ages, np.nan), n_emails)
        has = np.flatnonzero(~np.isnan(oldest))
        return has, email_person[has], oldest[has]

    response = np.isin(kind, (OPEN, CLICK))
    sends, send_p, send_age = first_age(np.isin(kind, (SENT, DELIVERED)))
    _, open_p, open_age = first_age(response & ~machine)
    _, click_p, click_age = first_age((kind == CLICK) & ~machine)
    _, machine_p, machine_age = first_age(response & machine)

    out = {}
    out.update(agg.windows("sends_", send_p, send_age))
    out.update(agg.windows("opens_", open_p, open_age))
    out.update(agg.windows("clicks_", click_p, click_age))
    out["machine_opens_90d"] = agg.count(machine_p, machine_age < 90)
    out["days_since_last_send"] = agg.days_since_last(send_p, send_age)
    out["days_since_first_send"] = agg.days_since_first(send_p, send_age)
    out["days_since_last_open"] = agg.days_since_last(open_p, open_age)
    out["days_since_last_click"] = agg.days_since_last(click_p, click_age)
    out["open_rate_90d"] = _ratio(out["opens_90d"], out["sends_90d"])
    out["open_rate_smoothed"] = (out["opens_total"] + PRIOR_RESPONSES) / (out["sends_total"] + PRIOR_SENDS)
    out["click_to_open_90d"] = _ratio(out["clicks_90d"], out["opens_90d"])
    out["hard_bounces"] = agg.count(person, kind == EMAIL_TYPE["BOUNCE_HARD"])
    out["soft_bounces_90d"] = agg.count(person, (kind == EMAIL_TYPE["BOUNCE_SOFT"]) & (ages < 90))
    opted_out = np.isin(kind, (EMAIL_TYPE["UNSUBSCRIBE"], EMAIL_TYPE["SPAM_REPORT"]))
    out["unsubscribed"] = (agg.count(person, opted_out) > 0).astype(float)
    out["_first_age"] = agg.days_since_first(person, ages)

    # Domain of the address the latest send before the cut went to.
    latest = np.full(agg.n, np.nan)
    order = np.lexsort((-send_age, send_p))  # per person, the most recent send last
    last = np.r_[send_p[order][1:] != send_p[order][:-1], True] if len(order) else np.zeros(0, bool)
    recipient = encoded.email_recipient[sends[order][last]]
    latest[send_p[order][last]] = np.where(recipient >= 0, data.recipient_work[np.maximum(recipient, 0)], np.nan)
    out["_send_work"] = latest
    return out


def _order_features(events: _Events, agg: _Aggregator) -> dict:
    before = events.time < agg.cut_us
    person, ages = events.person[before], agg.ages(events.time[before])
    order, spend = events.columns["order"][before], events.columns["spend"][before]
    out = {
        "orders_total": agg.count(person, order),
        "orders_90d": agg.count(person, order & (ages < 90)),
        "spend_total": agg.count(person, spend),
        "spend_90d": agg.count(person, np.where(ages < 90, spend, 0.0)),
        "days_since_last_order": agg.days_since_last(person[order], ages[order]),
        "order_categories": agg.distinct(person, events.columns["category"][before]),
        "_first_age": agg.days_since_first(person, ages),
    }
    out["average_order_value"] = _ratio(out["spend_total"], agg.count(person, events.columns["earning"][before]))
    return out


def _web_features(events: _Events, agg: _Aggregator) -> dict:
    """Sessions: a new one starts after 30 minutes without an event on the same cookie."""
    before = events.time < agg.cut_us
    person, times, cookie = events.person[before], events.time[before], events.columns["cookie"][before]
    ages = agg.ages(times)
    new_session = np.ones(len(times), dtype=bool)
    new_session[1:] = (cookie[1:] != cookie[:-1]) | (np.diff(times) > SESSION_GAP_US)
    recent = ages < 90
    return {
        "sessions_30d": agg.count(person[new_session], ages[new_session] < 30),
        "sessions_90d": agg.count(person[new_session], ages[new_session] < 90),
        "web_events_30d": agg.count(person, ages < 30),
        "cart_adds_30d": agg.count(person, events.columns["cart"][before] & (ages < 30)),
        "days_since_last_web": agg.days_since_last(person, ages),
        "categories_viewed_90d": agg.distinct(person[recent], events.columns["category"][before][recent]),
        "_first_age": agg.days_since_first(person, ages),
    }


def _webinar_features(events: _Events, agg: _Aggregator) -> dict:
    known = events.time < agg.cut_us
    person, ages = events.person[known], agg.ages(events.time[known])
    start_ages = agg.ages(events.columns["start"][known])
    attended = events.columns["attended"][known] & (start_ages > 0)
    return {
        "webinar_registrations": agg.count(person),
        "webinar_registrations_90d": agg.count(person, ages < 90),
        "webinar_attended": agg.count(person, attended),
        "days_since_last_webinar": agg.days_since_last(person[attended], start_ages[attended]),
        "_first_age": agg.days_since_first(person, ages),
    }


def engagement_features(
    data: EngagementData | dict[str, pd.DataFrame],
    cut,
    persons=None,
    rules: MachineRules = MachineRules(),
) -> pd.DataFrame:
    """Features per person from events strictly before ``cut``, one row per person of
    ``persons`` (default: every person known to ``data``); unknown persons get empty history."""
    if not isinstance(data, EngagementData):
        data = prepare_engagement_data(data)
    agg = _Aggregator(len(data.persons), _instant_us(cut))
    parts = []
    if data.email is not None:
        parts.append(_email_features(data, agg, rules))
    for events, build in ((data.webinars, _webinar_features), (data.orders, _order_features), (data.web, _web_features)):
        if events is not None:
            parts.append(build(events, agg))
    columns = {name: values for part in parts for name, values in part.items() if not name.startswith("_")}
    first_ages = [part["_first_age"] for part in parts]
    columns["tenure_days"] = np.fmax.reduce(first_ages) if first_ages else np.full(agg.n, np.nan)
    # An answer recorded at or after the cut was not known at the cut; an undated one is not
    # trusted at any cut (it could come from the future of a training cut).
    columns["consent_state"] = np.where(data.consent_updated < agg.cut_us, data.consent, 0.0)
    send_work = parts[0]["_send_work"] if data.email is not None else np.full(agg.n, np.nan)
    columns["is_work_domain"] = np.where(np.isnan(send_work), data.profile_work, send_work)
    features = pd.DataFrame(columns, index=data.persons)
    if persons is None:
        return features
    index = pd.Index(persons, name="person_id")
    out = features.reindex(index)
    unknown = data.codes(index) < 0
    count_columns = [c for c in out.columns if c not in NAN_WHEN_NEVER]
    out.loc[unknown, count_columns] = 0.0
    return out



def engagement_labels(
    data: EngagementData | dict[str, pd.DataFrame],
    cut,
    window_days: int = LABEL_WINDOW_DAYS,
    rules: MachineRules = MachineRules(),
) -> pd.Series:
    """Per person emailed in [cut, cut + window): did they open or click, as a human, in it?

    Flags are judged on events up to the end of the window, the evidence available when the
    label becomes known.
    """
    if not isinstance(data, EngagementData):
        data = prepare_engagement_data(data)
    if data.email is None:
        return pd.Series([], dtype=bool, index=pd.Index([], name="person_id"), name="label")
    start = _instant_us(cut)
    end = _instant_us(as_utc(cut) + pd.Timedelta(days=window_days))
    encoded = data.email
    upto = (encoded.time_us < end) & (data.email_person >= 0)
    machine = machine_reason_codes(encoded, rules, upto) > 0
    kind, person = encoded.event_type[upto], data.email_person[upto]
    inside = encoded.time_us[upto] >= start
    sent = inside & np.isin(kind, (SENT, DELIVERED))
    human = inside & np.isin(kind, (OPEN, CLICK)) & ~machine
    population = distinct(person[sent])
    responded = np.bincount(person[human], minlength=len(data.persons)) > 0
    return pd.Series(responded[population], index=data.persons[population], name="label")
