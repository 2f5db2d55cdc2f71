"""Small vectorised helpers where pandas' own path is slow for the sizes the pipeline meets."""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(values: pd.Series, candidates) -> np.ndarray:
    """``values.isin(candidates)`` as a bool array (NA is never in), through Arrow's hash set.

    pandas' ``isin`` on Arrow strings first turns every candidate into a Python object, one at
    a time: about two seconds for the 300,000 record keys of a 100k-person run.
    """
    texts = pa.array(pd.Series(values, dtype="string"), type=pa.large_string())
    if isinstance(candidates, (set, frozenset)):
        candidates = list(candidates)
    value_set = pa.array(pd.Series(candidates, dtype="string").dropna().unique(), type=pa.large_string())
    return pc.is_in(texts, value_set=value_set, skip_nulls=True).fill_null(False).to_numpy(zero_copy_only=False)


def lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """``keys.map(mapping)`` for text keys (``mapping``'s index holds unique texts), through
    Arrow's hash lookup: pandas hashes every key as a Python object (seconds per million)."""
    if mapping.empty:
        return pd.Series(pd.NA, index=keys.index, dtype=mapping.dtype)
    value_set = pa.array(pd.Series(mapping.index, dtype="string"), type=pa.large_string())
    found = pc.index_in(pa.array(pd.Series(keys, dtype="string"), type=pa.large_string()), value_set=value_set)
    positions = found.fill_null(-1).to_numpy(zero_copy_only=False)
    values = mapping.iloc[np.maximum(positions, 0)].where(positions >= 0)
    return values.set_axis(keys.index)


def extract(values: pd.Series, pattern: str) -> pd.Series:
    """The one named group of ``pattern`` (RE2 syntax) in each value, missing where it does not
    match: ``str.extract`` through Arrow's regex kernel, where pandas runs Python per row."""
    found = pc.extract_regex(pa.array(pd.Series(values, dtype="string"), type=pa.large_string()), pattern)
    group = pc.struct_field(found, [0]).to_pandas(types_mapper=lambda _: pd.StringDtype())
    return pd.Series(group.array, index=values.index)


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` (sorted distinct values) by sorting. Asked for the values alone,
    numpy 2's ``np.unique`` hashes them: 9 s for 7 million distinct integers, against 0.12 s
    sorted (a million persons' identifiers)."""
    return distinct_in_place(np.array(values).ravel())


PARALLEL_SORT_VALUES = 1_000_000  # below this, a second thread costs more than it saves
SORT_THREADS = 2


def distinct_in_place(values: np.ndarray) -> np.ndarray:
    """``distinct`` of a flat array it may reorder: a large one is sorted half per thread
    (numpy releases the GIL), then the two sorted runs are merged (numpy's stable sort finds
    them), about half the time of one sort for the 60 million blocked pairs of 1M persons."""
    if len(values) >= PARALLEL_SORT_VALUES:
        with ThreadPoolExecutor(SORT_THREADS) as pool:
            list(pool.map(np.ndarray.sort, np.array_split(values, SORT_THREADS)))
        values.sort(kind="stable")
    else:
        values.sort()
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def distinct_per_key(keys: np.ndarray, items: np.ndarray, n_keys: int) -> np.ndarray:
    """Per key (0 .. ``n_keys`` - 1), how many distinct items it holds; a negative item is
    missing and not counted. Each (key, item) pair as one number, made distinct by sorting."""
    known = items >= 0
    width = np.int64(items.max(initial=0)) + 1
    held = distinct(keys[known].astype(np.int64) * width + items[known])
    return np.bincount(held // width, minlength=n_keys)


def factorized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, each value's position among them), by hashing: for work done once per
    distinct value and gathered back, where their order does not matter. ``np.unique`` with
    ``return_inverse`` sorts: 0.5 s against 0.03 s for 3.5 million pairs of names of a few
    thousand distinct pairs."""
    inverse, uniques = pd.factorize(np.asarray(values))
    return uniques, inverse


def release_unused_memory() -> None:
    """Hands memory that dropped frames freed back to the system.

    Arrow's allocator (mimalloc) and glibc's keep freed memory for reuse, and a process that
    runs every step of the night counts it in its peak: at a million persons, 2.2 GiB stayed
    after identity resolution let its source frames go. ``malloc_trim`` is glibc's (as Dask
    calls it); elsewhere only Arrow's pool is released. No ``gc.collect()`` here: a full
    collection costs a quarter of a second in a run's process; the nightly job's executor
    collects only the young generations between steps (``defs/execution.py``).
    """
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_jemalloc_pool() -> str:
    """Arrow's jemalloc pool for the process, unless ``ARROW_DEFAULT_MEMORY_POOL`` names one.

    The default, mimalloc, keeps freed pages long enough that the same identity resolution at a
    million persons peaked anywhere between 6.2 and 6.9 GiB from one run to the next; with
    jemalloc four runs peaked between 5.8 and 6.0 GiB, for a few per cent more time on the
    Arrow-heavy steps, and with the system allocator one at 7.1 (``docs/profiling.md``). A
    pyarrow built without jemalloc keeps its default. Returns the pool in use.
    """
    if os.environ.get(ARROW_POOL_VARIABLE) is None:
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:
            pass
    return pa.default_memory_pool().backend_name
