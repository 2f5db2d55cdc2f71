"""Segment definitions as data, and the member tables, catalogue and change log they produce.

Definitions live in YAML (``builtin.yaml`` ships with the package); adding a segment is adding a
YAML entry. Loading validates everything up front, so a bad definition fails the load with a
message naming the segment and the offending part, before any table is touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cdp_pipeline.consent import best_sendable_email
from cdp_pipeline.frames import isin
from cdp_pipeline.segments.rules import (
    RULE_COLUMNS,
    Rule,
    RuleError,
    evaluate,
    is_valid_slug,
    parse_rule,
    rule_columns,
)

BUILTIN_DEFINITIONS = Path(__file__).with_name("builtin.yaml")
DEFAULT_HOLDOUT_SHARE = 0.10
TEMPLATE_SOURCES = ("store_category",)
_SEGMENT_KEYS = {"slug", "description", "owner", "email", "holdout_share", "rule"}
_TEMPLATE_KEYS = _SEGMENT_KEYS | {"for_each"}
MEMBER_COLUMNS = ["person_id", "email", "first_name", "score", "tier", "best_hour_utc", "holdout"]


@dataclass(frozen=True)
class SegmentDefinition:
    slug: str
    description: str
    owner: str
    email: bool  # an email segment: only sendable persons, with their best sendable address
    holdout_share: float
    rule: Rule
    definition: str  # the rule as written, for the catalogue

    @property
    def table_name(self) -> str:
        return f"segment_{self.slug}"


@dataclass(frozen=True)
class SegmentTemplate:
    """A definition written once and expanded per value of ``for_each`` (store categories)."""

    slug: str  # contains {category}
    for_each: str
    description: str
    owner: str
    email: bool
    holdout_share: float
    raw_rule: object


def load_definitions(
    path: str | Path | None = None, categories: Mapping[str, str] | None = None
) -> list[SegmentDefinition]:
    """Validated definitions from a YAML file or a folder of them (default: the built-ins).

    Templates expand once per ``categories`` entry (``{slug: name}``, see
    :func:`cdp_pipeline.segments.behaviour.store_categories`); without categories they are
    validated but produce no segment.
    """
    definitions, templates = load_catalogue(path)
    expanded = expand_templates(templates, categories or {})
    return _unique(definitions + expanded)


def load_catalogue(
    path: str | Path | None = None,
) -> tuple[list[SegmentDefinition], list[SegmentTemplate]]:
    """Plain definitions and templates, both validated; duplicate slugs are refused."""
    location = Path(path) if path is not None else BUILTIN_DEFINITIONS
    files = sorted(location.glob("*.y*ml")) if location.is_dir() else [location]
    definitions: list[SegmentDefinition] = []
    templates: list[SegmentTemplate] = []
    for file in files:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict) or set(document) - {"segments", "templates"}:
            raise RuleError(str(file.name), "file", "expected top-level keys segments / templates")
        for i, raw in enumerate(document.get("segments") or []):
            definitions.append(parse_definition(raw, f"{file.name}: segments[{i}]"))
        for i, raw in enumerate(document.get("templates") or []):
            templates.append(parse_template(raw, f"{file.name}: templates[{i}]"))
    _unique(definitions)
    return definitions, templates


def parse_definition(raw: object, where: str = "definition") -> SegmentDefinition:
    """One YAML mapping -> a validated definition."""
    slug, fields = _common_fields(raw, where, _SEGMENT_KEYS)
    return SegmentDefinition(
        slug=slug,
        rule=parse_rule(slug, raw["rule"]),
        definition=_rule_text(raw["rule"]),
        **fields,
    )


def parse_template(raw: object, where: str = "template") -> SegmentTemplate:
    slug, fields = _common_fields(raw, where, _TEMPLATE_KEYS, template=True)
    if raw.get("for_each") not in TEMPLATE_SOURCES:
        raise RuleError(slug, "for_each", f"expected one of {list(TEMPLATE_SOURCES)}")
    template = SegmentTemplate(
        slug=slug, for_each=raw["for_each"], raw_rule=raw["rule"], **fields
    )
    expand_templates([template], {"x": "x"})  # a sample expansion validates the rule
    return template


def expand_templates(
    templates: Sequence[SegmentTemplate], categories: Mapping[str, str]
) -> list[SegmentDefinition]:
    """One definition per (template, category); ``{category}`` is the slug, ``{category_name}``
    the name as the store writes it. Plain text replacement, never ``str.format``."""
    definitions = []
    for template in templates:
        for slug, name in categories.items():
            raw = _substitute(
                {
                    "slug": template.slug,
                    "description": template.description,
                    "owner": template.owner,
                    "email": template.email,
                    "holdout_share": template.holdout_share,
                    "rule": template.raw_rule,
                },
                {"{category}": slug, "{category_name}": str(name)},
            )
            definitions.append(parse_definition(raw, f"template {template.slug}"))
    return definitions


def _common_fields(raw: object, where: str, allowed: set, template: bool = False):
    if not isinstance(raw, dict):
        raise RuleError("?", where, "expected a mapping with slug, description, owner, rule")
    slug = raw.get("slug")
    probe = slug.replace("{category}", "x") if template and isinstance(slug, str) else slug
    if not is_valid_slug(probe):
        raise RuleError(
            str(slug),
            f"{where}.slug",
            "a slug must match ^[a-z][a-z0-9_]{0,50}$ (it names a table)",
        )
    extra = set(raw) - allowed
    if extra:
        raise RuleError(slug, where, f"unexpected key(s) {sorted(map(str, extra))}")
    for key in ("description", "owner"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleError(slug, key, "required text is missing")
    if "rule" not in raw:
        raise RuleError(slug, "rule", "missing")
    email = raw.get("email", True)
    if not isinstance(email, bool):
        raise RuleError(slug, "email", f"expected true or false, got {email!r}")
    share = raw.get("holdout_share", DEFAULT_HOLDOUT_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise RuleError(slug, "holdout_share", f"expected a number in [0, 1), got {share!r}")
    fields = {
        "description": raw["description"].strip(),
        "owner": raw["owner"].strip(),
        "email": email,
        "holdout_share": float(share),
    }
    return slug, fields


def _substitute(value, replacements: Mapping[str, str]):
    if isinstance(value, str):
        for placeholder, text in replacements.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, list):
        return [_substitute(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, replacements) for k, v in value.items()}
    return value


def _rule_text(raw_rule: object) -> str:
    return yaml.safe_dump(raw_rule, default_flow_style=True, sort_keys=False, width=10_000).strip()


def _unique(definitions: list[SegmentDefinition]) -> list[SegmentDefinition]:
    seen: set[str] = set()
    for definition in definitions:
        if definition.slug in seen:
            raise RuleError(definition.slug, "slug", "defined more than once")
        seen.add(definition.slug)
    return definitions


def holdout_flags(segment: str, person_ids: pd.Series, share: float) -> np.ndarray:
    """True for the control group: SHA-256 of ``segment:person_id`` mapped to [0, 1) below share.

    Keyed on the segment too, so one person is not in every segment's control group; stable
    across runs because it depends on nothing else. Hashed once per distinct id.
    """
    ids = person_ids.astype("string")
    unique = pd.Series(ids.dropna().unique(), dtype="string")
    prefix = f"{segment}:"
    fractions = unique.map(
        lambda pid: int.from_bytes(hashlib.sha256((prefix + pid).encode()).digest()[:8], "big")
        / 2.0**64
    )
    lookup = pd.Series(fractions.to_numpy(dtype=float), index=unique.to_numpy())
    return (ids.map(lookup).astype(float) < share).fillna(False).to_numpy(dtype=bool)


def segment_input(
    profiles: pd.DataFrame,
    features: pd.DataFrame,
    scores: pd.DataFrame,
    send_times: pd.DataFrame,
    profile_emails: pd.DataFrame,
    extra_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per profile with every column a rule may read, plus the best sendable address.

    Behaviour features win over profile columns of the same name (they are computed by person
    across all identities). A rule column no input provides is present and all missing.
    """
    frame = profiles.assign(person_id=profiles["person_id"].astype("string"))
    features = features.assign(person_id=features["person_id"].astype("string"))
    frame = frame.drop(columns=[c for c in features.columns if c != "person_id" and c in frame])
    frame = frame.merge(features, on="person_id", how="left")
    for table, columns in ((scores, ["score", "tier"]),
                           (send_times, ["best_hour_utc", "best_local_hour"])):
        present = [c for c in columns if c in table]
        frame = frame.drop(columns=[c for c in present if c in frame]).merge(
            table[["person_id", *present]].assign(person_id=table["person_id"].astype("string")),
            on="person_id",
            how="left",
        )
    for column in [*RULE_COLUMNS, *extra_columns, "first_name", "phone", "sendable"]:
        if column not in frame:
            frame[column] = pd.NA
    frame["best_email"] = frame["person_id"].map(best_sendable_email(profile_emails))
    frame["sendable"] = frame["sendable"].astype("boolean").fillna(False).astype(bool)
    return frame


def build_segments(
    definitions: Sequence[SegmentDefinition],
    profiles: pd.DataFrame,
    features: pd.DataFrame,
    scores: pd.DataFrame,
    send_times: pd.DataFrame,
    profile_emails: pd.DataFrame,
    reference_date: date,
    run_id: str,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The ``segments`` catalogue and one member table per segment slug.

    ``profiles`` carry ``sendable`` (from :func:`cdp_pipeline.consent.derive_consent`) and
    ``profile_emails`` their statuses; erased persons are already dropped from both.
    """
    needed = set().union(*(rule_columns(d.rule) for d in definitions)) if definitions else set()
    population = segment_input(profiles, features, scores, send_times, profile_emails, sorted(needed))
    members = {d.slug: select_members(d, population, reference_date) for d in definitions}
    return catalogue_rows(definitions, members, reference_date, run_id), members


def select_members(definition: SegmentDefinition, population: pd.DataFrame, reference_date: date) -> pd.DataFrame:
    """The member table of one segment (warehouse columns of ``segment_<slug>``).

    An email segment keeps only sendable persons with an active address, and gives that
    address; a call list (email: false) keeps everyone the rule selects and adds ``phone``.
    """
    mask = evaluate(definition.rule, population, reference_date).to_numpy(dtype=bool)
    if definition.email:
        mask = mask & population["sendable"].to_numpy(dtype=bool) & population["best_email"].notna().to_numpy()
    chosen = population[mask].sort_values("person_id", kind="stable")
    table = pd.DataFrame(
        {
            "person_id": chosen["person_id"].astype("string"),
            "email": chosen["best_email"].astype("string"),
            "first_name": chosen["first_name"].astype("string"),
            "score": pd.to_numeric(chosen["score"], errors="coerce").astype("Float64"),
            "tier": chosen["tier"].astype("string"),
            "best_hour_utc": pd.to_numeric(chosen["best_hour_utc"], errors="coerce").astype("Int64"),
            "holdout": holdout_flags(definition.slug, chosen["person_id"], definition.holdout_share),
        }
    ).reset_index(drop=True)
    if not definition.email:
        table["phone"] = chosen["phone"].astype("string").to_numpy()
    return table


CATALOGUE_COLUMNS = [
    "segment", "description", "definition", "members", "holdout_members", "refreshed_at",
    "run_id", "owner", "email_segment", "holdout_share",
]


def catalogue_rows(
    definitions: Sequence[SegmentDefinition],
    members: Mapping[str, pd.DataFrame],
    reference_date: date,
    run_id: str,
) -> pd.DataFrame:
    """The ``segments`` table: one row per segment, its rule as written and its sizes."""
    rows = [
        {
            "segment": d.slug,
            "description": d.description,
            "definition": d.definition,
            "members": len(members[d.slug]),
            "holdout_members": int(members[d.slug]["holdout"].sum()),
            "refreshed_at": _midnight_utc(reference_date),
            "run_id": run_id,
            "owner": d.owner,
            "email_segment": d.email,
            "holdout_share": d.holdout_share,
        }
        for d in definitions
    ]
    return pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)


def consent_violations(
    tables: Mapping[str, pd.DataFrame], profiles: pd.DataFrame, profile_emails: pd.DataFrame
) -> pd.DataFrame:
    """Members of email segments who may not be emailed at that address: ``(segment, person_id)``.

    Checked independently of how members were chosen: the person must be sendable (consent
    granted, not withdrawn, not erased) and the address one of theirs with status ``active``.
    """
    catalogue = tables["segments"]
    email_segments = catalogue.loc[catalogue["email_segment"].astype(bool), "segment"]
    sendable = profiles.loc[profiles["sendable"].astype(bool), "person_id"]
    active = profile_emails[profile_emails["status"] == "active"]
    active_pairs = _person_address(active)
    parts = []
    for slug in email_segments:
        members = tables[f"segment_{slug}"]
        bad = ~isin(members["person_id"], sendable) | ~isin(_person_address(members), active_pairs)
        parts.append(pd.DataFrame({"segment": slug, "person_id": members.loc[bad, "person_id"].astype(str)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["segment", "person_id"])


def _person_address(frame: pd.DataFrame) -> pd.Series:
    return frame["person_id"].astype("string") + "\x1f" + frame["email"].astype("string")


def segment_changes(
    previous_members: Mapping[str, pd.DataFrame] | None,
    current_members: Mapping[str, pd.DataFrame],
    run_id: str,
    history: pd.DataFrame | None = None,
    persons: pd.Index | None = None,
) -> pd.DataFrame:
    """Who entered and who left each segment since the previous run (for triggered sends).

    A segment that no longer exists counts as everyone leaving; a new one as everyone entering.
    With ``history`` (the previously published table) the result is that history plus this
    run's rows, so the table keeps every run's changes; rows of ``run_id`` itself are replaced,
    so re-running a run does not record its changes twice. With ``persons`` (every person who
    exists now) the rows of anyone else go, history included: an erased person leaves no trace,
    and an id merged into another has nothing left to trigger.
    """
    previous_members = previous_members or {}
    parts = []
    for slug in sorted(set(previous_members) | set(current_members)):
        before = _ids(previous_members.get(slug))
        after = _ids(current_members.get(slug))
        for change, ids in (("entered", after.difference(before)),
                            ("left", before.difference(after))):
            if len(ids):
                parts.append(pd.DataFrame({"segment": slug, "person_id": ids, "change": change}))
    changes = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype="string") for c in ("segment", "person_id",
                                                                   "change")})
    )
    changes = changes.astype("string").sort_values(["segment", "change", "person_id"])
    changes = changes.assign(run_id=run_id)
    if history is not None and len(history):
        earlier = history[history["run_id"].astype("string") != run_id]
        changes = pd.concat([earlier[changes.columns].astype("string"), changes])
    if persons is not None:
        changes = changes[changes["person_id"].isin(pd.Index(persons, dtype="string")).fillna(False)]
    return changes.reset_index(drop=True)


def segment_tables(
    catalogue: pd.DataFrame, members: Mapping[str, pd.DataFrame], changes: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Every segment table of a run under its warehouse name, for one atomic publication."""
    tables = {"segments": catalogue, "segment_changes": changes}
    for slug, table in members.items():
        if not is_valid_slug(slug):
            raise RuleError(str(slug), "slug", "not a valid table name")
        tables[f"segment_{slug}"] = table
    return tables


def _ids(table: pd.DataFrame | None) -> pd.Index:
    if table is None or table.empty:
        return pd.Index([], dtype="string")
    return pd.Index(table["person_id"].astype("string").dropna().unique(), dtype="string")


def _midnight_utc(reference_date: date) -> pd.Timestamp:
    stamp = pd.Timestamp(reference_date).normalize()
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
