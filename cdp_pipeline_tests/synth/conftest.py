"""One small generated landing folder shared by the synth tests (generation is deterministic)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cdp_pipeline.synth import generate

END = date(2026, 11, 20)


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, Path, object]:
    root = tmp_path_factory.mktemp("synth")
    summary = generate(persons=400, days=14, seed=11, out=root / "landing", truth=root / "truth", end_date=END,
                       history_days=60)
    return root / "landing", root / "truth", summary


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding) the way a tolerant reader would guess it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252"), "cp1252"


def read_landing_csv(path: Path) -> pd.DataFrame:
    """Minimal dialect-tolerant reader for the tests: canonical headers, text values."""
    text, _ = decode(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [h.strip().lower() for h in rows[0]]
    body = [r for r in rows[1:] if len(r) == len(header)]
    return pd.DataFrame(body, columns=header, dtype=object)
