"""Identity resolution alone, at sizes the whole nightly job does not reach on this machine.

    python -m cdp_pipeline.bench.identity_scale --persons 1000000 --days 2 --out bench_out

Generates the drops with ``cdp synth`` (kept for the next call), ingests the identity sources
and the erasure requests into a state folder as the ingest assets do (readers, row rules,
duplicate keys; no GX report), then, in a fresh process, does what the identity asset does:
reads the columns identity reads from that state, builds the records, lets the frames go and
resolves, leaving out the persons the requests name (a second pass, as on every night that
brings a request). It records wall and CPU seconds, the process's peak memory, and the
pairwise and B-cubed quality against the generator's truth. Each phase runs in its own
process, so each peak is its own. Writes ``<out>/identity_<persons>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from cdp_pipeline.bench.measure import ResourceSampler, cpu_seconds
from cdp_pipeline.erasure import REQUESTS as ERASURE_REQUESTS
from cdp_pipeline.identity.records import SOURCE_COLUMNS


def _mib(value: int) -> float:
    return round(value / 2**20, 1)


def _measured(call) -> tuple[object, dict]:
    with ResourceSampler() as sampler:
        started, cpu = time.perf_counter(), cpu_seconds()
        result = call()
        cost = {"wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(cpu_seconds() - cpu, 2)}
    return result, {**cost, "peak_rss_mib": _mib(sampler.peak_rss)}


def synthesise(persons: int, days: int, seed: int, workdir: Path) -> dict:
    from cdp_pipeline.synth import generate

    if (workdir / "truth" / "meta.json").exists():
        return {"reused": True}
    _, cost = _measured(lambda: generate(persons=persons, days=days, seed=seed, out=workdir / "landing",
                                         truth=workdir / "truth"))
    return cost


def ingest(extract_name: str, workdir: Path) -> dict:
    from cdp_pipeline.extracts import EXTRACTS_BY_NAME
    from cdp_pipeline.ingest.accumulate import ingest_extract
    from cdp_pipeline.ingest.state import StateStore

    def run():
        outcome = ingest_extract(EXTRACTS_BY_NAME[extract_name], workdir / "landing", StateStore(workdir / "state"))
        outcome.commit()
        return len(outcome.table)

    rows, cost = _measured(run)
    return {"rows": rows, **cost}


def resolve(workdir: Path) -> dict:
    from cdp_pipeline.erasure import ledger_hashes, updated_ledger
    from cdp_pipeline.identity import read_truth_records
    from cdp_pipeline.identity.evaluate import pairwise_scores
    from cdp_pipeline.identity.records import build_records_releasing
    from cdp_pipeline.identity.resolve import resolve_with_erasures
    from cdp_pipeline.ingest.state import StateStore

    store = StateStore(workdir / "state")
    erased = ledger_hashes(updated_ledger(None, store.load(ERASURE_REQUESTS)[0]))

    def read_build_and_resolve():  # as the asset does: the frames go once the records are built
        return resolve_with_erasures(build_records_releasing(store.load_tables(SOURCE_COLUMNS)),
                                     erased_email_hashes=erased)[0]

    resolution, cost = _measured(read_build_and_resolve)
    scores = pairwise_scores(resolution.identity_map, read_truth_records(workdir / "truth"))
    return {"records": len(resolution.records), "persons": int(resolution.identity_map["person_id"].nunique()),
            "erasure_requests": len(erased), "erased_persons": resolution.diagnostics.get("erased_persons", 0),
            **cost, "quality": scores}


def _in_subprocess(*args: str) -> dict:
    """Runs one phase of this module in a fresh interpreter and returns its JSON result."""
    done = subprocess.run([sys.executable, "-m", "cdp_pipeline.bench.identity_scale", *args], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(persons: int, days: int, seed: int, out: Path) -> dict:
    workdir = (out / f"identity_work_{persons}").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    result = {"persons": persons, "days": days, "seed": seed,
              "synth": _in_subprocess("--phase", "synth", *_common(persons, days, seed, out))}
    result["ingest"] = {name: _in_subprocess("--phase", "ingest", "--extract", name, *_common(persons, days, seed, out))
                        for name in (*SOURCE_COLUMNS, ERASURE_REQUESTS)}
    result["resolution"] = _in_subprocess("--phase", "resolve", *_common(persons, days, seed, out))
    (out / f"identity_{persons}.json").write_text(json.dumps(result, indent=2))
    return result


def _common(persons: int, days: int, seed: int, out: Path) -> list[str]:
    return ["--persons", str(persons), "--days", str(days), "--seed", str(seed), "--out", str(out)]


def summary(result: dict) -> str:
    r, q = result["resolution"], result["resolution"]["quality"]
    return (f"{result['persons']:,} persons, {r['records']:,} records ({r['erased_persons']:,} persons erased): "
            f"{r['wall_s']} s wall, {r['cpu_s']} s CPU, "
            f"peak {r['peak_rss_mib']:,} MiB; "
            f"P {q['precision']:.4f} R {q['recall']:.4f} F1 {q['f1']:.4f} B3 F1 {q['b3_f1']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench_out"))
    parser.add_argument("--phase", choices=("synth", "ingest", "resolve"), help=argparse.SUPPRESS)
    parser.add_argument("--extract", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = (args.out / f"identity_work_{args.persons}").resolve()
    if args.phase == "synth":
        print(json.dumps(synthesise(args.persons, args.days, args.seed, workdir)))
    elif args.phase == "ingest":
        print(json.dumps(ingest(args.extract, workdir)))
    elif args.phase == "resolve":
        print(json.dumps(resolve(workdir)))
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        print(summary(bench(args.persons, args.days, args.seed, args.out)))


if __name__ == "__main__":
    main()
