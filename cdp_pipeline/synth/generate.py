"""Entry point: simulate the world once, then write it as drops and write the truth."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from cdp_pipeline.synth.emails import simulate
from cdp_pipeline.synth.landing import LandingWriter, World
from cdp_pipeline.synth.people import DAY, Timeline, build_people
from cdp_pipeline.synth.sources import build_crm, build_erasures, build_orders, build_store, build_webinars
from cdp_pipeline.synth.truth import write_truth
from cdp_pipeline.synth.web import build_cookies, build_web_events

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SynthSummary:
    persons: int
    days: int
    seed: int
    first_drop: date
    reference_date: date  # newest complete drop
    incomplete_drop: date  # written without _SUCCESS
    files: int
    identity_records: int
    rows: dict[str, int] = field(default_factory=dict)  # real rows per extract (flaw rows excluded)
    flaws: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A short human-readable report for the CLI."""
        out = [
            f"persons={self.persons} days={self.days} seed={self.seed}",
            f"drops {self.first_drop} .. {self.reference_date} complete, {self.incomplete_drop} without _SUCCESS",
            f"files={self.files} identity_records={self.identity_records}",
        ]
        out += [f"  {k}: {v} rows" for k, v in sorted(self.rows.items())]
        out += ["  flaws: " + ", ".join(f"{k}={v}" for k, v in sorted(self.flaws.items()))]
        return out


def _clear(folder: Path, expected: set[str]) -> None:
    """Replaces an earlier generation, but never deletes a folder holding anything else."""
    if not folder.exists():
        return
    unexpected = sorted(p.name for p in folder.iterdir() if p.name not in expected)
    if unexpected:
        raise FileExistsError(f"{folder} holds files this generator did not write: {unexpected[:3]}")
    shutil.rmtree(folder)


def timeline(end_date: date, days: int, history_days: int) -> Timeline:
    reference = (end_date - EPOCH).days
    first_drop = reference - days + 1
    return Timeline(start=(first_drop - history_days) * DAY, first_drop=first_drop, reference=reference,
                    last_drop=reference + 1)


def simulate_world(persons: int, seed: int, t: Timeline) -> World:
    """Every source's records and events for the whole timeline, with hidden owners."""
    people, companies = build_people(seed, persons, t)
    contacts, crm_consent = build_crm(seed, people, companies, t)
    customers, store_consent = build_store(seed, people, t)
    webinars, registrations = build_webinars(seed, people, companies, t)
    orders, lines = build_orders(seed, people, customers, t)
    cookies = build_cookies(seed, people, orders, t)
    web_events = build_web_events(seed, people, customers, orders, lines, cookies, t)
    activity = simulate(seed, people, companies, contacts, crm_consent, t)
    crm_consent = pd.concat([crm_consent, activity.consent_changes], ignore_index=True)
    erasures = build_erasures(seed, people, contacts, customers, t)
    return World(people, companies, contacts, crm_consent, customers, store_consent, webinars, registrations,
                 orders, lines, cookies, web_events, activity.campaigns, activity.events, erasures)


def generate(persons: int, days: int, seed: int, out: Path, truth: Path,
             end_date: date = date(2026, 11, 20), history_days: int = 120) -> SynthSummary:
    """Writes ``days`` complete daily drops ending at ``end_date`` (the first one carrying
    ``history_days`` of backfill) plus one trailing drop without ``_SUCCESS``, and the truth."""
    if persons < 1 or days < 1 or history_days < 0:
        raise ValueError("persons and days must be positive, history_days not negative")
    out, truth = Path(out), Path(truth)
    if truth.resolve() == out.resolve() or out.resolve() in truth.resolve().parents:
        raise ValueError("the truth folder must lie outside the landing folder")
    t = timeline(end_date, days, history_days)
    world = simulate_world(persons, seed, t)
    _clear(out, {"webinar", "crm", "store", "privacy"})
    _clear(truth, {"records.csv", "persons.csv", "email_events.csv", "meta.json"})
    stats = LandingWriter(out, world, t, seed).write()
    meta = {
        "seed": seed,
        "persons": persons,
        "days": days,
        "history_days": history_days,
        "end_date": str(end_date),
        "reference_date": str(end_date),
        "first_drop": str(EPOCH + timedelta(days=t.first_drop)),
        "incomplete_drop": str(EPOCH + timedelta(days=t.last_drop)),
    }
    n_records = write_truth(truth, world, t, meta)
    return SynthSummary(
        persons=persons, days=days, seed=seed, first_drop=EPOCH + timedelta(days=t.first_drop),
        reference_date=end_date, incomplete_drop=EPOCH + timedelta(days=t.last_drop), files=stats.files,
        identity_records=n_records, rows=dict(stats.rows), flaws=dict(stats.flaws),
    )
