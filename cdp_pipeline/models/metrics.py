"""How good a probability is: discrimination, calibration and lift, plus the UI figures.

The same function scores the model, the baselines and (in benchmarks) the true propensity,
so the numbers in ``model_runs`` are comparable with each other.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd


def json_safe(value):
    """NaN/inf become null so the manifest (and ``model_runs.metrics``) is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def top_fraction_lift(labels: np.ndarray, scores: np.ndarray, fraction: float = 0.1) -> float:
    """Positive rate among the highest-scored ``fraction`` divided by the overall rate.

    Ties are broken by position (stable sort), so the figure is deterministic.
    """
    labels = np.asarray(labels, dtype=float)
    if len(labels) == 0 or labels.mean() == 0:
        return float("nan")
    top = max(1, int(np.ceil(fraction * len(labels))))
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:top]
    return float(labels[order].mean() / labels.mean())


def calibration_bins(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-count bins of the predicted probability: mean prediction vs observed rate."""
    frame = pd.DataFrame({"label": np.asarray(labels, dtype=float), "score": np.asarray(scores, dtype=float)})
    if frame.empty:
        return []
    ranks = frame["score"].rank(method="first") - 1
    frame["bin"] = np.minimum((ranks * bins // len(frame)).astype(int), bins - 1)
    grouped = frame.groupby("bin").agg(
        predicted=("score", "mean"), observed=("label", "mean"), count=("label", "size")
    )
    return [
        {"predicted": float(r.predicted), "observed": float(r.observed), "count": int(r.count)}
        for r in grouped.itertuples()
    ]


def expected_calibration_error(bins: list[dict]) -> float:
    """Count-weighted mean |predicted - observed| over the calibration bins."""
    total = sum(b["count"] for b in bins)
    return float(sum(b["count"] * abs(b["predicted"] - b["observed"]) for b in bins) / total) if total else float("nan")


def probability_metrics(labels, scores) -> dict:
    """ROC-AUC, PR-AUC with its base rate, Brier, log loss, top-decile lift, calibration bins."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(labels, dtype=int)
    p = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    both_classes = 0 < y.sum() < len(y)
    bins = calibration_bins(y, p)
    return {
        "rows": int(len(y)),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])) if len(y) else float("nan"),
        "top_decile_lift": top_fraction_lift(y, p, 0.1),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
        "ece": expected_calibration_error(bins),
        "calibration": bins,
    }


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def calibration_plot_png(curves: dict[str, list[dict]]) -> bytes:
    """Reliability diagram: one line per scorer (model, baselines) from ``calibration_bins``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    for name, bins in curves.items():
        axis.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], marker="o", label=name)
    axis.set_xlabel("predicted probability (bin mean)")
    axis.set_ylabel("observed open/click rate")
    axis.set_title("Calibration on the validation cut")
    axis.legend(loc="upper left")
    return _png(figure)


def score_histogram_png(scores, tiers: dict[str, float] | None = None) -> bytes:
    """Distribution of scores, with the tier thresholds drawn as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.hist(np.asarray(scores, dtype=float), bins=50, range=(0, 1), color="#4477aa")
    for name, threshold in (tiers or {}).items():
        axis.axvline(threshold, color="#cc6677", linestyle="--")
        axis.text(threshold, axis.get_ylim()[1] * 0.95, f" {name}", color="#cc6677")
    axis.set_xlabel("engagement score (probability of a human open/click in 30 days)")
    axis.set_ylabel("persons")
    return _png(figure)
