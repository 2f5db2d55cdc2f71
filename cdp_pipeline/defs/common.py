"""What the assets share: owners, the guard thresholds, and the ingest assets' output type."""


import os
from dataclasses import dataclass
from typing import ClassVar

import dagster as dg
import pandas as pd
from pydantic import Field

OWNERS = ["team:data-platform"]


class IngestGuards(dg.ConfigurableResource):
    """When a file is held instead of applied (the run stops until an operator accepts it)."""

    max_quarantine_share: float = Field(
        default_factory=lambda: float(os.environ.get("CDP_MAX_QUARANTINE_SHARE", 0.5)),
        description="A file with a larger share of its rows quarantined is held.",
    )
    max_snapshot_loss: float = Field(
        default_factory=lambda: float(os.environ.get("CDP_MAX_SNAPSHOT_LOSS", 0.2)),
        description="A snapshot that lost a larger share of the records in force is held.",
    )


@dataclass
class IngestedExtract:
    """An ingest asset's output: the current table, this run's rejects and its validation."""

    ARROW_TABLES: ClassVar[tuple[str, ...]] = ("table",)  # see step_outputs

    table: pd.DataFrame
    quarantine: pd.DataFrame  # rows rejected by this run, in the `quarantine` table's columns
    validation: object  # quality.report.ExtractValidation
