"""Turns the per-size JSON results into ``BENCHMARKS.md``.

    python -m cdp_pipeline.bench.report bench_out > BENCHMARKS.md
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _flatten(values: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            flat[name] = round(value, 4) if isinstance(value, float) else value
    return flat


def growth_exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    """k in cost ∝ n^k between two sizes: 1 is linear, about 1.1 is n log n at these sizes."""
    return math.log(t2 / t1) / math.log(n2 / n1) if t1 > 0 and t2 > 0 and n2 != n1 else float("nan")


def _identity_misses_section(results: list[dict]) -> list[str]:
    """How much of recall's gap the records could close: most missed pairs hold nothing to link by."""
    if not results:
        return []
    lines = ["", "## The true pairs identity resolution left apart", "",
             "Every true pair of records in two of our persons, by what the two records hold (the first "
             "that applies; `identity.evaluate.missed_pairs_by_evidence`). Only the last row is evidence "
             "the model could have weighed higher. The first row can never be found: one of its records "
             "holds no name, address, birth date, employer, job title, email, phone or system key (a browser cookie "
             "that never logged in, identified itself, filled a form or completed an order; "
             "`identity.evaluate.holds_nothing_to_link_by`), so nothing in the extracts ties it to its "
             "person. A guard refused the second on purpose (an identifier held by too many people, a role "
             "address, a conflicting birth date), and the others hold nothing but a name, or not even "
             "that, in common. \"Recall if found\": pairwise recall had that row's pairs been linked as "
             "well.",
             ""]
    names = list(results[0]["identity_misses"]["by_evidence"])
    header = ["evidence"]
    for r in results:
        header += [f"{r['persons']:,}: pairs", "share", "recall if found"]
    rows = []
    for name in names:
        row = [name]
        for r in results:
            cell = r["identity_misses"]["by_evidence"].get(name, {"pairs": 0, "share": 0.0})
            recall = r.get("quality", {}).get("identity", {}).get("recall")
            missed = r["identity_misses"]["missed_pairs"]
            gain = (1 - recall) * cell["pairs"] / missed if isinstance(recall, float) and missed else None
            row += [f"{cell['pairs']:,}", f"{cell['share']:.1%}", _score(recall + gain) if gain is not None else ""]
        rows.append(row)
    bound_rows = [[f"{r['persons']:,}", f"{r['identity_misses']['true_pairs']:,}",
                   f"{r['identity_misses']['unreachable_pairs']:,}",
                   _score(1 - r["identity_misses"]["missed_pairs"] / r["identity_misses"]["true_pairs"]),
                   _score(r["identity_misses"]["recall_ceiling"]), _score(r["identity_misses"]["recall_of_reachable"])]
                  for r in results if "recall_ceiling" in r["identity_misses"]]
    if not bound_rows:
        return lines + _table(header, rows)
    bounds = ["", "Recall against what the records allow, on the same records: ours, the highest any resolver "
              "can reach (every pair but the first row's), and ours over the reachable pairs alone.", ""]
    bounds += _table(["persons", "true pairs", "beyond reach", "recall", "highest reachable recall",
                      "recall of the reachable pairs"], bound_rows)
    return lines + _table(header, rows) + bounds


def _splink_section(results: list[dict]) -> list[str]:
    """Our resolver and Splink on the same records, scored by the same function."""
    if not results:
        return []
    lines = [
        "", "## Side by side with Splink (same records)", "",
        "Both deduplicate the identity records of the state after both runs (`make bench SPLINK=1`, "
        "`cdp_pipeline/bench/splink_compare.py`, whose docstring gives Splink's configuration: "
        "Splink 4, DuckDB backend, names, date of birth, all addresses and system keys of each "
        "record, phone, postcode, city, street, employer and job title; blocking on the identifiers "
        "and name blocks ours uses; λ from deterministic rules, u by random sampling, m by EM; clusters at the "
        "match probability our resolver requires of a probabilistic link). Scores are "
        "`identity.evaluate.pairwise_scores` against the generator's truth; time and peak "
        "resident memory are of the call alone, in the benchmark's process (our time includes "
        "building the records from the extracts).",
        "",
    ]
    rows = []
    for r in results:
        for tool in ("ours", "splink"):
            s = r["splink"][tool]
            rows.append([f"{r['persons']:,}", f"{r['splink']['records']:,}", tool, _score(s.get("precision")),
                         _score(s.get("recall")), _score(s.get("f1")), _score(s.get("b3_f1")),
                         s.get("predicted_persons"), s.get("seconds"), _peak(s)])
    lines += _table(["persons", "records", "resolver", "precision", "recall", "F1", "B-cubed F1",
                     "persons found", "seconds", "process peak MiB (+ above its level before)"], rows)
    differing = [r for r in results if "differences" in r["splink"]]
    if differing:
        lines += ["", "Where they differ, in pairs of records: Splink's wrong merges mostly join the same surname "
                      "to another first name (households and namesakes), which our resolver vetoes; the true "
                      "pairs only ours found mostly hold a record with no name (a cookie or an order known "
                      "by one address or system key), where one shared identifier does not outweigh "
                      "Splink's prior but is a deterministic link for ours.", ""]
        lines += _table(
            ["persons", "Splink wrong pairs", "of which same surname, other first name",
             "true pairs only ours found", "of which with an unnamed record"],
            [[f"{r['persons']:,}", *[f"{v:,}" for v in r["splink"]["differences"].values()]] for r in differing],
        )
    sweeps = [r for r in results if "f1_by_threshold" in r["splink"]["splink"]]
    if sweeps:
        thresholds = list(sweeps[0]["splink"]["splink"]["f1_by_threshold"])
        lines += ["", f"Splink's pairwise F1 at other cluster thresholds (same trained model; "
                      f"the table above uses {sweeps[0]['splink']['threshold']}):", ""]
        lines += _table(["persons", *thresholds],
                        [[f"{r['persons']:,}", *[_score(r["splink"]["splink"]["f1_by_threshold"][t]) for t in thresholds]]
                         for r in sweeps])
    return lines


def _peak(scores: dict) -> str:
    """Process peak during the call and, in brackets, how far above what it held before."""
    peak, before = scores.get("peak_rss_mib"), scores.get("rss_before_mib")
    return f"{peak} (+{max(peak - before, 0):.1f})" if peak is not None and before is not None else str(peak)


def _score(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _profiling_section() -> list[str]:
    return ["", "## Profiling", "",
            "Where the time of the slowest assets goes at 100,000 persons, and what was done about it: "
            "[docs/profiling.md](docs/profiling.md)."]


def _identity_scale_section(runs: list[dict]) -> list[str]:
    """Identity resolution alone, at sizes where the whole nightly job does not run."""
    if not runs:
        return []
    lines = ["", "## Identity resolution alone at scale", "",
             "`make bench-identity` (`python -m cdp_pipeline.bench.identity_scale`): generates the run, "
             "ingests the identity sources as the ingest assets do, then, in a fresh process, does what the "
             "identity asset does: reads the columns identity reads, builds the records, lets the frames go "
             "and resolves, leaving out the persons the run's erasure requests name (a second pass). Time and "
             "peak are that process's. Ingest peaks are each extract's own process; "
             "\"reused\": the generated drops of an earlier call were used again.", ""]
    rows = []
    for run in sorted(runs, key=lambda r: r["persons"]):
        r, q = run["resolution"], run["resolution"]["quality"]
        ingest_peak = max(i["peak_rss_mib"] for i in run["ingest"].values())
        rows.append([f"{run['persons']:,}", run["days"], f"{r['records']:,}", f"{r.get('erased_persons', 0):,}",
                     r["wall_s"], r["cpu_s"],
                     r["peak_rss_mib"], _score(q["precision"]), _score(q["recall"]),
                     _score(q["f1"]), _score(q["b3_f1"]), run["synth"].get("wall_s", "reused"), ingest_peak])
    return lines + _table(["persons", "days", "records", "erased persons", "resolve s", "resolve CPU s", "peak MiB",
                           "precision", "recall", "F1", "B-cubed F1", "synth s", "largest ingest peak MiB"], rows)


def render(results: list[dict], identity_scale: list[dict] = ()) -> str:
    results = sorted(results, key=lambda r: r["persons"])
    machine = results[0]["machine"] if results else {}
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`SIZES` persons, `BENCH_DAYS` days of drops, seed 1); "
        "1M persons with `make bench SIZES=1000000 BENCH_DAYS=2` (the first drop carries 120 days of "
        "history, so every size's incremental night is one day on top of at least 121). "
        "Each size runs in its own process: "
        "`cdp synth`, then the nightly job on every drop but the newest (full build), then the "
        "newest drop alone (incremental night), then quality against the generator's truth. "
        "Each night runs in a fresh process, as `cdp run` does: its peak memory is its own.",
        "",
        f"Machine: {machine.get('cpus')} CPUs, {machine.get('memory_gib')} GiB, Python "
        f"{machine.get('python')}, {machine.get('platform')}. Warehouse: embedded SQLite.",
        "",
        "## Whole run",
        "",
    ]
    lines += _table(
        ["persons", "days", "synth s", "full build s", "full peak MiB", "incremental s",
         "incremental / full", "incremental peak MiB"],
        [
            [
                f"{r['persons']:,}", r["days"], r["synth"]["wall_s"], r["full"]["wall_s"],
                r["full"]["peak_rss_mib"], r["incremental"]["wall_s"],
                f"{r['incremental']['wall_s'] / r['full']['wall_s']:.0%}",
                r["incremental"]["peak_rss_mib"],
            ]
            for r in results
        ],
    )
    if len(results) > 1:
        lines += ["", "## How cost grows", ""]
        growth_rows = []
        for small, large in zip(results, results[1:]):
            growth_rows.append(
                [
                    f"{small['persons']:,} → {large['persons']:,}",
                    f"{large['full']['wall_s'] / small['full']['wall_s']:.1f}×",
                    f"{growth_exponent(small['persons'], small['full']['wall_s'], large['persons'], large['full']['wall_s']):.2f}",
                    f"{large['full']['peak_rss_mib'] / small['full']['peak_rss_mib']:.1f}×",
                ]
            )
        lines += _table(["sizes", "time ×", "exponent k (time ∝ nᵏ)", "peak memory ×"], growth_rows)
    lines += ["", "## Quality against the generator's truth", ""]
    flat = [_flatten(r.get("quality", {})) for r in results]
    metrics = sorted({k for f in flat for k in f})
    lines += _table(["metric", *[f"{r['persons']:,}" for r in results]], [[m, *[f.get(m, "") for f in flat]] for m in metrics])
    lines += _identity_misses_section([r for r in results if "identity_misses" in r])
    lines += _splink_section([r for r in results if "splink" in r])
    lines += _identity_scale_section(list(identity_scale))
    lines += _profiling_section()
    for r in results:
        for phase in ("full", "incremental"):
            lines += ["", f"## Per asset, {r['persons']:,} persons, {r[phase]['label']}", ""]
            lines += _table(
                ["asset", "wall s", "CPU s", "peak MiB", "rows in", "rows out", "rows/s"],
                [
                    [a["asset"], a["wall_s"], a["cpu_s"], a["peak_rss_mib"], f"{a['rows_in']:,}", f"{a['rows_out']:,}", f"{a['rows_per_s']:,.0f}"]
                    for a in r[phase]["assets"]
                ],
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "bench_out")
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("[0-9]*.json"))]
    identity_scale = [json.loads(p.read_text()) for p in sorted(folder.glob("identity_[0-9]*.json"))]
    sys.stdout.write(render(results, identity_scale))


if __name__ == "__main__":
    main()
