"""The pre-declared keys of the analysis: every choice that could move a verdict, fixed before the
data are seen, named, documented (docs/analysis.md) and written into claims.json.

``Keys()`` holds the defaults; ``Keys(min_effect=0.2)`` changes one. Every function of
``ibfast.analysis`` that depends on one takes ``keys: Keys = KEYS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .._units import SATURATION_MARGIN_BITS


@dataclass(frozen=True)
class Keys:
    alpha: float = 0.05
    # The peak is searched from this epoch on: epoch 0 is the untrained network, and a drop from
    # it is the start of fitting, not compression after a fitting phase.
    first_epoch: int = 1
    # Running median (epochs, odd) applied before the peak is taken: one-epoch spikes do not count.
    smooth: int = 3
    # A run compresses when C clears max(min_effect, noise_multiplier(n) x noise): the minimum
    # effect keeps exact plateaus (EBAB, noise 0) from calling a one-collision drop compression.
    min_effect: float = 0.1
    # The curve's noise: the largest of the robust sds of its first differences in this many
    # consecutive blocks (first differences ignore slow trends; the largest block covers early noise).
    noise_blocks: int = 4
    # The I(X;T) ceiling is log2 of the samples; a table without an ``n_samples`` column uses this.
    n_samples: int = 4096
    # The I(T;Y) ceiling, H(Y), in bits (balanced binary labels of the 12-bit task).
    h_y: float = 1.0
    # A layer whose late I(X;T) (mean of the final window) is within this of the ceiling is
    # saturated: the estimator cannot see a drop there, so the run is unmeasurable.
    saturation_margin: float = SATURATION_MARGIN_BITS  # 0.05 bit, set in ibfast._units
    # Claim 2: the between-seed sd of C (bits) that counts as "a lot".
    large_sd: float = 0.5
    # Bootstrap resamples and the seed of their generator (intervals are the same on every call).
    n_boot: int = 2000
    boot_seed: int = 0
    # The power at which the smallest detectable effect of a "not shown" test is quoted.
    power: float = 0.8
    # Claim 4's within-stratum correlation: "spearman" (Pearson of ranks; Fisher z sd sqrt(1.06/(n-3)))
    # or "pearson" (sd 1/sqrt(n-3)).
    correlation: str = "spearman"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


KEYS = Keys()
