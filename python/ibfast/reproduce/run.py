"""Run the grid as a sweep (tasks of seed blocks; in-process, on local workers or on Dask;
resumable) and write the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..sweep import run_sweep
from .grid import GridSpec, project
from .report import write_report


def reproduce(
    spec: GridSpec,
    out: str | Path,
    progress: bool = True,
    workers: int = 0,
    scheduler: str | None = None,
    say: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> dict[str, Any]:
    """Train and estimate every task of ``spec`` (a sweep in ``out``: a killed run resumes where it
    stopped), then write the report folder ``out``. Returns the contents of claims.json."""
    out = Path(out)
    configs = spec.configs()
    data = (
        f"12-bit task from {spec.data_path} (var_u.mat)"
        if spec.data_path
        else "12-bit task from ibfast's built-in generator (all 4096 patterns, a spherically symmetric "
        "rule; not the original var_u.mat: pass --data-path for that)"
    )
    projection = project(configs)
    say(
        f"ibfast reproduce: {projection.describe()}; on a GPU: not yet measured (the CUDA path has not "
        "run on a GPU yet)"
    )
    t0 = time.perf_counter()
    result = run_sweep(spec.grid(), out, workers=workers, scheduler=scheduler, progress=progress, plots=False)
    wall = time.perf_counter() - t0
    if result.failed or result.table is None:
        raise RuntimeError(
            f"{len(result.failed)} of {result.n_tasks} tasks failed (see {out / 'failed'}/); "
            "run the same command again to retry them"
        )
    where = (
        f"Dask at {scheduler}" if scheduler else (f"{workers} local workers" if workers else "one process")
    )
    about = [
        f"Data: {data}. Network 12-10-7-5-4-3-2, Adam lr 4e-4, batch 256, the authors' protocol (the "
        "first 80% of the samples train, the same contiguous batches every epoch, activity recorded "
        "before each recorded epoch's updates, output layer initialised with the hidden layers' gain).",
        f"Grid: activations {', '.join(spec.activations)}; L2 {', '.join(f'{p:g}' for p in spec.l2)}; "
        f"{spec.seeds} seeds each (tasks of {spec.seeds_per_task}); {spec.epochs} epochs; estimators "
        f"{', '.join(spec.estimators)}.",
        f"Wall time {wall / 60:.1f} min on {where} ({len(result.skipped)} of {result.n_tasks} tasks were "
        f"already done); projected before the start: {projection.describe()}.",
    ]
    return write_report(result.table, out, about, [c.to_dict() for c in configs])
