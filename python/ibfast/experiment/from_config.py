"""From a configuration to the things a run needs: the data set and the estimator objects."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Dataset, generate, load_digits, load_mnist, load_var_u
from ..data.dataset import split_name
from ..estimators import Estimator, make_estimator
from .config import ExperimentConfig


def load_dataset(config: ExperimentConfig) -> Dataset:
    if config.data == "twelve_bit":
        return load_var_u(config.data_path) if config.data_path else generate(config.data_seed)
    if config.data == "digits":
        return load_digits()
    assert config.data_path is not None  # validate() guarantees it
    return load_mnist(config.data_path)


def effective_split(config: ExperimentConfig, dataset: Dataset) -> bool | str:
    """The split a run uses: ``config.shuffle_split``, except that a data set of one's own
    (``Experiment(config, dataset)`` with data other than the 12-bit task) whose configuration left
    the split to the protocol gets the stratified split, as the named data sets other than the
    12-bit task do (the configuration, and so its id, cannot tell a user's data from the 12-bit task)."""
    if dataset.name != "twelve_bit" and getattr(config, "split_from_protocol", False):
        return "stratified"
    assert config.shuffle_split is not None  # resolved by __post_init__
    return config.shuffle_split


def run_columns(
    config: ExperimentConfig, dataset: Dataset, split: bool | str | None = None
) -> dict[str, Any]:
    """The settings that change a run's numbers, as the columns every one of its results rows
    carries, so that tables from different settings never average together. ``split``: the split
    used (default ``effective_split(config, dataset)``)."""
    split = effective_split(config, dataset) if split is None else split
    meta = dataset.meta
    source = meta.get("source", "")
    if source == "generator":
        source = f"generator(seed={meta.get('generator_seed')})"
    return {
        "data": dataset.name, "data_source": str(source), "hidden": "-".join(map(str, config.hidden)),
        "activation": config.activation, "l2": config.l2, "lr": config.lr,
        "batch_size": config.batch_size, "epochs": config.epochs, "train_fraction": config.train_fraction,
        "split": split_name(split), "split_seed": config.split_seed,
        "protocol": config.protocol_label(), "init_gain": config.init_gain,
        "batch_order": config.batch_order, "batch_seed": config.batch_seed,
        "record_timing": config.record_timing, "l2_on_activation_params": config.l2_on_activation_params,
    }


def repeated_input_ids(x: np.ndarray) -> np.ndarray | None:
    """Ids of the distinct input rows when some inputs repeat (then the binned H(T|X) is computed
    from them instead of being taken as 0), None when every input is distinct."""
    _, ids = np.unique(x, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    return ids if int(ids.max()) + 1 < x.shape[0] else None


def build_estimators(config: ExperimentConfig) -> dict[str, Estimator]:
    """The configured estimators by registry name, with the data's literature defaults filled in."""
    settings = config.estimator_settings()
    return {name: make_estimator(name, settings) for name in config.estimators}
