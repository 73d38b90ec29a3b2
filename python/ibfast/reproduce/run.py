"""Run the paper's grid through the runner (tasks of seed blocks; in-process, on local workers or
on Dask; resumable) and write the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data.dataset import split_name
from ..experiment import ExperimentConfig
from ..sweep import Grid, SweepResult, run_sweep
from .grid import GridSpec, Projection, project
from .report import write_report


def reproduce(
    spec: GridSpec | Grid,
    out: str | Path,
    progress: bool = True,
    workers: int = 0,
    scheduler: str | None = None,
    say: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    pack_seeds: int = 80,
    checkpoint_s: float = 300.0,
    extend: bool = False,
) -> dict[str, Any]:
    """Train and estimate every task of ``spec`` (a preset, or any grid) into ``out`` (a results
    folder: a killed run resumes where it stopped), then write the report there. Returns the
    contents of claims.json."""
    out = Path(out)
    grid = spec.grid() if isinstance(spec, GridSpec) else spec
    tasks = grid.tasks()
    configs = [t.config for t in tasks]
    projection = project(tasks, pack_seeds=pack_seeds, workers=0 if scheduler else workers)
    say(f"ibfast reproduce: {projection.describe()}")
    t0 = time.perf_counter()
    result = run_sweep(grid, out, workers=workers, scheduler=scheduler, progress=progress, outputs=False,
                       pack_seeds=pack_seeds, checkpoint_s=checkpoint_s, extend=extend)
    wall = time.perf_counter() - t0
    if result.failed or result.table is None:
        raise RuntimeError(
            f"{len(result.failed)} of {result.n_tasks} tasks failed (see {out / 'failed'}/); "
            "run the same command again to retry them"
        )
    where = (f"Dask at {scheduler}" if scheduler
             else f"{workers} local workers" if workers else "one process")
    about = describe_run(configs, result, wall, where, projection)
    return write_report(result.table, out, about, [t.plain() for t in tasks])


def describe_run(configs: list[ExperimentConfig], result: SweepResult, wall: float, where: str,
                 projection: Projection) -> list[str]:
    """The report's "What ran": data, network, protocol, grid, wall time against the projection."""
    c = configs[0]
    data = (f"12-bit task from {c.data_path} (var_u.mat)" if c.data == "twelve_bit" and c.data_path
            else "12-bit task from ibfast's built-in generator (all 4096 patterns, a spherically symmetric "
            "rule; not the original var_u.mat: pass --data-path for that)" if c.data == "twelve_bit"
            else f"{c.data}" + (f" from {c.data_path}" if c.data_path else ""))
    activations = list(dict.fromkeys(k.activation for k in configs))
    l2s = list(dict.fromkeys(k.l2 for k in configs))
    seeds: dict[tuple[str, float], set[int]] = {(k.activation, k.l2): set() for k in configs}
    for k in configs:
        seeds[(k.activation, k.l2)].update(k.seeds)
    n_seeds = sorted({len(s) for s in seeds.values()})
    hidden = "-".join(map(str, c.hidden))
    return [
        f"Data: {data}. Network {hidden} hidden, Adam lr {c.lr:g}, batch {c.batch_size}, protocol "
        f"{c.protocol_label()} (split {split_name(c.shuffle_split)}, batch order "
        f"{c.batch_order}, activity recorded {c.record_timing} each recorded epoch's updates, init gain "
        f"{c.init_gain}).",
        f"Grid: activations {', '.join(activations)}; L2 {', '.join(f'{p:g}' for p in l2s)}; "
        f"{'/'.join(map(str, n_seeds))} seeds each (tasks of {len(c.seeds)}); {c.epochs} epochs; estimators "
        f"{', '.join(c.estimators)}.",
        f"Wall time {wall / 60:.1f} min on {where} ({len(result.skipped)} of {result.n_tasks} tasks were "
        f"already done); projected before the start: {projection.describe()}.",
    ]
