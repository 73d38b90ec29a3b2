"""The estimator registry: every name an experiment, a TOML config or the CLI accepts, with the
factory that builds it and the literature's data-dependent defaults.

A factory takes the run's ``EstimatorSettings`` (the config's estimator keys, with the defaults
for the data set already filled in) and returns an ``Estimator``. A user's estimator becomes
usable by name everywhere with one call::

    ibfast.register_estimator("my_estimator", lambda settings: MyEstimator(settings.n_bins))

A renamed estimator keeps its old name as a deprecated alias (``DEPRECATED_NAMES``): configs that
say it still run, with the same numbers, and keep the name they were stored with (a sweep
task's id is a hash of its config), but making it warns and ``estimator_names`` lists only the
new name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from .._params import check_callable
from .base import Estimator
from .binning import EBAB, AdaptiveRange, FixedRange, FixedWidth
from .kde import KDE, AdaptiveKDE

# Saxe et al. (2018): KDE noise variance and bin width for the 12-bit task, and for MNIST (which
# they also use for any other data set).
_NOISE_VARIANCE = {"twelve_bit": 1e-3}
_BIN_WIDTH = {"twelve_bit": 0.07}
_NOISE_VARIANCE_OTHER, _BIN_WIDTH_OTHER = 1e-1, 0.5


def literature_noise_variance(data: str) -> float:
    """Saxe et al.'s fixed KDE noise: 1e-3 for the 12-bit task, 1e-1 for MNIST and other data."""
    return _NOISE_VARIANCE.get(data, _NOISE_VARIANCE_OTHER)


def literature_bin_width(data: str) -> float:
    """Saxe et al.'s bin width: 0.07 for the 12-bit task, 0.5 for MNIST and other data."""
    return _BIN_WIDTH.get(data, _BIN_WIDTH_OTHER)


@dataclass(frozen=True)
class EstimatorSettings:
    """What a factory may read: the data set and the estimator keys of a run's configuration.

    ``noise_variance`` and ``bin_width`` of None mean the literature's value for ``data``;
    ``for_data`` fills them in, so factories always see numbers.
    """

    data: str = "twelve_bit"
    n_bins: int = 30
    noise_variance: float = 1e-3
    bin_width: float = 0.07
    adaptive_kde_scale: float = 1e-3
    adaptive_kde_power: int = 1

    @classmethod
    def for_data(
        cls, data: str, *, n_bins: int = 30, noise_variance: float | None = None,
        bin_width: float | None = None, adaptive_kde_scale: float = 1e-3, adaptive_kde_power: int = 1,
    ) -> EstimatorSettings:
        return cls(
            data=data, n_bins=n_bins,
            noise_variance=literature_noise_variance(data) if noise_variance is None else noise_variance,
            bin_width=literature_bin_width(data) if bin_width is None else bin_width,
            adaptive_kde_scale=adaptive_kde_scale, adaptive_kde_power=adaptive_kde_power,
        )


EstimatorFactory = Callable[[EstimatorSettings], Estimator]
_REGISTRY: dict[str, EstimatorFactory] = {}
#: Old name -> the registered name it stands for, unless the old name is registered anew
#: ("bin_width" read like the configs' float key ``bin_width``, the width the estimator uses).
DEPRECATED_NAMES: dict[str, str] = {"bin_width": "fixed_width"}


def register_estimator(name: str, factory: EstimatorFactory) -> None:
    """Make ``factory(settings) -> Estimator`` available as ``name`` in experiments, TOML configs
    and ``ibfast run --estimators``. An existing name is replaced (as for activations).

    The results rows of a registered estimator carry ``name`` in their ``estimator`` column and
    the estimator's ``params()`` in ``estimator_params``.
    """
    if not isinstance(name, str):
        raise TypeError(f"an estimator name must be a str, got {type(name).__name__}")
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"an estimator name must be letters, digits and underscores, got {name!r}")
    check_callable(factory, f"estimator {name!r}: the factory")
    _REGISTRY[name] = factory


def estimator_names() -> tuple[str, ...]:
    """Every registered name, built-in ones first, in registration order."""
    return tuple(_REGISTRY)


def check_estimator_names(names: tuple[str, ...]) -> None:
    """ValueError naming the unknown ones (and the known ones) unless every name is registered
    (or a deprecated alias of a registered name)."""
    unknown = [n for n in names if n not in _REGISTRY and DEPRECATED_NAMES.get(n) not in _REGISTRY]
    if unknown or not names:
        known = ", ".join(_REGISTRY)
        raise ValueError(f"unknown estimators {unknown or '(none given)'}; choose from {known}")


def make_estimator(name: str, settings: EstimatorSettings | None = None) -> Estimator:
    """The estimator registered as ``name``, built for ``settings`` (12-bit defaults if None)."""
    check_estimator_names((name,))
    if name not in _REGISTRY:  # a deprecated alias (a name registered anew is the user's own)
        warnings.warn(f"the estimator name {name!r} is deprecated; use {DEPRECATED_NAMES[name]!r} "
                      "(configs that say it still run)", DeprecationWarning, stacklevel=2)
        name = DEPRECATED_NAMES[name]
    est = _REGISTRY[name](settings or EstimatorSettings())
    if not isinstance(est, Estimator):
        got = type(est).__name__
        raise TypeError(f"the factory of estimator {name!r} returned {got}, not an ibfast.Estimator")
    return est


register_estimator("fixed_range", lambda s: FixedRange(s.n_bins))
register_estimator("fixed_width", lambda s: FixedWidth(s.bin_width))
register_estimator("adaptive_range", lambda s: AdaptiveRange(s.n_bins))
register_estimator("ebab", lambda s: EBAB(s.n_bins))
register_estimator("kde_upper", lambda s: KDE(s.noise_variance, "upper"))
register_estimator("kde_lower", lambda s: KDE(s.noise_variance, "lower"))
register_estimator("adaptive_kde_upper",
                   lambda s: AdaptiveKDE(s.adaptive_kde_scale, "upper", power=s.adaptive_kde_power))
register_estimator("adaptive_kde_lower",
                   lambda s: AdaptiveKDE(s.adaptive_kde_scale, "lower", power=s.adaptive_kde_power))
# Power 2 whatever adaptive_kde_power says: the scale-invariant check beside the paper's power 1 in
# the same run (the paper's grid estimates both; L2 shrinks activity, which power 1 reads as less
# information).
register_estimator("adaptive_kde2_upper", lambda s: AdaptiveKDE(s.adaptive_kde_scale, "upper", power=2))
register_estimator("adaptive_kde2_lower", lambda s: AdaptiveKDE(s.adaptive_kde_scale, "lower", power=2))
