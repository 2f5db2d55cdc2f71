"""Where the pipeline reads and writes, from the environment (secrets never live in code)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LANDING_DIR = Path("data/landing")
DEFAULT_STATE_DIR = Path("data/state")
DEFAULT_WAREHOUSE_PATH = Path("data/warehouse.db")


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    state_dir: Path
    warehouse_url: str

    @classmethod
    def from_env(cls) -> "Settings":
        landing = Path(os.environ.get("CDP_LANDING_DIR", DEFAULT_LANDING_DIR))
        state = Path(os.environ.get("CDP_STATE_DIR", DEFAULT_STATE_DIR))
        url = os.environ.get("CDP_WAREHOUSE_URL") or f"sqlite:///{DEFAULT_WAREHOUSE_PATH}"
        return cls(landing_dir=landing, state_dir=state, warehouse_url=url)
