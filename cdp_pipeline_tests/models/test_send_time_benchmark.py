"""Benchmark of the send-time model on `cdp synth` data against the truth (opt-in, slow).

Run with ``CDP_SEND_TIME_BENCHMARK=<persons>`` (e.g. 100000); it generates a landing folder,
ingests the CRM extracts, gives events and profiles the *true* person ids (through the truth
folder's records.csv and the CRM contacts' addresses, so identity errors do not blur the
measurement) and checks the issue's targets. The measured figures go to stdout and to
``send_time_benchmark.json`` in the benchmark folder.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.models.send_time import (
    circular_hour_distance,
    evaluate_send_times,
    fit_send_time_model,
    recommend_send_times,
)

PERSONS = int(os.environ.get("CDP_SEND_TIME_BENCHMARK", "0"))
pytestmark = pytest.mark.skipif(PERSONS <= 0, reason="set CDP_SEND_TIME_BENCHMARK=<persons>")


def _ingest(landing: Path, state: Path):
    from cdp_pipeline.extracts import CRM_CONTACTS, CRM_EMAIL_EVENTS
    from cdp_pipeline.ingest.accumulate import ingest_extract
    from cdp_pipeline.ingest.state import StateStore

    store = StateStore(state)
    contacts = ingest_extract(CRM_CONTACTS, landing, store).table
    events = ingest_extract(CRM_EMAIL_EVENTS, landing, store).table
    return contacts, events


def _true_persons(contacts: pd.DataFrame, events: pd.DataFrame, truth: Path):
    """Events and one profile per true person, keyed by the true person id."""
    records = pd.read_csv(truth / "records.csv", dtype=str)
    crm = records[records["source"] == "crm"].set_index("source_record_id")["true_person_id"]
    contacts = contacts.assign(person_id=contacts["record_id"].map(crm))
    addresses = pd.concat(
        [
            contacts[["email", "person_id"]],
            contacts[["additional_emails", "person_id"]]
            .assign(email=lambda f: f["additional_emails"].str.split(";"))
            .explode("email")[["email", "person_id"]],
        ]
    )
    addresses["email"] = addresses["email"].astype("string").str.strip().str.lower()
    by_address = addresses.dropna().drop_duplicates("email").set_index("email")["person_id"]
    person = events["record_id"].map(crm)
    recipients = events["recipient"].astype("string").str.strip().str.lower()
    person = person.fillna(recipients.map(by_address))
    events = events.assign(person_id=person.astype("string"))
    profiles = (
        contacts.dropna(subset=["person_id"])
        .sort_values(["person_id", "record_id"])
        .drop_duplicates("person_id")
        .rename(columns={"time_zone": "timezone", "email": "primary_email"})
    )
    return events, profiles[["person_id", "timezone", "country", "city", "phone", "primary_email"]]


def test_send_time_targets_on_synthetic_data(tmp_path):
    from cdp_pipeline.synth import generate

    folder = Path(os.environ.get("CDP_SEND_TIME_BENCHMARK_DIR", tmp_path))
    landing, truth = folder / "landing", folder / "truth"
    if not (truth / "meta.json").exists():
        generate(PERSONS, 30, 11, landing, truth)
    reference = pd.Timestamp(json.loads((truth / "meta.json").read_text())["reference_date"])
    contacts, raw_events = _ingest(landing, folder / "state")
    events, profiles = _true_persons(contacts, raw_events, truth)

    started = time.perf_counter()
    metrics, _ = evaluate_send_times(events, profiles, reference)
    evaluated = time.perf_counter()
    model = fit_send_time_model(events, profiles, reference)
    send_times = recommend_send_times(model, profiles, reference)
    finished = time.perf_counter()

    persons = pd.read_csv(truth / "persons.csv", dtype={"true_person_id": str})
    joined = send_times.merge(model.persons[["person_id", "responses"]], on="person_id").merge(
        persons, left_on="person_id", right_on="true_person_id"
    )
    close = circular_hour_distance(joined["best_local_hour"], joined["preferred_local_hour"]) <= 1
    many = joined["responses"].to_numpy() >= 5
    right_zone = (joined["timezone"] == joined["time_zone"]).to_numpy()
    report = {
        "persons": PERSONS,
        "email_events": len(events),
        "evaluation": metrics,
        "truth_agreement_5plus_responses": float(close[many].mean()),
        "persons_5plus_responses": int(many.sum()),
        "truth_agreement_5plus_right_zone": float(close[many & right_zone].mean()),
        "truth_agreement_all": float(close.mean()),
        "timezone_right_share": float(right_zone.mean()),
        "basis_counts": send_times["basis"].value_counts().to_dict(),
        "seconds_evaluate": round(evaluated - started, 1),
        "seconds_fit_and_recommend": round(finished - evaluated, 1),
    }
    print(json.dumps(report, indent=1, default=str))
    (folder / "send_time_benchmark.json").write_text(json.dumps(report, indent=1, default=str))

    global_hit = metrics["baselines"]["global_best_hour"]["hit_rate"]
    assert metrics["hit_rate"] >= 1.3 * global_hit
    assert metrics["hit_rate"] > metrics["baselines"]["person_mode_hour"]["hit_rate"]
    assert report["truth_agreement_5plus_responses"] >= 0.7
    assert np.isfinite(metrics["response_rate_at_recommended"])
