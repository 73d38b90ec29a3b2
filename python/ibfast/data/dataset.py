"""The in-memory data set every experiment runs on, and its train/test split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._params import open_unit_interval


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (N, D) float32 and class indices ``y`` (N,) int64, with where they came from."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_classes: int
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"dataset {self.name!r}: x must be (N, D) and y (N,), got {self.x.shape} and "
                f"{self.y.shape}"
            )
        if self.x.shape[0] < 2:
            raise ValueError(f"dataset {self.name!r} has fewer than 2 samples")

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.x.shape[1])


def split_indices(
    n: int, train_fraction: float = 0.8, shuffle: bool = True, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: the first round(train_fraction * n) of the (shuffled) order.

    The 12-bit data file is sorted by bit pattern, so an unshuffled split (as in the IDNNs and
    Chelombiev et al. code) gives skewed label balances: results record which split was used.
    """
    open_unit_interval(train_fraction, "train_fraction")
    n_train = round(train_fraction * n)
    if n_train < 1 or n_train >= n:
        raise ValueError(f"a {train_fraction} split of {n} samples leaves an empty part")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return np.sort(order[:n_train]), np.sort(order[n_train:])
