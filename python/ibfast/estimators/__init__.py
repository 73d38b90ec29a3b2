"""Estimator objects: ``estimator(T, labels=None, *, input_ids=None) -> MIResult``, one contract
(``Estimator``) for every family, and the registry of names experiments use.

``__all__`` is what users call and subclass. The registry's plumbing (``EstimatorSettings``, the
literature defaults) lives in ``ibfast.estimators.registry``.
"""

from typing import Any

from ._deprecated import RENAMED, UNEXPORTED, deprecated_attribute
from .base import Estimator, estimate_together
from .base import many_together as many_together  # deprecated: estimate_together
from .binning import EBAB, AdaptiveRange, BinningEstimator, EdgeBinningEstimator, FixedRange, FixedWidth
from .kde import KDE, AdaptiveKDE, KDEEstimator
from .kde import estimate_bounds as estimate_bounds  # deprecated: estimate_together
from .registry import estimator_names, make_estimator, register_estimator
from .result import MIResult

__all__ = [
    "EBAB",
    "KDE",
    "AdaptiveKDE",
    "AdaptiveRange",
    "BinningEstimator",
    "EdgeBinningEstimator",
    "Estimator",
    "FixedRange",
    "FixedWidth",
    "KDEEstimator",
    "MIResult",
    "estimate_together",
    "estimator_names",
    "make_estimator",
    "register_estimator",
]


def __getattr__(name: str) -> Any:
    """The renamed classes' old names and the plumbing no longer exported, with a warning."""
    return deprecated_attribute(__name__, name, {**RENAMED, **UNEXPORTED})
