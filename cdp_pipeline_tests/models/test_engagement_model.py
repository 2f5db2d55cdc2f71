"""Engagement model: backtest, baselines, calibration, cold start, determinism.

The data comes from ``simulate_engagement``: persons with a known chance of a human response
per email, Apple-MPP-like proxy users whose machine opens arrive seconds after every delivery,
weekly campaigns. Because the truth is known, calibration and ranking can be checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.models.engagement import (
    EngagementSettings,
    as_of_instant,
    assign_tiers,
    model_run_record,
    score_persons,
    train_engagement_model,
)
from cdp_pipeline.models.metrics import calibration_plot_png, probability_metrics, score_histogram_png

REFERENCE = pd.Timestamp("2026-11-20")
# Fewer boosting rounds than production: the tests check behaviour, the benchmark checks quality.
SETTINGS = EngagementSettings(max_iter=60, learning_rate=0.1, min_samples_leaf=100, threads=1)


def simulate_engagement(persons: int, seed: int, days: int = 150, reference: pd.Timestamp = REFERENCE):
    """Frames with known per-email response probabilities (``truth`` holds them per person)."""
    rng = np.random.default_rng(seed)
    person_id = np.array([f"P{i:07d}" for i in range(persons)])
    propensity = rng.beta(1.0, 3.0, persons)
    proxy_user = rng.random(persons) < 0.3
    work = rng.random(persons) < 0.4
    email = np.where(work, np.char.add(person_id, "@acme-corp.com"), np.char.add(person_id, "@gmail.com"))
    end = as_of_instant(reference)
    send_days = np.arange(days - 1, 0, -4)
    events = []
    for number, days_before in enumerate(send_days):
        sent_at = end - pd.Timedelta(days=int(days_before)) + pd.Timedelta(hours=int(rng.integers(0, 24)))
        receives = np.flatnonzero(rng.random(persons) < 0.8)
        count = len(receives)
        campaign = f"C{number:03d}"
        delivered = sent_at + pd.to_timedelta(rng.integers(1, 60, count), unit="s")
        opens = receives[rng.random(count) < propensity[receives]]
        open_at = sent_at + pd.to_timedelta(rng.integers(600, 7200, len(opens)), unit="s")
        clicks = rng.random(len(opens)) < 0.35
        proxies = np.flatnonzero(proxy_user[receives])
        frames = [
            (receives, np.full(count, sent_at), "SENT", None),
            (receives, delivered, "DELIVERED", None),
            (opens, open_at, "OPEN", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Outlook"),
            (opens[clicks], open_at[clicks] + pd.Timedelta(seconds=40), "CLICK", "Mozilla/5.0 (Windows NT 10.0)"),
            (receives[proxies], delivered[proxies] + pd.Timedelta(seconds=4), "OPEN", "Mozilla/5.0"),
        ]
        for who, when, kind, agent in frames:
            events.append(
                pd.DataFrame(
                    {
                        "campaign_id": campaign,
                        "recipient": email[who],
                        "event_type": kind,
                        "event_time": pd.DatetimeIndex(when).as_unit("us"),
                        "user_agent": agent,
                        "link_url": "https://shop.example/offer" if kind == "CLICK" else None,
                        "person_id": person_id[who],
                    }
                )
            )
    email_events = pd.concat(events, ignore_index=True)
    email_events["event_id"] = [f"E{i}" for i in range(len(email_events))]
    buyers = np.flatnonzero(rng.random(persons) < 0.25)
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(buyers))],
            "created_at": end - pd.to_timedelta(rng.integers(1, days * 24, len(buyers)), unit="h"),
            "total": rng.gamma(2.0, 40.0, len(buyers)),
            "financial_status": "paid",
            "lineitem_category": rng.choice(["shoes", "bags", "hats"], len(buyers)),
            "person_id": person_id[buyers],
        }
    )
    profiles = pd.DataFrame(
        {"person_id": person_id, "primary_email": email, "email_consent": "granted", "consent_updated_at": end - pd.Timedelta(days=days + 30)}
    )
    truth = pd.Series(propensity, index=pd.Index(person_id, name="person_id"), name="propensity")
    return {"email_events": email_events, "orders": orders, "profiles": profiles}, truth


@pytest.fixture(scope="module")
def simulated():
    return simulate_engagement(4000, seed=3)


@pytest.fixture(scope="module")
def trained(simulated):
    frames, _ = simulated
    return train_engagement_model(frames, REFERENCE, seed=0, settings=SETTINGS)


def test_backtest_model_beats_both_baselines_on_the_validation_cut(trained):
    model, recency, rfm = (trained.metrics[k] for k in ("model", "recency", "rfm"))
    assert model["roc_auc"] > max(recency["roc_auc"], rfm["roc_auc"]) + 0.02
    assert model["brier"] < min(recency["brier"], rfm["brier"])
    assert model["top_decile_lift"] > 1.2


def test_calibration_holds_on_held_out_data_drawn_from_known_probabilities(trained):
    fresh, _ = simulate_engagement(4000, seed=11)
    from cdp_pipeline.models.engagement import labelled_cut

    features, labels = labelled_cut(fresh, as_of_instant(REFERENCE) - pd.Timedelta(days=30), trained.settings)
    metrics = probability_metrics(labels, trained.predict(features))
    assert abs(metrics["mean_predicted"] - metrics["base_rate"]) < 0.03
    for calibration_bin in metrics["calibration"]:
        assert abs(calibration_bin["predicted"] - calibration_bin["observed"]) < 0.08


def test_same_inputs_give_the_same_scores_and_version(simulated, trained):
    frames, _ = simulated
    again = train_engagement_model(frames, REFERENCE, seed=0, settings=SETTINGS)
    assert again.version == trained.version
    first = score_persons(trained, frames, REFERENCE)
    second = score_persons(again, frames, REFERENCE)
    pd.testing.assert_frame_equal(first, second)


def test_version_changes_with_the_training_data(simulated, trained):
    frames, _ = simulated
    events = frames["email_events"]
    fewer = {**frames, "email_events": events[events["campaign_id"] != "C030"]}
    assert train_engagement_model(fewer, REFERENCE, seed=0, settings=SETTINGS).version != trained.version


def test_scores_cover_every_profile_with_warehouse_columns(simulated, trained):
    frames, _ = simulated
    scores = score_persons(trained, frames, REFERENCE)
    assert list(scores.columns[:5]) == ["person_id", "score", "tier", "model_version", "scored_at"]
    assert set(scores["person_id"]) == set(frames["profiles"]["person_id"])
    assert scores["score"].between(0, 1).all()
    assert set(scores["tier"]) <= {"high", "medium", "low"}
    assert (scores["scored_at"] == REFERENCE).all()


def test_persons_without_history_get_a_marked_cohort_score(simulated, trained):
    frames, _ = simulated
    newcomers = pd.DataFrame(
        {
            "person_id": ["NEW1", "NEW2"],
            "primary_email": ["x@gmail.com", "y@bigcorp.io"],
            "email_consent": ["granted", "granted"],
        }
    )
    profiles = pd.concat([frames["profiles"], newcomers], ignore_index=True)
    scores = score_persons(trained, frames, REFERENCE, profiles).set_index("person_id")
    assert scores.loc[["NEW1", "NEW2"], "cold_start"].all()
    assert (scores.loc[["NEW1", "NEW2"], "basis"] == "cohort").all()
    assert not scores.drop(index=["NEW1", "NEW2"])["cold_start"].any()
    assert scores.loc[["NEW1", "NEW2"], "score"].between(0.01, 0.99).all()


def test_tiers_follow_the_configured_thresholds():
    settings = EngagementSettings(high_threshold=0.6, medium_threshold=0.3)
    tiers = assign_tiers(np.array([0.61, 0.6, 0.59, 0.3, 0.29]), settings)
    assert tiers.tolist() == ["high", "high", "medium", "medium", "low"]


def test_model_run_record_carries_model_and_baseline_metrics(trained):
    import json

    record = model_run_record(trained)
    assert record["model"] == "engagement" and record["model_version"] == trained.version
    assert {"roc_auc", "pr_auc", "base_rate", "brier", "top_decile_lift", "calibration"} <= set(json.loads(record["metrics"]))
    assert set(json.loads(record["baseline_metrics"])) == {"recency", "rfm"}


def test_figures_are_png_images(trained):
    curves = {name: metrics["calibration"] for name, metrics in trained.metrics.items()}
    for image in (calibration_plot_png(curves), score_histogram_png(np.linspace(0, 1, 50), {"high": 0.5})):
        assert image.startswith(b"\x89PNG")


def test_saved_model_loads_and_scores_identically(tmp_path, simulated, trained):
    import json

    from cdp_pipeline.models.artifacts import load_model, save_model

    frames, _ = simulated
    folder = save_model(trained, tmp_path / "engagement")
    written = json.loads((folder / "manifest.json").read_text())
    assert written["version"] == trained.version and written["features"] == trained.feature_names
    assert written["metrics"]["model"]["roc_auc"] == trained.metrics["model"]["roc_auc"]
    pd.testing.assert_frame_equal(score_persons(load_model(folder), frames, REFERENCE), score_persons(trained, frames, REFERENCE))


def test_a_model_file_that_does_not_match_its_manifest_is_refused(tmp_path, trained):
    import json

    from cdp_pipeline.models.artifacts import load_model, save_model

    folder = save_model(trained, tmp_path / "engagement")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "version": "eng-other"}))
    with pytest.raises(ValueError, match="disagree"):
        load_model(folder)


def test_a_feature_never_observed_in_training_does_not_stop_the_model():
    """A short history leaves some features empty; training must still succeed."""
    import numpy as np
    import pandas as pd

    from cdp_pipeline.models.engagement import EngagementSettings, fit_calibrated_booster

    rng = np.random.default_rng(0)
    features = pd.DataFrame({"recency": rng.random(2000), "never_seen": np.nan})
    labels = (features["recency"] < 0.5).to_numpy(dtype=int)
    model = fit_calibrated_booster(features, labels, seed=0, settings=EngagementSettings())
    scores = model.predict_proba(features.to_numpy(dtype=float))[:, 1]
    assert scores[labels == 1].mean() > scores[labels == 0].mean()
