"""When the nightly job runs: a cron schedule, and a sensor that reacts to complete drops.

Both refuse to start a run while another run of the job is queued or in progress, so two runs
never publish at once; runs also carry :data:`PUBLISH_TAGS`, which the production instance's
queued run coordinator limits to one at a time (``deploy/dagster.yaml``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from cdp_pipeline.defs.resources import LandingResource

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
PUBLISH_TAG_KEY = "cdp/publish"
PUBLISH_TAGS = {PUBLISH_TAG_KEY: "warehouse"}
SUCCESS_MARKER = "_SUCCESS"
SENSOR_INTERVAL_S = 60
ACTIVE_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
_DROP_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def complete_drops(landing_dir: Path) -> dict[str, int]:
    """``{"crm/2026-11-02": mtime_ns of its _SUCCESS}`` for every complete drop folder.

    A folder without ``_SUCCESS`` is still being copied and is invisible here.
    """
    if not landing_dir.is_dir():
        return {}
    drops = {}
    for marker in landing_dir.glob(f"*/*/{SUCCESS_MARKER}"):
        folder = marker.parent
        if _DROP_DATE.fullmatch(folder.name) and marker.is_file():
            drops[f"{folder.parent.name}/{folder.name}"] = marker.stat().st_mtime_ns
    return drops


def drops_after(drops: dict[str, int], cursor: str | None) -> dict[str, int]:
    """The drops whose ``_SUCCESS`` is newer than the cursor (the newest one already requested)."""
    seen = int(cursor) if cursor else -1
    return {drop: stamp for drop, stamp in drops.items() if stamp > seen}


def active_run_ids(instance: DagsterInstance, job_name: str) -> list[str]:
    """Runs of the job that are queued or running: a new run would race them to publish."""
    runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES), limit=5)
    return [run.run_id for run in runs]


def build_automation(
    job,
    *,
    cron: str | None = None,
    timezone: str | None = None,
    default_on: bool = False,
) -> tuple[ScheduleDefinition, SensorDefinition]:
    """The nightly schedule and the drop sensor for ``job``.

    ``cron`` and ``timezone`` default to ``CDP_SCHEDULE_CRON`` / ``CDP_SCHEDULE_TZ`` (then
    ``0 2 * * *`` in UTC). ``default_on`` starts both as soon as the daemon runs.
    """
    cron = cron or os.environ.get("CDP_SCHEDULE_CRON") or DEFAULT_CRON
    timezone = timezone or os.environ.get("CDP_SCHEDULE_TZ") or DEFAULT_TIMEZONE
    ZoneInfo(timezone)  # an unknown zone fails at load time, not silently at 2 a.m.
    job_name = job.name

    @schedule(
        cron_schedule=cron,
        execution_timezone=timezone,
        job=job,
        name=f"{job_name}_nightly",
        description=f"Runs {job_name} over every pending drop at '{cron}' ({timezone}); skipped while a run is active.",
        default_status=DefaultScheduleStatus.RUNNING if default_on else DefaultScheduleStatus.STOPPED,
    )
    def nightly(context: ScheduleEvaluationContext):
        active = active_run_ids(context.instance, job_name)
        if active:
            return SkipReason(f"{job_name} run {active[0]} is still queued or running")
        return RunRequest(tags={**PUBLISH_TAGS, "cdp/trigger": "schedule"})

    @sensor(
        job=job,
        name=f"{job_name}_on_drop",
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        description=(
            f"Starts {job_name} when a complete drop (a date folder with {SUCCESS_MARKER}) arrives; "
            "one run per set of drops, never while another run is active."
        ),
        default_status=DefaultSensorStatus.RUNNING if default_on else DefaultSensorStatus.STOPPED,
    )
    def on_drop(context: SensorEvaluationContext, landing: LandingResource):
        fresh = drops_after(complete_drops(landing.folder), context.cursor)
        if not fresh:
            return SkipReason("no new complete drop")
        active = active_run_ids(context.instance, job_name)
        if active:
            # the cursor stays put: these drops are requested once the active run ends
            return SkipReason(f"{len(fresh)} new drop(s) wait for {job_name} run {active[0]} to finish")
        names = sorted(fresh)
        request = RunRequest(
            run_key="drops:" + ",".join(names),
            tags={**PUBLISH_TAGS, "cdp/trigger": "drop", "cdp/drops": str(len(names)), "cdp/newest_drop": max(n.split("/")[1] for n in names)},
        )
        return SensorResult(run_requests=[request], cursor=str(max(fresh.values())))

    return nightly, on_drop
