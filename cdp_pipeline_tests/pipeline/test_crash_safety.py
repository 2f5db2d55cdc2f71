"""A `cdp run` killed with SIGKILL in the middle of a stage loses nothing and publishes nothing half.

Every scenario starts from the same published run (the first drops of a small generated
landing folder); the remaining drops then arrive and a second run is killed inside a stage.
After the kill the previously published tables are exactly as before, the state folder reads
back whole, and the next run publishes the same tables as a run that was never killed (the
clean reference, on the same backend, from the same first run). Publishing itself is covered
in `warehouse/test_publish_concurrency.py`.

Where the kill lands is not left to timing: the test reads the run's Dagster log lines as
the child process writes them (stderr is line-buffered), and sends SIGKILL as soon as the
step that marks the stage starts. Then it proves from the run's own event log in
DAGSTER_HOME where the process died: the marking step started and never finished, and no
step of a later stage started. A kill that landed elsewhere fails the test instead of
passing it by luck. No product code knows about this test.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from cdp_pipeline.extracts import ALL_EXTRACTS
from cdp_pipeline.ingest.state import StateStore
from cdp_pipeline.models.artifacts import ENGAGEMENT_ARTIFACTS, MANIFEST_FILE, load_model
from cdp_pipeline_tests.pgtools import postgres_unavailable_reason, postgres_url, temporary_database, unique_name
from cdp_pipeline_tests.pipeline.test_nightly_run import cdp, tables_of

LATE_DROPS = 2  # drops that arrive after the first published run
STEP_LINE = re.compile(r" - (?P<run>[0-9a-f-]{36}) - \d+ - (?P<step>\w+) - (?P<event>STEP_\w+) - ")
INGEST_STEPS = {e.name for e in ALL_EXTRACTS}
STAGES = {
    # stage: (the step whose start triggers the kill, steps that must not have started)
    "ingestion": ("crm_email_events", {"quarantine", "validation_report", "identity_resolution"}),
    "model_training": ("engagement_model", {"engagement_scores", "warehouse_publication"}),
}


def success_markers(landing: Path) -> list[Path]:
    """The `_SUCCESS` files of the newest complete drops (they make those drops readable)."""
    markers = sorted(landing.glob("*/*/_SUCCESS"), key=lambda p: p.parent.name)
    late_dates = sorted({p.parent.name for p in markers})[-LATE_DROPS:]
    return [p for p in markers if p.parent.name in late_dates]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """A landing folder whose late drops are hidden (no `_SUCCESS`) until `deliver_late_drops`."""
    from cdp_pipeline.synth import generate

    root = tmp_path_factory.mktemp("crash")
    generate(persons=300, days=6, seed=5, out=root / "landing", truth=root / "truth", history_days=60)
    hidden = root / "hidden"
    for marker in success_markers(root / "landing"):
        target = hidden / marker.relative_to(root / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(marker, target)
    return root / "landing"


def deliver_late_drops(landing: Path, workdir: Path) -> Path:
    """A private copy of the landing folder with every drop complete."""
    full = workdir / "landing"
    shutil.copytree(landing, full)
    for marker in (landing.parent / "hidden").rglob("_SUCCESS"):
        shutil.copy(marker, full / marker.relative_to(landing.parent / "hidden"))
    return full


class SqliteBackend:
    name = "sqlite"

    def __init__(self, root: Path):
        self.root = root

    def url(self, workdir: Path) -> str:
        return f"sqlite:///{workdir / 'warehouse.db'}"

    def clone(self, source: Path, target: Path) -> str:
        shutil.copytree(source, target)
        return self.url(target)


class PostgresBackend:
    """One database per workdir; a clone is `CREATE DATABASE ... TEMPLATE` of the first run's."""

    name = "postgres"

    def __init__(self, root: Path):
        self.root, self.databases = root, {}

    def url(self, workdir: Path) -> str:
        if workdir not in self.databases:
            self.databases[workdir] = self._create(template=None)
        return self.databases[workdir]

    def clone(self, source: Path, target: Path) -> str:
        shutil.copytree(source, target)
        template = self.databases[source].rsplit("/", 1)[1]
        self.databases[target] = self._create(template=template)
        return self.databases[target]

    def _create(self, template: str | None) -> str:
        name = unique_name("cdp_crash")
        admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        admin.dispose()
        return postgres_url().set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in self.databases.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def backend_for(name: str, root: Path):
    if name == "sqlite":
        yield SqliteBackend(root)
        return
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    backend = PostgresBackend(root)
    try:
        yield backend
    finally:
        backend.drop_all()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def baseline(request, landing, tmp_path_factory):
    """(backend, workdir of the first published run, tables a never-killed second run publishes)."""
    root = tmp_path_factory.mktemp(f"baseline_{request.param}")
    with backend_for(request.param, root) as backend:
        first = root / "first"
        first.mkdir()
        shutil.copytree(landing, first / "landing")
        published = cdp(first, first / "landing", "run", warehouse_url=backend.url(first))
        assert published.returncode == 0, published.stderr[-3000:]
        shutil.rmtree(first / "landing")

        clean = root / "clean"
        url = backend.clone(first, clean)
        again = cdp(clean, deliver_late_drops(landing, clean), "run", warehouse_url=url)
        assert again.returncode == 0, again.stderr[-3000:]
        yield backend, first, comparable(tables_of(url))


def comparable(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Tables without what differs between any two runs (their run ids), rows in a fixed order."""
    out = {}
    for name, table in tables.items():
        table = table.drop(columns=[c for c in table.columns if c == "run_id"])
        table = table.astype("string")
        out[name] = table.sort_values(list(table.columns)).reset_index(drop=True)
    return out


def run_and_kill_at_step_start(workdir: Path, landing: Path, url: str, step: str) -> str:
    """Starts `cdp run`, SIGKILLs it as soon as ``step`` starts; returns the run id."""
    env = {
        **os.environ,
        "CDP_LANDING_DIR": str(landing),
        "CDP_STATE_DIR": str(workdir / "state"),
        "CDP_WAREHOUSE_URL": url,
        "DAGSTER_HOME": str(workdir / "dagster_home"),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "cdp_pipeline.cli", "run"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    run_id = None
    try:
        for line in child.stderr:
            match = STEP_LINE.search(line)
            if match and match["step"] == step and match["event"] == "STEP_START":
                child.send_signal(signal.SIGKILL)
                run_id = match["run"]
                break
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stderr.close()
    assert run_id, f"the run ended without starting {step}"
    assert child.returncode == -signal.SIGKILL
    return run_id


def step_events(workdir: Path, run_id: str) -> dict[str, set[str]]:
    """Per step the STEP_* events the killed run recorded in its event log."""
    with sqlite3.connect(workdir / "dagster_home" / "history" / "runs" / f"{run_id}.db") as conn:
        rows = conn.execute(
            "select step_key, dagster_event_type from event_logs where dagster_event_type like 'STEP_%'"
        ).fetchall()
    events: dict[str, set[str]] = {}
    for step, event in rows:
        events.setdefault(step, set()).add(event)
    return events


def assert_state_reads_back_whole(state: Path) -> None:
    """Every extract's current version loads; top-level tables load; models load or are absent."""
    store = StateStore(state)
    for extract in ALL_EXTRACTS:
        table, ledger = store.load(extract.name)
        if table is not None:
            assert ledger.files, extract.name  # a table is only ever committed with its files
    for path in state.glob("*.parquet"):
        pd.read_parquet(path)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_run_killed_during_a_stage_leaves_the_last_publication_and_the_next_run_recovers(baseline, landing, stage, tmp_path):
    backend, first, clean_tables = baseline
    step, later_steps = STAGES[stage]
    url = backend.clone(first, tmp_path / "killed")
    workdir = tmp_path / "killed"
    full = deliver_late_drops(landing, workdir)
    published_before = tables_of(url)

    run_id = run_and_kill_at_step_start(workdir, full, url, step)

    events = step_events(workdir, run_id)
    assert "STEP_START" in events.get(step, set()) and "STEP_SUCCESS" not in events[step], events.get(step)
    assert not later_steps & set(events), f"the kill landed after {stage}: {sorted(set(events))}"
    if stage == "ingestion":
        finished = {s for s, e in events.items() if "STEP_SUCCESS" in e}
        assert finished & INGEST_STEPS and INGEST_STEPS - finished  # part of the extracts committed
    after_kill = tables_of(url)
    assert after_kill.keys() == published_before.keys()
    for name, table in published_before.items():
        pd.testing.assert_frame_equal(after_kill[name], table, obj=name)
    assert_state_reads_back_whole(workdir / "state")

    recovered = cdp(workdir, full, "run", warehouse_url=url)
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert_state_reads_back_whole(workdir / "state")
    for folder in (workdir / "state" / ENGAGEMENT_ARTIFACTS).iterdir():
        if (folder / MANIFEST_FILE).exists():
            load_model(folder)
    recovered_tables = comparable(tables_of(url))
    assert recovered_tables.keys() == clean_tables.keys()
    for name, table in clean_tables.items():
        pd.testing.assert_frame_equal(recovered_tables[name], table, obj=name)
