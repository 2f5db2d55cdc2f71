"""Where the time of the slowest assets goes: their bodies run outside Dagster under cProfile.

    python -m cdp_pipeline.bench.profile ingest store_web_events --landing <landing> --scratch <dir>
    python -m cdp_pipeline.bench.profile identity --state <state dir>

``ingest`` runs what the ingest asset runs (``ingest_extract``: read, quality split, dedupe;
then the GX suite on the new rows; then the state commit) into a scratch state folder, so the
landing and any real state stay untouched. ``identity`` resolves the records of a state folder,
read only. Both print CPU seconds per phase from a plain run (cProfile's overhead inflates
Python-heavy code such as the GX suite several times over), then, from a second, profiled
run, the heaviest project functions (``--phases-only`` skips it). CPU seconds, not wall time,
because the benchmark machine is shared: they do not count the time a process waits for a
core. Findings are written up in docs/profiling.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import time
from pathlib import Path

TOP_FUNCTIONS = 30


def _measured(call, profiled: bool):
    """(result of a plain run of ``call()``, profile of a second run or None)."""
    result = call()
    if not profiled:
        return result, None
    profile = cProfile.Profile(time.process_time)
    profile.runcall(call)
    return result, profile


def _top(profile: cProfile.Profile, limit: int = TOP_FUNCTIONS) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(r"cdp_pipeline", limit)
    return out.getvalue()


def profile_ingest(extract_name: str, landing: Path, scratch: Path, profiled: bool = True):
    from cdp_pipeline.extracts import EXTRACTS_BY_NAME
    from cdp_pipeline.ingest.accumulate import ingest_extract
    from cdp_pipeline.ingest.state import StateStore
    from cdp_pipeline.quality.suites import validate_frame

    extract = EXTRACTS_BY_NAME[extract_name]
    state = scratch / f"profile_state_{extract_name}"

    def body() -> dict:
        shutil.rmtree(state, ignore_errors=True)
        started = time.process_time()
        outcome = ingest_extract(extract, landing, StateStore(state))
        ingested = time.process_time()
        applied = {r.file for r in outcome.file_reports if r.status == "applied"}
        validate_frame(extract, outcome.table[outcome.table["_file"].isin(applied)])
        validated = time.process_time()
        outcome.commit()
        committed = time.process_time()
        return {"extract": extract_name, "rows": len(outcome.table), "files": len(outcome.file_reports),
                "ingest_extract_cpu_s": ingested - started, "gx_suite_cpu_s": validated - ingested,
                "commit_cpu_s": committed - validated}

    phases, profile = _measured(body, profiled)
    shutil.rmtree(state, ignore_errors=True)
    return phases, profile


def profile_identity(state_dir: Path, profiled: bool = True):
    from cdp_pipeline.extracts import ALL_EXTRACTS
    from cdp_pipeline.identity import resolve_identities
    from cdp_pipeline.ingest.state import StateStore

    store = StateStore(state_dir)
    frames = {e.name: store.load(e.name)[0] for e in ALL_EXTRACTS}

    def body() -> dict:
        started = time.process_time()
        resolution = resolve_identities(frames)
        return {"records": len(resolution.records), "resolve_identities_cpu_s": time.process_time() - started}

    return _measured(body, profiled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("extract")
    ingest.add_argument("--landing", type=Path, required=True)
    ingest.add_argument("--scratch", type=Path, required=True)
    identity = sub.add_parser("identity")
    identity.add_argument("--state", type=Path, required=True)
    for command in (ingest, identity):
        command.add_argument("--phases-only", action="store_true", help="no profiled second run")
    args = parser.parse_args()
    if args.what == "ingest":
        phases, profile = profile_ingest(args.extract, args.landing, args.scratch, not args.phases_only)
    else:
        phases, profile = profile_identity(args.state, not args.phases_only)
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in phases.items()}))
    if profile is not None:
        print(_top(profile))


if __name__ == "__main__":
    main()
