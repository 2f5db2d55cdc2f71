"""Erasure reaches every place the pipeline writes, not only the published tables.

A real `cdp run` first publishes persons who have not yet asked to be erased; their requests
then arrive in the next drop and a second run applies them. Everything the first run knew
about those persons (every address, raw and normalised, and their phone numbers) must then be
gone from every file the pipeline owns: the warehouse database file, the state folder (stored
extract tables of every version, quarantine, erasure ledger, model artefacts and validation
labels) and the Dagster instance (event log, metadata, compute logs, stored step outputs).
Files are scanned byte-wise, and parquet and SQLite files also decoded, since compression or
page layout could hide a value from a byte scan.

Two places still hold erased persons and are pinned as strict expected failures until fixed:
the `segment_changes` history (person ids) and Dagster's default IO manager storage (every
step output pickled under DAGSTER_HOME/storage, raw extracts included).
"""

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from cdp_pipeline.ingest.state import StateStore
from cdp_pipeline_tests.pipeline.test_nightly_run import cdp, tables_of

REQUESTS_FILE = "erasure_requests.csv"


@pytest.fixture(scope="module")
def erasure_scenario(tmp_path_factory):
    """(workdir, what the first run published about the persons erased by the second)."""
    from cdp_pipeline.synth import generate

    root = tmp_path_factory.mktemp("erasure")
    landing = root / "landing"
    generate(persons=300, days=6, seed=3, out=landing, truth=root / "truth", history_days=60)
    held_back = root / "requests"
    for path in landing.glob(f"privacy/*/{REQUESTS_FILE}"):
        target = held_back / path.relative_to(landing)
        target.parent.mkdir(parents=True)
        shutil.move(path, target)
    workdir = root / "run"
    first = cdp(workdir, landing, "run")
    assert first.returncode == 0, first.stderr[-3000:]
    before = tables_of(f"sqlite:///{workdir / 'warehouse.db'}")

    written = pd.concat(  # headers vary in case and order from drop to drop
        [pd.read_csv(p, sep=None, engine="python", dtype=str).rename(columns=str.lower)["email"]
         for p in held_back.rglob(REQUESTS_FILE)]
    ).dropna()
    for path in held_back.rglob(REQUESTS_FILE):
        shutil.copy(path, landing / path.relative_to(held_back))
    second = cdp(workdir, landing, "run")
    assert second.returncode == 0, second.stderr[-3000:]
    return workdir, known_traces(before, written)


def known_traces(before: dict[str, pd.DataFrame], written: pd.Series) -> dict:
    """The first run's persons holding a requested address, and every address and phone of theirs,
    with the addresses as the requests wrote them."""
    requested = set(written.str.strip().str.lower())
    emails = before["profile_emails"]
    persons = set(emails.loc[emails["email"].isin(requested), "person_id"])
    profiles = before["profiles"][before["profiles"]["person_id"].isin(persons)]
    addresses = set(emails.loc[emails["person_id"].isin(persons), "email"]) | set(profiles["primary_email"].dropna())
    phones = {p for p in profiles["phone"].dropna() if len(p) >= 8}
    return {
        "persons": persons,
        "needles": sorted(addresses | requested | set(written) | phones | {p.lstrip("+") for p in phones}),
    }


def readable_texts(path: Path) -> list[str]:
    """The file's bytes as text, plus its decoded content for formats that may compress it."""
    texts = [path.read_bytes().decode("utf-8", errors="replace")]
    if path.suffix in (".parquet", ".arrow"):
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_feather(path)
        texts.append(frame.astype("string").to_csv(index=False))
    elif path.read_bytes()[:16] == b"SQLite format 3\x00":
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            for (table,) in conn.execute("select name from sqlite_master where type='table'"):
                texts += [" ".join(map(str, row)) for row in conn.execute(f'select * from "{table}"')]
    return texts


def traces_in(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = "\n".join(readable_texts(path)).lower()
        hits = [n for n in needles if n.lower() in text]
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


def test_the_first_run_knew_the_persons_so_the_scan_has_something_to_find(erasure_scenario):
    _, known = erasure_scenario
    assert len(known["persons"]) >= 2
    assert len(known["needles"]) >= 4


def test_no_published_table_holds_an_erased_person(erasure_scenario):
    workdir, known = erasure_scenario
    tables = tables_of(f"sqlite:///{workdir / 'warehouse.db'}")
    for name, table in tables.items():
        if "person_id" in table and name != "segment_changes":
            assert not set(table["person_id"]) & known["persons"], name


def test_the_segment_change_history_forgets_erased_persons(erasure_scenario):
    workdir, known = erasure_scenario
    changes = tables_of(f"sqlite:///{workdir / 'warehouse.db'}")["segment_changes"]
    assert not set(changes["person_id"]) & known["persons"]


def test_the_warehouse_file_holds_no_address_or_phone_of_the_erased(erasure_scenario):
    workdir, known = erasure_scenario
    assert traces_in(workdir, known["needles"]).get("warehouse.db") is None


def test_the_state_folder_keeps_only_hashes_of_the_erased(erasure_scenario):
    workdir, known = erasure_scenario
    assert traces_in(workdir / "state", known["needles"]) == {}
    requests, _ = StateStore(workdir / "state").load("erasure_requests")
    assert requests.empty  # applied requests live on as ledger hashes only
    ledger = pd.read_parquet(workdir / "state" / "erasure_ledger.parquet")
    assert ledger["email_hash"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_model_validation_labels_of_every_version_forget_the_erased(erasure_scenario):
    workdir, known = erasure_scenario
    labels = list((workdir / "state" / "models").rglob("validation_labels.parquet"))
    assert labels
    for path in labels:
        assert not set(pd.read_parquet(path)["person_id"]) & known["persons"], path


IO_MANAGER_STORAGE = "storage"  # the step-output IO managers: every step output


def test_the_dagster_event_log_metadata_and_compute_logs_hold_no_trace_of_the_erased(erasure_scenario):
    workdir, known = erasure_scenario
    found = traces_in(workdir / "dagster_home", known["needles"])
    assert {path: hits for path, hits in found.items() if not is_pickled_step_output(path)} == {}


def test_stored_step_outputs_hold_no_trace_of_the_erased(erasure_scenario):
    """The ingest assets' stored tables hold rows as delivered; a successful run deletes them."""
    workdir, known = erasure_scenario
    found = traces_in(workdir / "dagster_home", known["needles"])
    assert [path for path in found if is_pickled_step_output(path)] == []


def is_pickled_step_output(relative_path: str) -> bool:
    parts = Path(relative_path).parts
    return parts[0] == IO_MANAGER_STORAGE and "compute_logs" not in parts
