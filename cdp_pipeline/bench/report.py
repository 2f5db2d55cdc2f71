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


def render(results: list[dict]) -> str:
    results = sorted(results, key=lambda r: r["persons"])
    machine = results[0]["machine"] if results else {}
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`SIZES` persons, `BENCH_DAYS` days of drops, seed 1); "
        "1M persons with `make bench SIZES=1000000`. Each size runs in its own process: "
        "`cdp synth`, then the nightly job on every drop but the newest (full build), then the "
        "newest drop alone (incremental night), then quality against the generator's truth.",
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
    splink = [r for r in results if "splink" in r]
    if splink:
        lines += ["", "## Side by side with Splink (same records)", ""]
        rows = []
        for r in splink:
            for tool in ("ours", "splink"):
                s = r["splink"][tool]
                rows.append([f"{r['persons']:,}", tool, s.get("precision"), s.get("recall"), s.get("f1"), s.get("b3_f1"), s.get("seconds")])
        lines += _table(["persons", "resolver", "precision", "recall", "F1", "B-cubed F1", "seconds"], rows)
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
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    sys.stdout.write(render(results))


if __name__ == "__main__":
    main()
