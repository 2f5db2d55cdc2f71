"""Point-in-time engagement features and labels.

``engagement_features(frames, cut)`` is the only way features are made, for training cuts and
for scoring alike, so the two cannot drift apart. Every source is filtered to events strictly
before ``cut`` *before* anything is derived from it (including the human/machine flags, whose
recipient-pattern rule looks at a recipient's whole history): an event at or after the cut
changes no feature.

``frames`` is a dict of person-attributed frames (identity's ``attribute_events`` output plus
``profiles``); each may be absent and optional columns may be missing:

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
never one (gradient boosting treats missing values natively, a made-up 9999 would not be
honest for the calibrated baselines either).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cdp_pipeline.models.human_engagement import MachineRules, flag_machine_engagement

WINDOWS = (7, 30, 90)
SESSION_GAP_MINUTES = 30
LABEL_WINDOW_DAYS = 30
SEND_TYPES = ("SENT", "DELIVERED")
DAY_US = 86_400e6

FRAME_ALIASES = {
    "email_events": ("email_events", "crm_email_events"),
    "orders": ("orders", "store_orders"),
    "web_events": ("web_events", "store_web_events"),
    "webinar_registrations": ("webinar_registrations", "webinar_attendees"),
    "profiles": ("profiles",),
}

# Second-level labels of consumer mailbox providers (incl. frequent typos): everything else is
# taken as a work (company) domain.
PERSONAL_DOMAIN_LABELS = frozenset(
    "gmail googlemail gmial gmal yahoo ymail yaho hotmail hotmal hotmial outlook live msn "
    "icloud me mac aol gmx web proton protonmail pm mail yandex orange free laposte sfr "
    "wanadoo libero virgilio tiscali alice t-online freenet btinternet sky talktalk "
    "virginmedia ntlworld qq 163 126 naver daum hanmail terra uol bol ig telefonica movistar "
    "comcast verizon att sbcglobal bellsouth cox charter earthlink bigpond optusnet shaw "
    "rogers sympatico videotron telus seznam wp o2 interia onet rambler ukr".split()
)

COUNT_PREFIXES = (
    "sends_", "opens_", "clicks_", "machine_opens_", "hard_bounces", "soft_bounces_",
    "unsubscribed", "webinar_", "orders_", "spend_", "order_categories", "sessions_",
    "web_events_", "cart_adds_", "categories_viewed_",
)


def get_frame(frames: dict[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The frame under its short name or its extract name, or None when absent."""
    for alias in FRAME_ALIASES[name]:
        if frames.get(alias) is not None:
            return frames[alias]
    return None


def as_utc(moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _age_days(times: pd.Series, cut: pd.Timestamp) -> np.ndarray:
    """Days between each event and the cut (positive = before the cut); NaT -> NaN."""
    naive = pd.to_datetime(times, utc=True).dt.tz_localize(None).astype("datetime64[us]").to_numpy()
    cut_us = np.datetime64(cut.tz_convert("UTC").tz_localize(None), "us").astype(np.int64)
    ages = (cut_us - naive.astype(np.int64)) / DAY_US
    ages[np.isnat(naive)] = np.nan
    return ages


def _before_cut(frame: pd.DataFrame | None, time_column: str, cut: pd.Timestamp, columns) -> pd.DataFrame:
    """Rows strictly before the cut with a person, restricted to the columns that exist."""
    if frame is None or time_column not in frame or "person_id" not in frame:
        return pd.DataFrame(columns=["person_id", time_column])
    keep = [c for c in dict.fromkeys(["person_id", time_column, *columns]) if c in frame]
    times = pd.to_datetime(frame[time_column], utc=True)
    mask = (times < cut).fillna(False).to_numpy() & frame["person_id"].notna().to_numpy()
    return frame.loc[mask, keep]


class _Persons:
    """Integer codes for the persons of one source, so aggregations are numpy bincounts."""

    def __init__(self, person_ids: pd.Series):
        self.codes, self.ids = pd.factorize(person_ids)
        self.n = len(self.ids)

    def count(self, codes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(codes, weights=weights, minlength=self.n)

    def minimum(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        return pd.Series(values).groupby(codes).min().reindex(range(self.n)).to_numpy()

    def maximum(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        return pd.Series(values).groupby(codes).max().reindex(range(self.n)).to_numpy()

    def frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame(columns, index=pd.Index(self.ids, name="person_id"))


def _first_per_pair(persons: np.ndarray, items: np.ndarray, ages: np.ndarray, mask: np.ndarray):
    """For each (person, item) among masked rows, the age of its earliest row."""
    if not mask.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    width = int(items.max()) + 1
    pair = persons[mask].astype(np.int64) * width + items[mask]
    first = pd.Series(ages[mask]).groupby(pair).max()
    return (first.index.to_numpy() // width).astype(np.int64), first.to_numpy()


def _window_columns(prefix: str, people: _Persons, codes: np.ndarray, ages: np.ndarray) -> dict:
    columns = {f"{prefix}{w}d": people.count(codes, ages < w) for w in WINDOWS}
    columns[f"{prefix}total"] = people.count(codes).astype(float)
    return columns


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _email_features(email: pd.DataFrame | None, cut: pd.Timestamp, rules: MachineRules) -> pd.DataFrame:
    columns = ("campaign_id", "recipient", "event_type", "user_agent", "link_url")
    events = _before_cut(email, "event_time", cut, columns)
    if events.empty or "campaign_id" not in events:
        return pd.DataFrame(index=pd.Index([], name="person_id"))
    events = flag_machine_engagement(events, rules)
    people = _Persons(events["person_id"])
    ages = _age_days(events["event_time"], cut)
    etype = events["event_type"].astype("string").str.upper().to_numpy(dtype=object)
    campaign = pd.factorize(events["campaign_id"])[0].astype(np.int64)
    machine = events["is_machine"].to_numpy(dtype=bool)
    is_response = np.isin(etype, ("OPEN", "CLICK"))

    send_p, send_age = _first_per_pair(people.codes, campaign, ages, np.isin(etype, SEND_TYPES))
    open_p, open_age = _first_per_pair(people.codes, campaign, ages, is_response & ~machine)
    click_p, click_age = _first_per_pair(people.codes, campaign, ages, (etype == "CLICK") & ~machine)
    mach_p, mach_age = _first_per_pair(people.codes, campaign, ages, is_response & machine)

    out = {}
    out.update(_window_columns("sends_", people, send_p, send_age))
    out.update(_window_columns("opens_", people, open_p, open_age))
    out.update(_window_columns("clicks_", people, click_p, click_age))
    out["machine_opens_90d"] = people.count(mach_p, mach_age < 90)
    out["days_since_last_send"] = people.minimum(send_p, send_age)
    out["days_since_first_send"] = people.maximum(send_p, send_age)
    out["days_since_last_open"] = people.minimum(open_p, open_age)
    out["days_since_last_click"] = people.minimum(click_p, click_age)
    out["open_rate_90d"] = _ratio(out["opens_90d"], out["sends_90d"])
    out["open_rate_total"] = _ratio(out["opens_total"], out["sends_total"])
    out["click_to_open_90d"] = _ratio(out["clicks_90d"], out["opens_90d"])
    out["hard_bounces"] = people.count(people.codes, etype == "BOUNCE_HARD")
    out["soft_bounces_90d"] = people.count(people.codes, (etype == "BOUNCE_SOFT") & (ages < 90))
    opted_out = np.isin(etype, ("UNSUBSCRIBE", "SPAM_REPORT"))
    out["unsubscribed"] = (people.count(people.codes, opted_out) > 0).astype(float)
    out["_first_age"] = people.maximum(people.codes, ages)
    features = people.frame(out)
    features["_last_recipient"] = _latest_value(events, people, ages, np.isin(etype, SEND_TYPES), "recipient")
    return features


def _latest_value(events: pd.DataFrame, people: _Persons, ages: np.ndarray, mask: np.ndarray, column: str):
    """Per person, the value of ``column`` on their most recent masked row (NA if none)."""
    rows = pd.DataFrame({"p": people.codes[mask], "age": ages[mask], "v": events[column].to_numpy()[mask]})
    latest = rows.sort_values(["p", "age"], kind="stable").drop_duplicates("p")
    return pd.Series(latest["v"].to_numpy(), index=latest["p"].to_numpy()).reindex(range(people.n)).to_numpy()


def _webinar_features(webinars: pd.DataFrame | None, cut: pd.Timestamp) -> pd.DataFrame:
    """A registration is known from its registration time (else the start); attendance from the start."""
    if webinars is None or "webinar_start" not in webinars or "person_id" not in webinars:
        return pd.DataFrame(index=pd.Index([], name="person_id"))
    frame = webinars[webinars["person_id"].notna()]
    start_age = _age_days(frame["webinar_start"], cut)
    if "registration_time" in frame:
        registered_age = _age_days(frame["registration_time"], cut)
        registered_age = np.where(np.isnan(registered_age), start_age, registered_age)
    else:
        registered_age = start_age
    known = registered_age > 0
    attended = frame["attended"].fillna(False).to_numpy(dtype=bool) if "attended" in frame else np.zeros(len(frame), bool)
    attended &= start_age > 0
    frame, registered_age, start_age, attended = frame[known], registered_age[known], start_age[known], attended[known]
    people = _Persons(frame["person_id"])
    out = {
        "webinar_registrations": people.count(people.codes).astype(float),
        "webinar_registrations_90d": people.count(people.codes, registered_age < 90),
        "webinar_attended": people.count(people.codes, attended),
        "days_since_last_webinar": people.minimum(people.codes[attended], start_age[attended]),
        "_first_age": people.maximum(people.codes, registered_age),
    }
    return people.frame(out)


def _order_features(orders: pd.DataFrame | None, cut: pd.Timestamp) -> pd.DataFrame:
    """Orders count once (Total repeats on every line); refunded and voided orders earn nothing."""
    lines = _before_cut(orders, "created_at", cut, ("order_id", "total", "financial_status", "lineitem_category"))
    if lines.empty or "order_id" not in lines:
        return pd.DataFrame(index=pd.Index([], name="person_id"))
    status = lines["financial_status"].astype("string").str.lower() if "financial_status" in lines else None
    counted = ~status.isin(("voided",)).fillna(False).to_numpy() if status is not None else np.ones(len(lines), bool)
    earning = ~status.isin(("voided", "refunded")).fillna(False).to_numpy() if status is not None else counted
    people = _Persons(lines["person_id"])
    ages = _age_days(lines["created_at"], cut)
    first_line = ~pd.DataFrame({"p": people.codes, "o": lines["order_id"].to_numpy()}).duplicated().to_numpy()
    total = pd.to_numeric(lines["total"], errors="coerce").fillna(0).to_numpy(dtype=float) if "total" in lines else np.zeros(len(lines))
    order_row = first_line & counted
    spend = np.where(order_row & earning, total, 0.0)
    out = {
        "orders_total": people.count(people.codes, order_row),
        "orders_90d": people.count(people.codes, order_row & (ages < 90)),
        "spend_total": people.count(people.codes, spend),
        "spend_90d": people.count(people.codes, np.where(ages < 90, spend, 0.0)),
        "days_since_last_order": people.minimum(people.codes[order_row], ages[order_row]),
        "_first_age": people.maximum(people.codes, ages),
    }
    out["average_order_value"] = _ratio(out["spend_total"], people.count(people.codes, order_row & earning))
    if "lineitem_category" in lines:
        category = pd.factorize(lines["lineitem_category"])[0]
        has = category >= 0
        pairs = pd.DataFrame({"p": people.codes[has], "c": category[has]}).drop_duplicates()
        out["order_categories"] = people.count(pairs["p"].to_numpy()).astype(float)
    return people.frame(out)


def _web_features(web: pd.DataFrame | None, cut: pd.Timestamp) -> pd.DataFrame:
    """Sessions: a new one starts after 30 minutes without an event on the same cookie."""
    events = _before_cut(web, "timestamp", cut, ("anonymous_id", "user_id", "event", "category"))
    if events.empty:
        return pd.DataFrame(index=pd.Index([], name="person_id"))
    people = _Persons(events["person_id"])
    ages = _age_days(events["timestamp"], cut)
    cookie = pd.Series(pd.NA, index=events.index, dtype="string")
    for column in ("anonymous_id", "user_id"):
        if column in events:
            cookie = cookie.fillna(events[column].astype("string"))
    cookie = cookie.fillna("person:" + events["person_id"].astype("string"))
    cookie_code = pd.factorize(cookie)[0]
    order = np.lexsort((-ages, cookie_code))
    sorted_cookie, sorted_age = cookie_code[order], ages[order]
    gap_days = np.diff(sorted_age * -1, prepend=np.nan)
    new_session = np.ones(len(order), dtype=bool)
    new_session[1:] = (sorted_cookie[1:] != sorted_cookie[:-1]) | (gap_days[1:] > SESSION_GAP_MINUTES / 1440)
    starts = order[new_session]
    event = events["event"].astype("string") if "event" in events else pd.Series(pd.NA, index=events.index, dtype="string")
    cart = event.isin(("Product Added", "Checkout Started")).fillna(False).to_numpy()
    out = {
        "sessions_30d": people.count(people.codes[starts], ages[starts] < 30),
        "sessions_90d": people.count(people.codes[starts], ages[starts] < 90),
        "web_events_30d": people.count(people.codes, ages < 30),
        "cart_adds_30d": people.count(people.codes, cart & (ages < 30)),
        "days_since_last_web": people.minimum(people.codes, ages),
        "_first_age": people.maximum(people.codes, ages),
    }
    if "category" in events:
        category = pd.factorize(events["category"])[0]
        recent = (category >= 0) & (ages < 90)
        pairs = pd.DataFrame({"p": people.codes[recent], "c": category[recent]}).drop_duplicates()
        out["categories_viewed_90d"] = people.count(pairs["p"].to_numpy()).astype(float)
    return people.frame(out)


def consent_at_cut(profiles: pd.DataFrame, cut: pd.Timestamp) -> pd.Series:
    """granted = 1, denied = -1, unknown = 0; an answer recorded at or after the cut is not known yet."""
    if "email_consent" not in profiles:
        return pd.Series(0.0, index=profiles.index)
    state = profiles["email_consent"].astype("string").str.lower().map({"granted": 1.0, "denied": -1.0})
    state = pd.to_numeric(state, errors="coerce").fillna(0.0)
    if "consent_updated_at" in profiles:
        later = (pd.to_datetime(profiles["consent_updated_at"], utc=True) >= cut).fillna(False)
        state = state.where(~later, 0.0)
    return state


def work_domain_flags(emails: pd.Series) -> pd.Series:
    """1.0 for a company domain, 0.0 for a consumer mailbox provider, NaN when unknown."""
    codes, uniques = pd.factorize(emails.astype("string"))
    domain = pd.Series(uniques, dtype="string").str.strip().str.lower().str.rpartition("@")[2]
    labels = domain.str.split(".")
    second = labels.str[-2].where(labels.str.len() >= 2)
    flag = (~second.isin(PERSONAL_DOMAIN_LABELS)).astype(float).where(second.notna() & (second != ""))
    values = flag.to_numpy(dtype=float)
    return pd.Series(np.where(codes >= 0, values[np.maximum(codes, 0)], np.nan), index=emails.index)


def engagement_features(
    frames: dict[str, pd.DataFrame],
    cut,
    persons: pd.Index | None = None,
    rules: MachineRules = MachineRules(),
) -> pd.DataFrame:
    """Features per person from events strictly before ``cut``; one row per person of
    ``persons`` (default: every profile and every person with an event before the cut)."""
    cut = as_utc(cut)
    parts = [
        _email_features(get_frame(frames, "email_events"), cut, rules),
        _webinar_features(get_frame(frames, "webinar_registrations"), cut),
        _order_features(get_frame(frames, "orders"), cut),
        _web_features(get_frame(frames, "web_events"), cut),
    ]
    first_ages = pd.concat([p["_first_age"] for p in parts if "_first_age" in p], axis=1)
    recipients = parts[0]["_last_recipient"] if "_last_recipient" in parts[0] else pd.Series(dtype="string")
    parts = [p.drop(columns=["_first_age", "_last_recipient"], errors="ignore") for p in parts]
    profiles = get_frame(frames, "profiles")
    if persons is None:
        known = [p.index for p in parts]
        if profiles is not None:
            known.append(pd.Index(profiles["person_id"].dropna().unique()))
        persons = known[0].append(known[1:]).unique()
    index = pd.Index(persons, name="person_id")
    features = pd.concat(parts, axis=1).reindex(index)
    for column in features.columns:
        if column.startswith(COUNT_PREFIXES):
            features[column] = features[column].fillna(0.0)
    features["tenure_days"] = first_ages.max(axis=1).reindex(index)

    profile_rows = profiles.drop_duplicates("person_id").set_index("person_id").reindex(index) if profiles is not None else pd.DataFrame(index=index)
    features["consent_state"] = consent_at_cut(profile_rows, cut).to_numpy() if profiles is not None else 0.0
    email = recipients.reindex(index).astype("string")
    if "primary_email" in profile_rows:
        email = email.fillna(profile_rows["primary_email"].astype("string"))
    features["is_work_domain"] = work_domain_flags(email).to_numpy()
    return features.astype(float)


def engagement_labels(
    email_events: pd.DataFrame,
    cut,
    window_days: int = LABEL_WINDOW_DAYS,
    rules: MachineRules = MachineRules(),
) -> pd.Series:
    """Per person sent email in [cut, cut + window): did they open or click (as a human) in it?

    Flags are computed on events up to the end of the window, so a recipient-pattern proxy
    is recognised with all the evidence available when the label becomes known.
    """
    cut = as_utc(cut)
    end = cut + pd.Timedelta(days=window_days)
    columns = ("campaign_id", "recipient", "event_type", "user_agent", "link_url")
    events = flag_machine_engagement(_before_cut(email_events, "event_time", end, columns), rules)
    times = pd.to_datetime(events["event_time"], utc=True)
    in_window = (times >= cut).to_numpy()
    etype = events["event_type"].astype("string").str.upper()
    sent = in_window & etype.isin(SEND_TYPES).to_numpy()
    human = in_window & etype.isin(("OPEN", "CLICK")).to_numpy() & ~events["is_machine"].to_numpy(dtype=bool)
    population = pd.Index(events.loc[sent, "person_id"].unique(), name="person_id")
    responders = pd.Index(events.loc[human, "person_id"].unique())
    return pd.Series(population.isin(responders), index=population, name="label")
