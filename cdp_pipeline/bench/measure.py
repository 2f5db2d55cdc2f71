"""Per-asset cost of a Dagster run: wall time, CPU time, peak resident memory, rows in and out.

A sampler thread reads this process's resident set and CPU time every few milliseconds; the
run's event log gives each step's start and end, so each asset gets the samples of its own
window. This needs no profiler and works with the in-process executor the nightly job uses.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class ResourceSampler:
    """Background sampling of (epoch seconds, RSS bytes, CPU seconds)."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.samples: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), current_rss_bytes(), cpu_seconds()))
            self._stop.wait(self.interval)

    def __enter__(self) -> "ResourceSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), current_rss_bytes(), cpu_seconds()))

    def window(self, start: float, end: float) -> tuple[float, int]:
        """CPU seconds used and peak RSS within [start, end]."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        before = [s for s in self.samples if s[0] <= start]
        after = [s for s in self.samples if s[0] >= end]
        first = before[-1] if before else (inside[0] if inside else self.samples[0])
        last = after[0] if after else (inside[-1] if inside else self.samples[-1])
        peak = max((s[1] for s in inside), default=max(first[1], last[1]))
        return max(0.0, last[2] - first[2]), peak

    @property
    def peak_rss(self) -> int:
        return max(s[1] for s in self.samples)


@dataclass
class AssetCost:
    asset: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    rows_in: int
    rows_out: int

    @property
    def rows_per_s(self) -> float:
        return max(self.rows_in, self.rows_out) / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1)}


def asset_costs(instance, run_id: str, sampler: ResourceSampler, upstream: dict[str, list[str]]):
    """Joins the run's step windows with the sampler; rows come from ``dagster/row_count``."""
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    rows_out: dict[str, int] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            ends[event.step_key] = entry.timestamp
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            count = materialization.metadata.get("dagster/row_count")
            if count is not None:
                rows_out[materialization.asset_key.to_user_string()] = int(count.value)
    costs = []
    for step, start in starts.items():
        end = ends.get(step, start)
        cpu, peak = sampler.window(start, end)
        rows_in = sum(rows_out.get(parent, 0) for parent in upstream.get(step, []))
        costs.append(
            AssetCost(
                asset=step,
                wall_s=round(end - start, 3),
                cpu_s=round(cpu, 3),
                peak_rss_mib=round(peak / 2**20, 1),
                rows_in=rows_in,
                rows_out=rows_out.get(step, 0),
            )
        )
    return sorted(costs, key=lambda c: starts[c.asset])
