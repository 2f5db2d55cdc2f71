"""Ingestion: drop discovery, dialect-tolerant readers, crash-safe state, accumulation."""

from cdp_pipeline.ingest.accumulate import FileReport, IngestOutcome, ingest_extract
from cdp_pipeline.ingest.landing import Drop, complete_drops, extract_files, incomplete_drops
from cdp_pipeline.ingest.readers import FileRead, read_extract_file
from cdp_pipeline.ingest.state import Ledger, StateStore

__all__ = [
    "Drop",
    "FileRead",
    "FileReport",
    "IngestOutcome",
    "Ledger",
    "StateStore",
    "complete_drops",
    "extract_files",
    "incomplete_drops",
    "ingest_extract",
    "read_extract_file",
]
