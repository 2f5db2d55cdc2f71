"""The nightly job's executor: a step's output is out of memory before the next step starts."""

import gc
import weakref

import dagster as dg

from cdp_pipeline.definitions import defs
from cdp_pipeline.defs.execution import in_process_releasing_memory


class Frames:
    """Stands in for a step's output tables: what matters is whether it is still referenced."""


OUTPUT: list[weakref.ref] = []
ALIVE_WHEN_NEXT_STEP_STARTED: list[bool] = []


@dg.asset
def computed() -> Frames:
    frames = Frames()
    OUTPUT.append(weakref.ref(frames))
    gc.collect()  # as a long step's would, the step's context reaches the oldest generation
    return frames


@dg.asset(deps=[computed])
def next_step() -> None:
    ALIVE_WHEN_NEXT_STEP_STARTED.append(OUTPUT[-1]() is not None)


def two_steps_job() -> dg.JobDefinition:
    return dg.Definitions(
        assets=[computed, next_step],
        jobs=[dg.define_asset_job("two_steps", executor_def=in_process_releasing_memory)],
    ).resolve_job_def("two_steps")


def test_the_nightly_job_runs_in_process_with_no_hook_to_make_dagster_keep_outputs():
    nightly = defs.resolve_job_def("nightly")

    assert nightly.executor_def is in_process_releasing_memory
    assert not nightly.hook_defs


def test_a_step_output_is_freed_before_the_next_step_starts():
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(two_steps_job), instance=instance)

    assert result.success
    assert ALIVE_WHEN_NEXT_STEP_STARTED == [False]
