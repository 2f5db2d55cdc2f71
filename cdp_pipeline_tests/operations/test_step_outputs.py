"""Step outputs are stored where Dagster keeps them, whole or not at all; an ingested table is
read with only the columns an input names."""

import pickle

import dagster as dg
import pandas as pd
import pytest

from cdp_pipeline.defs.common import IngestedExtract
from cdp_pipeline.defs.step_outputs import (
    COLUMNS,
    INGESTED_TABLES,
    TABLE_FILE,
    IngestedTables,
    IngestedTableStorage,
    StepOutputStorage,
    read_columns,
)


@dg.asset
def events() -> pd.DataFrame:
    return pd.DataFrame({"email": pd.Series(["a@example.com", None], dtype="string"), "n": [1, 2]})


@dg.asset
def event_count(events: pd.DataFrame) -> int:
    return len(events)


def test_outputs_round_trip_between_assets_under_the_instance_storage_folder(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.materialize([events, event_count], instance=instance,
                                resources={"io_manager": StepOutputStorage()})
        stored = pickle.loads((tmp_path / "storage" / "events").read_bytes())

    assert result.success and result.output_for_node("event_count") == 2
    pd.testing.assert_frame_equal(stored, events())
    assert not list((tmp_path / "storage").glob("*.partial"))


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("not today")


def test_a_failed_write_leaves_the_previous_output_whole(tmp_path):
    @dg.asset(name="events")
    def broken_events():
        return Unpicklable()

    resources = {"io_manager": StepOutputStorage(base_dir=str(tmp_path))}
    assert dg.materialize([events], resources=resources).success
    with pytest.raises(pickle.PicklingError):
        dg.materialize([broken_events], resources=resources)

    pd.testing.assert_frame_equal(pickle.loads((tmp_path / "events").read_bytes()), events())


def _ingested(table: pd.DataFrame) -> IngestedExtract:
    quarantine = pd.DataFrame({"source": ["crm"], "reason": ["bad date"]})
    return IngestedExtract(table, quarantine, validation={"files": 1})


CONTACTS = pd.DataFrame({
    "record_id": pd.Series(["1", "2", "3"], dtype="string"),
    "email": pd.Series(["a@example.com", None, "c@example.com"], dtype="string"),
    "seen": pd.to_datetime(["2026-01-01", None, "2026-01-03"], utc=True),
    "visits": pd.array([1, None, 3], dtype="Int64"),
})


@dg.asset(io_manager_key=INGESTED_TABLES)
def contacts() -> IngestedExtract:
    return _ingested(CONTACTS)


@dg.asset(ins={"contacts": dg.AssetIn(metadata={COLUMNS: ["email", "not_there", "record_id"]})})
def contact_emails(contacts: IngestedExtract) -> pd.DataFrame:
    return contacts.table


@dg.asset(ins={"contacts": dg.AssetIn(metadata={COLUMNS: []})})
def rejects(contacts: IngestedExtract) -> tuple:
    return contacts.table.shape, contacts.quarantine, contacts.validation


@dg.asset
def whole_contacts(contacts: IngestedExtract) -> pd.DataFrame:
    return contacts.table


def _materialize_contacts(base_dir, *assets):
    resources = {"io_manager": StepOutputStorage(base_dir=str(base_dir)),
                 INGESTED_TABLES: IngestedTableStorage(base_dir=str(base_dir))}
    return dg.materialize([contacts, *assets], resources=resources)


def test_an_ingested_table_is_read_with_only_the_columns_an_input_names(tmp_path):
    result = _materialize_contacts(tmp_path, contact_emails, rejects, whole_contacts)

    assert result.success
    pd.testing.assert_frame_equal(result.output_for_node("whole_contacts"), CONTACTS)  # types kept
    pd.testing.assert_frame_equal(result.output_for_node("contact_emails"), CONTACTS[["email", "record_id"]])
    shape, quarantine, validation = result.output_for_node("rejects")
    assert shape == (3, 0)  # no column read, the rows still counted
    pd.testing.assert_frame_equal(quarantine, _ingested(CONTACTS).quarantine)
    assert validation == {"files": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["contacts", "contact_emails", "rejects", "whole_contacts"])


def test_an_ingested_table_replaced_by_a_later_run_is_read_whole_and_new(tmp_path):
    assert _materialize_contacts(tmp_path).success

    @dg.asset(name="contacts", io_manager_key=INGESTED_TABLES)
    def fewer_contacts() -> IngestedExtract:
        return _ingested(CONTACTS.iloc[1:])

    resources = {"io_manager": StepOutputStorage(base_dir=str(tmp_path)),
                 INGESTED_TABLES: IngestedTableStorage(base_dir=str(tmp_path))}
    result = dg.materialize([fewer_contacts, whole_contacts], resources=resources)

    pd.testing.assert_frame_equal(result.output_for_node("whole_contacts"), CONTACTS.iloc[1:].reset_index(drop=True))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".partial", ".previous"))]


def test_a_write_cut_off_between_its_two_renames_leaves_the_previous_table_readable(tmp_path):
    assert _materialize_contacts(tmp_path).success
    (tmp_path / "contacts").rename(tmp_path / "contacts.previous")  # as if killed right after the first rename

    table = read_columns(tmp_path / "contacts.previous" / TABLE_FILE, None)
    loaded = IngestedTables(str(tmp_path)).load_input(
        dg.build_input_context(asset_key=dg.AssetKey("contacts"), definition_metadata={COLUMNS: ["email"]}))

    pd.testing.assert_frame_equal(table, CONTACTS)
    pd.testing.assert_frame_equal(loaded.table, CONTACTS[["email"]])
