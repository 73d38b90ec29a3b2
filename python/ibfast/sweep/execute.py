"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

Every executor calls ``run_pack`` and hands back, per task, its rows or the traceback of the
error it raised; the caller writes the files. On Dask the rows come back to the client, which
writes them into its own folder: workers need no shared file system, only ibfast installed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .tasks import Task

if TYPE_CHECKING:
    from ..experiment.checkpoint import Checkpoint

# A task reports its finished epochs about this many times (a message per epoch would swamp the
# channel for 8000-epoch tasks).
_REPORTS_PER_TASK = 50
PROGRESS_TOPIC = "ibfast-sweep-progress"

ProgressSink = Callable[[str, int], None]  # (task id, epochs finished so far)


@dataclass
class Outcome:
    task: Task
    rows: pd.DataFrame | None
    error: str | None


@dataclass(frozen=True)
class Checkpoints:
    """Where packs save their checkpoints (OUT/checkpoints/<pack id>.pt) and how often."""

    folder: str
    every_s: float

    def of(self, tasks: list[Task]) -> Checkpoint:
        from ..experiment.checkpoint import Checkpoint

        key = pack_id(tasks)
        return Checkpoint(Path(self.folder) / f"{key}.pt", key, every_s=self.every_s)


def pack_id(tasks: list[Task]) -> str:
    """16 hex digits naming a pack by its tasks (a checkpoint belongs to exactly that pack)."""
    return hashlib.sha256(",".join(t.task_id for t in tasks).encode()).hexdigest()[:16]


def run_pack(tasks: list[Task], sink: Any = None, kernel_threads: int | None = None,
             checkpoints: Checkpoints | None = None) -> list[tuple[Any, str | None]]:
    """Train and estimate tasks that pack (they differ only in activation, L2 and seeds) as one
    stacked model; per task (rows, None), or (None, traceback) for all of them if it raised.
    Runs anywhere: ``sink`` is a queue (local workers), "dask" (the worker's events) or None.
    With ``checkpoints``, the pack continues from its checkpoint if one exists and saves one as
    it trains (the caller removes it once the pack's files are written)."""
    try:
        from .. import set_num_threads
        from ..experiment import Experiment
        from ..plugins import load_plugins

        if kernel_threads:
            set_num_threads(kernel_threads)
        load_plugins(sorted({p for t in tasks for p in t.plugins}))
        configs = [t.config for t in tasks]
        report = _reporter(tasks, sink, configs[0].epochs)
        checkpoint = checkpoints.of(tasks) if checkpoints is not None else None
        tables = Experiment(configs).run_members(report, checkpoint=checkpoint)
        return [(table, None) for table in tables]
    except Exception:
        error = traceback.format_exc()
        return [(None, error) for _ in tasks]


def _reporter(tasks: list[Task], sink: Any, epochs: int) -> Callable[[int, int], None] | None:
    if sink is None:
        return None
    every = max(1, epochs // _REPORTS_PER_TASK)
    ids = [t.task_id for t in tasks]
    if sink == "dask":
        from distributed import get_worker

        worker = get_worker()

        def send(n: int) -> None:
            for tid in ids:
                worker.log_event(PROGRESS_TOPIC, {"task": tid, "epochs": n})
    else:
        def send(n: int) -> None:
            for tid in ids:
                sink.put((tid, n))

    def report(done: int, total: int) -> None:
        if done % every == 0 or done == total:
            send(done)

    return report


# ---- executors ------------------------------------------------------------------------------------
def in_process(packs: list[list[Task]], progress: ProgressSink | None,
               checkpoints: Checkpoints | None = None) -> Iterator[Outcome]:
    for pack in packs:
        sink = _CallbackSink(progress) if progress else None
        for task, (rows, error) in zip(pack, run_pack(pack, sink, None, checkpoints), strict=True):
            yield Outcome(task, rows, error)


class _CallbackSink:
    def __init__(self, progress: ProgressSink) -> None:
        self.progress = progress

    def put(self, item: tuple[str, int]) -> None:
        self.progress(*item)


def _init_worker(torch_threads: int) -> None:
    import torch

    torch.set_num_threads(torch_threads)


def local_processes(packs: list[list[Task]], workers: int, progress: ProgressSink | None,
                    checkpoints: Checkpoints | None = None) -> Iterator[Outcome]:
    """``workers`` processes (spawned: no forked torch or OpenMP state), each with the kernels on
    cores // workers threads and torch on one, so that together they do not oversubscribe."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    kernel_threads = max(1, (os.cpu_count() or 1) // workers)
    with ctx.Manager() as manager, ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(1,)
    ) as pool:
        sink = manager.Queue() if progress else None
        stop = threading.Event()
        drain = threading.Thread(target=_drain, args=(sink, progress, stop), daemon=True) if sink else None
        if drain:
            drain.start()
        futures: dict[Future[list[tuple[Any, str | None]]], list[Task]] = {
            pool.submit(run_pack, pack, sink, kernel_threads, checkpoints): pack for pack in packs}
        completed = False
        try:
            for fut in as_completed(futures):
                yield from _outcomes(futures[fut], fut)
            completed = True
        finally:
            stop.set()
            if drain:
                drain.join(timeout=5)
            if not completed:  # Ctrl-C, SIGTERM or an error in the caller: no worker outlives us
                _stop_workers(pool)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the running workers now (a pack can take minutes;
    ``shutdown`` alone would wait for it). ProcessPoolExecutor has no public way to end its
    workers before Python 3.14, hence its ``_processes``."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(timeout=10)


def _drain(sink: Any, progress: ProgressSink, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            tid, n = sink.get(timeout=0.2)
        except (queue.Empty, EOFError, OSError):
            continue
        progress(tid, n)


def _outcomes(pack: list[Task], fut: Any) -> Iterator[Outcome]:
    try:
        results = fut.result()
    except Exception:  # the worker died (killed, out of memory) more often than allowed
        results = [(None, traceback.format_exc())] * len(pack)
    for task, (rows, error) in zip(pack, results, strict=True):
        yield Outcome(task, rows, error)


def dask_cluster(packs: list[list[Task]], address: str, progress: ProgressSink | None) -> Iterator[Outcome]:
    """Tasks on the Dask cluster at ``address``. A task whose worker dies is rescheduled by the
    scheduler itself (``distributed.scheduler.allowed-failures``); one that raises comes back as
    its traceback."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as err:  # pragma: no cover - the extra is missing
        raise ValueError("--scheduler needs Dask: pip install 'ibfast[cluster]'") from err
    with Client(address) as client:
        if progress:
            report = progress  # the handler gets (time, message) events from the workers
            client.subscribe_topic(PROGRESS_TOPIC, lambda e: report(e[1]["task"], e[1]["epochs"]))
        futures = {client.submit(run_pack, pack, "dask" if progress else None,
                                 key=f"ibfast-{pack[0].task_id}-{len(pack)}", pure=False): pack
                   for pack in packs}
        for fut in dask_completed(list(futures)):
            yield from _outcomes(futures[fut], fut)
            fut.release()
