"""The paper's study as a grid of experiment configurations, and what it will cost.

Chelombiev et al.: the 12-bit task, 12-10-7-5-4-3-2, eight activations, L2 off and on (0.015),
many initialisations, 8000 epochs, estimated with EBAB and adaptive KDE; ibfast adds Shwartz-Ziv &
Tishby's fixed bins and Saxe et al.'s fixed-noise KDE as baselines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..experiment import Experiment, ExperimentConfig
from ..experiment.schedule import log_spaced_epochs
from ..sweep import Grid

PAPER_ACTIVATIONS = ("tanh", "relu", "elu", "softplus", "centred_softplus", "swish", "abs", "prelu")
PAPER_L2 = (0.0, 0.015)
PAPER_ESTIMATORS = ("ebab", "adaptive_kde_upper", "fixed_range", "kde_upper")


@dataclass(frozen=True)
class GridSpec:
    """What ``ibfast reproduce`` runs; ``quick()`` and ``full()`` are the two presets."""

    activations: tuple[str, ...] = PAPER_ACTIVATIONS
    l2: tuple[float, ...] = PAPER_L2
    seeds: int = 50
    epochs: int = 8000
    estimators: tuple[str, ...] = PAPER_ESTIMATORS
    record_points: int = 400
    data_path: str | None = None
    device: str = "cpu"
    seeds_per_task: int = 10

    @classmethod
    def full(cls, **overrides: object) -> GridSpec:
        return replace(cls(), **overrides)  # type: ignore[arg-type]

    @classmethod
    def quick(cls, **overrides: object) -> GridSpec:
        """3 activations, L2 on/off, 5 seeds, 1500 epochs, EBAB + adaptive KDE: minutes on a CPU."""
        base = cls(
            activations=("tanh", "relu", "swish"),
            seeds=5,
            epochs=1500,
            estimators=("ebab", "adaptive_kde_upper"),
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def grid(self) -> Grid:
        """The sweep: activation x L2, seeds in blocks of ``seeds_per_task``, the authors' protocol."""
        fixed = {
            "epochs": self.epochs,
            "estimators": list(self.estimators),
            "record_points": self.record_points,
            "data_path": self.data_path,
            "device": self.device,
            "protocol": "authors",
        }
        return Grid(
            fixed=fixed,
            axes={"activation": list(self.activations), "l2": [float(p) for p in self.l2]},
            seeds=self.seeds,
            seeds_per_task=self.seeds_per_task,
        )

    def configs(self) -> list[ExperimentConfig]:
        """Every task's configuration (each checked)."""
        return [t.config for t in self.grid().tasks()]


@dataclass(frozen=True)
class Projection:
    """Measured seconds per epoch of training and per recorded epoch of estimation, and the total."""

    train_s_per_epoch: float
    estimate_s_per_record: float
    n_tasks: int
    epochs: int
    n_recorded: int
    on_gpu: bool = False

    @property
    def per_config_s(self) -> float:
        train = self.epochs * self.train_s_per_epoch
        estimate = self.n_recorded * self.estimate_s_per_record
        # on a CPU the estimation thread runs beside training: the slower of the two decides; on a
        # GPU the estimation is queued on the same device between the steps: they add up
        return train + estimate if self.on_gpu else max(train, estimate)

    @property
    def total_s(self) -> float:
        return self.n_tasks * self.per_config_s

    def describe(self) -> str:
        return (
            f"{self.n_tasks} tasks x {self.epochs} epochs ({self.n_recorded} recorded): "
            f"training {self.train_s_per_epoch * 1e3:.1f} ms/epoch, estimation "
            f"{self.estimate_s_per_record * 1e3:.0f} ms per recorded epoch (measured here on the "
            f"untrained network; trained layers cluster and cost more) -> at least "
            f"{_hours(self.total_s)} on this machine"
        )


def _hours(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def project(configs: Sequence[ExperimentConfig], calibration_epochs: int = 8) -> Projection:
    """Time a few epochs of training and one recorded epoch of the first task
    (``Experiment.record_now``), and scale to the grid (one process; with W workers on W free
    cores, about 1/W of it)."""
    c = configs[0]
    probe = Experiment(replace(c, epochs=calibration_epochs, record_epochs=(calibration_epochs - 1,)))
    probe.run()
    t0 = time.perf_counter()
    probe.record_now(calibration_epochs)
    estimate_s = time.perf_counter() - t0
    n_recorded = (
        len(c.record_epochs)
        if c.record_epochs is not None
        else int(log_spaced_epochs(c.epochs, c.record_points).size)
    )
    return Projection(
        probe.timings.train_s / calibration_epochs, estimate_s, len(configs), c.epochs, n_recorded,
        on_gpu=c.device.startswith("cuda"),
    )
