"""Drop discovery in the landing folder: which date folders are complete, which files they hold.

A date folder is read only once it holds an empty ``_SUCCESS`` marker: until then the upstream
writer may still be copying, and half a snapshot would look like mass deletions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cdp_pipeline.extracts import Extract

SUCCESS_MARKER = "_SUCCESS"


@dataclass(frozen=True, order=True)
class Drop:
    date: date
    source: str
    path: Path


def _dated_folders(landing_dir: Path, source: str | None) -> list[Drop]:
    landing = Path(landing_dir)
    sources = [landing / source] if source else sorted(p for p in landing.iterdir() if p.is_dir())
    drops = []
    for source_dir in sources:
        if not source_dir.is_dir():
            continue
        for folder in source_dir.iterdir():
            try:
                day = date.fromisoformat(folder.name)
            except ValueError:
                continue  # not a drop folder
            if folder.is_dir():
                drops.append(Drop(day, source_dir.name, folder))
    return sorted(drops)


def is_complete(folder: Path) -> bool:
    marker = Path(folder) / SUCCESS_MARKER
    return marker.is_file() and marker.stat().st_size == 0


def complete_drops(landing_dir: Path, source: str | None = None) -> list[Drop]:
    """Complete drops (empty ``_SUCCESS`` present), oldest first; optionally of one source."""
    return [d for d in _dated_folders(landing_dir, source) if is_complete(d.path)]


def incomplete_drops(landing_dir: Path, source: str | None = None) -> list[Drop]:
    """Date folders still waiting for their ``_SUCCESS`` marker (reported, never read)."""
    return [d for d in _dated_folders(landing_dir, source) if not is_complete(d.path)]


def extract_files(extract: Extract, drop: Drop) -> list[Path]:
    """The files of ``extract`` in a drop, by the extract's glob, in name order."""
    if drop.source != extract.source:
        return []
    return sorted(p for p in drop.path.glob(extract.pattern) if p.is_file())
