"""The ``cdp`` console script: generate data, run the nightly job, evaluate, operate.

Every sub-command exits 0 on success and otherwise prints one line saying why and exits non-zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from cdp_pipeline.privacy import mask_text


def _cmd_synth(args: argparse.Namespace) -> int:
    from cdp_pipeline.synth import generate

    summary = generate(
        persons=args.persons,
        days=args.days,
        seed=args.seed,
        out=Path(args.out),
        truth=Path(args.truth),
        end_date=dt.date.fromisoformat(args.end_date),
        history_days=args.history_days,
    )
    print("\n".join(summary.lines()))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from cdp_pipeline.runner import run_nightly

    result = run_nightly(accept=tuple(args.accept or ()), full_rebuild=args.full_rebuild)
    print(result.summary())
    return 0 if result.success else 1


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cdp_pipeline.evaluation import evaluate

    metrics = evaluate(args.what, truth_dir=Path(args.truth))
    print(json.dumps(metrics, indent=2, default=str))
    return 0


def _cmd_accept(args: argparse.Namespace) -> int:
    from cdp_pipeline.runner import accept_held_file

    accept_held_file(args.file)
    print(f"accepted {args.file}: the next run applies it")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write a synthetic landing folder and its truth")
    synth.add_argument("--persons", type=int, default=300)
    synth.add_argument("--days", type=int, default=14)
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--out", required=True, help="landing folder to write")
    synth.add_argument("--truth", required=True, help="folder for the truth files (never the landing)")
    synth.add_argument("--end-date", default="2026-11-20", help="date of the newest drop")
    synth.add_argument("--history-days", type=int, default=120, help="backfill in the first drop")
    synth.set_defaults(handler=_cmd_synth)

    run = commands.add_parser("run", help="run the nightly job over every pending drop")
    run.add_argument(
        "--accept",
        action="append",
        metavar="FILE",
        help="apply a held file (landing-relative path), e.g. crm/2026-11-05/contacts.csv",
    )
    run.add_argument(
        "--full-rebuild",
        action="store_true",
        help="forget processed drops and rebuild everything from the landing folder",
    )
    run.set_defaults(handler=_cmd_run)

    evaluate = commands.add_parser("evaluate", help="score published tables against a truth folder")
    evaluate.add_argument("what", choices=["identity", "engagement", "send-time", "segments", "all"])
    evaluate.add_argument("--truth", required=True)
    evaluate.set_defaults(handler=_cmd_evaluate)

    accept = commands.add_parser("accept", help="accept a held snapshot or file for the next run")
    accept.add_argument("file", help="landing-relative path of the held file")
    accept.set_defaults(handler=_cmd_accept)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("DAGSTER_TELEMETRY_DISABLED", "1")
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("cdp: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for operators; details are in the Dagster run logs
        reason = mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        print(f"cdp {args.command}: failed: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
