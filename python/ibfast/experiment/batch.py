"""Several configurations (e.g. activations, L2 on and off) run one after another into one
results folder: the table (written atomically), a summary, and information-plane figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..results import RESULTS_FILE, summary, write_atomic
from .config import ExperimentConfig
from .run import Experiment

ProgressFactory = Callable[[ExperimentConfig], Callable[[int, int], None] | None]


def run_all(
    configs: Sequence[ExperimentConfig],
    out_dir: str | Path | None = None,
    progress: ProgressFactory | None = None,
    plots: bool = True,
) -> pd.DataFrame:
    """Run every configuration; with ``out_dir``, write results.parquet, summary.csv and one
    information-plane PNG per estimator there. Returns the combined table."""
    frames: list[pd.DataFrame] = []
    for config in configs:
        experiment = Experiment(config)
        frames.append(experiment.run(progress(config) if progress else None))
    df = pd.concat(frames, ignore_index=True)
    if out_dir is not None:
        write_outputs(df, [c.to_dict() for c in configs], Path(out_dir), plots)
    return df


def write_outputs(df: pd.DataFrame, configs: list[dict[str, Any]], out: Path, plots: bool) -> None:
    write_atomic(df, out / RESULTS_FILE, configs)
    summary(df).to_csv(out / "summary.csv", index=False)
    if plots:
        from ..plots import information_plane

        for estimator in df["estimator"].unique():
            information_plane(df, str(estimator), out / f"infoplane_{estimator}.png")
