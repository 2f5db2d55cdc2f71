"""The human-readable validation report of one run, as Markdown for the Dagster UI.

A data engineer opening a run must see at a glance where every row went (read = accepted +
quarantined + duplicates, per file), which files were held or rejected and why, the most common
quarantine reasons, and which expectations failed, with counts and masked examples. Plain
Markdown tables only: the UI renders ``MetadataValue.md`` without HTML.

Nothing personal reaches the page: messages pass through ``privacy.mask_text`` and examples
come masked from ``suites.validate_frame`` (addresses are masked once more, defensively).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

from cdp_pipeline.privacy import EMAIL_PATTERN, mask_email, mask_text
from cdp_pipeline.quality.suites import CRITICAL, INFO, WARNING, SuiteOutcome

HELD, REJECTED = "held", "rejected"
REASON_SEPARATOR = "; "  # how rules.py joins the failed rules of one quarantined row
TOP_REASONS = 10


@dataclass(frozen=True)
class FileAccounting:
    """Where the rows of one file went; the ingest stage's per-file report, as plain data."""

    file: str
    drop_date: str
    rows_read: int
    accepted: int
    quarantined: int
    duplicates: int
    status: str  # applied / held / rejected (/ superseded)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    deleted: int = 0  # snapshot records of the previous snapshot absent from this one

    @property
    def balances(self) -> bool:
        return self.rows_read == self.accepted + self.quarantined + self.duplicates

    @classmethod
    def from_report(cls, report: Any) -> "FileAccounting":
        """From ingest's ``FileReport`` (anything with ``to_dict``) or a mapping of its fields."""
        if isinstance(report, cls):
            return report
        data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
        names = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in names}
        values["drop_date"] = str(values["drop_date"])
        values["warnings"] = list(values.get("warnings") or [])
        return cls(**values)


@dataclass(frozen=True)
class ExtractValidation:
    """Everything the report says about one extract in one run."""

    extract: str
    files: list[FileAccounting] = field(default_factory=list)
    suite: SuiteOutcome | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # rule -> rows
    held: list[dict[str, Any]] = field(default_factory=list)  # file, drop_date, reason
    deleted_records: int = 0


@dataclass(frozen=True)
class ValidationRunSummary:
    """The input of :func:`render_report`; JSON-serialisable via :meth:`to_dict`."""

    run_id: str
    extracts: list[ExtractValidation]
    reference_date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for extract, raw in zip(self.extracts, data["extracts"]):
            raw["suite"] = extract.suite.to_dict() if extract.suite else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ValidationRunSummary":
        extracts = [
            ExtractValidation(
                extract=e["extract"],
                files=[FileAccounting.from_report(f) for f in e.get("files", [])],
                suite=SuiteOutcome.from_dict(e["suite"]) if e.get("suite") else None,
                quarantine_reasons=dict(e.get("quarantine_reasons", {})),
                held=list(e.get("held", [])),
                deleted_records=int(e.get("deleted_records", 0)),
            )
            for e in data.get("extracts", [])
        ]
        return cls(data["run_id"], extracts, data.get("reference_date"))


def quarantine_reason_counts(quarantine: pd.DataFrame) -> dict[str, int]:
    """Rows per failed rule, most frequent first; a row failing two rules counts for both."""
    if quarantine.empty:
        return {}
    rules = quarantine["reason"].astype("string").str.split(REASON_SEPARATOR).explode()
    counts = rules[rules.notna() & (rules != "")].value_counts()
    return {str(rule): int(n) for rule, n in counts.items()}


def extract_validation(
    extract: str,
    file_reports: Iterable[Any],
    quarantine: pd.DataFrame,
    suite: SuiteOutcome | None = None,
    held: Iterable[Mapping[str, Any]] = (),
    deleted_records: int = 0,
) -> ExtractValidation:
    """Assembles one extract's part of the report from what ingest and validation return."""
    return ExtractValidation(
        extract=extract,
        files=[FileAccounting.from_report(r) for r in file_reports],
        suite=suite,
        quarantine_reasons=quarantine_reason_counts(quarantine),
        held=[{k: str(v) for k, v in h.items()} for h in held],
        deleted_records=int(deleted_records),
    )


# ---------------------------------------------------------------- rendering


def _cell(value: Any) -> str:
    """One table cell: no pipe or line break may break the table."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


# Spans a message may show as they are: file paths and ISO dates look like phone numbers to
# ``mask_text`` but name where the problem is, not who.
_KEEP = re.compile(r"\S+/\S+|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")


def _message(text: Any) -> str:
    """Free text from a file or an exception: addresses and phone numbers masked, file paths
    and dates kept (an address inside a path-like token is still masked)."""
    if text is None:
        return ""
    text, parts, last = str(text), [], 0
    for match in _KEEP.finditer(text):
        parts += [mask_text(text[last : match.start()]), _example(match.group(0))]
        last = match.end()
    return _cell("".join(parts) + mask_text(text[last:]))


def _example(value: Any) -> str:
    """Examples arrive masked; addresses are masked again in case one was built by hand."""
    text = str(value)
    return EMAIL_PATTERN.sub(lambda m: mask_email(m.group(0)), text)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _totals(files: list[FileAccounting]) -> dict[str, int]:
    keys = ("rows_read", "accepted", "quarantined", "duplicates")
    return {k: sum(getattr(f, k) for f in files) for k in keys}


def _severity_counts(suite: SuiteOutcome | None) -> str:
    if suite is None:
        return "not validated"
    counts = {s: sum(f.severity == s for f in suite.failed) for s in (CRITICAL, WARNING, INFO)}
    return f"{counts[CRITICAL]} / {counts[WARNING]} / {counts[INFO]} of {suite.evaluated}"


def _verdict(extract: ExtractValidation) -> str:
    """BLOCKED when downstream must not build on the new data (a held file, awaiting an
    operator, or a critical failure); a rejected file is skipped and the rest proceeds."""
    held = any(f.status == HELD for f in extract.files) or bool(extract.held)
    if held or (extract.suite is not None and not extract.suite.success):
        return "BLOCKED"
    if any(f.status == REJECTED for f in extract.files):
        return "file(s) rejected, the rest proceeds"
    if any(f.quarantined or f.duplicates for f in extract.files) or (
        extract.suite is not None and extract.suite.failed
    ):
        return "passed with findings"
    return "passed"


def _overview(summary: ValidationRunSummary) -> list[str]:
    rows = []
    for e in summary.extracts:
        t = _totals(e.files)
        rows.append(
            [
                f"`{e.extract}`",
                len(e.files),
                _n(t["rows_read"]),
                _n(t["accepted"]),
                _n(t["quarantined"]),
                _n(t["duplicates"]),
                sum(f.status == HELD for f in e.files),
                sum(f.status == REJECTED for f in e.files),
                _severity_counts(e.suite),
                _verdict(e),
            ]
        )
    header = [
        "extract", "files", "read", "accepted", "quarantined", "duplicates", "held", "rejected",
        "failed expectations (critical / warning / info)", "verdict",
    ]
    return ["## Overview", "", *_table(header, rows)]


def _file_section(extract: ExtractValidation) -> list[str]:
    lines = ["No new file for this extract in this run.", ""] if not extract.files else []
    rows = [
        [
            f"`{f.file}`", f.drop_date, f.status, _n(f.rows_read), _n(f.accepted),
            _n(f.quarantined), _n(f.duplicates), _n(f.deleted),
            "yes" if f.balances else "**NO**",
        ]
        for f in extract.files
    ]
    header = [
        "file", "drop date", "status", "read", "accepted", "quarantined", "duplicates",
        "deleted", "read = accepted + quarantined + duplicates",
    ]
    if rows:
        lines = ["**Row accounting per file**", "", *_table(header, rows)]
    problems = [f for f in extract.files if f.status in (HELD, REJECTED)]
    if problems:
        lines += ["**Held or rejected files**", ""]
        lines += [f"- `{f.file}` ({f.status}): {_message(f.error)}" for f in problems]
        lines.append("")
    held_elsewhere = [h for h in extract.held if h.get("file") not in {f.file for f in problems}]
    if held_elsewhere:
        lines += ["**Still held from earlier runs (awaiting operator acceptance)**", ""]
        lines += [
            f"- `{h.get('file')}` ({h.get('drop_date')}): {_message(h.get('reason'))}"
            for h in held_elsewhere
        ]
        lines.append("")
    warned = [f for f in extract.files if f.warnings]
    if warned:
        lines += ["**Reader warnings**", ""]
        lines += [f"- `{f.file}`: {_message('; '.join(f.warnings))}" for f in warned]
        lines.append("")
    if extract.deleted_records:
        lines += [f"Records deleted at the source (absent from the new snapshot): "
                  f"{extract.deleted_records:,}", ""]
    return lines


def _reasons_section(extract: ExtractValidation) -> list[str]:
    if not extract.quarantine_reasons:
        return []
    top = sorted(extract.quarantine_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [[f"`{rule}`", _n(n)] for rule, n in top[:TOP_REASONS]]
    more = len(top) - TOP_REASONS
    lines = ["**Top quarantine reasons** (a row failing two rules counts for both)", ""]
    lines += _table(["rule", "rows"], rows)
    return lines + ([f"and {more} more rules.", ""] if more > 0 else [])


def _expectations_section(suite: SuiteOutcome | None) -> list[str]:
    if suite is None:
        return ["Expectation suite: not run (no new rows).", ""]
    head = (
        f"**Expectation suite**: {suite.evaluated} evaluated on {suite.rows:,} rows in "
        f"{suite.elapsed_seconds:.2f} s, {len(suite.failed)} failed"
    )
    if not suite.failed:
        return [head + ".", ""]
    order = {CRITICAL: 0, WARNING: 1, INFO: 2}
    failed = sorted(suite.failed, key=lambda f: (order.get(f.severity, 3), -(f.unexpected_count or 0)))
    rows = [
        [
            f.severity,
            f"`{f.expectation}`",
            ", ".join(f.columns),
            f"`{f.rule}`" if f.rule else "",
            _n(f.unexpected_count) if f.unexpected_count is not None else _example(f.observed or ""),
            "" if f.unexpected_percent is None else f"{f.unexpected_percent:.2f}%",
            ", ".join(_example(v) for v in f.examples),
            ", ".join(f.example_rows),
        ]
        for f in failed
    ]
    header = ["severity", "expectation", "column(s)", "row rule", "unexpected / observed",
              "% of rows", "examples (masked)", "where (file:line)"]
    return [head + ":", "", *_table(header, rows)]


def render_suite_outcome(outcome: SuiteOutcome) -> str:
    """Markdown of one extract's failed expectations: the metadata of its Dagster asset check."""
    return "\n".join(_expectations_section(outcome))


def render_report(summary: ValidationRunSummary | Mapping[str, Any]) -> str:
    """Markdown validation report of one run: overview, then per extract the row accounting,
    held/rejected files, top quarantine reasons and failed expectations."""
    if not isinstance(summary, ValidationRunSummary):
        summary = ValidationRunSummary.from_dict(summary)
    files = [f for e in summary.extracts for f in e.files]
    t = _totals(files)
    balanced = all(f.balances for f in files)
    blocked = [e.extract for e in summary.extracts if _verdict(e) == "BLOCKED"]
    lines = [f"# Validation report, run `{summary.run_id}`", ""]
    if summary.reference_date:
        lines += [f"Reference date (newest drop): {summary.reference_date}", ""]
    lines += [
        f"{len(files)} files: read {t['rows_read']:,} = accepted {t['accepted']:,} + quarantined "
        f"{t['quarantined']:,} + duplicates {t['duplicates']:,} "
        f"({'balanced' if balanced else '**DOES NOT BALANCE**'}).",
        "",
        "Blocked: " + (", ".join(f"`{b}`" for b in blocked) if blocked else "none") + ".",
        "",
        *_overview(summary),
    ]
    for extract in summary.extracts:
        lines += [f"## `{extract.extract}`: {_verdict(extract)}", ""]
        lines += _file_section(extract)
        lines += _reasons_section(extract)
        lines += _expectations_section(extract.suite)
    lines += [
        "Severity: *critical* blocks the extract (contract broken); *warning* rows were "
        "quarantined or dropped as duplicates, the rest proceeds; *info* is for a look only.",
    ]
    return "\n".join(lines) + "\n"
