"""Step outputs are stored where Dagster keeps them, whole or not at all."""

import pickle

import dagster as dg
import pandas as pd
import pytest

from cdp_pipeline.defs.step_outputs import StepOutputStorage


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
