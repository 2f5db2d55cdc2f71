"""``cdp run``: the nightly job in-process, recorded in the Dagster instance at ``DAGSTER_HOME``.

Running in-process (rather than through a daemon) is what makes ``make demo`` and the nightly
cron-style invocation need nothing but this package; the run still appears in the UI's history
because it is recorded in the same instance the webserver reads.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cdp_pipeline.config import Settings

DEFAULT_DAGSTER_HOME = Path("data/dagster_home")
ACCEPTED_FILES = "accepted_files.json"


class PreflightError(RuntimeError):
    """A reason the run cannot start at all (folder missing, database unreachable)."""


@dataclass
class NightlyResult:
    success: bool
    run_id: str
    warehouse: str
    reason: str | None = None
    tables: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.success:
            return f"run {self.run_id} failed: {self.reason}"
        lines = [f"run {self.run_id} published to {self.warehouse}"]
        lines += [f"  {name:<40} {rows:>10,} rows" for name, rows in sorted(self.tables.items())]
        return "\n".join(lines)


def ensure_dagster_home() -> Path:
    """A persistent instance so runs show in the UI; telemetry off (nothing leaves the machine)."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    os.environ["DAGSTER_HOME"] = str(home)  # Dagster insists on an absolute path
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


def accepted_files(state_dir: Path) -> frozenset[str]:
    path = state_dir / ACCEPTED_FILES
    return frozenset(json.loads(path.read_text())) if path.exists() else frozenset()


def accept_held_file(relative_path: str) -> None:
    """Records an operator's acceptance of a held file; the next run (any trigger) applies it."""
    settings = Settings.from_env()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    accepted = set(accepted_files(settings.state_dir)) | {relative_path.strip().lstrip("/")}
    path = settings.state_dir / ACCEPTED_FILES
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(accepted), indent=1))
    os.replace(tmp, path)


def preflight(settings: Settings) -> str:
    """Fails fast, with one clear line, on what no retry would fix."""
    from cdp_pipeline.warehouse.engine import make_engine

    landing = settings.landing_dir
    if not landing.is_dir():
        raise PreflightError(f"landing folder {landing} does not exist or is not a folder")
    if not os.access(landing, os.R_OK | os.X_OK):
        raise PreflightError(f"landing folder {landing} is not readable")
    engine = make_engine(settings.warehouse_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise PreflightError(f"warehouse {shown} is unreachable: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
    return shown


def run_nightly(accept: tuple[str, ...] = (), full_rebuild: bool = False) -> NightlyResult:
    settings = Settings.from_env()
    shown = preflight(settings)
    ensure_dagster_home()
    for relative_path in accept:
        accept_held_file(relative_path)
    if full_rebuild and settings.state_dir.exists():
        # State is derived from the landing folder; person ids survive in the warehouse.
        shutil.rmtree(settings.state_dir)

    from dagster import DagsterInstance, execute_job, reconstructable

    from cdp_pipeline.definitions import defs
    from cdp_pipeline.defs.retention import scrub_raw_step_outputs

    # ``execute_job``, as the daemon's run worker does, not ``execute_in_process``: that one
    # keeps every step's output in memory until the run ends (every ingested table, the
    # resolution, the activity), which at a million persons is more than the machine has.
    with DagsterInstance.get() as instance:
        result = execute_job(reconstructable(nightly_job), instance=instance, raise_on_error=False)
        if not result.success:
            return NightlyResult(False, result.run_id, shown, reason=_first_failure(result))
        publication = defs.load_asset_value("warehouse_publication", instance=instance)
        scrub_raw_step_outputs(instance)  # what the deployment's sensor does after a run
    return NightlyResult(True, result.run_id, shown, tables=dict(publication.row_counts))


def nightly_job():
    """The nightly job with the code location's resources; module-level for ``reconstructable``."""
    from cdp_pipeline.definitions import defs

    return defs.resolve_job_def("nightly")


def _first_failure(result) -> str:
    from cdp_pipeline.privacy import mask_text

    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            cause = error.cause or error
            message = (cause.message or error.message).strip().splitlines()
            return mask_text(f"{event.step_key}: {message[0] if message else 'failed'}")
    return "the run did not succeed (see the Dagster run logs)"
