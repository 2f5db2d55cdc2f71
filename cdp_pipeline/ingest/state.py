"""Crash-safe state of the ingestion: per extract, the accumulated table and a ledger of files.

Each commit writes a complete new version folder, then swaps a one-line ``CURRENT`` pointer
with ``os.replace`` (atomic on POSIX). A crash before the swap leaves the previous version in
force; a crash after it leaves the new one; there is never a half-written state to read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CURRENT = "CURRENT"
TABLE_FILE = "table.parquet"
LEDGER_FILE = "ledger.json"
KEEP_VERSIONS = 2

APPLIED, HELD, REJECTED, SUPERSEDED = "applied", "held", "rejected", "superseded"


@dataclass
class Ledger:
    """Processed files by landing-relative path: drop date, sha256, row counts, status, message."""

    files: dict[str, dict] = field(default_factory=dict)

    def held(self) -> dict[str, dict]:
        """Files awaiting an operator's acceptance."""
        return {path: entry for path, entry in self.files.items() if entry["status"] == HELD}

    def to_json(self) -> str:
        return json.dumps({"files": self.files}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Ledger":
        return cls(files=json.loads(text)["files"])


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class StateStore:
    """Versioned per-extract state under ``state_dir/<extract>/``."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)

    def _extract_dir(self, extract_name: str) -> Path:
        return self.state_dir / extract_name

    def current_version(self, extract_name: str) -> str | None:
        pointer = self._extract_dir(extract_name) / CURRENT
        return pointer.read_text().strip() if pointer.is_file() else None

    def load(self, extract_name: str, columns: Sequence[str] | None = None) -> tuple[pd.DataFrame | None, Ledger]:
        """(accumulated table or None before the first commit, ledger); ``columns``: only those
        of these the table has, in this order."""
        version = self.current_version(extract_name)
        if version is None:
            return None, Ledger()
        folder = self._extract_dir(extract_name) / version
        if columns is not None:
            stored = set(pq.read_schema(folder / TABLE_FILE).names)
            columns = [column for column in columns if column in stored]
        table = pd.read_parquet(folder / TABLE_FILE, columns=columns)
        return table, Ledger.from_json((folder / LEDGER_FILE).read_text())

    def load_tables(self, columns_by_extract: Mapping[str, Sequence[str]]) -> dict[str, pd.DataFrame | None]:
        """Per extract, the named columns of its accumulated table (None before its first commit)."""
        return {name: self.load(name, columns=list(columns))[0] for name, columns in columns_by_extract.items()}

    def ledger(self, extract_name: str) -> Ledger:
        """The current ledger alone, without reading the table."""
        version = self.current_version(extract_name)
        if version is None:
            return Ledger()
        return Ledger.from_json((self._extract_dir(extract_name) / version / LEDGER_FILE).read_text())

    def commit(self, extract_name: str, table: pd.DataFrame, ledger: Ledger) -> str:
        """Writes a new version and makes it current atomically; returns the version name."""
        return self._commit_version(extract_name, lambda path: table.to_parquet(path, index=False), ledger)

    def _commit_version(self, extract_name: str, write_table: Callable[[Path], None], ledger: Ledger) -> str:
        root = self._extract_dir(extract_name)
        root.mkdir(parents=True, exist_ok=True)
        previous = self.current_version(extract_name)
        number = int(previous.removeprefix("v")) + 1 if previous else 1
        version = f"v{number:06d}"
        staging = root / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)  # leftovers of a crashed commit
        staging.mkdir()
        write_table(staging / TABLE_FILE)
        _fsync_write(staging / LEDGER_FILE, ledger.to_json().encode("utf-8"))
        shutil.rmtree(root / version, ignore_errors=True)
        os.replace(staging, root / version)
        _fsync_write(root / f"{CURRENT}.tmp", version.encode("ascii"))
        os.replace(root / f"{CURRENT}.tmp", root / CURRENT)
        self._prune(root, keep=number)
        return version

    def remove_rows(self, extract_name: str, mask: np.ndarray) -> str:
        """Commits the accumulated table without the rows ``mask`` marks, under the current
        ledger of files, for rows that must go although no file changed (erasure); returns the
        version name. Streamed a row group at a time: at a million persons an event table is
        gigabytes in memory, and only a handful of its rows go."""
        version = self.current_version(extract_name)
        stored = pq.ParquetFile(self._extract_dir(extract_name) / version / TABLE_FILE) if version else None
        if stored is None or stored.metadata.num_rows != len(mask):
            raise RuntimeError(f"the stored {extract_name} table is not the one this run read: run the job again")

        def write_kept_rows(path: Path) -> None:
            with pq.ParquetWriter(path, stored.schema_arrow) as writer:
                start = 0
                for group in range(stored.num_row_groups):
                    rows = stored.read_row_group(group)
                    writer.write_table(rows.filter(pa.array(~mask[start:start + rows.num_rows])))
                    start += rows.num_rows

        return self._commit_version(extract_name, write_kept_rows, self.ledger(extract_name))

    def forget_earlier_versions(self, extract_name: str) -> None:
        """Deletes every version but the current one, and any staging left by a crashed commit:
        after an erasure no earlier copy of the rows may survive on disk."""
        root = self._extract_dir(extract_name)
        current = self.current_version(extract_name)
        if current is None:
            return
        for folder in root.iterdir():
            if folder.is_dir() and folder.name != current:
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _prune(root: Path, keep: int) -> None:
        """Drops versions older than the last ``KEEP_VERSIONS`` (the pointer never names them)."""
        for folder in root.glob("v*"):
            if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) <= keep - KEEP_VERSIONS:
                shutil.rmtree(folder, ignore_errors=True)
