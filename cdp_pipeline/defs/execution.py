"""The nightly job's executor: Dagster's in-process executor, handing memory back between steps.

Every step of the night runs in one process, so what one step leaves allocated adds to the
next one's peak. Two things kept it, besides the allocators' own reserves
(`frames.release_unused_memory`):

- Dagster keeps each step's output values on the step's context for hooks to read
  (`HookContext.op_output_values`) as soon as the job has any hook, and that context sits in a
  reference cycle (its data version cache points back to it). Releasing memory used to be a
  success hook: person activity, identity resolution and the ingested extracts stayed in memory
  until Python's next full collection, several steps later. An executor sees the run's events
  without asking Dagster to capture anything.
- The event log, recording each materialization, catches the database's complaint that the
  asset key is already known; the exception's traceback holds the frames that logged the
  output, and the output with them, in another cycle. Those objects are young when the step
  ends: collecting the young generations takes milliseconds, a full collection a quarter of a
  second or more in a run's process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import dagster as dg

from cdp_pipeline.frames import release_unused_memory


def _hand_back_memory() -> None:
    gc.collect(1)
    release_unused_memory()


class ReleasingMemoryBetweenSteps(dg.Executor):
    """Runs the steps with ``steps``, handing memory back when each step ends (what it computed
    along the way) and as the next one starts (its inputs and outputs: Dagster holds them until
    the step's last event has gone by)."""

    def __init__(self, steps: dg.Executor):
        self._steps = steps

    @property
    def retries(self):
        return self._steps.retries

    @property
    def step_dependency_config(self):
        return self._steps.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        for event in self._steps.execute(plan_context, execution_plan):
            if event.is_step_start or event.is_step_restarted or event.is_step_success or event.is_step_failure:
                _hand_back_memory()
            yield event


@dg.executor(name="in_process_releasing_memory", config_schema=dg.in_process_executor.config_schema)
def in_process_releasing_memory(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor, same configuration, handing memory back between steps."""
    return ReleasingMemoryBetweenSteps(dg.in_process_executor.executor_creation_fn(init_context))
