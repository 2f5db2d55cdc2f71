"""Dagster resources around the warehouse and the pipeline's folders, and the retry rules.

Locations come from the environment at run time (``cdp_pipeline.config.Settings``), so the
UI's resource config never shows a database password; an explicit value overrides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

import pandas as pd
from dagster import Backoff, ConfigurableResource, Failure, InitResourceContext, Jitter, RetryPolicy
from pydantic import Field, PrivateAttr
from sqlalchemy import Engine

from cdp_pipeline.config import Settings
from cdp_pipeline.defs.step_outputs import FRAME_FOLDERS, FrameFolderStorage, StepOutputStorage
from cdp_pipeline.warehouse.engine import DEFAULT_BUSY_TIMEOUT_MS, display_url, make_engine
from cdp_pipeline.warehouse.errors import TransientWarehouseError, describe_error, is_transient
from cdp_pipeline.warehouse.publish import DEFAULT_LOCK_TIMEOUT_S, PublishReport, publish_tables, read_table

RETRY_MAX = 4
RETRY_DELAY_S = 10.0


def warehouse_retry_policy(max_retries: int = RETRY_MAX, delay_s: float = RETRY_DELAY_S) -> RetryPolicy:
    """Exponential backoff with jitter: retries after about 10, 30, 70 and 150 s (each ±10 s) by
    default, long enough to ride out a database restart or a competing SQLite writer, and
    spread so that several waiting runs do not all retry at the same instant."""
    return RetryPolicy(max_retries=max_retries, delay=delay_s, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


WAREHOUSE_RETRY_POLICY = warehouse_retry_policy()


def raise_for_failure(exc: BaseException) -> NoReturn:
    """Re-raises a warehouse error so Dagster retries only what a retry can fix.

    Transient errors become :class:`TransientWarehouseError` (the retry policy applies);
    permanent ones a ``Failure`` that is not retried. Both carry one masked line and drop the
    driver's exception chain, which could hold a credential or a personal value.
    """
    message = describe_error(exc)
    if is_transient(exc):
        raise TransientWarehouseError(message) from None
    raise Failure(description=f"warehouse error (not retried): {message}", allow_retries=False) from None


class WarehouseResource(ConfigurableResource):
    """The warehouse database: an engine, atomic publication of a run, reading tables back."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset reads CDP_WAREHOUSE_URL at run time (default sqlite data/warehouse.db).",
    )
    busy_timeout_ms: int = Field(
        default=DEFAULT_BUSY_TIMEOUT_MS, description="How long a SQLite writer waits for another writer."
    )
    publish_lock_timeout_s: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_S,
        description="How long a publish waits for another publisher before failing (transient, retried).",
    )
    _engine: Engine | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.url or Settings.from_env().warehouse_url

    def display_url(self) -> str:
        """The URL with its password hidden, for logs and metadata."""
        return display_url(self.resolved_url())

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.resolved_url(), busy_timeout_ms=self.busy_timeout_ms)
        return self._engine

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._engine = make_engine(self.resolved_url(), busy_timeout_ms=self.busy_timeout_ms)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def publish(
        self,
        tables: Mapping[str, pd.DataFrame],
        run_id: str,
        *,
        published_at: date | datetime | pd.Timestamp,
        drop_missing: set[str] | None = None,
    ) -> PublishReport:
        """:func:`publish_tables` with errors sorted into retried and not retried."""
        try:
            return publish_tables(
                self.engine,
                tables,
                run_id,
                published_at=published_at,
                drop_missing=drop_missing,
                lock_timeout_s=self.publish_lock_timeout_s,
            )
        except Exception as exc:
            raise_for_failure(exc)

    def read(self, name: str) -> pd.DataFrame:
        try:
            return read_table(self.engine, name)
        except Exception as exc:
            raise_for_failure(exc)


class LandingResource(ConfigurableResource):
    """The landing folder the source systems drop files into (read only for the pipeline)."""

    path: str | None = Field(default=None, description="Folder; unset reads CDP_LANDING_DIR (default data/landing).")

    @property
    def folder(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env().landing_dir


class StateResource(ConfigurableResource):
    """The pipeline's own state folder (processed drops, accumulated tables, identity history)."""

    path: str | None = Field(default=None, description="Folder; unset reads CDP_STATE_DIR (default data/state).")

    @property
    def folder(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env().state_dir


def default_resources() -> dict:
    """The resource keys the assets, schedule and sensor expect, configured from the environment."""
    return {
        "warehouse": WarehouseResource(),
        "landing": LandingResource(),
        "state": StateResource(),
        "io_manager": StepOutputStorage(),
        FRAME_FOLDERS: FrameFolderStorage(),
    }
