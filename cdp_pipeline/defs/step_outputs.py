"""Where assets hand their outputs to each other: Dagster's filesystem pickles, made faster and
atomic, and the large tables (the ingested extracts, the resolution, the attributed activity) in
Arrow files a downstream asset reads column by column.

Dagster's own filesystem IO manager pickles with protocol 4, which copies every Arrow string
buffer into a bytes object first. Protocol 5 writes the buffers as they are. Each output is
written to a side file (or folder) and renamed into place, so a run killed mid-write leaves the
previous output whole for a re-execution, never half of a new one. Paths stay Dagster's
(`<storage>/<asset key>`), which the raw-output scrubber (`retention.py`) relies on.

An ingested extract is the whole accumulated table (tens of millions of email and web events at
a million persons), and the attributed activity is those events again; most readers want a few
of their columns: identity resolution reads names, addresses and identifiers, the quarantine
report only the run's rejects, golden records a person and a time from each web event. Unpickling
all of it in every reader took 20 GiB at a million persons. So such an output (a dataclass that
names its ``ARROW_TABLES``) is stored as a folder, one Arrow IPC file per table, and an input
declares what it reads with ``AssetIn(metadata={"columns": {table: [column, ...]}})``: only those
tables and columns are loaded (a table not named is None; ``[]`` counts its rows only).
"""

import dataclasses
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


PICKLE_PROTOCOL = 5
FRAME_FOLDERS = "frame_folders"
"""The resource key of the IO manager of outputs with Arrow tables (see module docstring)."""
COLUMNS = "columns"
"""The input metadata key naming, per table of such an output, the columns an asset reads."""
ARROW_SUFFIX = ".arrow"
OTHER_FIELDS_FILE = "other_fields.pickle"


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


def table_file(folder: Path, table: str) -> Path:
    return folder / f"{table}{ARROW_SUFFIX}"


class FrameFolders(dg.UPathIOManager):
    """Dataclass outputs as ``<base_dir>/<asset key>/``: each of the class's ``ARROW_TABLES`` an
    Arrow file, its other fields (small) pickled beside them with the class."""

    def __init__(self, base_dir: str):
        super().__init__(base_path=UPath(base_dir))

    def dump_to_path(self, context: dg.OutputContext, obj, path) -> None:
        path = Path(path)
        staged = path.with_name(f"{path.name}.partial")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        tables = type(obj).ARROW_TABLES
        for name in tables:
            getattr(obj, name).reset_index(drop=True).to_feather(table_file(staged, name))
        others = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in tables}
        with (staged / OTHER_FIELDS_FILE).open("wb") as file:
            pickle.dump((type(obj), others), file, PICKLE_PROTOCOL)
        _replace_folder(staged, path)

    def load_from_path(self, context: dg.InputContext, path):
        folder = Path(path)
        aside = folder.with_name(f"{folder.name}.previous")
        if not folder.exists() and aside.exists():  # killed between the two renames
            folder = aside
        cls, others = pickle.loads((folder / OTHER_FIELDS_FILE).read_bytes())
        wanted = context.definition_metadata.get(COLUMNS)
        if wanted is None:
            wanted = dict.fromkeys(cls.ARROW_TABLES)  # every table, whole
        tables = {name: read_columns(table_file(folder, name), wanted[name]) if name in wanted else None
                  for name in cls.ARROW_TABLES}
        return cls(**others, **tables)


class FrameFolderStorage(dg.ConfigurableIOManagerFactory):
    """Outputs with Arrow tables under the Dagster instance's storage folder (or ``base_dir``)."""

    base_dir: str | None = Field(default=None, description="Folder; unset uses the instance's storage directory.")

    def create_io_manager(self, context: dg.InitResourceContext) -> FrameFolders:
        return FrameFolders(self.base_dir or context.instance.storage_directory())
