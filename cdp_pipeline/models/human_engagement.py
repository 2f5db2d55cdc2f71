"""Human versus machine opens and clicks.

Since Apple Mail Privacy Protection (MPP), a large share of "opens" are image prefetches by a
proxy, and corporate security scanners "click" every link of a message before anyone reads it.
Counting them makes disengaged people look engaged, so each OPEN/CLICK row gets ``is_machine``
and the first rule that fired in ``machine_reason``. The flag stays on the event so the rule
can be inspected and tested; nothing is dropped here.

Rules (an *email* is one campaign to one recipient; its delivery time is its first DELIVERED
event, else its first SENT event):

* ``privacy_proxy_user_agent``: an open whose user agent is a prefetching proxy. Apple's MPP
  proxy presents the bare ``Mozilla/5.0`` or a Mac WebKit string without any browser token;
  Yahoo's proxy names itself.
  Gmail's ``GoogleImageProxy`` is *not* flagged by agent alone: it fetches when the reader
  opens the message, so it is a human signal unless the timing rules below say otherwise.
* ``scanner_user_agent``: an open or click by a tool that names itself (link scanners such as
  Barracuda, Mimecast, Proofpoint, Safe Links; headless browsers; HTTP libraries; bots).
* ``open_instant_after_delivery``: an open within ``instant_seconds`` of delivery, at any hour:
  people do not read a message within seconds of its arrival, prefetchers do.
* ``recipient_instant_pattern``: a recipient whose first open came within ``pattern_seconds``
  of delivery on at least ``pattern_share`` of at least ``pattern_min_emails`` opened emails
  is behind a proxy; all their opens within ``pattern_seconds`` of delivery are machine
  (proxies queue, so their delay jitters past ``instant_seconds``). Their later opens stay human.
* ``click_instant_after_delivery``: a click within ``instant_seconds`` of delivery.
* ``scanner_link_burst``: clicks on at least two different links of one email within
  ``burst_seconds`` of its first click: nobody follows several links in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import EMAIL_EVENT_TYPES
from cdp_pipeline.frames import distinct_per_key

HUMAN_RESPONSE_TYPES = ("OPEN", "CLICK")

# Apple's proxy sends a bare "Mozilla/5.0" or a Mac WebKit string with nothing after
# "(KHTML, like Gecko)" (no Version/Safari/Mobile token, unlike real browsers and iOS Mail).
PRIVACY_PROXY_AGENT = (
    r"^\s*Mozilla/5\.0\s*$"
    r"|^\s*Mozilla/5\.0 \(Macintosh; Intel Mac OS X [\d_]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)\s*$"
    r"|YahooMailProxy"
)
SCANNER_AGENT = (
    r"(?i)barracuda|mimecast|proofpoint|safelinks|safe links|urldefense|messagelabs|symantec"
    r"|forcepoint|trendmicro|trend micro|sophos|fireeye|cisco ironport|appriver|headlesschrome"
    r"|phantomjs|python-requests|python-urllib|curl/|wget/|go-http-client|java/|okhttp"
    r"|\bbot\b|crawler|spider|scanner"
)


REASONS = (
    "",
    "privacy_proxy_user_agent",
    "scanner_user_agent",
    "open_instant_after_delivery",
    "recipient_instant_pattern",
    "click_instant_after_delivery",
    "scanner_link_burst",
)
SENT, DELIVERED, OPEN, CLICK = (EMAIL_EVENT_TYPES.index(t) for t in ("SENT", "DELIVERED", "OPEN", "CLICK"))


@dataclass(frozen=True)
class MachineRules:
    """Thresholds of the machine rules; the defaults follow published ESP heuristics."""

    instant_seconds: float = 15.0
    pattern_seconds: float = 120.0
    pattern_share: float = 0.8
    pattern_min_emails: int = 3
    burst_seconds: float = 10.0


@dataclass
class EncodedEmailEvents:
    """Email events as integer codes and float times: strings are factorised once, and any
    cut of the history is then a boolean mask over plain numpy arrays."""

    time_us: np.ndarray  # float64 microseconds since the epoch, NaN for a missing time
    event_type: np.ndarray  # index into EMAIL_EVENT_TYPES, -1 for anything else
    email: np.ndarray  # dense code of (campaign, normalised recipient)
    email_recipient: np.ndarray  # per email code: recipient code (-1 when blank)
    link: np.ndarray  # dense code of link_url, -1 when blank
    proxy_agent: np.ndarray  # bool: user agent of a prefetching privacy proxy
    scanner_agent: np.ndarray  # bool: user agent of a self-declared scanner or bot
    recipients: np.ndarray  # normalised address per recipient code

    @property
    def n_recipients(self) -> int:
        return len(self.recipients)

    @property
    def n_emails(self) -> int:
        return len(self.email_recipient)


def _normalised_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of trimmed, lower-cased values (-1 for blank) and the values they stand for;
    the string work is done on the distinct values only."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    normalised = pd.Series(uniques, dtype="string").str.strip().str.lower()
    norm_codes, norm_values = pd.factorize(normalised)
    return np.where(codes >= 0, norm_codes[np.maximum(codes, 0)] if len(norm_codes) else -1, -1), np.asarray(norm_values, dtype=object)


def time_us(times: pd.Series) -> np.ndarray:
    """Times as float microseconds since the epoch (UTC); NaT becomes NaN."""
    naive = pd.to_datetime(times, utc=True).dt.tz_localize(None).astype("datetime64[us]").to_numpy()
    out = naive.astype(np.int64).astype(np.float64)
    out[np.isnat(naive)] = np.nan
    return out


def _match_agents(agents: pd.Series, pattern: str) -> np.ndarray:
    """Regex match evaluated once per distinct user agent, then broadcast to the rows."""
    codes, uniques = pd.factorize(agents, use_na_sentinel=True)
    hits = pd.Series(uniques, dtype="string").str.contains(pattern, regex=True).fillna(False)
    hits = hits.to_numpy(dtype=bool)
    return np.where(codes >= 0, hits[np.maximum(codes, 0)] if len(hits) else False, False)


def encode_email_events(email_events: pd.DataFrame) -> EncodedEmailEvents:
    """Factorise the columns the rules need; the only string work, done once per frame."""
    n = len(email_events)
    type_codes, type_values = pd.factorize(email_events["event_type"])
    known = pd.Series(type_values, dtype="string").str.strip().str.upper()
    lookup = np.array([EMAIL_EVENT_TYPES.index(t) if t in EMAIL_EVENT_TYPES else -1 for t in known], dtype=np.int8)
    event_type = np.where(type_codes >= 0, lookup[np.maximum(type_codes, 0)] if len(lookup) else -1, -1)
    campaign = pd.factorize(email_events["campaign_id"])[0].astype(np.int64)
    recipient, recipients = _normalised_codes(email_events["recipient"])
    recipient = recipient.astype(np.int64)
    width = int(recipient.max(initial=-1)) + 2
    email, pairs = pd.factorize(campaign * width + recipient + 1)
    blank = pd.Series(pd.NA, index=email_events.index, dtype="string")
    agents = email_events["user_agent"] if "user_agent" in email_events else blank
    links = email_events["link_url"] if "link_url" in email_events else blank
    return EncodedEmailEvents(
        time_us=time_us(email_events["event_time"]) if n else np.zeros(0),
        event_type=event_type.astype(np.int8),
        email=email.astype(np.int64),
        email_recipient=(np.asarray(pairs, dtype=np.int64) % width) - 1,
        link=pd.factorize(links)[0].astype(np.int64),
        proxy_agent=_match_agents(agents, PRIVACY_PROXY_AGENT),
        scanner_agent=_match_agents(agents, SCANNER_AGENT),
        recipients=recipients,
    )


def min_per_key(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Minimum of ``values`` per integer key in [0, size); NaN where a key has no value."""
    out = np.full(size, np.inf)
    valid = ~np.isnan(values)
    np.minimum.at(out, keys[valid], values[valid])
    out[np.isinf(out)] = np.nan
    return out


def machine_reason_codes(
    encoded: EncodedEmailEvents, rules: MachineRules = MachineRules(), rows: np.ndarray | None = None
) -> np.ndarray:
    """Index into REASONS (0 = human) for each selected row, judged from the selected rows only.

    ``rows`` (a boolean mask, e.g. "before the cut") is what makes the flags point in time:
    nothing outside it, such as a later campaign, can change a decision.
    """
    select = np.ones(len(encoded.email), dtype=bool) if rows is None else rows
    t, kind, email, link = (a[select] for a in (encoded.time_us, encoded.event_type, encoded.email, encoded.link))
    n_emails = encoded.n_emails
    is_open, is_click = kind == OPEN, kind == CLICK

    delivered = min_per_key(email, np.where(kind == DELIVERED, t, np.nan), n_emails)
    sent = min_per_key(email, np.where(kind == SENT, t, np.nan), n_emails)
    delivery = np.where(np.isnan(delivered), sent, delivered)
    with np.errstate(invalid="ignore"):
        delay = (t - delivery[email]) / 1e6
        instant = (delay >= 0) & (delay <= rules.instant_seconds)
        quick = (delay >= 0) & (delay <= rules.pattern_seconds)

    # Recipient pattern: the share of opened emails whose first open was quick.
    first_open = min_per_key(email, np.where(is_open, delay, np.nan), n_emails)
    opened = np.bincount(email[is_open], minlength=n_emails) > 0
    quick_email = opened & (first_open >= 0) & (first_open <= rules.pattern_seconds)
    owner = np.where(encoded.email_recipient >= 0, encoded.email_recipient, encoded.n_recipients)
    n_opened = np.bincount(owner, weights=opened, minlength=encoded.n_recipients + 1)
    n_quick = np.bincount(owner, weights=quick_email, minlength=encoded.n_recipients + 1)
    pattern = (n_opened >= rules.pattern_min_emails) & (n_quick >= rules.pattern_share * n_opened)
    pattern[encoded.n_recipients] = False
    pattern_open = is_open & quick & pattern[owner[email]]

    # Scanner burst: two or more different links within seconds of the email's first click.
    first_click = min_per_key(email, np.where(is_click, t, np.nan), n_emails)
    with np.errstate(invalid="ignore"):
        in_burst = is_click & ((t - first_click[email]) <= rules.burst_seconds * 1e6)
    burst_links = distinct_per_key(email[in_burst], link[in_burst], n_emails)
    link_burst = in_burst & (burst_links[email] >= 2)

    conditions = [
        is_open & encoded.proxy_agent[select],
        (is_open | is_click) & encoded.scanner_agent[select],
        is_open & instant,
        pattern_open,
        is_click & instant,
        link_burst,
    ]
    return np.select(conditions, np.arange(1, len(REASONS), dtype=np.int8), default=0).astype(np.int8)


def flag_machine_engagement(
    email_events: pd.DataFrame, rules: MachineRules = MachineRules()
) -> pd.DataFrame:
    """``email_events`` plus ``is_machine`` (bool) and ``machine_reason`` (NA for human rows)."""
    codes = machine_reason_codes(encode_email_events(email_events), rules)
    labels = np.array([None, *REASONS[1:]], dtype=object)
    # assign shares the event columns (copy-on-write) where copy() would duplicate them all
    return email_events.assign(is_machine=codes > 0, machine_reason=pd.array(labels[codes], dtype="string"))


def human_responses(email_events: pd.DataFrame, rules: MachineRules = MachineRules()) -> pd.DataFrame:
    """The OPEN and CLICK rows that a person made: what engagement and send time learn from."""
    flagged = email_events if "is_machine" in email_events else flag_machine_engagement(email_events, rules)
    event_type = flagged["event_type"].astype("string").str.strip().str.upper()
    mask = event_type.isin(HUMAN_RESPONSE_TYPES).fillna(False) & ~flagged["is_machine"].astype(bool)
    return flagged[mask.to_numpy()]
