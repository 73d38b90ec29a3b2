"""A results folder (every run of ibfast run, sweep and reproduce is one): what has been done
survives any kill.

    OUT/manifest.json        the grid and its task ids (written atomically when a sweep starts)
    OUT/runs/<task id>.parquet   one finished task's rows, written atomically (complete or absent)
    OUT/failed/<task id>.json    a task that raised: its configuration and traceback
    OUT/checkpoints/<pack id>.pt a pack's training state while it runs (removed when its tasks are written)
    OUT/results.parquet, summary.csv, compression.csv, figures/   rebuilt from runs/ (ibfast.outputs)

A task counts as done when its run file exists and reads back as a table whose stored
configuration is the task's own; anything else (no file, a file from another grid, a damaged one)
is run again.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..outputs import FolderOutputs, write_outputs
from ..plugins import load_plugins
from ..results import RESULTS_FILE, read_configs, write_atomic, write_text_atomic
from .tasks import ConfigList, Grid, Task

MANIFEST = "manifest.json"


class SweepFolder:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.runs = self.out / "runs"
        self.failed = self.out / "failed"
        self.checkpoints = self.out / "checkpoints"

    def run_file(self, task: Task) -> Path:
        return self.runs / f"{task.task_id}.parquet"

    def checkpoint_file(self, pack_id: str) -> Path:
        return self.checkpoints / f"{pack_id}.pt"

    def failure_file(self, task: Task) -> Path:
        return self.failure_file_of(task.task_id)

    def failure_file_of(self, task_id: str) -> Path:
        return self.failed / f"{task_id}.json"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one sweep at a time. The lock is a flock: the kernel drops it when
        its process dies, so a SIGKILLed sweep never leaves the folder locked. With the folder
        held, temporary files are leftovers of a killed write and are removed."""
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"another sweep is running in {self.out}") from None
            for stale in [*self.out.glob(".*.tmp"), *self.runs.glob(".*.tmp"),
                          *self.checkpoints.glob(".*.tmp")]:
                stale.unlink(missing_ok=True)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def configs(self) -> list[dict[str, Any]]:
        """The configurations of the manifest's tasks ([] without a manifest)."""
        manifest = self.read_manifest()
        return list(manifest["configs"]) if manifest else []

    # -- the manifest --------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        p = self.out / MANIFEST
        return json.loads(p.read_text()) if p.is_file() else None

    def claim(self, grid: Grid | ConfigList, tasks: list[Task], extend: bool = False) -> list[Task]:
        """Record the grid in the folder and return every task it holds (with ``extend``, the
        earlier grids' tasks too). A folder holding another grid is refused unless ``extend``."""
        old = self.read_manifest()
        ids = [t.task_id for t in tasks]
        if old is not None and sorted(old["task_ids"]) != sorted(ids):
            if not extend:
                raise ValueError(
                    f"{self.out} holds another sweep ({len(old['task_ids'])} tasks, "
                    f"{len(set(old['task_ids']) - set(ids))} of them not in this grid); use another folder, "
                    "or --extend to add this grid's tasks to it"
                )
            known = set(ids)
            load_plugins(old.get("plugins", []))
            tasks = tasks + [Task.from_plain(c, old.get("plugins", [])) for i, c in
                             zip(old["task_ids"], old["configs"], strict=True) if i not in known]
        grids = [grid.describe()] if old is None else list(old["grids"])
        if grid.describe() not in grids:  # an extension
            grids.append(grid.describe())
        manifest = {
            "grids": grids,
            "task_ids": [t.task_id for t in tasks],
            "configs": [t.plain() for t in tasks],
            "plugins": sorted({p for t in tasks for p in t.plugins}),
        }
        write_text_atomic(self.out / MANIFEST, json.dumps(manifest, indent=1))
        return tasks

    # -- tasks ---------------------------------------------------------------------------------------
    def is_done(self, task: Task) -> bool:
        p = self.run_file(task)
        if not p.is_file():
            return False
        try:
            return read_configs(p) == [task.plain()]
        except Exception:  # a damaged file is simply not done
            return False

    def save(self, task: Task, rows: pd.DataFrame) -> Path:
        path = write_atomic(rows, self.run_file(task), [task.plain()])
        self.failure_file(task).unlink(missing_ok=True)  # a retried task that now succeeded
        return path

    def record_failure(self, task: Task, error: str) -> Path:
        path = self.failure_file(task)
        write_text_atomic(path, json.dumps({"task_id": task.task_id, "label": task.label(),
                                            "config": task.plain(), "traceback": error}, indent=1))
        return path

    def combined(self, tasks: list[Task] | None = None) -> pd.DataFrame:
        """The rows of every finished task (of ``tasks``, else of the manifest), in task order."""
        return self._combined(tasks)[0]

    def _combined(self, tasks: list[Task] | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        if tasks is None:
            manifest = self.read_manifest()
            if manifest is None:
                if (self.out / RESULTS_FILE).is_file():  # a results folder from before sweeps
                    return pd.read_parquet(self.out / RESULTS_FILE), read_configs(self.out)
                # a run killed before its first combined table: the tasks that finished
                files = sorted(self.runs.glob("*.parquet"))
                if not files:
                    raise FileNotFoundError(f"no manifest.json, {RESULTS_FILE} or runs/ in {self.out}")
                return (pd.concat([pd.read_parquet(p) for p in files], ignore_index=True),
                        [c for p in files for c in read_configs(p)])
            files = [self.runs / f"{tid}.parquet" for tid in manifest["task_ids"]]
            configs = list(manifest["configs"])
        else:
            files = [self.run_file(t) for t in tasks]
            configs = [t.plain() for t in tasks]
        done = [(p, c) for p, c in zip(files, configs, strict=True) if p.is_file()]
        if not done:
            raise FileNotFoundError(f"no finished runs in {self.runs}")
        return pd.concat([pd.read_parquet(p) for p, _ in done], ignore_index=True), [c for _, c in done]

    def rebuild(self, tasks: list[Task] | None = None, *, figures: bool = True,
                estimators: list[str] | None = None) -> FolderOutputs:
        """results.parquet, summary.csv, compression.csv and (with ``figures``) figures/ from the
        finished run files (``outputs.write_outputs``)."""
        df, configs = self._combined(tasks)
        return write_outputs(df, self.out, configs, figures=figures, estimators=estimators)
