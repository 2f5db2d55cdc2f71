"""The Dagster code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import dagster as dg

from cdp_pipeline.defs import identity, ingest, models, publish, quality, segments
from cdp_pipeline.defs.automation import PUBLISH_TAGS, build_automation
from cdp_pipeline.defs.common import IngestGuards
from cdp_pipeline.defs.execution import in_process_releasing_memory
from cdp_pipeline.defs.resources import default_resources
from cdp_pipeline.defs.retention import build_output_scrubber

ASSETS = [
    ingest.landing_drops,
    *ingest.INGEST_ASSETS,
    quality.quarantine,
    quality.validation_report,
    identity.identity_resolution,
    identity.identity_map,
    identity.person_activity,
    identity.golden_records,
    models.engagement_model,
    models.engagement_scores,
    models.send_time_recommendations,
    models.model_runs,
    segments.segment_features,
    segments.segment_population,
    *segments.SEGMENT_ASSETS,
    *segments.TEMPLATE_ASSETS,
    segments.segment_tables,
    publish.warehouse_publication,
]


nightly = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    executor_def=in_process_releasing_memory,
    tags=PUBLISH_TAGS,
    description=(
        "Ingest every pending drop, validate, resolve identities, train and score, build the "
        "segments and publish all tables at once."
    ),
)
nightly_schedule, drop_sensor = build_automation(nightly)
raw_output_scrubber = build_output_scrubber(nightly)

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=[publish.email_segments_are_consent_safe, publish.erased_persons_are_absent],
    jobs=[nightly],
    schedules=[nightly_schedule],
    sensors=[drop_sensor, raw_output_scrubber],
    resources={**default_resources(), "guards": IngestGuards()},
)
