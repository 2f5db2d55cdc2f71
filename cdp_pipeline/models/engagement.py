"""Engagement score: calibrated probability of a human open or click in the next 30 days.

Backtest (all cuts are instants; ``as_of`` is the end of the reference date, because a drop
dated D holds events up to the end of D):

* train cut ``as_of - 2w`` with labels from ``[cut, cut + w)``, validation cut ``as_of - w``
  with labels ending at ``as_of`` (w = 30 days). The model and both baselines are fitted on the
  train cut and measured on the validation cut: an honest, out-of-time estimate.
* The final model is refitted with the same recipe on the validation cut (the latest labelled
  one) and scores persons with features as of ``as_of``.

Model: scikit-learn's ``HistGradientBoostingClassifier`` (handles NaN "never happened"
features natively, scales to millions of rows on two cores, seeded), then calibrated by
``CalibratedClassifierCV`` on a seeded held-out split of the same cut (``calibration_fraction``).
Why a split rather than ``cv=k``: one boosting fit instead of k keeps 1M persons inside the
time budget, and the calibrator still only sees rows the booster never trained on. Why Platt's
sigmoid by default: a log-loss booster is already close to calibrated, so a two-parameter,
strictly increasing correction suffices and keeps the ranking (AUC, lift) intact, whereas
isotonic regression turns scores into steps whose ties cost ranking quality; ``isotonic`` is
available in the settings for data where the booster's curve is bent (it needs at least
``MIN_ISOTONIC_ROWS`` calibration rows, otherwise sigmoid is used).

Baselines, each turned into a probability by the positive rate of its buckets on the train cut:
``recency`` (days since the last human open/click, in train-cut deciles, "never" apart) and
``rfm`` (sum of recency, frequency = responses in 90 days, monetary = spend quintiles).

Cold start: persons without any event before ``as_of`` get their cohort's rate (consent state x
work/personal domain) among cold persons of the labelled cuts, shrunk towards the cold-start
rate with a Beta prior of ``cohort_prior_strength`` pseudo-persons; ``basis`` says "cohort".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from cdp_pipeline.models.features import (
    EngagementData,
    as_utc,
    engagement_features,
    engagement_labels,
    get_frame,
    prepare_engagement_data,
)
from cdp_pipeline.models.human_engagement import MachineRules
from cdp_pipeline.models.metrics import json_safe, probability_metrics

MODEL_NAME = "engagement"
MIN_ISOTONIC_ROWS = 1000
RECENCY_BUCKETS = 10
RFM_QUANTILES = 5


@dataclass(frozen=True)
class EngagementSettings:
    window_days: int = 30
    high_threshold: float = 0.5  # calibrated probability at or above which a person is "high"
    medium_threshold: float = 0.2
    calibration: str = "sigmoid"  # or "isotonic" (see the module docstring)
    calibration_fraction: float = 0.2
    cohort_prior_strength: float = 20.0
    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    # OpenMP threads for boosting (None = all cores). 1 by default: boosting is a minor share
    # of the run, and on a busy machine (parallel pipeline steps) OpenMP workers spin-waiting
    # for each other made training 3x slower in our measurements.
    threads: int | None = 1
    rules: MachineRules = field(default_factory=MachineRules)

    def booster_params(self, seed: int) -> dict:
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "early_stopping": False,
            "random_state": seed,
        }


@dataclass
class RateTable:
    """Positive rate per bucket, Beta-shrunk towards the overall rate; unseen buckets get it."""

    rates: dict
    default: float

    @classmethod
    def fit(cls, buckets: np.ndarray, labels: np.ndarray, strength: float = 1.0) -> "RateTable":
        frame = pd.DataFrame({"b": buckets, "y": labels.astype(float)})
        overall = float(frame["y"].mean()) if len(frame) else 0.0
        stats = frame.groupby("b")["y"].agg(["sum", "size"])
        rates = (stats["sum"] + strength * overall) / (stats["size"] + strength)
        return cls(rates={k: float(v) for k, v in rates.items()}, default=overall)

    def predict(self, buckets: np.ndarray) -> np.ndarray:
        return pd.Series(buckets).map(self.rates).fillna(self.default).to_numpy(dtype=float)


@dataclass
class RecencyBaseline:
    """Days since the last human open/click, bucketed by train-cut deciles."""

    edges: np.ndarray
    table: RateTable

    @staticmethod
    def recency(features: pd.DataFrame) -> np.ndarray:
        return features["days_since_last_open"].to_numpy(dtype=float)

    @classmethod
    def buckets_for(cls, recency: np.ndarray, edges: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(recency), -1, np.searchsorted(edges, recency, side="right"))

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray) -> "RecencyBaseline":
        recency = cls.recency(features)
        seen = recency[~np.isnan(recency)]
        quantiles = np.linspace(0, 1, RECENCY_BUCKETS + 1)[1:-1]
        edges = np.unique(np.quantile(seen, quantiles)) if len(seen) else np.zeros(0)
        return cls(edges, RateTable.fit(cls.buckets_for(recency, edges), labels))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.table.predict(self.buckets_for(self.recency(features), self.edges))


def _quantile_score(values: np.ndarray) -> np.ndarray:
    """1..5 by rank within the cut's population (ties share a rank; higher value, higher score)."""
    ranks = pd.Series(values).rank(method="average", pct=True).to_numpy()
    return np.clip(np.ceil(ranks * RFM_QUANTILES), 1, RFM_QUANTILES).astype(int)


@dataclass
class RfmBaseline:
    """Classic RFM: recency, frequency and monetary quintiles summed (3..15)."""

    table: RateTable

    @staticmethod
    def score(features: pd.DataFrame) -> np.ndarray:
        recency = features["days_since_last_open"].to_numpy(dtype=float)
        recent = np.where(np.isnan(recency), -np.inf, -recency)
        return (
            _quantile_score(recent)
            + _quantile_score(features["opens_90d"].to_numpy(dtype=float))
            + _quantile_score(features["spend_total"].to_numpy(dtype=float) if "spend_total" in features else np.zeros(len(features)))
        )

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray) -> "RfmBaseline":
        return cls(RateTable.fit(cls.score(features), labels))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.table.predict(self.score(features))


@dataclass
class EngagementModel:
    estimator: object  # calibrated classifier with predict_proba
    feature_names: list[str]
    version: str
    params: dict
    settings: EngagementSettings
    reference_date: str
    cuts: dict[str, str]
    train_rows: int
    metrics: dict[str, dict]  # "model", "recency", "rfm" -> probability_metrics on validation
    cohort_rates: RateTable

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        matrix = features.reindex(columns=self.feature_names).to_numpy(dtype=float)
        if not len(matrix):
            return np.zeros(0)
        with _thread_limit(self.settings.threads):
            return self.estimator.predict_proba(matrix)[:, 1]


def as_of_instant(reference_date) -> pd.Timestamp:
    """End of the reference date: the instant the newest drop's events are complete."""
    return as_utc(reference_date).normalize() + pd.Timedelta(days=1)


def backtest_cuts(reference_date, window_days: int) -> dict[str, pd.Timestamp]:
    as_of = as_of_instant(reference_date)
    window = pd.Timedelta(days=window_days)
    return {"train": as_of - 2 * window, "valid": as_of - window, "score": as_of}


def fit_calibrated_booster(features: pd.DataFrame, labels: np.ndarray, seed: int, settings: EngagementSettings):
    """Boosting on a seeded share of rows, calibration (isotonic/sigmoid) on the rest."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator

    y = np.asarray(labels, dtype=int)
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("engagement training needs both responders and non-responders in the cut")
    order = np.random.default_rng(seed).permutation(len(y))
    n_cal = int(round(settings.calibration_fraction * len(y)))
    calibrate, boost = order[:n_cal], order[n_cal:]
    matrix = features.to_numpy(dtype=float)
    booster = HistGradientBoostingClassifier(**settings.booster_params(seed))
    method = settings.calibration if n_cal >= MIN_ISOTONIC_ROWS else "sigmoid"
    # Calibration cross-validates on its rows: a small population gets fewer folds, and one
    # with a single row of a class cannot be calibrated at all (the booster's own
    # probabilities are used, which its validation metrics then show).
    smallest_class = np.bincount(y[calibrate], minlength=2).min()
    folds = min(5, int(smallest_class))
    calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method=method, cv=folds) if folds >= 2 else None
    # scikit-learn 1.9 cannot bin a feature with no observed value (a short history, a small
    # population): such a feature carries no information, so it is trained as a constant.
    boosting_rows = matrix[boost]
    boosting_rows[:, np.isnan(boosting_rows).all(axis=0)] = 0.0
    with _thread_limit(settings.threads):
        booster.fit(boosting_rows, y[boost])
        if calibrated is None:
            return booster
        calibrated.fit(matrix[calibrate], y[calibrate])
    return calibrated


def _thread_limit(threads: int | None):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="openmp")


def _predict(estimator, features: pd.DataFrame, settings: EngagementSettings) -> np.ndarray:
    with _thread_limit(settings.threads):
        return estimator.predict_proba(features.to_numpy(dtype=float))[:, 1]


def _cohort_keys(features: pd.DataFrame) -> np.ndarray:
    consent = features["consent_state"].map({1.0: "granted", -1.0: "denied"}).fillna("unknown")
    domain = features["is_work_domain"].map({1.0: "work", 0.0: "personal"}).fillna("unknown")
    return (consent.astype(str) + "|" + domain.astype(str)).to_numpy()


def _fingerprint(features: pd.DataFrame, labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(features, index=True).to_numpy().tobytes())
    digest.update(np.asarray(labels, dtype=np.int8).tobytes())
    return digest.hexdigest()


def model_version(feature_names: list[str], params: dict, data_fingerprint: str) -> str:
    """Deterministic: the same features, parameters and training data give the same version."""
    payload = json.dumps({"features": feature_names, "params": params, "data": data_fingerprint}, sort_keys=True, default=str)
    return "eng-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def labelled_cut(data: EngagementData | dict, cut: pd.Timestamp, settings: EngagementSettings):
    """Features as of ``cut`` for the persons emailed in the following window, and their labels."""
    labels = engagement_labels(data, cut, settings.window_days, settings.rules)
    features = engagement_features(data, cut, persons=labels.index, rules=settings.rules)
    return features, labels.to_numpy(dtype=int)


def train_engagement_model(
    frames: dict[str, pd.DataFrame] | EngagementData,
    reference_date,
    seed: int = 0,
    settings: EngagementSettings = EngagementSettings(),
) -> EngagementModel:
    """Backtest the model and baselines, then refit on the latest labelled cut.

    ``frames`` may already be prepared (``prepare_engagement_data``) to share the encoding
    with ``score_persons``.
    """
    cuts = backtest_cuts(reference_date, settings.window_days)
    data = frames if isinstance(frames, EngagementData) else prepare_engagement_data(frames)
    x_train, y_train = labelled_cut(data, cuts["train"], settings)
    x_valid, y_valid = labelled_cut(data, cuts["valid"], settings)
    feature_names = list(x_train.columns)
    x_valid = x_valid.reindex(columns=feature_names)

    backtest = fit_calibrated_booster(x_train, y_train, seed, settings)
    recency = RecencyBaseline.fit(x_train, y_train)
    rfm = RfmBaseline.fit(x_train, y_train)
    metrics = {
        "model": probability_metrics(y_valid, _predict(backtest, x_valid, settings)),
        "recency": probability_metrics(y_valid, recency.predict(x_valid)),
        "rfm": probability_metrics(y_valid, rfm.predict(x_valid)),
    }

    final = fit_calibrated_booster(x_valid, y_valid, seed, settings)
    cold = np.concatenate([x_train["tenure_days"].isna().to_numpy(), x_valid["tenure_days"].isna().to_numpy()])
    cohort_keys = np.concatenate([_cohort_keys(x_train), _cohort_keys(x_valid)])[cold]
    cohort_labels = np.concatenate([y_train, y_valid])[cold]
    cohorts = RateTable.fit(cohort_keys, cohort_labels, settings.cohort_prior_strength)
    if not cold.any():
        cohorts.default = float(y_valid.mean())

    # Thread count changes speed, not results, so it is not part of the version.
    recipe = {k: v for k, v in asdict(settings).items() if k != "threads"}
    params = {"booster": settings.booster_params(seed), "settings": recipe, "seed": seed}
    return EngagementModel(
        estimator=final,
        feature_names=feature_names,
        version=model_version(feature_names, params, _fingerprint(x_valid, y_valid)),
        params=params,
        settings=settings,
        reference_date=str(as_utc(reference_date).date()),
        cuts={k: v.isoformat() for k, v in cuts.items()},
        train_rows=int(len(y_valid)),
        metrics=metrics,
        cohort_rates=cohorts,
    )


def assign_tiers(scores: np.ndarray, settings: EngagementSettings) -> np.ndarray:
    """high / medium / low by calibrated-probability thresholds from the settings."""
    return np.select(
        [scores >= settings.high_threshold, scores >= settings.medium_threshold], ["high", "medium"], "low"
    )


def score_persons(
    model: EngagementModel,
    frames: dict[str, pd.DataFrame] | EngagementData,
    reference_date,
    profiles: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``engagement_scores`` rows for every profile: model score, or cohort score when cold.

    ``frames`` may be prepared data that already holds the profiles; ``profiles`` then only
    says whom to score.
    """
    if isinstance(frames, EngagementData):
        data = frames
    else:
        profiles = profiles if profiles is not None else get_frame(frames, "profiles")
        data = prepare_engagement_data({**frames, "profiles": profiles})
    persons = pd.Index(profiles["person_id"].dropna().unique()) if profiles is not None else None
    features = engagement_features(data, as_of_instant(reference_date), persons=persons, rules=model.settings.rules)
    cold = features["tenure_days"].isna().to_numpy()
    scores = model.predict(features)
    scores = np.where(cold, model.cohort_rates.predict(_cohort_keys(features)), scores)
    return pd.DataFrame(
        {
            "person_id": features.index.to_numpy(),
            "score": scores.astype(float),
            "tier": assign_tiers(scores, model.settings),
            "model_version": model.version,
            "scored_at": pd.Timestamp(as_utc(reference_date).date()),
            "cold_start": cold,
            "basis": np.where(cold, "cohort", "model"),
        }
    )


def model_run_record(model: EngagementModel, trained_at=None) -> dict:
    """One ``model_runs`` row: metrics as JSON (calibration bins included), baselines apart."""
    return {
        "model": MODEL_NAME,
        "model_version": model.version,
        "trained_at": pd.Timestamp(trained_at if trained_at is not None else model.reference_date),
        "train_rows": model.train_rows,
        "metrics": json.dumps(json_safe({**model.metrics["model"], "cuts": model.cuts}), sort_keys=True),
        "baseline_metrics": json.dumps(json_safe({k: v for k, v in model.metrics.items() if k != "model"}), sort_keys=True),
    }
