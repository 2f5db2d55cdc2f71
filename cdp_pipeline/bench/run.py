"""One benchmark size, in its own process so its peak memory is its own.

    python -m cdp_pipeline.bench.run --persons 100000 --days 30 --out bench_out

Generates data with ``cdp synth``, runs the nightly job on every drop but the newest (a full
build), then on the newest alone (an incremental night), measures each asset, scores quality
against the generator's truth, optionally runs Splink on the same records, and writes
``<out>/<persons>.json``. Each night runs in a fresh process, as ``cdp run`` does every night:
its peak memory is then its own, not what the generator or the night before left allocated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cdp_pipeline.bench.measure import ResourceSampler, asset_costs


def _use_workdir(workdir: Path) -> None:
    os.environ["CDP_LANDING_DIR"] = str(workdir / "landing")
    os.environ["CDP_STATE_DIR"] = str(workdir / "state")
    os.environ["CDP_WAREHOUSE_URL"] = os.environ.get(
        "CDP_BENCH_WAREHOUSE_URL", f"sqlite:///{workdir / 'warehouse.db'}"
    )
    os.environ["DAGSTER_HOME"] = str(workdir / "dagster_home")


def _newest_drop_folders(landing: Path) -> list[Path]:
    complete = [p.parent for p in landing.glob("*/*/_SUCCESS")]
    newest = max(p.name for p in complete)
    return [p for p in complete if p.name == newest]


def _upstream_map() -> dict[str, list[str]]:
    from cdp_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string(): [p.to_user_string() for p in graph.get(key).parent_keys]
        for key in graph.get_all_asset_keys()
    }


def _timed_run(label: str) -> dict:
    from dagster import DagsterInstance

    from cdp_pipeline.runner import run_nightly

    with ResourceSampler() as sampler:
        started = time.perf_counter()
        result = run_nightly()
        wall = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"{label} run failed: {result.reason}")
    with DagsterInstance.get() as instance:
        costs = asset_costs(instance, result.run_id, sampler, _upstream_map())
    return {
        "label": label,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(sampler.peak_rss / 2**20, 1),
        "assets": [c.as_dict() for c in costs],
        "tables": result.tables,
    }


def _timed_run_in_fresh_process(label: str, workdir: Path) -> dict:
    result_file = workdir / f"{label.replace(' ', '_')}.json"
    subprocess.run([sys.executable, "-m", "cdp_pipeline.bench.run", "--night", label, "--workdir", str(workdir),
                    "--result", str(result_file)], check=True)
    return json.loads(result_file.read_text())


def bench_size(persons: int, days: int, seed: int, out: Path, with_splink: bool) -> dict:
    from cdp_pipeline.synth import generate

    workdir = (out / f"work_{persons}").resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    _use_workdir(workdir)
    landing, truth = workdir / "landing", workdir / "truth"

    with ResourceSampler() as sampler:
        started = time.perf_counter()
        generate(persons=persons, days=days, seed=seed, out=landing, truth=truth)
        synth = {"wall_s": round(time.perf_counter() - started, 2)}
    synth["peak_rss_mib"] = round(sampler.peak_rss / 2**20, 1)

    # Full build on all drops but the newest, then the newest alone as an incremental night.
    held = workdir / "held_back"
    newest = _newest_drop_folders(landing)
    for folder in newest:
        target = held / folder.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, target)
    full = _timed_run_in_fresh_process("full build", workdir)
    for folder in newest:
        shutil.move(held / folder.relative_to(landing), folder)
    incremental = _timed_run_in_fresh_process("incremental night", workdir)

    result = {
        "persons": persons,
        "days": days,
        "seed": seed,
        "machine": _machine(),
        "synth": synth,
        "full": full,
        "incremental": incremental,
    }
    results_file = out / f"{persons}.json"
    results_file.write_text(json.dumps(result, indent=2, default=str))
    result["quality"] = quality_against_truth(truth)
    result.update(identity_on_state(truth, with_splink))
    results_file.write_text(json.dumps(result, indent=2, default=str))
    return result


def quality_against_truth(truth: Path) -> dict:
    """The evaluation of the published tables; a failure is recorded, not fatal to the timings."""
    from cdp_pipeline.evaluation import evaluate

    try:
        return evaluate("all", truth_dir=truth)
    except Exception as exc:  # the timing results stand on their own
        return {"error": f"{type(exc).__name__}: {exc}"}


def identity_on_state(truth: Path, with_splink: bool) -> dict:
    """Our resolver once more on the state's records: which true pairs it left apart and what
    those records hold, and, with ``with_splink``, Splink on the same records."""
    from cdp_pipeline.bench.splink_compare import compare_with_splink, resolve_state
    from cdp_pipeline.identity import holds_nothing_to_link_by, missed_pairs_by_evidence

    ours, cost, truth_records = resolve_state(truth)
    nothing = holds_nothing_to_link_by(ours.records, ours.record_emails, ours.system_keys)
    found = {"identity_misses": missed_pairs_by_evidence(ours.records, ours.identity_map, truth_records, nothing)}
    if with_splink:
        found["splink"] = compare_with_splink(ours, cost, truth_records)
    return found


def _machine() -> dict:
    import platform

    mem_kib = next(
        int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="bench_out")
    parser.add_argument("--splink", action="store_true")
    # One night in this process (the benchmark starts each in a fresh one).
    parser.add_argument("--night", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.night:
        _use_workdir(args.workdir)
        args.result.write_text(json.dumps(_timed_run(args.night), default=str))
        return
    if args.persons is None:
        parser.error("--persons is required")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bench_size(args.persons, args.days, args.seed, out, args.splink)


if __name__ == "__main__":
    main()
