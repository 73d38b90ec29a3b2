"""The tidy results table: atomic Parquet writes and reading a results folder back.

One row per (seed, epoch, layer, estimator) with I(X;T), I(T;Y), H(T), the seed's train and test
loss and accuracy at that epoch, and the run's configuration columns. A write goes to a temporary
file beside the target and is renamed over it only when complete, so a run killed half-way leaves
either nothing or the previous complete file, never a broken one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from .columns import MEASUREMENTS, run_keys

RESULTS_FILE = "results.parquet"
_CONFIG_KEY = b"ibfast.configs"
__all__ = ["MEASUREMENTS", "RESULTS_FILE", "read_configs", "read_results", "replace_atomically", "run_keys",
           "saturation_warnings", "write_atomic", "write_text_atomic"]


def write_atomic(df: pd.DataFrame, path: str | Path, configs: list[dict[str, Any]] | None = None) -> Path:
    """Write ``df`` as Parquet at ``path`` atomically, with the run configurations as metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_CONFIG_KEY] = json.dumps(configs or [], default=str).encode()
    table = table.replace_schema_metadata(meta)
    return replace_atomically(target, lambda fh: pq.write_table(table, fh))


def replace_atomically(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """``write(fh)`` into a temporary file beside ``path``, flushed to disk, then renamed over it:
    a reader (or a restart after a kill at any moment) sees the old file or the new one, never half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file 0600 whatever the umask; a results file follows the umask like
        # any other file a user writes (collaborators on a shared folder must read it)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    """The process's umask, read without changing it where /proc allows (os.umask can only be
    read by setting it, which would race with other threads creating files)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> Path:
    """A text file written atomically (``replace_atomically``)."""
    return replace_atomically(path, lambda fh: fh.write(text.encode()))


def read_results(path: str | Path) -> pd.DataFrame:
    """The table from a results file, or from ``results.parquet`` in a results folder."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    if not p.is_file():
        raise FileNotFoundError(f"no results at {p}")
    return pd.read_parquet(p)


def read_configs(path: str | Path) -> list[dict[str, Any]]:
    """The run configurations stored with a results file."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    meta = pq.read_schema(p).metadata or {}
    return list(json.loads(meta.get(_CONFIG_KEY, b"[]")))


def __getattr__(name: str) -> Any:
    # ibfast.results.summary moved to ibfast.analysis (this I/O layer does no statistics); the old
    # name works for one release.
    if name == "summary":
        import warnings

        from .analysis.summary import summary

        warnings.warn("ibfast.results.summary moved to ibfast.analysis.summary", DeprecationWarning,
                      stacklevel=2)
        return summary
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def saturation_warnings(df: pd.DataFrame) -> list[str]:
    """One line per estimator and layer that is saturated (the ``saturated`` column: I(X;T) within
    0.05 bit of log2 N) in most recorded epochs of at least one run: which estimator, layer, the
    share of epochs of those runs, and what to try. A table without the column (a folder written
    before it existed) gives none. Rows of a run are those that share every run key and the seed."""
    if df.empty or "saturated" not in df.columns:
        return []
    sat = df["saturated"].astype("boolean").fillna(False).astype(bool)
    keys = [c for c in run_keys(df) if c != "n_samples"]
    share = sat.groupby([df[c] for c in [*keys, "seed"]], dropna=False, sort=False).mean()
    every = share.rename("share").reset_index()
    # the estimator's label: its name, with its parameters where the table has several variants
    with_params = "estimator_params" in every.columns
    n_params = df.groupby("estimator")["estimator_params"].nunique() if with_params else None
    label_cols = ["estimator", *(["estimator_params"] if with_params else []), "layer"]
    n_runs = every.groupby(label_cols, dropna=False).size()
    lines = []
    for key, g in every[every["share"] > 0.5].groupby(label_cols, dropna=False, sort=True):
        name = str(key[0])
        if n_params is not None and n_params.get(key[0], 1) > 1:
            name += f" {key[1]}"
        lines.append(
            f"warning: {name}, layer {key[-1]}: I(X;T) saturated (within 0.05 bit of log2 N) in "
            f"{g['share'].mean():.0%} of the recorded epochs of {len(g)} of {n_runs[key]} runs; it "
            f"cannot show compression there: try another noise level or bin scale, or reduce the layer"
        )
    return lines
