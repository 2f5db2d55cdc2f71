"""Hand-made landing folders for ingestion tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CONTACTS_HEADER = "Record ID,First Name,Last Name,Email,Marketing Email Opt-In,Date of Birth\n"


def write_drop(landing: Path, source: str, day: str, files: dict[str, str | bytes], complete: bool = True) -> Path:
    """Writes one date folder; ``complete`` adds the empty ``_SUCCESS`` marker."""
    folder = landing / source / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    if complete:
        (folder / "_SUCCESS").write_bytes(b"")
    return folder


def contacts_csv(record_ids: range | list[int]) -> str:
    rows = "".join(f"{i},First{i},Last{i},p{i}@example.com,Yes,1980-01-01\n" for i in record_ids)
    return CONTACTS_HEADER + rows


def assert_same_read(read, expected) -> None:
    """Two ``FileRead``s agree on rows, accounting, warnings and dialect."""
    pd.testing.assert_frame_equal(read.frame, expected.frame, check_exact=True)
    assert (read.rows_read, read.error, read.warnings, read.dialect) == (
        expected.rows_read,
        expected.error,
        expected.warnings,
        expected.dialect,
    )
