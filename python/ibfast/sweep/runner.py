"""The one runner: a grid of configurations into a results folder. ``ibfast run``, ``ibfast
sweep``, ``ibfast reproduce`` and ``run_all`` all come here: claim the folder, skip what is done,
run the rest (in this process, on local workers or on Dask), write each task's file as it
finishes, then rebuild the folder's outputs (``ibfast.outputs``)."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiment.config import ExperimentConfig
from ..experiment.run import Experiment, pack_key
from ..outputs import FolderOutputs
from .execute import Checkpoints, dask_cluster, in_process, local_processes, pack_id
from .store import SweepFolder
from .tasks import ConfigList, Grid, Task


@dataclass
class SweepResult:
    """What a run of the runner did: tasks skipped (already done), run now, failed (see
    OUT/failed/); ``table`` is every finished task's rows and ``outputs`` what was written."""

    out: Path
    n_tasks: int
    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    outputs: FolderOutputs | None = None


#: What a recorded epoch costs in plain training epochs, until the run has measured it: training
#: one epoch of the 12-bit task is a few ms, estimating its layers (every seed, five estimators)
#: tens to hundreds of ms, so 20 is a middle guess. The bar re-learns it from the measured pace.
RECORDED_EPOCH_WEIGHT = 20.0


class _Progress:
    """One bar over the whole grid, in epoch costs: a plain epoch counts 1 and a recorded epoch
    ``weight`` (estimation costs far more than a training epoch, and log-spaced records crowd the
    early epochs: counting epochs alone made the ETA of such a run several times off). Tasks
    already done count as finished. ``weight`` starts at RECORDED_EPOCH_WEIGHT and is then fitted
    to the pace: each report of a task covers p plain and r recorded epochs in dt seconds, and the
    least-squares fit of dt = a p + b r over the reports gives weight = b / a."""

    def __init__(self, tasks: list[Task], done: set[str], enabled: bool,
                 weight: float = RECORDED_EPOCH_WEIGHT, clock: Callable[[], float] = time.monotonic) -> None:
        self.epochs = {t.task_id: t.config.epochs for t in tasks}
        self.recorded = {t.task_id: frozenset(int(e) for e in t.config.recorded_epochs()) for t in tasks}
        self.seen = {tid: (self.epochs[tid] if tid in done else 0) for tid in self.epochs}
        self.weight = float(weight)
        self.clock = clock
        self._last: dict[str, float] = {}  # each task's time of its last report
        self._sums = [0.0] * 5  # sum p^2, p r, r^2, p dt, r dt: the normal equations
        self.lock = threading.Lock()
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total(), initial=self.done(), unit="ep",
                            desc=f"{len(done)}/{len(tasks)} tasks", file=sys.stderr,
                            bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]")
        self.n_done, self.n_tasks = len(done), len(tasks)

    def _split(self, tid: str, lo: int, hi: int) -> tuple[int, int]:
        """(plain, recorded) epochs among epochs lo..hi-1 of task ``tid``."""
        r = sum(1 for e in self.recorded.get(tid, ()) if lo <= e < hi)
        return hi - lo - r, r

    def cost(self, tid: str, upto: int) -> float:
        """The cost of task ``tid``'s first ``upto`` epochs."""
        plain, rec = self._split(tid, 0, upto)
        return plain + self.weight * rec

    def total(self) -> float:
        return sum(self.cost(tid, n) for tid, n in self.epochs.items())

    def done(self) -> float:
        return sum(self.cost(tid, n) for tid, n in self.seen.items())

    def epochs_done(self, tid: str, n: int) -> None:
        with self.lock:
            now = self.clock()
            before = self.seen.get(tid, 0)
            n = max(before, min(n, self.epochs.get(tid, 0)))
            if n == before:
                return
            plain, rec = self._split(tid, before, n)
            self.seen[tid] = n
            # the first report's interval includes the setup: not a pace
            rescaled = tid in self._last and self._learn(plain, rec, now - self._last[tid])
            self._last[tid] = now
            if self.bar is not None and not rescaled:  # a rescaled bar already counts this report
                self.bar.update(plain + self.weight * rec)

    def _learn(self, plain: int, rec: int, dt: float) -> bool:
        """Add a report to the fit; True when the weight changed (and the bar was rescaled)."""
        s = self._sums
        for k, v in enumerate((plain * plain, plain * rec, rec * rec, plain * dt, rec * dt)):
            s[k] += v
        det = s[0] * s[2] - s[1] * s[1]
        if det <= 1e-9 * max(s[0] * s[2], 1.0):
            return False  # every report so far had the same mix: a and b are not yet separable
        a = (s[3] * s[2] - s[4] * s[1]) / det
        b = (s[0] * s[4] - s[1] * s[3]) / det
        if a <= 0 or b <= 0:
            return False
        weight = min(max(b / a, 1.0), 1e4)
        if abs(weight - self.weight) > 0.1 * self.weight:  # rescale the bar only on a real change
            self.weight = weight
            if self.bar is not None:
                self.bar.total = self.total()
                self.bar.n = self.done()
                self.bar.refresh()
            return True
        return False

    def task_done(self, tid: str) -> None:
        self.epochs_done(tid, self.epochs.get(tid, 0))
        with self.lock:
            self.n_done += 1
            if self.bar is not None:
                self.bar.set_description(f"{self.n_done}/{self.n_tasks} tasks")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sweep(
    grid: Grid | ConfigList,
    out: str | Path,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    extend: bool = False,
    progress: bool = False,
    plots: bool = True,
    outputs: bool = True,
    on_task: Callable[[str, Task], None] | None = None,
    pack_seeds: int = 80,
    checkpoint_s: float = 300.0,
) -> SweepResult:
    """Run every task of ``grid`` not yet done in ``out``: in this process (``workers=0``), in
    ``workers`` local processes, or on the Dask scheduler at ``scheduler``. A task that raises is
    recorded in OUT/failed/ and the run goes on; the next start retries it. ``on_task(status,
    task)`` hears "skipped", "finished" and "failed". Tasks that differ only in activation, L2
    and seeds are packed into one stacked model of up to ``pack_seeds`` seeds (0: no packing);
    each still gets its own file, with its own run's numbers. With several workers, packs are
    cut smaller where that keeps every worker busy. In this process and on local workers a pack
    saves a checkpoint every ``checkpoint_s`` seconds (0: never) into OUT/checkpoints/, and a run
    started again continues it with the same numbers. Then, with ``outputs``, the folder's tables
    (and with ``plots`` its figures) are rebuilt from every finished task."""
    folder = SweepFolder(out)
    grid_tasks = grid.tasks()
    preflight(grid_tasks)
    with folder.lock():
        tasks = folder.claim(grid, grid_tasks, extend=extend)
        checkpoints = (Checkpoints(str(folder.checkpoints), float(checkpoint_s))
                       if checkpoint_s > 0 and not scheduler else None)
        result = _run(folder, tasks, workers, scheduler, progress, on_task, pack_seeds, checkpoints)
        if len(result.failed) < len(tasks):
            if outputs:
                result.outputs = folder.rebuild(tasks, figures=plots)
                result.table = result.outputs.table
            else:
                result.table = folder.combined(tasks)
    return result


def run_all(
    configs: Sequence[ExperimentConfig],
    out: str | Path | None = None,
    *,
    plots: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Run the given configurations (each one task with all its seeds) through :func:`run_sweep`
    and return the combined table. With ``out``, the folder is a results folder like any other
    (resumable: finished configurations are not run again); without it nothing is kept.
    ``options`` are :func:`run_sweep`'s (workers, scheduler, progress, pack_seeds, ...). A task
    that fails raises RuntimeError with its traceback."""
    grid = Grid.of_configs(configs)
    options.pop("outputs", None)  # a folder's outputs are written exactly when there is a folder
    if out is None:
        with tempfile.TemporaryDirectory(prefix="ibfast-run-") as tmp:
            return _table_or_raise(run_sweep(grid, tmp, plots=False, outputs=False, **options))
    return _table_or_raise(run_sweep(grid, out, plots=plots, **options))


def _table_or_raise(result: SweepResult) -> pd.DataFrame:
    if result.failed or result.table is None:
        first = SweepFolder(result.out).failure_file_of(result.failed[0]) if result.failed else None
        detail = first.read_text() if first is not None and first.is_file() else ""
        raise RuntimeError(f"{len(result.failed)} of {result.n_tasks} configurations failed\n{detail}")
    return result.table


def make_packs(tasks: list[Task], pack_seeds: int, workers: int = 1) -> list[list[Task]]:
    """Tasks that differ only in activation, L2 and seeds train together as one stacked model:
    grouped by everything else, then consecutive tasks (grid neighbours, which share activations)
    up to ``pack_seeds`` seeds a pack; 0 runs every task alone. With ``workers`` > 1 a pack holds
    at most its group's share of seeds per worker (but one task at least), so that every worker
    has a pack. The packs depend on the grid, ``pack_seeds`` and ``workers`` only, never on what
    is already done, so the same command gives a task the same numbers however often it is
    restarted (another worker count may pack it otherwise: the same numbers to float rounding)."""
    if pack_seeds <= 0:
        return [[t] for t in tasks]
    groups: dict[Any, list[Task]] = {}
    for t in tasks:
        groups.setdefault(pack_key(t.config), []).append(t)
    packs: list[list[Task]] = []
    for group in groups.values():
        limit = pack_seeds
        if workers > 1:
            limit = min(limit, -(-sum(len(t.config.seeds) for t in group) // workers))
        pack: list[Task] = []
        for t in group:
            if pack and sum(len(u.config.seeds) for u in pack) + len(t.config.seeds) > limit:
                packs.append(pack)
                pack = []
            pack.append(t)
        packs.append(pack)
    return packs


def preflight(tasks: list[Task]) -> None:
    """Set up one Experiment per distinct data and split setting (data loaded, batch size against
    the training set, device checked), so that a mistake stops the run before any task, not
    as one failure per task."""
    keys = ("data", "data_path", "data_seed", "train_fraction", "batch_size", "device", "shuffle_split")
    seen = set()
    for task in tasks:
        key = tuple(str(getattr(task.config, k)) for k in keys)
        if key not in seen:
            seen.add(key)
            Experiment(task.config)


def _run(folder: SweepFolder, tasks: list[Task], workers: int, scheduler: str | None, progress: bool,
         on_task: Callable[[str, Task], None] | None, pack_seeds: int,
         checkpoints: Checkpoints | None) -> SweepResult:
    result = SweepResult(folder.out, len(tasks))
    done = set()
    for t in tasks:
        if folder.is_done(t):
            done.add(t.task_id)
            result.skipped.append(t.task_id)
            on_task and on_task("skipped", t)
    # a pack runs whole while any of its tasks is not done (its finished tasks' rows come out the
    # same and are not written again)
    packs = [p for p in make_packs(tasks, pack_seeds, 1 if scheduler else workers)
             if any(t.task_id not in done for t in p)]
    # a pack's checkpoint goes once every task of it is written
    unwritten = {pack_id(p): {t.task_id for t in p} - done for p in packs}
    pack_of = {t.task_id: pack_id(p) for p in packs for t in p}
    for stale in folder.checkpoints.glob("*.pt"):  # of packs this grid no longer has (another
        if stale.stem not in unwritten:           # --workers or --pack-seeds cut them otherwise)
            stale.unlink(missing_ok=True)
    bar = _Progress(tasks, done, progress)
    sink = bar.epochs_done if progress else None
    if scheduler:
        outcomes = dask_cluster(packs, scheduler, sink)
    elif workers > 0:
        outcomes = local_processes(packs, workers, sink, checkpoints)
    else:
        outcomes = in_process(packs, sink, checkpoints)
    try:
        for o in outcomes:
            if o.task.task_id in done:
                continue
            if o.rows is not None:
                folder.save(o.task, o.rows)
                result.finished.append(o.task.task_id)
                left = unwritten[pack_of[o.task.task_id]]
                left.discard(o.task.task_id)
                if not left:
                    folder.checkpoint_file(pack_of[o.task.task_id]).unlink(missing_ok=True)
                on_task and on_task("finished", o.task)
            else:
                folder.record_failure(o.task, o.error or "unknown error")
                result.failed.append(o.task.task_id)
                on_task and on_task("failed", o.task)
            bar.task_done(o.task.task_id)
    finally:
        bar.close()
        close = getattr(outcomes, "close", None)
        if close is not None:  # an executor's generator ends its workers now, not at collection
            close()
    return result
