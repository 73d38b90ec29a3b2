"""An experiment's configuration: defaults that reproduce the literature, validation, TOML."""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..models import activations

ESTIMATOR_NAMES = (
    "fixed_range", "bin_width", "adaptive_range", "ebab",
    "kde_upper", "kde_lower", "adaptive_kde_upper", "adaptive_kde_lower",
)
DATA_NAMES = ("twelve_bit", "digits", "mnist")


@dataclass
class ExperimentConfig:
    """One network configuration trained from several seeds at once.

    Defaults are the 12-bit setting of Shwartz-Ziv & Tishby / Chelombiev et al.: 12-10-7-5-4-3-2,
    Adam lr 4e-4, batch 256, 8000 epochs, 274 log-spaced recorded epochs, 80/20 split.
    ``None`` for ``noise_variance`` and ``bin_width`` means the literature's value for the data
    (1e-3 and 0.07 for the 12-bit task, 1e-1 and 0.5 otherwise).
    """

    data: str = "twelve_bit"
    data_path: str | None = None       # var_u.mat for twelve_bit (else the generator), folder for mnist
    data_seed: int = 0                 # the 12-bit generator's seed
    hidden: tuple[int, ...] = (10, 7, 5, 4, 3)
    activation: str = "tanh"
    seeds: tuple[int, ...] = (0,)
    epochs: int = 8000
    batch_size: int = 256
    lr: float = 4e-4
    l2: float = 0.0                    # p in loss += p * sum ||W||^2 / 2; 0.015 in the papers
    train_fraction: float = 0.8
    shuffle_split: bool = True
    split_seed: int = 0
    record_points: int = 400           # log-spaced points before de-duplication (274 for 8000)
    record_epochs: tuple[int, ...] | None = None  # explicit 0-based epochs instead
    estimators: tuple[str, ...] = ("ebab", "kde_upper")
    n_bins: int = 30
    noise_variance: float | None = None
    bin_width: float | None = None
    adaptive_kde_scale: float = 1e-3
    device: str = "cpu"
    torch_threads: int = 1             # tiny matmuls run fastest on one thread; estimation uses the rest
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.seeds = tuple(int(s) for s in self.seeds)
        self.estimators = tuple(str(e) for e in self.estimators)
        if self.record_epochs is not None:
            self.record_epochs = tuple(int(e) for e in self.record_epochs)
        self.validate()

    def validate(self) -> None:
        if self.data not in DATA_NAMES:
            raise ValueError(f"unknown data {self.data!r}; choose from {', '.join(DATA_NAMES)}")
        if self.data == "mnist" and not self.data_path:
            raise ValueError("data 'mnist' needs data_path: the folder holding the idx files")
        activations.get(self.activation)  # raises ValueError naming the known ones
        _positive_int(self.epochs, "epochs")
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.record_points, "record_points")
        _positive_int(self.n_bins, "n_bins")
        if len(self.seeds) == 0:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {self.hidden}")
        for name in ("lr", "adaptive_kde_scale"):
            _positive_float(getattr(self, name), name)
        for name in ("noise_variance", "bin_width"):
            if getattr(self, name) is not None:
                _positive_float(getattr(self, name), name)
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2 must be >= 0, got {self.l2}")
        if not 0.0 < self.train_fraction < 1.0:
            raise ValueError(f"train_fraction must lie in (0, 1), got {self.train_fraction}")
        unknown = [e for e in self.estimators if e not in ESTIMATOR_NAMES]
        if unknown or not self.estimators:
            raise ValueError(
                f"unknown estimators {unknown or '(none given)'}; choose from {', '.join(ESTIMATOR_NAMES)}"
            )
        if self.record_epochs is not None:
            bad = [e for e in self.record_epochs if not 0 <= e < self.epochs]
            if bad or not self.record_epochs:
                raise ValueError(f"record_epochs must lie in [0, {self.epochs}), got {bad or '[]'}")
        if not isinstance(self.device, str) or not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:index]', got {self.device!r}")
        if self.torch_threads < 0:
            raise ValueError("torch_threads must be >= 0 (0 leaves torch's setting alone)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_toml(cls, path: str | Path) -> ExperimentConfig:
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))


def _positive_int(v: Any, name: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")


def _positive_float(v: Any, name: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {v!r}")
