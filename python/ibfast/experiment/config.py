"""An experiment's configuration: defaults that reproduce the literature, validation, TOML."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._params import integer, non_negative_finite, one_of, open_unit_interval, positive_finite, positive_int
from ..estimators.kde import check_power
from ..estimators.registry import EstimatorSettings, check_estimator_names
from ..models import activations
from ..models.activations import check_init_gain_rule
from ..plugins import load_plugins
from .batches import BATCH_ORDERS
from .schedule import log_spaced_epochs

DATA_NAMES = ("twelve_bit", "digits", "mnist")
RECORD_TIMINGS = ("before", "after")



class ProtocolItems(NamedTuple):
    """The items in which the two training protocols differ (each a config key of its own)."""

    init_gain: str
    batch_order: str
    shuffle_split: bool | str  # False, True or "stratified" (see protocol_defaults)
    record_timing: str


# "authors": Chelombiev et al.'s released code (the paper's study); "ibfast": this package's
# former choices. A config key left at None takes its value from the configuration's protocol.
PROTOCOLS: dict[str, ProtocolItems] = {
    "authors": ProtocolItems("authors", "fixed", False, "before"),
    "ibfast": ProtocolItems("ibfast", "per_seed", True, "after"),
}


def protocol_defaults(protocol: str, data: str) -> ProtocolItems:
    """The items a protocol gives a configuration on ``data``: PROTOCOLS[protocol], but for data
    other than the 12-bit task the split is "stratified" (each class split train_fraction /
    rest, shuffled with split_seed): the protocols' ordered split leaves whole classes out of
    the test part of class-sorted data (digits, MNIST sorted by label). The 12-bit task keeps
    its protocol's split, so its configurations (and their sweep task ids) are unchanged."""
    items = PROTOCOLS[one_of(protocol, "protocol", tuple(PROTOCOLS))]
    return items if data == "twelve_bit" else items._replace(shuffle_split="stratified")


@dataclass
class ExperimentConfig:
    """One network configuration trained from several seeds at once.

    Defaults are the 12-bit setting of Shwartz-Ziv & Tishby / Chelombiev et al.: 12-10-7-5-4-3-2,
    Adam lr 4e-4, batch 256, 8000 epochs, 274 log-spaced recorded epochs, 80/20 split, trained
    by the authors' protocol (``protocol="authors"``: output layer initialised with the hidden
    layers' gain, the same contiguous batches every epoch, unshuffled split, activity recorded
    before each recorded epoch's updates) and estimated with EBAB and adaptive KDE (upper).
    ``init_gain``, ``batch_order``, ``shuffle_split`` and ``record_timing`` left at None follow
    the protocol; set one to vary it alone (on data other than the 12-bit task the split
    defaults to "stratified" under either protocol). ``None`` for ``noise_variance`` and ``bin_width``
    means the literature's value for the data (1e-3 and 0.07 for the 12-bit task, 1e-1 and 0.5
    otherwise).
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
    l2_on_activation_params: bool = False  # also penalise PReLU's slopes
    protocol: str = "authors"          # "authors" (the paper's code) or "ibfast"; see PROTOCOLS
    init_gain: str | None = None       # "authors": output layer with the hidden gain; "ibfast": 1
    batch_order: str | None = None     # "fixed", "per_seed" or "shared_shuffle" (experiment.batches)
    batch_seed: int = 0                # the generator of "shared_shuffle"
    record_timing: str | None = None   # "before" (epoch 0 = untrained) or "after" epoch e's updates
    train_fraction: float = 0.8
    # False: the first 80% train (the authors'); True: shuffled; "stratified": per class. None:
    # the protocol's (12-bit task) or "stratified" (other data; see protocol_defaults)
    shuffle_split: bool | str | None = None
    split_seed: int = 0
    record_points: int = 400           # log-spaced points before de-duplication (274 for 8000)
    record_epochs: tuple[int, ...] | None = None  # explicit 0-based epochs instead
    estimators: tuple[str, ...] = ("ebab", "adaptive_kde_upper")
    n_bins: int = 30
    noise_variance: float | None = None
    bin_width: float | None = None
    adaptive_kde_scale: float = 1e-3
    adaptive_kde_power: int = 1        # 1: s2 = c max|T| (the paper's wording); 2: s2 = (c max|T|)^2
    device: str = "cpu"
    torch_threads: int = 1             # tiny matmuls run fastest on one thread; estimation uses the rest

    def __post_init__(self) -> None:
        # Whether the split came from the protocol (not a field: it never enters a task's id).
        # Experiment(config, dataset) then gives a user's data set the stratified split.
        self.split_from_protocol = self.shuffle_split is None
        one_of(self.data, "data", DATA_NAMES)
        for key, value in protocol_defaults(self.protocol, self.data)._asdict().items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        self.hidden = tuple(int(h) for h in self.hidden)
        self.seeds = tuple(int(s) for s in self.seeds)
        self.estimators = tuple(str(e) for e in self.estimators)
        if self.record_epochs is not None:
            self.record_epochs = tuple(int(e) for e in self.record_epochs)
        self.validate()

    def validate(self) -> None:
        """Every key checked: TypeError for a wrong type, ValueError for a wrong value."""
        one_of(self.data, "data", DATA_NAMES)
        if self.data == "mnist" and not self.data_path:
            raise ValueError("data 'mnist' needs data_path: the folder holding the idx files")
        activations.get(self.activation)  # raises ValueError naming the known ones
        for name in ("epochs", "batch_size", "record_points", "n_bins"):
            positive_int(getattr(self, name), name)
        integer(self.data_seed, "data_seed")
        integer(self.split_seed, "split_seed")
        if len(self.seeds) == 0:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {self.hidden}")
        for name in ("lr", "adaptive_kde_scale"):
            positive_finite(getattr(self, name), name)
        for name in ("noise_variance", "bin_width"):
            if getattr(self, name) is not None:
                positive_finite(getattr(self, name), name)
        non_negative_finite(self.l2, "l2")
        check_init_gain_rule(self.init_gain)
        one_of(self.batch_order, "batch_order", BATCH_ORDERS)
        integer(self.batch_seed, "batch_seed")
        one_of(self.record_timing, "record_timing", RECORD_TIMINGS)
        if not isinstance(self.l2_on_activation_params, bool):
            raise TypeError(f"l2_on_activation_params must be a bool, got "
                            f"{type(self.l2_on_activation_params).__name__}")
        if not isinstance(self.shuffle_split, bool) and self.shuffle_split != "stratified":
            if isinstance(self.shuffle_split, str):
                raise ValueError(f"shuffle_split must be True, False or 'stratified', "
                                 f"got {self.shuffle_split!r}")
            raise TypeError(f"shuffle_split must be a bool or 'stratified', "
                            f"got {type(self.shuffle_split).__name__}")
        open_unit_interval(self.train_fraction, "train_fraction")
        check_estimator_names(self.estimators)
        self.estimator_settings()  # the estimator keys' own checks (e.g. adaptive_kde_power)
        if self.record_epochs is not None:
            bad = [e for e in self.record_epochs if not 0 <= e < self.epochs]
            if bad or not self.record_epochs:
                raise ValueError(f"record_epochs must lie in [0, {self.epochs}), got {bad or '[]'}")
        if not isinstance(self.device, str):
            raise TypeError(f"device must be a str, got {type(self.device).__name__}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:index]', got {self.device!r}")
        integer(self.torch_threads, "torch_threads (0 leaves torch's setting alone)", 0)
        # Real-valued keys are stored as floats (an int 0 and 0.0 are one setting): the results'
        # columns and a sweep's task ids then do not depend on how a number was written.
        for name in ("lr", "l2", "train_fraction", "adaptive_kde_scale", "noise_variance", "bin_width"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, float(value))

    def recorded_epochs(self) -> np.ndarray:
        """The 0-based epochs this configuration records, sorted and distinct: ``record_epochs``
        if given, else ``record_points`` log-spaced points of ``epochs`` (274 of 8000)."""
        if self.record_epochs is not None:
            return np.array(sorted(set(self.record_epochs)), dtype=np.int64)
        return log_spaced_epochs(self.epochs, self.record_points)

    def protocol_items(self) -> ProtocolItems:
        """The protocol items this configuration trains by (None keys resolved)."""
        return ProtocolItems(**{k: getattr(self, k) for k in ProtocolItems._fields})

    def protocol_label(self) -> str:
        """The protocol every item of which this configuration follows, or "custom"."""
        following = self.protocol_items() == protocol_defaults(self.protocol, self.data)
        return self.protocol if following else "custom"

    def estimator_settings(self) -> EstimatorSettings:
        """The estimator keys, with the literature's defaults for this data set filled in."""
        power = check_power(self.adaptive_kde_power, "adaptive_kde_power")
        return EstimatorSettings.for_data(
            self.data, n_bins=self.n_bins, noise_variance=self.noise_variance, bin_width=self.bin_width,
            adaptive_kde_scale=self.adaptive_kde_scale, adaptive_kde_power=power,
        )

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
        """One configuration from a TOML file of its keys (``plugins`` imported first). A file with
        lists of activation or l2 values, or a ``[grid]`` table, describes a grid: read it with
        ``ibfast.sweep.Grid.from_toml`` (the one layout of configuration files)."""
        with open(path, "rb") as fh:
            d = tomllib.load(fh)
        plugins = d.pop("plugins", [])
        load_plugins(list(plugins) if isinstance(plugins, (list, tuple)) else [plugins])
        if "grid" in d or "sweep" in d or any(isinstance(d.get(k), list) for k in ("activation", "l2")):
            raise ValueError(f"{path} describes a grid (lists of activation or l2, or a [grid] table): "
                             "read it with ibfast.sweep.Grid.from_toml")
        return cls.from_dict(d)
