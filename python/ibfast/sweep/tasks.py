"""A sweep's grid and its tasks: each task is one configuration with a block of seeds, trained
batched, named by a stable hash of everything that determines its numbers."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._params import positive_int
from ..experiment.config import ExperimentConfig


@dataclass(frozen=True)
class Task:
    """One unit of work: a configuration (as its dict) and the plugin modules it needs."""

    config: dict[str, Any]
    plugins: tuple[str, ...] = ()

    @property
    def task_id(self) -> str:
        """16 hex digits of the sha256 of the canonical configuration: the same grid point gives
        the same id in every process, on every machine, in every later session."""
        canonical = json.dumps(self.config, sort_keys=True, default=list, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def of(cls, config: ExperimentConfig, plugins: Sequence[str] = ()) -> Task:
        """The task of a configuration (its dict in plain JSON types, so the id is stable)."""
        return cls(_plain(config.to_dict()), tuple(plugins))

    def label(self) -> str:
        c = self.config
        seeds = c["seeds"]
        return f"{c['activation']} L2={c['l2']:g} seeds {seeds[0]}-{seeds[-1]}"

    def experiment_config(self) -> ExperimentConfig:
        return ExperimentConfig.from_dict(self.config)


@dataclass(frozen=True)
class Grid:
    """What a sweep runs: fixed configuration keys, axes (keys with a list of values; the sweep
    is their product), ``seeds`` seeds per point cut into blocks of ``seeds_per_task``."""

    fixed: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    seeds: int = 1
    seeds_per_task: int = 10
    plugins: tuple[str, ...] = ()

    def tasks(self) -> list[Task]:
        """Every task, in grid order; each configuration checked (a bad grid fails here, whole)."""
        positive_int(self.seeds, "seeds")
        positive_int(self.seeds_per_task, "seeds_per_task")
        clash = {"seeds"} & (set(self.fixed) | set(self.axes))
        if clash:
            raise ValueError("give the number of seeds as the sweep's 'seeds', not as a config key")
        for name, values in self.axes.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
                raise ValueError(f"grid axis {name!r} must be a non-empty list of values, got {values!r}")
        from ..plugins import load_plugins

        load_plugins(self.plugins)
        names = list(self.axes)
        tasks = []
        for point in itertools.product(*(self.axes[n] for n in names)):
            for start in range(0, self.seeds, self.seeds_per_task):
                block = tuple(range(start, min(start + self.seeds_per_task, self.seeds)))
                point_values: dict[str, Any] = {**self.fixed, **dict(zip(names, point, strict=True))}
                config = ExperimentConfig.from_dict({**point_values, "seeds": block})  # checked
                tasks.append(Task.of(config, self.plugins))
        ids = [t.task_id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("the grid repeats a configuration (two axes give the same point)")
        return tasks

    def describe(self) -> dict[str, Any]:
        """The grid as plain data, for the manifest."""
        return {"fixed": _plain(dict(self.fixed)), "axes": _plain(dict(self.axes)), "seeds": self.seeds,
                "seeds_per_task": self.seeds_per_task, "plugins": list(self.plugins)}


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: what JSON (the manifest, a hash) holds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
