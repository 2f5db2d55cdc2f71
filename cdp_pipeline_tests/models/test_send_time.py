"""Best send time: attribution of responses to sends, hierarchical shrinkage, output, evaluation."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.models.send_time import (
    SendTimeSettings,
    attribute_responses,
    beta_binomial_strength,
    circular_hour_distance,
    email_domain_type,
    evaluate_send_times,
    fit_and_evaluate_send_times,
    fit_send_time_model,
    heatmap_png,
    population_heatmap,
    recommend_send_times,
    schedule_weights,
    score_hours,
)

REFERENCE = date(2026, 11, 20)
AS_OF = pd.Timestamp("2026-11-21", tz="UTC")


def event(person, campaign, kind, at, machine=False, recipient=None):
    return {
        "event_id": f"{person}-{campaign}-{kind}-{at}",
        "campaign_id": campaign,
        "recipient": recipient or f"{person}@mail.example",
        "person_id": person,
        "event_type": kind,
        "event_time": pd.Timestamp(at, tz="UTC"),
        "user_agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/128",
        "is_machine": machine,
    }


def frame(rows) -> pd.DataFrame:
    events = pd.DataFrame(rows)
    events["event_time"] = events["event_time"].astype("datetime64[us, UTC]")
    return events


# --- attribution ---------------------------------------------------------------------------------


def test_a_response_goes_to_the_latest_send_of_the_same_campaign_before_it():
    sends = attribute_responses(
        frame(
            [
                event("p1", "c1", "SENT", "2026-11-02 08:00"),
                event("p1", "c2", "SENT", "2026-11-02 09:00"),
                event("p1", "c1", "OPEN", "2026-11-02 10:00"),
            ]
        ),
        AS_OF,
    ).set_index("campaign_id")
    assert sends.loc["c1", "responded"]
    assert not sends.loc["c2", "responded"]  # later send, but another campaign


def test_sent_and_delivered_of_one_message_are_one_send():
    sends = attribute_responses(
        frame(
            [
                event("p1", "c1", "SENT", "2026-11-02 08:00:00"),
                event("p1", "c1", "DELIVERED", "2026-11-02 08:00:04"),
                event("p1", "c1", "CLICK", "2026-11-02 08:30"),
            ]
        ),
        AS_OF,
    )
    assert len(sends) == 1
    assert sends["send_time"].iloc[0] == pd.Timestamp("2026-11-02 08:00", tz="UTC")
    assert sends["responded"].iloc[0]


def test_a_late_response_belongs_to_its_send_but_does_not_count_as_a_quick_response():
    sends = attribute_responses(
        frame(
            [
                event("p1", "c1", "SENT", "2026-11-02 08:00"),
                event("p1", "c1", "OPEN", "2026-11-05 09:00"),  # 73 h later
            ]
        ),
        AS_OF,
        response_window_hours=24,
    )
    assert sends["first_response_time"].iloc[0] == pd.Timestamp("2026-11-05 09:00", tz="UTC")
    assert not sends["responded"].iloc[0]


def test_machine_opens_are_not_responses():
    sends = attribute_responses(
        frame(
            [
                event("p1", "c1", "SENT", "2026-11-02 08:00"),
                event("p1", "c1", "OPEN", "2026-11-02 08:00:05", machine=True),
            ]
        ),
        AS_OF,
    )
    assert not sends["responded"].iloc[0]
    assert sends["first_response_time"].isna().iloc[0]


def test_bounced_sends_are_not_trials_and_unfinished_windows_are_marked_incomplete():
    sends = attribute_responses(
        frame(
            [
                event("p1", "c1", "SENT", "2026-11-02 08:00"),
                event("p1", "c1", "BOUNCE_HARD", "2026-11-02 08:01"),
                event("p1", "c2", "SENT", "2026-11-20 20:00"),  # window ends after AS_OF
                event("p1", "c3", "SENT", "2026-11-22 08:00"),  # after AS_OF: unknown yet
            ]
        ),
        AS_OF,
    )
    assert sends["campaign_id"].tolist() == ["c2"]
    assert not sends["complete"].iloc[0]


# --- shrinkage -----------------------------------------------------------------------------------


def test_the_prior_strength_is_recovered_from_beta_binomial_data():
    rng = np.random.default_rng(3)
    mean, strength = 0.2, 10.0
    rates = rng.beta(mean * strength, (1 - mean) * strength, size=20_000)
    trials = rng.integers(2, 30, size=rates.size)
    successes = rng.binomial(trials, rates)
    assert beta_binomial_strength(successes, trials, mean) == pytest.approx(strength, rel=0.15)


def test_units_that_agree_with_the_prior_get_a_strong_prior():
    rng = np.random.default_rng(4)
    trials = np.full(5_000, 20)
    successes = rng.binomial(trials, 0.2)
    assert beta_binomial_strength(successes, trials, 0.2) > 200


MADRID = "Europe/Madrid"


def local_send(day: int, hour: int) -> pd.Timestamp:
    """A Madrid local send time in November 2026 (UTC+1, no clock change), as UTC."""
    local = pd.Timestamp("2026-10-26") + pd.Timedelta(days=day, hours=hour)
    return local.tz_localize(MADRID).tz_convert("UTC")


def population_events(rng, person, preferred, answers_at=None, sends_per_hour=2, start_day=0,
                      days=21):
    """A person sent at every local hour; the chance of an answer peaks at ``preferred`` (44%)
    and falls smoothly to 4% far from it, like a reading routine."""
    rows = []
    for repeat in range(sends_per_hour):
        for hour in range(24):
            day = start_day + (repeat * 24 + hour) % days
            campaign = f"c{start_day}-{repeat}-{hour}"
            sent = local_send(day, hour)
            rows.append(event(person, campaign, "SENT", str(sent.tz_localize(None))))
            distance = min(abs(hour - preferred), 24 - abs(hour - preferred))
            answer = rng.random() < 0.04 + 0.4 * np.exp(-(distance**2) / 8)
            if answers_at is not None:
                answer = hour in answers_at.get(repeat, ())
            if answer:
                opened = sent + pd.Timedelta(minutes=20)
                rows.append(event(person, campaign, "OPEN", str(opened.tz_localize(None))))
    return rows


def cohort_population(extra_rows=(), extra_profiles=()):
    """40 Madrid persons, most reading at 09:00, some at 14:00 and 19:00, plus extra persons."""
    rng = np.random.default_rng(11)
    preferred = [9] * 28 + [14] * 6 + [19] * 6
    rows = []
    for index, hour in enumerate(preferred):
        rows += population_events(rng, f"p{index:02d}", hour)
    rows += list(extra_rows)
    ids = [f"p{i:02d}" for i in range(len(preferred))] + list(extra_profiles)
    profiles = pd.DataFrame(
        {
            "person_id": ids,
            "timezone": pd.Series([MADRID] * len(ids), dtype="string"),
            "country": pd.Series(["ES"] * len(ids), dtype="string"),
            "primary_email": pd.Series([f"{i}@gmail.com" for i in ids], dtype="string"),
        }
    )
    return frame(rows), profiles


def test_a_person_with_one_open_stays_near_the_cohort_and_one_with_many_follows_their_own_hour():
    rng = np.random.default_rng(0)
    one_open = population_events(rng, "single", 0, answers_at={0: (21,)})
    many_opens = population_events(
        rng, "evening", 0, answers_at={0: (20, 21, 22), 1: (20, 21, 22), 2: (21, 22), 3: (20, 21)},
        sends_per_hour=4,
    )
    events, profiles = cohort_population(one_open + many_opens, ["single", "evening"])
    model = fit_send_time_model(events, profiles, REFERENCE)
    result = recommend_send_times(model, profiles, REFERENCE).set_index("person_id")

    assert abs(result.loc["single", "best_local_hour"] - 9) <= 1
    assert result.loc["single", "basis"] != "personal"
    assert result.loc["evening", "best_local_hour"] == 21
    assert result.loc["evening", "confidence"] > result.loc["single", "confidence"]


def test_persons_without_sends_or_zones_get_the_population_answer():
    events, profiles = cohort_population(extra_profiles=["newcomer"])
    profiles.loc[profiles["person_id"] == "newcomer", ["timezone", "country"]] = pd.NA
    model = fit_send_time_model(events, profiles, REFERENCE)
    result = recommend_send_times(model, profiles, REFERENCE).set_index("person_id")
    newcomer = result.loc["newcomer"]
    assert newcomer["timezone"] == MADRID and newcomer["timezone_basis"] == "population"
    assert newcomer["basis"] == "population" and newcomer["confidence"] == 0
    assert abs(newcomer["best_local_hour"] - 9) <= 1


def test_send_times_has_the_warehouse_columns_and_hours_in_range():
    events, profiles = cohort_population()
    model = fit_send_time_model(events, profiles, REFERENCE)
    result = recommend_send_times(model, profiles, REFERENCE)
    for column in ("person_id", "best_hour_utc", "best_local_hour", "confidence", "basis",
                   "timezone", "timezone_basis"):
        assert column in result
    assert result["best_hour_utc"].between(0, 167).all()
    assert result["best_local_hour"].between(0, 23).all()
    assert result["confidence"].between(0, 1).all()
    assert set(result["basis"]) <= {"personal", "blended", "population"}
    # Madrid is UTC+1 in late November: the UTC hour is one hour earlier than the local one.
    assert ((result["best_hour_local"] - 1) % 168 == result["best_hour_utc"]).all()


def test_send_hour_bias_is_not_learnt_from_open_counts():
    """Sent mostly at 09:00 but answering only at 20:00: the rate per send points to 20:00."""
    rows = []
    for day in range(20):
        for hour in (9, 9, 9, 9, 20):
            campaign = f"c{day}-{hour}-{len(rows)}"
            sent = local_send(day % 21, hour)
            rows.append(event("biased", campaign, "SENT", str(sent.tz_localize(None))))
            if (hour == 20 and day % 2 == 0) or (hour == 9 and day % 5 == 0):
                opened = sent + pd.Timedelta(minutes=10)
                rows.append(event("biased", campaign, "OPEN", str(opened.tz_localize(None))))
    events, profiles = cohort_population(rows, ["biased"])
    model = fit_send_time_model(events, profiles, REFERENCE)
    result = recommend_send_times(model, profiles, REFERENCE).set_index("person_id")
    # Sends at 20:00 only say "around 20:00" (a reader at 21:00 would answer them as well).
    assert circular_hour_distance(result.loc["biased", "best_local_hour"], 20) <= 2


def test_a_person_sent_mostly_at_their_hour_is_placed_there_and_not_thought_keen():
    """Twenty sends at 20:00 (half answered) and one at each of 17, 18, 19, 21, 22 and 23 h
    (19 and 21 answered). A level taken from the raw response rate (12 of 26) would expect
    nearly every 20:00 send to be answered, and push the reading hour away from 20:00."""
    plan = [(day, 20, day % 2 == 0) for day in range(20)] + [
        (day, hour, hour in (19, 21))
        for day, hour in zip(range(1, 19, 3), (17, 18, 19, 21, 22, 23))
    ]
    rows = []
    for day, hour, answered in plan:
        campaign = f"f{day}-{hour}"
        sent = local_send(day, hour)
        rows.append(event("focused", campaign, "SENT", str(sent.tz_localize(None))))
        if answered:
            opened = sent + pd.Timedelta(minutes=10)
            rows.append(event("focused", campaign, "OPEN", str(opened.tz_localize(None))))
    events, profiles = cohort_population(rows, ["focused"])
    model = fit_send_time_model(events, profiles, REFERENCE)
    result = recommend_send_times(model, profiles, REFERENCE).set_index("person_id")

    focused = model.persons.index[model.persons["person_id"] == "focused"][0]
    assert model.reading_hour[focused].argmax() == 20
    assert circular_hour_distance(result.loc["focused", "best_local_hour"], 20) <= 1


def test_same_inputs_in_any_row_order_give_identical_results():
    events, profiles = cohort_population()
    first = recommend_send_times(fit_send_time_model(events, profiles, REFERENCE), profiles,
                                 REFERENCE)
    shuffled = events.sample(frac=1.0, random_state=5).reset_index(drop=True)
    second = recommend_send_times(fit_send_time_model(shuffled, profiles, REFERENCE), profiles,
                                  REFERENCE)
    pd.testing.assert_frame_equal(first, second)


def test_events_after_the_reference_date_are_ignored():
    events, profiles = cohort_population()
    later = frame([event("p00", "late", "SENT", "2026-11-25 08:00"),
                   event("p00", "late", "OPEN", "2026-11-25 08:10")])
    before = fit_send_time_model(events, profiles, REFERENCE)
    after = fit_send_time_model(pd.concat([events, later], ignore_index=True), profiles, REFERENCE)
    pd.testing.assert_frame_equal(before.persons, after.persons)


def test_work_and_personal_addresses_are_told_apart():
    kinds = email_domain_type(pd.Series(["a@gmail.com", "b@acme.com", None, "c@web.de"]))
    assert kinds.tolist() == ["personal", "work", "unknown", "personal"]


# --- evaluation and heatmap ----------------------------------------------------------------------


def test_evaluation_beats_the_global_best_hour_when_people_read_at_different_hours():
    rng = np.random.default_rng(21)
    rows, ids = [], []
    for index, hour in enumerate([9] * 10 + [13] * 10 + [18] * 10 + [21] * 10):
        person = f"q{index:02d}"
        ids.append(person)
        rows += population_events(rng, person, hour, sends_per_hour=3)  # days 0-20 (training)
        rows += population_events(rng, person, hour, sends_per_hour=2, start_day=23, days=7)
    profiles = pd.DataFrame({"person_id": ids, "timezone": [MADRID] * len(ids)})
    # Holdout: from 2026-11-18 00:00 UTC (local day 23) to the end of 2026-11-24.
    metrics, model = evaluate_send_times(frame(rows), profiles, date(2026, 11, 24), holdout_weeks=1)

    assert metrics["holdout_sends"] > 0 and metrics["train_sends"] > 0
    global_rate = metrics["baselines"]["global_best_hour"]["hit_rate"]
    assert metrics["hit_rate"] > 1.3 * global_rate
    assert metrics["hit_rate_lift_vs_global_best_hour"] == pytest.approx(
        metrics["hit_rate"] / global_rate
    )
    assert model.as_of == pd.Timestamp("2026-11-18", tz="UTC")


def test_each_local_hour_a_zone_was_sent_at_weighs_the_same_and_each_zone_keeps_its_sends():
    zone = np.array([0] * 9 + [0] + [1] * 3 + [1])
    hour = np.array([8] * 9 + [20] + [8] * 3 + [9])
    weights = schedule_weights(zone, hour)

    totals = pd.Series(weights).groupby([zone, hour]).sum()
    assert totals.to_dict() == pytest.approx({(0, 8): 5.0, (0, 20): 5.0, (1, 8): 2.0, (1, 9): 2.0})


def test_an_hour_gets_no_credit_for_the_number_of_sends_made_at_it():
    """90 held-out sends at 08:00 and 10 at 20:00, a 20% response rate at both: neither hour is
    better, although 90% of the responses came at 08:00."""
    hour = np.array([8] * 90 + [20] * 10)
    responded = np.array([True] * 18 + [False] * 72 + [True] * 2 + [False] * 8)
    weights = schedule_weights(np.zeros(100, dtype=int), hour)

    at_eight = score_hours(hour, np.full(100, 8), responded, weights, tolerance=1)
    at_twenty = score_hours(hour, np.full(100, 20), responded, weights, tolerance=1)
    assert at_eight["hit_rate_unadjusted"] == pytest.approx(0.9)
    assert at_eight["hit_rate"] == pytest.approx(0.5) == at_twenty["hit_rate"]
    assert at_eight["response_rate_at_recommended"] == pytest.approx(0.2)


def test_the_global_hour_is_not_credited_for_a_held_out_schedule_that_favours_it():
    """Held-out campaigns go out three times as often at 09:00, the majority's hour: the plain
    share of responses flatters the global hour; the weighted one still shows the model's gain."""
    rng = np.random.default_rng(4)
    rows, ids = [], []
    for index, preferred in enumerate([9] * 24 + [21] * 16):
        person = f"h{index:02d}"
        ids.append(person)
        rows += population_events(rng, person, preferred, sends_per_hour=3)  # days 0-20
        for day, hour in [(d, 9) for d in range(23, 29)] + [(23, 21), (25, 21)]:
            campaign = f"held-{day}-{hour}"
            sent = local_send(day, hour)
            rows.append(event(person, campaign, "SENT", str(sent.tz_localize(None))))
            if rng.random() < 0.04 + 0.4 * np.exp(-circular_hour_distance(hour, preferred) ** 2 / 8):
                opened = sent + pd.Timedelta(minutes=20)
                rows.append(event(person, campaign, "OPEN", str(opened.tz_localize(None))))
    profiles = pd.DataFrame({"person_id": ids, "timezone": [MADRID] * len(ids)})
    metrics, _ = evaluate_send_times(frame(rows), profiles, date(2026, 11, 24), holdout_weeks=1)

    global_hour = metrics["baselines"]["global_best_hour"]
    assert metrics["global_best_local_hour"] == 9
    assert global_hour["hit_rate_unadjusted"] > global_hour["hit_rate"]
    assert metrics["hit_rate_unadjusted"] < 1.3 * global_hour["hit_rate_unadjusted"]
    assert metrics["hit_rate_lift_vs_global_best_hour"] >= 1.3
    assert metrics["hit_rate"] >= metrics["baselines"]["person_mode_hour"]["hit_rate"]


def test_population_heatmap_is_weekday_by_hour_and_renders_as_png():
    events, profiles = cohort_population()
    model = fit_send_time_model(events, profiles, REFERENCE, SendTimeSettings())
    matrix = population_heatmap(model)
    assert matrix.shape == (7, 24)
    assert matrix.stack().dropna().between(0, 1).all()
    assert heatmap_png(matrix).startswith(b"\x89PNG")


def test_fit_and_evaluate_in_one_pass_matches_the_separate_calls():
    events, profiles = cohort_population()
    model, metrics = fit_and_evaluate_send_times(events, profiles, REFERENCE, holdout_weeks=2)
    separate_metrics, _ = evaluate_send_times(events, profiles, REFERENCE, holdout_weeks=2)
    assert metrics["holdout_sends"] > 0
    separate_model = fit_send_time_model(events, profiles, REFERENCE)
    assert metrics == separate_metrics
    pd.testing.assert_frame_equal(model.persons, separate_model.persons)


def test_the_model_runs_record_keeps_baselines_apart_and_is_stable_for_the_same_inputs():
    import json

    from cdp_pipeline.models.send_time import model_run_record

    events, profiles = cohort_population()
    first = model_run_record(*fit_and_evaluate_send_times(events, profiles, REFERENCE, holdout_weeks=2), REFERENCE)
    again = model_run_record(*fit_and_evaluate_send_times(events, profiles, REFERENCE, holdout_weeks=2), REFERENCE)
    assert first == again
    assert first["model"] == "send_time" and first["train_rows"] > 0
    assert set(json.loads(first["baseline_metrics"])) == {"global_best_hour", "person_mode_hour"}
    assert "baselines" not in json.loads(first["metrics"]) and "hit_rate" in json.loads(first["metrics"])
