"""What the assets share: owners, the settings resource, and the ingest asset's output type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

from cdp_pipeline.config import Settings

OWNERS = ["team:data-platform"]


class PipelineSettings(dg.ConfigurableResource):
    """Folders and guard thresholds; defaults come from the environment (``CDP_*``)."""

    landing_dir: str = ""
    state_dir: str = ""
    max_quarantine_share: float = 0.5
    max_snapshot_loss: float = 0.2

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_dir) if self.landing_dir else Settings.from_env().landing_dir

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir) if self.state_dir else Settings.from_env().state_dir

    def state_store(self):
        from cdp_pipeline.ingest.state import StateStore

        return StateStore(self.state_path)

    def accepted_files(self) -> frozenset[str]:
        from cdp_pipeline.runner import accepted_files

        return accepted_files(self.state_path)


@dataclass
class IngestedExtract:
    """An ingest asset's output: the current table plus what this run learnt about its files."""

    table: pd.DataFrame
    quarantine: pd.DataFrame
    file_reports: list[dict] = field(default_factory=list)
    suite: dict = field(default_factory=dict)
    held: list = field(default_factory=list)
