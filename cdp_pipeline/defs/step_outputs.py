"""Where assets hand their outputs to each other: Dagster's filesystem pickles, made faster and
atomic, and the ingest assets' tables in Arrow files a downstream asset reads column by column.

Dagster's own filesystem IO manager pickles with protocol 4, which copies every Arrow string
buffer into a bytes object first: `person_activity` (about 900 MB at 100k persons) took 6-7 s
to write. Protocol 5 writes the buffers as they are (about 1 s). Each output is written to a
side file (or folder) and renamed into place, so a run killed mid-write leaves the previous
output whole for a re-execution, never half of a new one. Paths stay Dagster's
(`<storage>/<asset key>`), which the raw-output scrubber (`retention.py`) relies on.

An ingest asset's table is the whole accumulated extract (tens of millions of email and web
events at a million persons), and most readers want a few of its columns or none: identity
resolution reads names, addresses and identifiers, the quarantine report only the run's rejects.
So it is stored as an Arrow IPC file, and an input declares what it reads with
``AssetIn(metadata={"columns": [...]})``; only those columns are loaded (none for ``[]``).
"""

import os
import pickle
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager
from pydantic import Field
from upath import UPath

from cdp_pipeline.defs.common import IngestedExtract

PICKLE_PROTOCOL = 5
INGESTED_TABLES = "ingested_tables"
"""The resource key of the ingest assets' IO manager."""
COLUMNS = "columns"
"""The input metadata key naming the columns of an ingested table an asset reads."""
TABLE_FILE = "table.arrow"
REPORT_FILE = "quarantine_and_validation.pickle"


class AtomicPickles(PickledObjectFilesystemIOManager):
    def dump_to_path(self, context: dg.OutputContext, obj, path) -> None:
        staged = path.with_name(f"{path.name}.partial")
        with staged.open("wb") as file:
            pickle.dump(obj, file, PICKLE_PROTOCOL)
        staged.replace(path)


class StepOutputStorage(dg.ConfigurableIOManagerFactory):
    """Step outputs as pickles under the Dagster instance's storage folder (or ``base_dir``)."""

    base_dir: str | None = Field(default=None, description="Folder; unset uses the instance's storage directory.")

    def create_io_manager(self, context: dg.InitResourceContext) -> AtomicPickles:
        return AtomicPickles(base_dir=self.base_dir or context.instance.storage_directory())


def read_columns(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """The table of an Arrow IPC file; unless None, only ``columns``, those it has, in that order."""
    if columns is None:
        return pd.read_feather(path)
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        wanted = [column for column in columns if column in reader.schema.names]
        if not wanted:  # pandas would rebuild every column from the file's metadata
            return pd.DataFrame(index=pd.RangeIndex(reader.count_rows()))
    return pd.read_feather(path, columns=wanted)[wanted]  # in the order asked, as a SELECT would


def _replace_folder(staged: Path, path: Path) -> None:
    """``staged`` becomes ``path``; until the second rename, the previous output waits aside."""
    aside = path.with_name(f"{path.name}.previous")
    shutil.rmtree(aside, ignore_errors=True)
    if path.exists():
        os.replace(path, aside)
    os.replace(staged, path)
    shutil.rmtree(aside, ignore_errors=True)


class IngestedTables(dg.UPathIOManager):
    """``IngestedExtract`` outputs as ``<base_dir>/<asset key>/``: the table, then the run's
    quarantine and validation (small) pickled beside it."""

    def __init__(self, base_dir: str):
        super().__init__(base_path=UPath(base_dir))

    def dump_to_path(self, context: dg.OutputContext, obj: IngestedExtract, path) -> None:
        path = Path(path)
        staged = path.with_name(f"{path.name}.partial")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        obj.table.reset_index(drop=True).to_feather(staged / TABLE_FILE)
        with (staged / REPORT_FILE).open("wb") as file:
            pickle.dump((obj.quarantine, obj.validation), file, PICKLE_PROTOCOL)
        _replace_folder(staged, path)

    def load_from_path(self, context: dg.InputContext, path) -> IngestedExtract:
        folder = Path(path)
        aside = folder.with_name(f"{folder.name}.previous")
        if not folder.exists() and aside.exists():  # killed between the two renames
            folder = aside
        table = read_columns(folder / TABLE_FILE, context.definition_metadata.get(COLUMNS))
        quarantine, validation = pickle.loads((folder / REPORT_FILE).read_bytes())
        return IngestedExtract(table, quarantine, validation)


class IngestedTableStorage(dg.ConfigurableIOManagerFactory):
    """Ingest assets' outputs under the Dagster instance's storage folder (or ``base_dir``)."""

    base_dir: str | None = Field(default=None, description="Folder; unset uses the instance's storage directory.")

    def create_io_manager(self, context: dg.InitResourceContext) -> IngestedTables:
        return IngestedTables(self.base_dir or context.instance.storage_directory())
