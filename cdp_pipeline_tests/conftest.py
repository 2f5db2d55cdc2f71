"""Shared fixtures: nothing here reads the wall clock or the network."""

from __future__ import annotations

import os

os.environ.setdefault("DAGSTER_TELEMETRY_DISABLED", "1")
