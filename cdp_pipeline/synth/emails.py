"""Marketing email activity: campaigns sent at varied hours, deliveries, bounces, human opens and
clicks driven by each person's propensity and reading hour, machine opens from privacy proxies,
link-scanner clicks, unsubscribes and spam reports.

Campaigns are simulated in time order because they change state for the next ones: a hard bounce
suppresses the address, an unsubscribe withdraws consent. Each campaign is one vectorised step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cdp_pipeline.extracts import EMAIL_EVENT_TYPES
from cdp_pipeline.synth import vocab
from cdp_pipeline.synth.people import DAY, NEVER, YEAR, Timeline, stream

EVENT_TYPES = EMAIL_EVENT_TYPES  # event codes below index into the contract's list
SENT, DELIVERED, OPEN, CLICK, BOUNCE_HARD, BOUNCE_SOFT, UNSUBSCRIBE, SPAM_REPORT = range(len(EVENT_TYPES))
USER_AGENTS = vocab.HUMAN_USER_AGENTS + vocab.PRIVACY_PROXY_USER_AGENTS + vocab.SCANNER_USER_AGENTS
N_HUMAN, N_PROXY = len(vocab.HUMAN_USER_AGENTS), len(vocab.PRIVACY_PROXY_USER_AGENTS)
VALID_ADDRESS = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


@dataclass
class EmailActivity:
    campaigns: pd.DataFrame  # campaign_id, name, start
    events: pd.DataFrame  # compact: campaign, contact, etype, time, ua, link, new_address, human
    consent_changes: pd.DataFrame  # record, at, value, source (unsubscribe / spam_report)


def hour_affinity(distance_hours: np.ndarray) -> np.ndarray:
    """Multiplier on the open chance by circular distance to the preferred hour (mean ~1 over a day)."""
    return 0.5 + 2.39 * np.exp(-(distance_hours**2) / 8.0)


def weekday_affinity(preference: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    weekend = weekday >= 5
    out = np.ones(len(preference))
    out = np.where((preference == "weekdays") & weekend, 0.6, out)
    out = np.where((preference == "weekdays") & ~weekend, 1.15, out)
    out = np.where((preference == "weekends") & weekend, 1.5, out)
    out = np.where((preference == "weekends") & ~weekend, 0.8, out)
    return out


def propensity_at(people: pd.DataFrame, persons: np.ndarray, at: np.ndarray | int, reference: int) -> np.ndarray:
    """The slowly drifting propensity; ``propensity`` itself is its value on the reference date."""
    years = (np.asarray(at) - reference * DAY) / YEAR
    p = people["propensity"].to_numpy()[persons] + people["drift"].to_numpy()[persons] * years
    return np.clip(p, 0.005, 0.95)


def _zone_offsets(zones: np.ndarray, at: int) -> np.ndarray:
    """UTC offset in seconds of each IANA zone at ``at`` (DST-aware)."""
    moment = datetime.fromtimestamp(at, tz=timezone.utc)
    table = {z: int(moment.astimezone(ZoneInfo(z)).utcoffset().total_seconds()) for z in pd.unique(zones)}
    return pd.Series(zones).map(table).to_numpy()


def schedule_campaigns(seed: int, t: Timeline) -> pd.DataFrame:
    """About 1.5 campaigns a week, each starting at its own UTC hour, spread over a few hours."""
    rng = stream(seed, "campaigns")
    weeks = (t.end - t.start) / (7 * DAY)
    n = max(3, int(round(weeks * 1.5)))
    day = np.sort(rng.choice(np.arange(t.start // DAY, t.end // DAY), size=n, replace=(n > (t.end - t.start) // DAY)))
    hour = rng.integers(0, 24, size=n)
    start = day * DAY + hour * 3600 + rng.integers(0, 3600, size=n)
    start = np.minimum(start, t.end - 6 * 3600)
    names = np.array(vocab.CAMPAIGN_NAMES, dtype=object)[rng.integers(0, len(vocab.CAMPAIGN_NAMES), size=n)]
    dates = pd.to_datetime(start, unit="s").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "campaign_id": (3_100_000 + np.arange(n) * 7).astype(str).astype(object),
            "name": names + " " + np.asarray(dates, dtype=object),
            "start": start,
            "spread": rng.choice([3600, 3 * 3600, 6 * 3600, 10 * 3600], size=n),
            "share": rng.uniform(0.35, 0.9, size=n),
            "links": rng.integers(1, 4, size=n),
        }
    )


def simulate(seed: int, people: pd.DataFrame, companies: pd.DataFrame, contacts: pd.DataFrame,
             crm_consent: pd.DataFrame, t: Timeline) -> EmailActivity:
    """Runs every campaign in time order over the CRM contacts."""
    rng = stream(seed, "email")
    campaigns = schedule_campaigns(seed, t)
    m = len(contacts)
    person = contacts["person"].to_numpy()
    zones = people["time_zone"].to_numpy()[person]
    created = contacts["created_at"].to_numpy()
    deleted = contacts["deleted_at"].to_numpy()
    update_at = contacts["update_at"].to_numpy()
    old_addr = pd.Series(contacts["email"], dtype=object).str.strip().str.lower()
    old_valid = old_addr.str.match(VALID_ADDRESS).to_numpy()
    new_valid = contacts["new_email"].to_numpy() != ""
    # the primary's true mailbox closes after a job change when it was the old work address
    true_primary = contacts["email_true"].to_numpy()
    old_work = (true_primary == people["work1"].to_numpy()[person]) | (true_primary == people["work1_new"].to_numpy()[person])
    old_dead = np.where(old_work, people["work1_dead_from"].to_numpy()[person], NEVER)
    old_delivers = contacts["email_delivers"].to_numpy()
    scan_domains = set(companies.loc[companies["scanner"], "domain"])
    old_scanned = old_addr.str.split("@").str[-1].isin(scan_domains).to_numpy()
    new_scanned = pd.Series(contacts["new_email"]).str.split("@").str[-1].isin(scan_domains).to_numpy()
    mpp = people["mpp"].to_numpy()[person]
    pref_hour = people["preferred_hour"].to_numpy()[person]
    pref_days = people["preferred_weekdays"].to_numpy()[person]

    changes = crm_consent.sort_values("at", kind="stable").reset_index(drop=True)
    consent = np.zeros(m, dtype=bool)
    applied_until = np.iinfo(np.int64).min
    suppressed_old = np.zeros(m, dtype=bool)
    suppressed_new = np.zeros(m, dtype=bool)
    new_changes: list[pd.DataFrame] = []
    chunks: list[pd.DataFrame] = []

    for ci, c in enumerate(campaigns.itertuples(index=False)):
        pending = changes[(changes["at"] > applied_until) & (changes["at"] <= c.start)]
        if new_changes:
            extra = pd.concat(new_changes, ignore_index=True)
            pending = pd.concat([pending, extra[(extra["at"] > applied_until) & (extra["at"] <= c.start)]])
        pending = pending.sort_values("at", kind="stable").drop_duplicates("record", keep="last")
        consent[pending["record"].to_numpy()] = pending["value"].to_numpy()
        applied_until = c.start

        send_at = c.start + rng.integers(0, c.spread, size=m)
        use_new = send_at >= update_at
        alive = (created <= c.start) & (deleted > send_at)
        valid = np.where(use_new, new_valid, old_valid)
        suppressed = np.where(use_new, suppressed_new, suppressed_old)
        eligible = alive & consent & valid & ~suppressed & (rng.random(m) < c.share)
        rows = np.flatnonzero(eligible)
        if len(rows) == 0:
            continue
        sent = send_at[rows]
        new = use_new[rows]
        delivers = np.where(new, True, old_delivers[rows] & (sent < old_dead[rows]))
        hard = ~delivers
        soft = delivers & (rng.random(len(rows)) < 0.008)
        ok = delivers & ~soft
        delivered = sent + rng.integers(1, 40, size=len(rows))
        bounce_at = sent + rng.integers(2, 90, size=len(rows))
        suppressed_old[rows[hard & ~new]] = True
        suppressed_new[rows[hard & new]] = True

        p_rows = person[rows]
        local = delivered + _zone_offsets(zones[rows], c.start)
        dist = np.abs((local % DAY) / 3600.0 - pref_hour[rows])
        dist = np.minimum(dist, 24 - dist)
        weekday = (local // DAY + 3) % 7  # 0 = Monday; 1970-01-01 was a Thursday
        p = propensity_at(people, p_rows, c.start, t.reference) * hour_affinity(dist) * weekday_affinity(pref_days[rows], weekday)
        engaged = ok & (rng.random(len(rows)) < np.clip(p, 0, 0.97))
        delay = np.minimum(np.exp(rng.normal(np.log(900), 0.9, size=len(rows))), 7000).astype(np.int64)
        human_open_at = delivered + 30 + delay
        blocked_images = rng.random(len(rows)) < 0.06
        human_open = engaged & ~mpp[rows] & ~blocked_images
        clicks = engaged & ((rng.random(len(rows)) < 0.3) | (blocked_images & ~mpp[rows]))
        click_at = human_open_at + rng.integers(5, 600, size=len(rows))
        proxy_open = ok & mpp[rows]
        proxy_at = delivered + rng.integers(2, 45, size=len(rows))
        scanned = ok & np.where(new, new_scanned[rows], old_scanned[rows])
        scan_at = delivered + rng.integers(1, 20, size=len(rows))
        unsub = engaged & (rng.random(len(rows)) < 0.02 * (1.2 - propensity_at(people, p_rows, c.start, t.reference)))
        unsub_at = click_at + rng.integers(20, 400, size=len(rows))
        spam = ok & ~engaged & (rng.random(len(rows)) < 0.0006)
        spam_at = delivered + rng.integers(600, 20 * 3600, size=len(rows))

        human_ua = rng.integers(0, N_HUMAN, size=len(rows))
        proxy_ua = N_HUMAN + rng.integers(0, N_PROXY, size=len(rows))
        scan_ua = N_HUMAN + N_PROXY + rng.integers(0, len(vocab.SCANNER_USER_AGENTS), size=len(rows))
        link = rng.integers(0, c.links, size=len(rows))
        parts = [
            (np.ones(len(rows), bool), SENT, sent, -1, -1, False),
            (ok, DELIVERED, delivered, -1, -1, False),
            (hard, BOUNCE_HARD, bounce_at, -1, -1, False),
            (soft, BOUNCE_SOFT, bounce_at, -1, -1, False),
            (proxy_open, OPEN, proxy_at, proxy_ua, -1, False),
            (scanned, OPEN, scan_at, scan_ua, -1, False),
            (human_open, OPEN, human_open_at, human_ua, -1, True),
            (clicks, CLICK, click_at, human_ua, link, True),
            (unsub, UNSUBSCRIBE, unsub_at, -1, -1, True),
            (spam, SPAM_REPORT, spam_at, -1, -1, True),
        ]
        # scanners follow every link of the message
        for k in range(c.links):
            parts.append((scanned, CLICK, scan_at + 1 + k, scan_ua, k, False))
        frames = []
        for mask, etype, at, ua, lk, human in parts:
            sel = np.flatnonzero(mask)
            frames.append(
                pd.DataFrame(
                    {
                        "campaign": np.full(len(sel), ci, dtype=np.int16),
                        "contact": rows[sel].astype(np.int32),
                        "etype": np.full(len(sel), etype, dtype=np.int8),
                        "time": at[sel] if np.ndim(at) else np.full(len(sel), at),
                        "ua": (ua[sel] if np.ndim(ua) else np.full(len(sel), ua)).astype(np.int8),
                        "link": (lk[sel] if np.ndim(lk) else np.full(len(sel), lk)).astype(np.int8),
                        "new_address": new[sel],
                        "human": np.full(len(sel), human),
                    }
                )
            )
        chunk = pd.concat(frames, ignore_index=True)
        chunks.append(chunk[chunk["time"] < t.end])
        withdrawn = pd.DataFrame(
            {
                "record": np.concatenate([rows[unsub], rows[spam]]),
                "at": np.concatenate([unsub_at[unsub], spam_at[spam]]),
                "value": False,
                "source": ["unsubscribe"] * int(unsub.sum()) + ["spam_report"] * int(spam.sum()),
            }
        )
        new_changes.append(withdrawn[withdrawn["at"] < t.end])

    events = pd.concat(chunks, ignore_index=True) if chunks else _empty_events()
    events = events.sort_values(["time", "campaign", "contact", "etype"], kind="stable").reset_index(drop=True)
    withdrawals = pd.concat(new_changes, ignore_index=True) if new_changes else pd.DataFrame(columns=["record", "at", "value", "source"])
    return EmailActivity(campaigns=campaigns, events=events, consent_changes=withdrawals)


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign": np.zeros(0, np.int16), "contact": np.zeros(0, np.int32), "etype": np.zeros(0, np.int8),
            "time": np.zeros(0, np.int64), "ua": np.zeros(0, np.int8), "link": np.zeros(0, np.int8),
            "new_address": np.zeros(0, bool), "human": np.zeros(0, bool),
        }
    )
