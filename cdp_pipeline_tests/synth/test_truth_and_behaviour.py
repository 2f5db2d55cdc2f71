"""The truth folder covers the landing folder, stays out of it, and the simulated people behave
the way identity resolution, models and segments will be measured on."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.synth.dialects import format_booleans, format_dates, format_timestamps
from cdp_pipeline.synth.emails import CLICK, DELIVERED, OPEN, SENT, hour_affinity
from cdp_pipeline.synth.generate import simulate_world, timeline
from cdp_pipeline.synth.mangling import TypoRates, typed_emails
from cdp_pipeline.synth.people import DAY
from cdp_pipeline.synth import vocab
from cdp_pipeline_tests.synth.conftest import END, decode, read_landing_csv


@pytest.fixture(scope="module")
def world():
    t = timeline(date(2026, 6, 30), days=10, history_days=110)
    return simulate_world(2_000, 3, t), t


def test_truth_covers_every_identity_record_in_the_landing_folder(sample):
    landing, truth, _ = sample
    records = pd.read_csv(truth / "records.csv", dtype=str, keep_default_na=False)
    known = set(zip(records["source"], records["source_record_id"]))
    found = set()
    for f in (landing / "crm").rglob("contacts.csv"):
        found |= {("crm", i) for i in read_landing_csv(f)["record id"]}
    for f in (landing / "store").rglob("customers.csv"):
        found |= {("store", i) for i in read_landing_csv(f)["customer id"]}
    for f in (landing / "store").rglob("orders.csv"):
        found |= {("order", i) for i in read_landing_csv(f)["order id"]}
    for f in (landing / "webinar").rglob("*.csv"):
        frame = read_landing_csv(f)
        found |= {("webinar", f"{w}:{e.strip().lower()}") for w, e in zip(frame["webinar id"], frame["email"])}
    for f in (landing / "store").rglob("web_events.jsonl"):
        for line in f.read_text("utf-8").splitlines():
            try:
                found.add(("web", json.loads(line)["anonymousId"]))
            except (json.JSONDecodeError, KeyError):
                continue
    assert found and found <= known
    assert set(records["source"]) == {"crm", "webinar", "store", "order", "web"}


def test_no_truth_leaks_into_the_landing_folder(sample):
    landing, truth, _ = sample
    persons = pd.read_csv(truth / "persons.csv", dtype=str)
    assert not truth.is_relative_to(landing)
    for f in landing.rglob("*"):
        if f.is_file() and f.stat().st_size:
            text = decode(f.read_bytes())[0]
            assert "true_person_id" not in text and "propensity" not in text.lower()
            assert "TP000" not in text, f
            assert persons["household_id"].iloc[0] not in text


def test_persons_truth_holds_latents_and_behaviour_facts(sample):
    _, truth, summary = sample
    persons = pd.read_csv(truth / "persons.csv", keep_default_na=False)
    assert len(persons) == summary.persons
    for column in ("propensity", "preferred_local_hour", "time_zone", "registered_webinars", "attended_webinars",
                   "orders", "total_spent", "last_order_at", "last_cart_activity_at", "categories_viewed_90d",
                   "birth_date", "consent_final", "unsubscribed", "hard_bounced_emails", "erased", "preferred_channel"):
        assert column in persons.columns
    assert persons["propensity"].between(0, 1).all()
    assert persons["preferred_local_hour"].between(0, 23).all()
    assert set(persons["consent_final"]) == {"granted", "denied", "unknown"}
    assert (persons["attended_webinars"] <= persons["registered_webinars"]).all()
    assert persons["erased"].any() and persons["orders"].gt(1).any()
    meta = json.loads((truth / "meta.json").read_text())
    assert meta["end_date"] == meta["reference_date"] == str(END)


def test_households_share_surname_and_address_but_not_first_names(world):
    w, _ = world
    p = w.people
    multi = p[p["household_size"] > 1]
    grouped = multi.groupby("household")
    assert (grouped["street"].nunique() == 1).all() and (grouped["postcode"].nunique() == 1).all()
    assert (grouped["first_name"].nunique() == grouped.size()).mean() > 0.95
    assert (p["family"] != "").any()


def test_namesakes_share_a_full_name_but_not_a_birth_date(world):
    w, _ = world
    p = w.people
    namesakes = p[p["namesake_of"] >= 0]
    assert 0.01 < len(namesakes) / len(p) < 0.05
    donors = p.loc[namesakes["namesake_of"]]
    assert (namesakes["first_name"].to_numpy() == donors["first_name"].to_numpy()).all()
    assert (namesakes["birth_day"].to_numpy() != donors["birth_day"].to_numpy()).mean() > 0.95


def test_a_few_webinar_registrants_type_each_name_into_the_other_s_box(world):
    w, _ = world
    reg, p = w.registrations, w.people
    family_name = pd.Series(p["last_latin"].to_numpy()[reg["person"].to_numpy()]).str.lower()
    swapped = pd.Series(reg["first_name"].to_numpy()).str.lower() == family_name
    assert 0.005 < swapped.mean() < 0.03


def test_no_two_persons_own_one_mailbox_even_where_gmail_ignores_dots(world):
    w, _ = world
    p = w.people
    kinds = ["personal1", "personal2", "work1", "work1_new", "work2"]
    owned = pd.concat([pd.DataFrame({"owner": p.index, "address": p[k]}) for k in kinds], ignore_index=True)
    owned = owned[owned["address"] != ""]
    local, domain = owned["address"].str.split("@", n=1).str[0], owned["address"].str.split("@", n=1).str[1]
    owned["mailbox"] = local.where(domain != "gmail.com", local.str.replace(".", "", regex=False)) + "@" + domain
    assert (owned.groupby("mailbox")["owner"].nunique() == 1).all()


def test_names_include_accents_and_greek_script():
    all_names = " ".join(sum((list(m) + list(f) for m, f, _ in vocab.CULTURES.values()), []))
    assert "José" in all_names and "Zoë" in all_names and "Μαρία" in all_names


def test_phone_formats_use_every_subscriber_digit_once():
    for c in vocab.COUNTRIES:
        for template in c.national_formats + c.international_formats:
            assert template.count("N") == c.subscriber_digits, (c.code, template)


def test_time_zones_follow_the_country_with_several_zones_in_large_countries(world):
    w, _ = world
    zones = w.people.groupby("country_code")["time_zone"].nunique()
    assert zones["US"] > 2 and zones["AU"] > 1 and zones["BR"] > 1 and zones["CA"] > 1
    assert zones["FR"] == 1


def test_people_change_jobs_and_old_work_addresses_bounce(world):
    w, _ = world
    e = w.email_events
    assert (w.people["work2"] != "").any()
    assert (e["etype"] == 4).any()  # BOUNCE_HARD


def test_campaigns_start_at_many_utc_hours(world):
    w, _ = world
    hours = (w.campaigns["start"] % DAY) // 3600
    assert hours.nunique() >= 8


def test_human_opens_cluster_around_the_preferred_local_hour(world):
    w, t = world
    e = w.email_events
    person = w.contacts["person"].to_numpy()[e["contact"].to_numpy()]
    zone = w.people["time_zone"].to_numpy()[person]
    offsets = {z: pd.Timestamp("2026-03-01", tz=z).utcoffset().total_seconds() for z in set(zone)}
    local = ((e["time"].to_numpy() + pd.Series(zone).map(offsets).to_numpy()) % DAY) // 3600
    pref = w.people["preferred_hour"].to_numpy()[person]
    dist = np.abs(local - pref)
    dist = np.minimum(dist, 24 - dist)
    human_open = (e["etype"].to_numpy() == OPEN) & e["human"].to_numpy()
    delivered = e["etype"].to_numpy() == DELIVERED
    assert dist[human_open].mean() < dist[delivered].mean() - 1.0


def test_privacy_proxy_opens_arrive_seconds_after_delivery_on_every_campaign(world):
    w, _ = world
    e = w.email_events
    machine_open = (e["etype"] == OPEN) & ~e["human"]
    keys = ["campaign", "contact"]
    delivered = e[e["etype"] == DELIVERED].set_index(keys)["time"]
    opens = e[machine_open].groupby(keys)["time"].min()
    lag = opens - delivered.reindex(opens.index)
    assert (lag.dropna() < 60).mean() > 0.95
    assert ((e["etype"] == CLICK) & ~e["human"]).any()  # link scanners


def test_higher_propensity_means_more_human_engagement(world):
    w, _ = world
    e = w.email_events
    person = w.contacts["person"].to_numpy()[e["contact"].to_numpy()]
    frame = pd.DataFrame({"person": person, "sent": e["etype"] == SENT, "human": e["human"] & e["etype"].isin([OPEN, CLICK])})
    per = frame.groupby("person")[["sent", "human"]].sum()
    per = per[per["sent"] >= 3]
    prop = w.people["propensity"].to_numpy()[per.index]
    rate = per["human"] / per["sent"]
    assert np.corrcoef(prop, rate)[0, 1] > 0.3


def test_hour_affinity_peaks_at_the_preferred_hour_and_averages_about_one():
    hours = np.arange(24)
    distance = np.minimum(hours, 24 - hours)
    affinity = hour_affinity(distance)
    assert affinity.argmax() == 0
    assert 0.9 < affinity.mean() < 1.1


def test_misspelt_and_invalid_addresses_no_longer_reach_the_mailbox():
    rng = np.random.default_rng(0)
    true = np.array(["ann.lee@gmail.com"] * 4000, dtype=object)
    names = np.array(["Ann"] * 4000, dtype=object), np.array(["Lee"] * 4000, dtype=object)
    typed, delivers = typed_emails(rng, true, *names, TypoRates(case=0.1, spaces=0.1, domain_typo=0.05, local_typo=0.0, invalid=0.05))
    typed = pd.Series(typed)
    assert delivers[typed.str.strip().str.lower().eq("ann.lee@gmail.com").to_numpy()].all()
    assert not delivers[typed.str.contains("gmial|gmai\\.|gnail|gmail\\.co$|gmail\\.con", regex=True).to_numpy()].any()
    assert 0.05 < (~delivers).mean() < 0.15


def test_value_formats_match_the_contract_spellings():
    rng = np.random.default_rng(0)
    instant = np.array([1_767_225_600 + 3 * 3600 + 4 * 60 + 5])  # 2026-01-01 03:04:05 UTC
    assert format_timestamps(instant, "iso_z", rng)[0] == "2026-01-01T03:04:05Z"
    assert format_timestamps(instant, "sql", rng)[0] == "2026-01-01 03:04:05"
    assert format_timestamps(instant, "mdy", rng)[0] == "01/01/2026 03:04"
    offset = format_timestamps(instant, "iso_offset", rng)[0]
    assert pd.Timestamp(offset) == pd.Timestamp("2026-01-01T03:04:05Z")
    assert list(format_booleans(np.array([True, False, None], dtype=object), 0)) == ["Yes", "No", ""]
    day = np.array([20_454])  # 2026-01-01
    assert format_dates(day, True, np.array([False]))[0] == "01/01/2026"


def _complete_drops(landing, source):
    return [d for d in sorted((landing / source).iterdir()) if (d / "_SUCCESS").exists()]


def test_truth_order_facts_match_what_the_complete_drops_show(sample):
    landing, truth, _ = sample
    records = pd.read_csv(truth / "records.csv", dtype=str)
    owner = records[records["source"] == "order"].set_index("source_record_id")["true_person_id"]
    lines = pd.concat([read_landing_csv(f) for d in _complete_drops(landing, "store") for f in d.glob("orders.csv")])
    lines = lines[(lines["lineitem sku"] != "SKU-0000") & ~lines["financial status"].isin(["refunded", "voided"])]
    counted = lines.drop_duplicates("order id")
    expected = counted["order id"].map(owner).value_counts()
    persons = pd.read_csv(truth / "persons.csv").set_index("true_person_id")
    actual = persons["orders"][persons["orders"] > 0]
    pd.testing.assert_series_equal(actual.sort_index(), expected.sort_index(), check_names=False)


def test_truth_webinar_facts_match_the_delivered_reports(sample):
    landing, truth, _ = sample
    records = pd.read_csv(truth / "records.csv", dtype=str)
    owner = records[records["source"] == "webinar"].set_index("source_record_id")["true_person_id"]
    regs = pd.concat([read_landing_csv(f) for d in _complete_drops(landing, "webinar") for f in d.glob("*.csv")])
    keys = (regs["webinar id"] + ":" + regs["email"].str.strip().str.lower()).drop_duplicates()
    expected = keys.map(owner).value_counts()
    persons = pd.read_csv(truth / "persons.csv").set_index("true_person_id")
    actual = persons["registered_webinars"][persons["registered_webinars"] > 0]
    pd.testing.assert_series_equal(actual.sort_index(), expected.sort_index(), check_names=False)
