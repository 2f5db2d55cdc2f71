"""Human versus machine opens and clicks.

Since Apple Mail Privacy Protection (MPP), a large share of "opens" are image prefetches by a
proxy, and corporate security scanners "click" every link of a message before anyone reads it.
Counting them makes disengaged people look engaged, so each OPEN/CLICK row gets ``is_machine``
and the first rule that fired in ``machine_reason``. The flag stays on the event so the rule
can be inspected and tested; nothing is dropped here.

Rules (an *email* is one campaign to one recipient; its delivery time is its first DELIVERED
event, else its first SENT event):

* ``privacy_proxy_user_agent``: an open whose user agent is a prefetching proxy. Apple's MPP
  proxy presents the bare ``Mozilla/5.0`` with no platform details; Yahoo's proxy names itself.
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

HUMAN_RESPONSE_TYPES = ("OPEN", "CLICK")

PRIVACY_PROXY_AGENT = r"^\s*Mozilla/5\.0\s*$|YahooMailProxy"
SCANNER_AGENT = (
    r"(?i)barracuda|mimecast|proofpoint|safelinks|safe links|urldefense|messagelabs|symantec"
    r"|forcepoint|trendmicro|trend micro|sophos|fireeye|cisco ironport|appriver|headlesschrome"
    r"|phantomjs|python-requests|python-urllib|curl/|wget/|go-http-client|java/|okhttp"
    r"|\bbot\b|crawler|spider|scanner"
)


@dataclass(frozen=True)
class MachineRules:
    """Thresholds of the machine rules; the defaults follow published ESP heuristics."""

    instant_seconds: float = 15.0
    pattern_seconds: float = 120.0
    pattern_share: float = 0.8
    pattern_min_emails: int = 3
    burst_seconds: float = 10.0


def _normalised_codes(values: pd.Series) -> np.ndarray:
    """Integer codes of trimmed, lower-cased values, computed on the unique values only."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    normalised = pd.Series(uniques, dtype="string").str.strip().str.lower()
    norm_codes = pd.factorize(normalised)[0]
    return np.where(codes >= 0, norm_codes[np.maximum(codes, 0)], -1)


def _email_keys(events: pd.DataFrame) -> np.ndarray:
    """One integer per (campaign, recipient): the unit a proxy or a scanner acts on."""
    campaign = pd.factorize(events["campaign_id"])[0].astype(np.int64)
    recipient = _normalised_codes(events["recipient"]).astype(np.int64)
    return campaign * (int(recipient.max(initial=0)) + 2) + (recipient + 1)


def _time_us(times: pd.Series) -> np.ndarray:
    """Event times as float microseconds since the epoch; NaT becomes NaN."""
    naive = pd.to_datetime(times, utc=True).dt.tz_localize(None).astype("datetime64[us]").to_numpy()
    out = naive.astype(np.int64).astype(np.float64)
    out[np.isnat(naive)] = np.nan
    return out


def _first_time(keys: np.ndarray, times: np.ndarray, mask: np.ndarray) -> pd.Series:
    return pd.Series(times[mask]).groupby(keys[mask]).min()


def _match_agents(agents: pd.Series, pattern: str) -> np.ndarray:
    """Regex match evaluated once per distinct user agent, then broadcast to the rows."""
    codes, uniques = pd.factorize(agents, use_na_sentinel=True)
    hits = pd.Series(uniques, dtype="string").str.contains(pattern, regex=True).fillna(False)
    hits = hits.to_numpy(dtype=bool)
    return np.where(codes >= 0, hits[np.maximum(codes, 0)], False)


def flag_machine_engagement(
    email_events: pd.DataFrame, rules: MachineRules = MachineRules()
) -> pd.DataFrame:
    """``email_events`` plus ``is_machine`` (bool) and ``machine_reason`` (NA for human rows)."""
    events = email_events.copy()
    n = len(events)
    event_type = events["event_type"].astype("string").str.upper().to_numpy(dtype=object)
    is_open = event_type == "OPEN"
    is_click = event_type == "CLICK"
    keys = _email_keys(events) if n else np.zeros(0, dtype=np.int64)
    times = _time_us(events["event_time"]) if n else np.zeros(0)

    delivered = _first_time(keys, times, event_type == "DELIVERED")
    sent = _first_time(keys, times, event_type == "SENT")
    delivery = delivered.combine_first(sent)
    delay_s = (times - delivery.reindex(keys).to_numpy()) / 1e6
    instant = (delay_s >= 0) & (delay_s <= rules.instant_seconds)
    quick = (delay_s >= 0) & (delay_s <= rules.pattern_seconds)

    agents = events["user_agent"] if "user_agent" in events else pd.Series(pd.NA, index=events.index)
    proxy_agent = is_open & _match_agents(agents, PRIVACY_PROXY_AGENT)
    scanner_agent = (is_open | is_click) & _match_agents(agents, SCANNER_AGENT)

    pattern_open = is_open & quick & _instant_pattern_recipients(events, keys, is_open, delay_s, rules)
    link_burst = is_click & _link_bursts(events, keys, times, is_click, rules)

    reasons = np.select(
        [
            proxy_agent,
            scanner_agent,
            is_open & instant,
            pattern_open,
            is_click & instant,
            link_burst,
        ],
        [
            "privacy_proxy_user_agent",
            "scanner_user_agent",
            "open_instant_after_delivery",
            "recipient_instant_pattern",
            "click_instant_after_delivery",
            "scanner_link_burst",
        ],
        default="",
    )
    events["is_machine"] = reasons != ""
    events["machine_reason"] = pd.array(np.where(reasons == "", None, reasons), dtype="string")
    return events


def _instant_pattern_recipients(
    events: pd.DataFrame,
    keys: np.ndarray,
    is_open: np.ndarray,
    delay_s: np.ndarray,
    rules: MachineRules,
) -> np.ndarray:
    """Per row: does this row's recipient open near-instantly on (almost) every email?"""
    recipient = _normalised_codes(events["recipient"]) if len(events) else np.zeros(0, int)
    opens = pd.DataFrame({"key": keys[is_open], "recipient": recipient[is_open], "delay": delay_s[is_open]})
    first = opens.groupby(["recipient", "key"], sort=False)["delay"].min()
    quick = (first >= 0) & (first <= rules.pattern_seconds)
    per_recipient = quick.groupby(level="recipient").agg(["mean", "size"])
    pattern = per_recipient.index[
        (per_recipient["mean"] >= rules.pattern_share)
        & (per_recipient["size"] >= rules.pattern_min_emails)
    ]
    return np.isin(recipient, pattern.to_numpy())


def _link_bursts(
    events: pd.DataFrame,
    keys: np.ndarray,
    times: np.ndarray,
    is_click: np.ndarray,
    rules: MachineRules,
) -> np.ndarray:
    """Per row: is this click part of a several-link burst right after the email's first click?"""
    if not is_click.any() or "link_url" not in events:
        return np.zeros(len(events), dtype=bool)
    clicks = pd.DataFrame(
        {
            "key": keys[is_click],
            "t": times[is_click],
            "link": pd.factorize(events["link_url"].to_numpy()[is_click])[0],
        }
    )
    first = clicks.groupby("key")["t"].transform("min")
    in_burst = (clicks["t"] - first) <= rules.burst_seconds * 1e6
    links = clicks["link"].where(in_burst & (clicks["link"] >= 0))
    burst_links = links.groupby(clicks["key"]).transform("nunique")
    flagged = np.zeros(len(events), dtype=bool)
    flagged[np.flatnonzero(is_click)] = (in_burst & (burst_links >= 2)).to_numpy()
    return flagged


def human_responses(email_events: pd.DataFrame, rules: MachineRules = MachineRules()) -> pd.DataFrame:
    """The OPEN and CLICK rows that a person made: what engagement and send time learn from."""
    flagged = email_events if "is_machine" in email_events else flag_machine_engagement(email_events, rules)
    event_type = flagged["event_type"].astype("string").str.upper()
    mask = event_type.isin(HUMAN_RESPONSE_TYPES).fillna(False) & ~flagged["is_machine"].astype(bool)
    return flagged[mask.to_numpy()]
