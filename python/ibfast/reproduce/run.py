"""Run the grid (in-process, one configuration after another, all seeds of one batched) and write
the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiment import Experiment
from .grid import GridSpec, project
from .report import write_report


def reproduce(spec: GridSpec, out: str | Path, progress: bool = True,
              say: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict[str, Any]:
    """Train and estimate every configuration of ``spec``, then write the report folder ``out``.
    Returns the contents of claims.json."""
    out = Path(out)
    configs = spec.configs()
    data = (f"12-bit task from {spec.data_path} (var_u.mat)" if spec.data_path else
            "12-bit task from ibfast's built-in generator (all 4096 patterns, a spherically symmetric "
            "rule; not the original var_u.mat: pass --data-path for that)")
    projection = project(configs)
    say(f"ibfast reproduce: {projection.describe()}; on a GPU: not yet measured (the CUDA path has not "
        "run on a GPU yet)")
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(configs) * spec.epochs, unit="ep", desc="grid", file=sys.stderr)
    frames = []
    t0 = time.perf_counter()
    for config in configs:
        base = bar.n if bar is not None else 0

        def update(done: int, total: int, base: int = base) -> None:
            if bar is not None:
                bar.update(base + done - bar.n)

        bar is not None and bar.set_postfix_str(f"{config.activation} L2={config.l2:g}")
        frames.append(Experiment(config).run(update))
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t0
    df = pd.concat(frames, ignore_index=True)
    about = [
        f"Data: {data}. Network 12-10-7-5-4-3-2, Adam lr 4e-4, batch 256, the authors' protocol (the "
        "first 80% of the samples train, the same contiguous batches every epoch, activity recorded "
        "before each recorded epoch's updates, output layer initialised with the hidden layers' gain).",
        f"Grid: activations {', '.join(spec.activations)}; L2 {', '.join(f'{p:g}' for p in spec.l2)}; "
        f"{spec.seeds} seeds each; {spec.epochs} epochs; estimators {', '.join(spec.estimators)}.",
        f"Wall time {wall / 60:.1f} min for training and estimation ({projection.describe()}).",
    ]
    return write_report(df, out, about, [c.to_dict() for c in configs])
