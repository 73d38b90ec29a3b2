"""The in-memory data set every experiment runs on, and its train/test split."""

from __future__ import annotations

import warnings
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


SPLITS = ("ordered", "shuffled", "stratified")


def split_name(shuffle: bool | str | None) -> str:
    """The ``split`` column's word for a ``shuffle_split`` value: False "ordered", True
    "shuffled", "stratified" itself."""
    if shuffle == "stratified":
        return "stratified"
    if isinstance(shuffle, bool):
        return "shuffled" if shuffle else "ordered"
    raise ValueError(f"shuffle_split must be True, False or 'stratified', got {shuffle!r}")


def split_indices(
    n: int, train_fraction: float = 0.8, shuffle: bool | str = True, seed: int = 0,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices, each sorted.

    ``shuffle=False``: the first round(train_fraction * n) of the stored order train (the IDNNs'
    and Chelombiev et al.'s split). ``True``: the same count from a seeded permutation.
    ``"stratified"`` (needs ``labels``): each class is permuted (seeded) and round(train_fraction
    * n_c) of its n_c samples train, at least one and at most n_c - 1 when n_c >= 2, so every
    class with two or more samples is in both parts and the class balance is the data's in both
    (the train count may then differ from round(train_fraction * n) by a few samples).

    The 12-bit data file is sorted by bit pattern, so an unshuffled split gives skewed label
    balances; on class-sorted data (digits, MNIST ordered by label, a user's data) it can leave a
    class out of the test part altogether. With ``labels``, a split that leaves a class out of
    either part warns (UserWarning) naming the classes. Results record which split was used.
    """
    open_unit_interval(train_fraction, "train_fraction")
    split_name(shuffle)  # the value's check
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
    if shuffle == "stratified":
        if labels is None:
            raise ValueError("a stratified split needs the labels (labels=y)")
        train, test = _stratified(labels, train_fraction, seed)
    else:
        n_train = round(train_fraction * n)
        if n_train < 1 or n_train >= n:
            raise ValueError(f"a {train_fraction} split of {n} samples leaves an empty part")
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        train, test = np.sort(order[:n_train]), np.sort(order[n_train:])
    if labels is not None:
        _warn_missing_classes(labels, train, test, split_name(shuffle))
    return train, test


def _stratified(labels: np.ndarray, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):  # sorted classes: the draw depends on the seed only
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = round(train_fraction * idx.size)
        if idx.size >= 2:
            k = min(max(k, 1), idx.size - 1)  # both parts keep the class
        train.append(idx[:k])
        test.append(idx[k:])
    tr, te = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    if tr.size == 0 or te.size == 0:
        raise ValueError(f"a {train_fraction} stratified split of {labels.size} samples leaves an empty part")
    return tr, te


def _warn_missing_classes(labels: np.ndarray, train: np.ndarray, test: np.ndarray, name: str) -> None:
    """One warning per split that leaves a class out of either part (test accuracy and I(T;Y) on
    such a part say nothing about the missing classes)."""
    classes = np.unique(labels)
    gaps = []
    for part, idx in (("train", train), ("test", test)):
        missing = np.setdiff1d(classes, np.unique(labels[idx]))
        if missing.size:
            shown = ", ".join(str(c) for c in missing[:10]) + (", ..." if missing.size > 10 else "")
            gaps.append(f"{missing.size} of {classes.size} classes out of the {part} part (class {shown})")
    if gaps:
        hint = (" (a class with a single sample can only be in one part)" if name == "stratified"
                else "; a stratified split (shuffle_split='stratified') keeps every class in both")
        warnings.warn(f"the {name} split leaves {' and '.join(gaps)}{hint}", UserWarning, stacklevel=3)
