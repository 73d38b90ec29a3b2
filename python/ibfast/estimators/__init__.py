"""Estimator objects: ``estimator(T, labels=None, *, input_ids=None) -> MIResult``, one contract
(``Estimator``) for every family, and the registry of names experiments use."""

from .base import Estimator, many_together
from .binning import EBAB, AdaptiveRange, BinningEstimator, BinWidth, FixedRange
from .kde import KDE, AdaptiveKDE, KDEBase, estimate_bounds
from .registry import (
    EstimatorSettings,
    estimator_names,
    literature_bin_width,
    literature_noise_variance,
    make_estimator,
    register_estimator,
)
from .result import MIResult

__all__ = [
    "EBAB",
    "KDE",
    "AdaptiveKDE",
    "AdaptiveRange",
    "BinWidth",
    "BinningEstimator",
    "Estimator",
    "EstimatorSettings",
    "FixedRange",
    "KDEBase",
    "MIResult",
    "estimate_bounds",
    "estimator_names",
    "literature_bin_width",
    "literature_noise_variance",
    "make_estimator",
    "many_together",
    "register_estimator",
]
