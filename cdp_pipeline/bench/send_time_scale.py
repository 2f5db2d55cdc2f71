"""How the send-time model's cost grows: the inputs of a benchmark run, its persons copied N times.

    python -m cdp_pipeline.bench.send_time_scale bench_out/work_100000 --copies 10

Reads the stored inputs of ``send_time_recommendations`` (person activity, profiles, engagement
scores) from the run's ``DAGSTER_HOME``, copies every person ``--copies`` times under new ids
(their events with them) and times what the asset does: fit, held-out evaluation and the
coming week's recommendations. Generating and ingesting a real 1M-person run costs far more
than the model itself; copies keep the model's work per person realistic.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import time
from pathlib import Path

from cdp_pipeline.bench.scale import copies_of_persons


def _stored_activity(storage: Path):
    """The run's ``person_activity`` as the asset reads it (its frames and columns only)."""
    import dagster as dg

    from cdp_pipeline.defs.activity import activity_input
    from cdp_pipeline.defs.step_outputs import FrameFolders

    metadata = activity_input("send_time_recommendations").metadata
    context = dg.build_input_context(asset_key=dg.AssetKey("person_activity"), definition_metadata=metadata)
    return FrameFolders(str(storage)).load_input(context)


def measure(work_dir: Path, copies: int) -> dict:
    from cdp_pipeline.models.send_time import fit_and_evaluate_send_times, recommend_send_times

    storage = work_dir / "dagster_home" / "storage"
    activity = _stored_activity(storage)
    profiles = copies_of_persons(pickle.loads((storage / "profiles").read_bytes()), copies)
    scores = copies_of_persons(pickle.loads((storage / "engagement_scores").read_bytes()), copies)
    events = copies_of_persons(activity.email_events[activity.email_events["person_id"].notna()], copies)
    tiers = scores.set_index("person_id")["tier"]

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    model, metrics = fit_and_evaluate_send_times(events, profiles, activity.reference_date, tiers=tiers)
    fitted = time.perf_counter()
    send_times = recommend_send_times(model, profiles, activity.reference_date, tiers=tiers)
    return {
        "persons": int(len(profiles)),
        "email_events": int(len(events)),
        "fit_and_evaluate_s": round(fitted - started_wall, 1),
        "recommend_s": round(time.perf_counter() - fitted, 1),
        "wall_s": round(time.perf_counter() - started_wall, 1),
        "cpu_s": round(time.process_time() - started_cpu, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "recommendations": int(len(send_times)),
        "hit_rate_lift_vs_global_best_hour": metrics["hit_rate_lift_vs_global_best_hour"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path, help="a benchmark work folder (bench_out/work_<n>)")
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(measure(args.work_dir, args.copies)))


if __name__ == "__main__":
    main()
