"""The warehouse: engines, atomic publication of a run's tables, error classification."""

from cdp_pipeline.warehouse.engine import display_url, make_engine
from cdp_pipeline.warehouse.errors import TransientWarehouseError, describe_error, is_transient
from cdp_pipeline.warehouse.publish import (
    PublishError,
    PublishLockTimeout,
    PublishReport,
    latest_publication,
    publish_tables,
    read_table,
    validate_table_name,
)

__all__ = [
    "PublishError",
    "PublishLockTimeout",
    "PublishReport",
    "TransientWarehouseError",
    "describe_error",
    "display_url",
    "is_transient",
    "latest_publication",
    "make_engine",
    "publish_tables",
    "read_table",
    "validate_table_name",
]
