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
    configs: Sequence[ExperimentConfig | Experiment],
    out_dir: str | Path | None = None,
    progress: ProgressFactory | None = None,
    plots: bool = True,
) -> pd.DataFrame:
    """Run every configuration (or prepared Experiment); with ``out_dir``, write each
    configuration's rows to ``runs/<task id>.parquet`` as soon as it finishes (named as a sweep
    names its tasks), then results.parquet, summary.csv and one information-plane figure (PNG and
    SVG) per estimator. Returns the combined table. Every Experiment is set up (data loaded,
    settings checked) before any trains, so a bad configuration fails at once, not after hours of
    the others."""
    experiments = [c if isinstance(c, Experiment) else Experiment(c) for c in configs]
    folder = None
    if out_dir is not None:
        from ..sweep import SweepFolder, Task  # the sweep package builds on this module

        folder = SweepFolder(out_dir)
    frames: list[pd.DataFrame] = []
    for experiment in experiments:
        frames.append(experiment.run(progress(experiment.config) if progress else None))
        if folder is not None:
            folder.save(Task.of(experiment.config), frames[-1])
    df = pd.concat(frames, ignore_index=True)
    if out_dir is not None:
        write_outputs(df, [e.config.to_dict() for e in experiments], Path(out_dir), plots)
    return df


def write_outputs(df: pd.DataFrame, configs: list[dict[str, Any]], out: Path, plots: bool) -> None:
    write_atomic(df, out / RESULTS_FILE, configs)
    summary(df).to_csv(out / "summary.csv", index=False)
    if plots:
        from ..plots import information_plane

        for estimator in df["estimator"].unique():
            information_plane(df, str(estimator), out / f"infoplane_{estimator}.png")
