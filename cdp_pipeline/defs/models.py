"""Models group: engagement score and best send time, each measured against baselines."""



import dagster as dg
import pandas as pd

from cdp_pipeline.defs.common import OWNERS
from cdp_pipeline.defs.activity import PersonActivity, activity_input
from cdp_pipeline.defs.metadata import frame_metadata, json_metadata, png_markdown
from cdp_pipeline.defs.resources import StateResource
from cdp_pipeline.models.artifacts import ENGAGEMENT_ARTIFACTS



def _model_frames(activity: PersonActivity, profiles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "email_events": activity.email_events,
        "orders": activity.orders,
        "web_events": activity.web_events,
        "webinar_registrations": activity.webinar_registrations,
        "profiles": profiles,
    }


def _metrics_table(metrics: dict[str, dict]) -> dg.MetadataValue:
    """Model and baselines side by side, the way a reviewer compares them."""
    names = ["roc_auc", "pr_auc", "base_rate", "brier", "top_decile_lift"]
    rows = ["| scorer | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for scorer, values in metrics.items():
        cells = [f"{values[n]:.4f}" if isinstance(values.get(n), (int, float)) else "" for n in names]
        rows.append(f"| {scorer} | " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(rows))


@dg.asset(
    group_name="models",
    kinds={"scikit-learn"},
    owners=OWNERS,
    description=(
        "Engagement model: calibrated HistGradientBoosting on point-in-time features, trained by "
        "backtest (train on an earlier cut, validate on a later one separated by the 30-day label "
        "window), with a recency rule and an RFM rule as baselines measured in the same run. "
        "Opens by privacy proxies and clicks by security scanners do not count. The fitted model "
        "is saved with its version, features and metrics; scoring loads it."
    ),
    ins={"person_activity": activity_input("engagement_model")},
)
def engagement_model(
    context: dg.AssetExecutionContext,
    state: StateResource,
    person_activity: PersonActivity,
    profiles: pd.DataFrame,
):
    from cdp_pipeline.models.artifacts import save_model, save_validation_labels
    from cdp_pipeline.models.engagement import train_engagement_model
    from cdp_pipeline.models.features import engagement_labels, prepare_engagement_data
    from cdp_pipeline.models.metrics import calibration_plot_png

    data = prepare_engagement_data(_model_frames(person_activity, profiles))
    model = train_engagement_model(data, person_activity.reference_date, seed=0)
    folder = save_model(model, state.folder / ENGAGEMENT_ARTIFACTS / model.version)
    save_validation_labels(folder, engagement_labels(data, model.cuts["valid"], model.settings.window_days))
    scored = {name: m for name, m in model.metrics.items() if isinstance(m, dict) and "roc_auc" in m}
    curves = {name: m.get("calibration", []) for name, m in scored.items()}
    return dg.Output(
        model,
        metadata={
            "model_version": model.version,
            "train_rows": dg.MetadataValue.int(int(model.train_rows)),
            "features": json_metadata(list(model.feature_names)),
            "cuts": json_metadata({k: str(v) for k, v in model.cuts.items()}),
            "metrics_vs_baselines": _metrics_table(scored),
            "metrics": json_metadata(model.metrics),
            "calibration_curve": png_markdown(calibration_plot_png(curves), "calibration curve"),
            "artifact": dg.MetadataValue.path(str(folder)),
        },
    )


@dg.asset(
    group_name="models",
    kinds={"scikit-learn", "pandas"},
    owners=OWNERS,
    description=(
        "Chance of a human open or click in the next 30 days per person, scored at the reference "
        "date by the saved engagement model, with tiers from calibrated thresholds. Persons "
        "without history get their cohort's rate (`cold_start`). Published as `engagement_scores`."
    ),
    ins={"person_activity": activity_input("engagement_scores")},
)
def engagement_scores(
    state: StateResource,
    engagement_model,
    person_activity: PersonActivity,
    profiles: pd.DataFrame,
) -> dg.Output:
    from cdp_pipeline.models.artifacts import load_model
    from cdp_pipeline.models.engagement import score_persons
    from cdp_pipeline.models.metrics import score_histogram_png

    model = load_model(state.folder / ENGAGEMENT_ARTIFACTS / engagement_model.version)
    scores = score_persons(model, _model_frames(person_activity, profiles), person_activity.reference_date, profiles)
    thresholds = {"high": model.settings.high_threshold, "medium": model.settings.medium_threshold}
    return dg.Output(
        scores,
        metadata=frame_metadata(
            scores,
            tiers=json_metadata(scores["tier"].value_counts().to_dict()),
            cold_start=dg.MetadataValue.int(int(scores["cold_start"].sum())) if "cold_start" in scores else 0,
            mean_score=float(scores["score"].mean()) if len(scores) else 0.0,
            score_distribution=png_markdown(score_histogram_png(scores["score"], thresholds), "scores"),
        ),
    )


@dg.multi_asset(
    group_name="models",
    outs={
        "send_time_model": dg.AssetOut(
            kinds={"numpy"},
            owners=OWNERS,
            description=(
                "Per person and local hour of the week, the chance of a human response to a send, "
                "with empirical-Bayes shrinkage person → cohort → population; responses are "
                "attributed to the send they answer, so past send hours are not learnt as "
                "preferences. Evaluated on the last four weeks held out against two baselines, all "
                "three scored on the same sends, weighted so that the hours the held-out campaigns "
                "happened to use earn no credit."
            ),
        ),
        "send_times": dg.AssetOut(
            kinds={"pandas"},
            owners=OWNERS,
            description=(
                "Best hour to send per person, in UTC hour of the coming week and local hour, "
                "with confidence and basis (personal / blended / population). Published as "
                "`send_times`."
            ),
        ),
    },
    ins={
        "person_activity": activity_input("send_time_recommendations"),
        "profiles": dg.AssetIn(),
        "engagement_scores": dg.AssetIn(),
    },
)
def send_time_recommendations(person_activity: PersonActivity, profiles: pd.DataFrame, engagement_scores: pd.DataFrame):
    from cdp_pipeline.models.send_time import (
        fit_and_evaluate_send_times,
        heatmap_png,
        human_response_counts,
        population_heatmap,
        recommend_send_times,
    )

    tiers = engagement_scores.set_index("person_id")["tier"]
    model, metrics = fit_and_evaluate_send_times(
        person_activity.email_events, profiles, person_activity.reference_date, tiers=tiers
    )
    send_times = recommend_send_times(model, profiles, person_activity.reference_date, tiers=tiers)
    responses = human_response_counts(person_activity.email_events)
    send_times["human_responses"] = send_times["person_id"].map(responses).fillna(0).astype("int64")
    yield dg.Output(
        (model, metrics),
        output_name="send_time_model",
        metadata={
            "metrics": json_metadata(metrics),
            "hour_of_week_response_rate": png_markdown(heatmap_png(population_heatmap(model)), "heatmap"),
            "train_sends": dg.MetadataValue.int(int(model.train_sends)),
        },
    )
    yield dg.Output(
        send_times,
        output_name="send_times",
        metadata=frame_metadata(send_times, basis=json_metadata(send_times["basis"].value_counts().to_dict())),
    )


@dg.asset(
    group_name="models",
    kinds={"pandas"},
    owners=OWNERS,
    description="One row per model trained by this run, with its metrics and its baselines' metrics. Published as `model_runs`.",
)
def model_runs(engagement_model, send_time_model) -> dg.Output:
    from cdp_pipeline.models import engagement, send_time

    model, metrics = send_time_model
    rows = pd.DataFrame(
        [
            engagement.model_run_record(engagement_model),
            send_time.model_run_record(model, metrics, engagement_model.reference_date),
        ]
    )
    return dg.Output(rows, metadata=frame_metadata(rows))
