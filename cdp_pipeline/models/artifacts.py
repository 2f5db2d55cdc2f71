"""The fitted engagement model on disk: a folder with the pickled model and a readable manifest.

``manifest.json`` carries the version, feature list, parameters and validation metrics so a
person (or the UI) can see what a scoring run used without unpickling anything; ``load_model``
checks that the pickle and the manifest belong together.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cdp_pipeline.models.engagement import EngagementModel
from cdp_pipeline.models.metrics import json_safe

ENGAGEMENT_ARTIFACTS = "models/engagement"  # under the state folder, one sub-folder per version
MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"


def manifest(model: EngagementModel) -> dict:
    return json_safe(
        {
            "model": "engagement",
            "version": model.version,
            "reference_date": model.reference_date,
            "cuts": model.cuts,
            "train_rows": model.train_rows,
            "features": model.feature_names,
            "params": model.params,
            "metrics": model.metrics,
        }
    )


def save_model(model: EngagementModel, folder: Path) -> Path:
    """Writes ``model.joblib`` and ``manifest.json`` into ``folder`` (created if needed)."""
    import joblib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / MODEL_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest(model), indent=2, sort_keys=True, default=str), encoding="utf-8")
    return folder


def load_model(folder: Path) -> EngagementModel:
    """The model saved in ``folder``; refuses a pickle whose version differs from its manifest."""
    import joblib

    folder = Path(folder)
    model = joblib.load(folder / MODEL_FILE)
    recorded = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    if recorded.get("version") != model.version or recorded.get("features") != model.feature_names:
        raise ValueError(f"{folder}: model file and manifest disagree (version {model.version} vs {recorded.get('version')})")
    return model


VALIDATION_LABELS_FILE = "validation_labels.parquet"


def save_validation_labels(folder: Path, labels: pd.Series) -> Path:
    """The validation cut's labels beside the model, so its metrics can be re-checked later
    (for example against a synthetic truth) without re-running the backtest."""
    path = Path(folder) / VALIDATION_LABELS_FILE
    labels.rename("label").rename_axis("person_id").reset_index().to_parquet(path, index=False)
    return path


def load_validation_labels(folder: Path) -> pd.Series:
    frame = pd.read_parquet(Path(folder) / VALIDATION_LABELS_FILE)
    return frame.set_index("person_id")["label"]


def forget_persons_in_validation_labels(models_dir: Path, person_ids) -> int:
    """Removes the given persons (erased) from the validation labels of every saved model
    version under ``models_dir``; returns how many label rows went. Each file is replaced
    atomically, so a crash leaves it whole, and the next erasure pass finishes the job."""
    erased = pd.Index(list(person_ids), dtype="string")
    if erased.empty:
        return 0
    removed = 0
    for path in sorted(Path(models_dir).glob(f"*/{VALIDATION_LABELS_FILE}")):
        frame = pd.read_parquet(path)
        gone = frame["person_id"].astype("string").isin(erased).fillna(False).to_numpy()
        if gone.any():
            staged = path.with_suffix(".tmp")
            frame[~gone].to_parquet(staged, index=False)
            staged.replace(path)
            removed += int(gone.sum())
    return removed
