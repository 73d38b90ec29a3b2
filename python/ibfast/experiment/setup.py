"""From a configuration to the things a run needs: the data set and the estimator objects."""

from __future__ import annotations

from collections.abc import Callable

from ..data import Dataset, generate, load_digits, load_mnist, load_var_u
from ..estimators import EBAB, KDE, AdaptiveKDE, AdaptiveRange, BinWidth, FixedRange
from ..estimators.binning import BinningEstimator
from ..estimators.kde import KDEBase
from .config import ExperimentConfig

Estimator = BinningEstimator | KDEBase


def load_dataset(config: ExperimentConfig) -> Dataset:
    if config.data == "twelve_bit":
        return load_var_u(config.data_path) if config.data_path else generate(config.data_seed)
    if config.data == "digits":
        return load_digits()
    assert config.data_path is not None  # validate() guarantees it
    return load_mnist(config.data_path)


def literature_noise_variance(config: ExperimentConfig) -> float:
    """Saxe et al.'s fixed KDE noise: 1e-3 for the 12-bit task, 1e-1 for MNIST-like data."""
    if config.noise_variance is not None:
        return config.noise_variance
    return 1e-3 if config.data == "twelve_bit" else 1e-1


def literature_bin_width(config: ExperimentConfig) -> float:
    """Saxe et al.'s bin width: 0.07 for the 12-bit task, 0.5 for MNIST-like data."""
    if config.bin_width is not None:
        return config.bin_width
    return 0.07 if config.data == "twelve_bit" else 0.5


def build_estimators(config: ExperimentConfig) -> dict[str, Estimator]:
    """The configured estimators by name, with the data's literature defaults filled in."""
    s2 = literature_noise_variance(config)
    factories: dict[str, Callable[[], Estimator]] = {
        "fixed_range": lambda: FixedRange(config.n_bins),
        "bin_width": lambda: BinWidth(literature_bin_width(config)),
        "adaptive_range": lambda: AdaptiveRange(config.n_bins),
        "ebab": lambda: EBAB(config.n_bins),
        "kde_upper": lambda: KDE(s2, "upper"),
        "kde_lower": lambda: KDE(s2, "lower"),
        "adaptive_kde_upper": lambda: AdaptiveKDE(config.adaptive_kde_scale, "upper"),
        "adaptive_kde_lower": lambda: AdaptiveKDE(config.adaptive_kde_scale, "lower"),
    }
    return {name: factories[name]() for name in config.estimators}
