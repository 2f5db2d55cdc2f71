import numpy as np
import pytest
import pandas as pd

from cdp_pipeline.ingest.state import Ledger, StateStore


def table(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": pd.Series([str(i) for i in range(n)], dtype="string"),
            "seen_at": pd.Series(pd.to_datetime(["2026-11-02 10:00"] * n, utc=True), dtype="datetime64[us, UTC]"),
            "opt_in": pd.Series([True, None][:n] + [False] * max(0, n - 2), dtype="boolean"),
            "count": pd.Series(range(n), dtype="Int64"),
        }
    )


def test_before_any_commit_there_is_no_table_and_an_empty_ledger(tmp_path):
    loaded, ledger = StateStore(tmp_path).load("crm_contacts")
    assert loaded is None and ledger.files == {}


def test_commit_then_load_round_trips_table_types_and_ledger(tmp_path):
    store = StateStore(tmp_path)
    ledger = Ledger({"crm/2026-11-02/contacts.csv": {"status": "held", "sha256": "ab"}})
    store.commit("crm_contacts", table(3), ledger)
    loaded, loaded_ledger = store.load("crm_contacts")
    pd.testing.assert_frame_equal(loaded, table(3))
    assert loaded_ledger.held() == ledger.files


def test_a_crash_before_the_pointer_swap_leaves_the_previous_state_in_force(tmp_path):
    store = StateStore(tmp_path)
    store.commit("crm_contacts", table(3), Ledger())
    # a crashed commit: a staged version written, the CURRENT pointer never swapped
    staged = tmp_path / "crm_contacts" / ".v000002.tmp"
    staged.mkdir()
    (staged / "table.parquet").write_bytes(b"half written")
    loaded, _ = store.load("crm_contacts")
    assert len(loaded) == 3
    store.commit("crm_contacts", table(4), Ledger())  # the next commit cleans it up
    assert len(store.load("crm_contacts")[0]) == 4 and not staged.exists()


def test_only_the_last_two_versions_are_kept(tmp_path):
    store = StateStore(tmp_path)
    for n in range(1, 5):
        store.commit("crm_contacts", table(n), Ledger())
    versions = sorted(p.name for p in (tmp_path / "crm_contacts").iterdir() if p.is_dir())
    assert versions == ["v000003", "v000004"]
    assert (tmp_path / "crm_contacts" / "CURRENT").read_text() == "v000004"


def test_a_reader_gets_the_columns_it_names_that_the_table_has_in_its_order(tmp_path):
    store = StateStore(tmp_path)
    store.commit("crm_contacts", table(3), Ledger())
    loaded, _ = store.load("crm_contacts", columns=["count", "not_delivered_yet", "record_id"])
    assert loaded.columns.tolist() == ["count", "record_id"]
    pd.testing.assert_frame_equal(loaded, table(3)[["count", "record_id"]])


def test_several_extracts_load_at_once_and_one_never_committed_is_none(tmp_path):
    store = StateStore(tmp_path)
    store.commit("crm_contacts", table(2), Ledger())
    tables = store.load_tables({"crm_contacts": ("record_id",), "store_orders": ("order_id",)})
    assert tables["crm_contacts"].columns.tolist() == ["record_id"] and tables["store_orders"] is None


def test_removing_rows_commits_the_rest_with_their_types_under_the_same_ledger(tmp_path, monkeypatch):
    store = StateStore(tmp_path)
    ledger = Ledger({"crm/2026-11-02/contacts.csv": {"status": "applied", "sha256": "ab"}})
    original = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", lambda self, path, **kw: original(self, path, row_group_size=2, **kw))
    store.commit("crm_contacts", table(5), ledger)  # three row groups, read and written one by one

    store.remove_rows("crm_contacts", np.array([False, True, False, True, True]))

    loaded, loaded_ledger = store.load("crm_contacts")
    pd.testing.assert_frame_equal(loaded, table(5).iloc[[0, 2]].reset_index(drop=True))
    assert loaded_ledger.files == ledger.files


def test_removing_rows_by_a_mask_of_another_table_fails_and_changes_nothing(tmp_path):
    store = StateStore(tmp_path)
    store.commit("crm_contacts", table(3), Ledger())
    with pytest.raises(RuntimeError, match="not the one this run read"):
        store.remove_rows("crm_contacts", np.zeros(4, dtype=bool))
    assert store.current_version("crm_contacts") == "v000001"
