"""What a nightly run leaves behind in ``DAGSTER_HOME``.

The ingest assets' stored outputs hold the rows as they were delivered, an erased person's
included (a snapshot delivers them again every night until identity resolution drops them).
The state folder is their lasting, purged copy, so once a run has succeeded those outputs are
deleted. Failed runs keep them, so a re-execution from the failed step still finds its inputs.
"""

import shutil
from pathlib import Path

import dagster as dg

from cdp_pipeline.extracts import ALL_EXTRACTS

RAW_OUTPUT_ASSETS = tuple(extract.name for extract in ALL_EXTRACTS)


def scrub_raw_step_outputs(instance: dg.DagsterInstance) -> list[str]:
    """Deletes the stored outputs of the ingest assets; returns the assets whose output went."""
    storage = Path(instance.storage_directory())
    removed = []
    for name in RAW_OUTPUT_ASSETS:
        folders = [path for path in (storage / name, storage / f"{name}.previous") if path.is_dir()]
        for folder in folders:  # ``.previous``: aside while a write was cut off (``step_outputs``)
            shutil.rmtree(folder)
        if folders:
            removed.append(name)
    return removed


def build_output_scrubber(job) -> dg.RunStatusSensorDefinition:
    """A sensor that scrubs the raw step outputs after every successful run of ``job``."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        name=f"{job.name}_scrub_raw_outputs",
        description=(
            "After a successful run, deletes the ingest assets' stored outputs from DAGSTER_HOME: "
            "they hold rows as delivered (erased persons' included); the purged state folder keeps them."
        ),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def scrub(context: dg.RunStatusSensorContext):
        removed = scrub_raw_step_outputs(context.instance)
        context.log.info(f"scrubbed the stored outputs of {len(removed)} ingest assets")

    return scrub
