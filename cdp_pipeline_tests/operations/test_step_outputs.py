"""Step outputs are stored where Dagster keeps them, whole or not at all; a large table (an
ingested extract, the attributed activity) is read with only the tables and columns an input names."""

import pickle
from dataclasses import dataclass
from typing import ClassVar

import dagster as dg
import pandas as pd
import pytest

from cdp_pipeline.defs.common import IngestedExtract
from cdp_pipeline.defs.step_outputs import (
    COLUMNS,
    FRAME_FOLDERS,
    FrameFolders,
    FrameFolderStorage,
    StepOutputStorage,
    read_columns,
    table_file,
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


@dg.asset(io_manager_key=FRAME_FOLDERS)
def contacts() -> IngestedExtract:
    return _ingested(CONTACTS)


@dg.asset(ins={"contacts": dg.AssetIn(metadata={COLUMNS: {"table": ["email", "not_there", "record_id"]}})})
def contact_emails(contacts: IngestedExtract) -> pd.DataFrame:
    return contacts.table


@dg.asset(ins={"contacts": dg.AssetIn(metadata={COLUMNS: {"table": []}})})
def rejects(contacts: IngestedExtract) -> tuple:
    return contacts.table.shape, contacts.quarantine, contacts.validation


@dg.asset
def whole_contacts(contacts: IngestedExtract) -> pd.DataFrame:
    return contacts.table


def _materialize_contacts(base_dir, *assets):
    resources = {"io_manager": StepOutputStorage(base_dir=str(base_dir)),
                 FRAME_FOLDERS: FrameFolderStorage(base_dir=str(base_dir))}
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

    @dg.asset(name="contacts", io_manager_key=FRAME_FOLDERS)
    def fewer_contacts() -> IngestedExtract:
        return _ingested(CONTACTS.iloc[1:])

    resources = {"io_manager": StepOutputStorage(base_dir=str(tmp_path)),
                 FRAME_FOLDERS: FrameFolderStorage(base_dir=str(tmp_path))}
    result = dg.materialize([fewer_contacts, whole_contacts], resources=resources)

    pd.testing.assert_frame_equal(result.output_for_node("whole_contacts"), CONTACTS.iloc[1:].reset_index(drop=True))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".partial", ".previous"))]


def test_a_write_cut_off_between_its_two_renames_leaves_the_previous_table_readable(tmp_path):
    assert _materialize_contacts(tmp_path).success
    (tmp_path / "contacts").rename(tmp_path / "contacts.previous")  # as if killed right after the first rename

    table = read_columns(table_file(tmp_path / "contacts.previous", "table"), None)
    loaded = FrameFolders(str(tmp_path)).load_input(
        dg.build_input_context(asset_key=dg.AssetKey("contacts"), definition_metadata={COLUMNS: {"table": ["email"]}}))

    pd.testing.assert_frame_equal(table, CONTACTS)
    pd.testing.assert_frame_equal(loaded.table, CONTACTS[["email"]])


@dataclass
class Activity:
    ARROW_TABLES: ClassVar[tuple[str, ...]] = ("events", "orders")

    as_of: str
    events: pd.DataFrame | None
    orders: pd.DataFrame | None


ORDERS = pd.DataFrame({"order_id": pd.Series(["o1", "o2"], dtype="string"), "total": [9.5, 20.0]})


@dg.asset(io_manager_key=FRAME_FOLDERS)
def activity() -> Activity:
    return Activity("2026-11-24", events=CONTACTS.set_index("record_id"), orders=ORDERS)


@dg.asset(ins={"activity": dg.AssetIn(metadata={COLUMNS: {"events": ["seen"]}})})
def event_dates(activity: Activity) -> Activity:
    return activity


def test_an_output_with_several_tables_is_read_with_only_the_tables_and_columns_an_input_names(tmp_path):
    resources = {"io_manager": StepOutputStorage(base_dir=str(tmp_path)),
                 FRAME_FOLDERS: FrameFolderStorage(base_dir=str(tmp_path))}
    result = dg.materialize([activity, event_dates], resources=resources)

    read = result.output_for_node("event_dates")
    assert read.as_of == "2026-11-24" and read.orders is None
    pd.testing.assert_frame_equal(read.events, CONTACTS[["seen"]])  # the index is not kept
    assert sorted(p.name for p in (tmp_path / "activity").iterdir()) == [
        "events.arrow", "orders.arrow", "other_fields.pickle"]
    whole = FrameFolders(str(tmp_path)).load_input(dg.build_input_context(asset_key=dg.AssetKey("activity")))
    pd.testing.assert_frame_equal(whole.orders, ORDERS)
