"""Estimator objects: ``estimator(T, labels=None, *, input_ids=None) -> MIResult``."""

from .binning import EBAB, AdaptiveRange, BinningEstimator, BinWidth, FixedRange
from .kde import KDE, AdaptiveKDE
from .result import MIResult

__all__ = [
    "EBAB",
    "KDE",
    "AdaptiveKDE",
    "AdaptiveRange",
    "BinWidth",
    "BinningEstimator",
    "FixedRange",
    "MIResult",
]
