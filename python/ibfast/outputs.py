"""A results folder's derived files, written in one place.

Every command that leaves a results folder (``ibfast run``, ``ibfast sweep``, ``ibfast reproduce``,
``ibfast summary``, ``ibfast plot``) calls :func:`write_outputs`, so a folder has one layout
whoever wrote it:

    OUT/results.parquet     the tidy table (every finished run), with the configurations
    OUT/summary.csv         per configuration, estimator and layer: seed means (analysis.summary)
    OUT/compression.csv     per run (configuration x seed), estimator and layer (analysis.per_run)
    OUT/figures/            per estimator: infoplane_, information_vs_epoch_, compression_,
                            compression_vs_accuracy_<estimator>.png (and .svg)

Everything here is rebuilt from OUT/runs/ at any time; nothing in it is a source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .results import RESULTS_FILE, write_atomic

SUMMARY_FILE = "summary.csv"
COMPRESSION_FILE = "compression.csv"
FIGURES_DIR = "figures"
# The figures drawn per estimator: (key, file stem); the key is how the report finds them.
FIGURE_KINDS = (
    ("plane", "infoplane"),
    ("epochs", "information_vs_epoch"),
    ("compression", "compression"),
    ("accuracy", "compression_vs_accuracy"),
)


@dataclass
class FolderOutputs:
    """What :func:`write_outputs` wrote: the tables it derived and the figures by
    ``f"{kind}_{estimator}"`` (kinds: plane, epochs, compression, accuracy)."""

    out: Path
    table: pd.DataFrame
    summary: pd.DataFrame
    runs: pd.DataFrame
    figures: dict[str, list[Path]] = field(default_factory=dict)

    def files(self) -> list[Path]:
        """Every file written, tables first."""
        tables = [self.out / RESULTS_FILE, self.out / SUMMARY_FILE, self.out / COMPRESSION_FILE]
        return tables + [p for paths in self.figures.values() for p in paths]


def write_outputs(
    df: pd.DataFrame,
    out: str | Path,
    configs: Sequence[dict[str, Any]] = (),
    *,
    figures: bool = True,
    estimators: Sequence[str] | None = None,
) -> FolderOutputs:
    """Write results.parquet (with ``configs`` as metadata), summary.csv, compression.csv and,
    with ``figures``, the figures of every estimator (or of ``estimators``) into ``out``."""
    from .analysis import per_run, summary

    out = Path(out)
    write_atomic(df, out / RESULTS_FILE, list(configs))
    table = summary(df)
    table.to_csv(out / SUMMARY_FILE, index=False)
    runs = per_run(df)
    runs.to_csv(out / COMPRESSION_FILE, index=False)
    written = FolderOutputs(out, df, table, runs)
    if figures:
        written.figures = write_figures(df, runs, out / FIGURES_DIR, estimators)
    return written


def write_figures(
    df: pd.DataFrame, runs: pd.DataFrame, folder: str | Path, estimators: Sequence[str] | None = None
) -> dict[str, list[Path]]:
    """The four figures of each estimator (default: every estimator in ``df``) into ``folder``;
    ``runs`` is ``analysis.per_run(df)``. A ValueError names the estimator that is not in the table."""
    from . import plots

    draw = {
        "plane": lambda est, path: plots.information_plane(df, est, path),
        "epochs": lambda est, path: plots.information_vs_epoch(df, est, path),
        "compression": lambda est, path: plots.compression_by_activation(runs, est, path),
        "accuracy": lambda est, path: plots.compression_vs_accuracy(runs, est, path),
    }
    present = sorted(str(e) for e in df["estimator"].unique())
    chosen = list(estimators) if estimators else present
    unknown = [e for e in chosen if e not in present]
    if unknown:
        raise ValueError(f"no rows of estimator {', '.join(unknown)}; the table has {', '.join(present)}")
    folder = Path(folder)
    return {f"{kind}_{est}": draw[kind](est, folder / f"{stem}_{est}.png")
            for est in chosen for kind, stem in FIGURE_KINDS}
