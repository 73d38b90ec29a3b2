"""A grid of configurations and its tasks: each task is one configuration with a block of seeds,
trained batched, named by a stable hash of everything that determines its numbers. ``Grid.from_dict``
reads the one configuration layout shared by files and the command line."""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .._params import integer, positive_int
from ..experiment.config import ExperimentConfig
from ..plugins import load_plugins


@dataclass(frozen=True)
class Task:
    """One unit of work: a checked configuration (one type from the grid's expansion to the
    executor) and the plugin modules it needs."""

    config: ExperimentConfig
    plugins: tuple[str, ...] = ()

    @cached_property
    def task_id(self) -> str:
        """16 hex digits of the sha256 of the canonical configuration: the same grid point gives
        the same id in every process, on every machine, in every later session."""
        canonical = json.dumps(self.plain(), sort_keys=True, default=list, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def plain(self) -> dict[str, Any]:
        """The configuration in plain JSON types: what the manifest and a run file store."""
        return _plain(self.config.to_dict())

    @classmethod
    def from_plain(cls, config: Mapping[str, Any], plugins: Sequence[str] = ()) -> Task:
        """The task of a stored configuration (checked; its plugins must be loaded)."""
        return cls(ExperimentConfig.from_dict(dict(config)), tuple(plugins))

    def label(self) -> str:
        c = self.config
        return f"{c.activation} L2={c.l2:g} seeds {c.seeds[0]}-{c.seeds[-1]}"


# Keys of the one configuration layout that shape the grid rather than a configuration.
RUNNER_KEYS = ("seeds", "seeds_per_task", "plugins")
# Configuration keys whose list value at the top level of a file is an axis, not a value.
LIST_AXES = ("activation", "l2")


@dataclass(frozen=True)
class Grid:
    """What the runner runs: fixed configuration keys, axes (keys with a list of values; the grid
    is their product) and the seeds of every point cut into blocks of ``seeds_per_task``: ``seeds``
    is a count N (seeds 0..N-1) or the seed ids themselves. One block of one point is a task."""

    fixed: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    seeds: int | Sequence[int] = 1
    seeds_per_task: int = 10
    plugins: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Grid:
        """The one layout of a configuration file (TOML) and of ``ibfast run/sweep/reproduce``:
        configuration keys (``ExperimentConfig``'s) are fixed, except that a list under
        ``activation`` or ``l2`` is an axis, and so is every key of a ``[grid]`` table; ``seeds``
        (a count, or the seed ids), ``seeds_per_task`` and ``plugins`` shape the grid. A
        ``[sweep]`` table (the former sweep layout) may hold those three."""
        fixed = dict(d)
        axes = dict(fixed.pop("grid", {}))
        runner = dict(fixed.pop("sweep", {}))
        unknown = sorted(set(runner) - set(RUNNER_KEYS))
        if unknown:
            raise ValueError(f"unknown [sweep] keys {unknown}; it may hold {', '.join(RUNNER_KEYS)}")
        for key in RUNNER_KEYS:
            if key in fixed:
                runner[key] = fixed.pop(key)
        for key in LIST_AXES:
            if isinstance(fixed.get(key), (list, tuple)):
                axes[key] = list(fixed.pop(key))
        plugins = runner.get("plugins", [])
        if isinstance(plugins, str) or not isinstance(plugins, Sequence):
            raise TypeError(f"plugins must be a list of module names, got {plugins!r}")
        return cls(fixed=fixed, axes=axes, seeds=runner.get("seeds", 1),
                   seeds_per_task=runner.get("seeds_per_task", 10), plugins=tuple(plugins))

    @classmethod
    def from_toml(cls, path: str | Path) -> Grid:
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))

    def seed_ids(self) -> tuple[int, ...]:
        """Every point's seeds."""
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, (int, Sequence)):
            raise TypeError(f"seeds must be a count or a list of seed ids, got {self.seeds!r}")
        if isinstance(self.seeds, int):
            return tuple(range(positive_int(self.seeds, "seeds")))
        ids = tuple(integer(s, "a seed id") for s in self.seeds)
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"seeds must name distinct seed ids, at least one, got {list(self.seeds)}")
        return ids

    def tasks(self) -> list[Task]:
        """Every task, in grid order; each configuration checked (a bad grid fails here, whole).
        The plugins are imported and the grid expanded once per Grid object."""
        return list(self._tasks)

    @cached_property
    def _tasks(self) -> list[Task]:
        seeds = self.seed_ids()
        per_task = positive_int(self.seeds_per_task, "seeds_per_task")
        if "seeds" in self.axes or "seeds" in self.fixed:
            raise ValueError("give every point's seeds as the grid's 'seeds' (a count or the ids), "
                             "not as a fixed key or an axis")
        for name, values in self.axes.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
                raise ValueError(f"grid axis {name!r} must be a non-empty list of values, got {values!r}")
        load_plugins(self.plugins)
        names = list(self.axes)
        fixed = {k: v for k, v in self.fixed.items() if k not in self.axes}
        tasks = []
        for point in itertools.product(*(self.axes[n] for n in names)):
            for start in range(0, len(seeds), per_task):
                at: dict[str, Any] = {**fixed, **dict(zip(names, point, strict=True))}
                config = ExperimentConfig.from_dict({**at, "seeds": seeds[start:start + per_task]})
                tasks.append(Task(config, self.plugins))
        ids = [t.task_id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("the grid repeats a configuration (two axes give the same point)")
        return tasks

    def describe(self) -> dict[str, Any]:
        """The grid as plain data, for the manifest."""
        return {"fixed": _plain(dict(self.fixed)), "axes": _plain(dict(self.axes)),
                "seeds": _plain(self.seeds), "seeds_per_task": self.seeds_per_task,
                "plugins": list(self.plugins)}

    @classmethod
    def of_configs(cls, configs: Sequence[ExperimentConfig], plugins: Sequence[str] = ()) -> ConfigList:
        """A grid of the given configurations, each one task with all its seeds."""
        return ConfigList(tuple(configs), tuple(plugins))


@dataclass(frozen=True)
class ConfigList:
    """Configurations given one by one (``run_all``): a task each, all its seeds in one block."""

    configs: tuple[ExperimentConfig, ...]
    plugins: tuple[str, ...] = ()

    def tasks(self) -> list[Task]:
        for k, c in enumerate(self.configs):
            if not isinstance(c, ExperimentConfig):
                raise TypeError(f"configs[{k}] must be an ExperimentConfig, got {type(c).__name__}")
        load_plugins(self.plugins)
        tasks = [Task(c, self.plugins) for c in self.configs]
        if len({t.task_id for t in tasks}) != len(tasks):
            raise ValueError("the same configuration is given twice")
        return tasks

    def describe(self) -> dict[str, Any]:
        return {"configs": [t.plain() for t in self.tasks()], "plugins": list(self.plugins)}


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: what JSON (the manifest, a hash) holds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
