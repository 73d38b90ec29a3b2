"""Information units: kernels work in nats, results default to bits."""

from __future__ import annotations

import math
from typing import Literal

from ._params import one_of

Units = Literal["bits", "nats"]
_LN2 = math.log(2.0)


def check_units(units: str) -> Units:
    return one_of(units, "units", ("bits", "nats"))  # type: ignore[return-value]


def from_nats(value: float, units: Units) -> float:
    return value / _LN2 if units == "bits" else value


#: An estimate is *saturated* when I(X;T) >= log2(distinct inputs) - this many bits (converted to
#: the estimator's units). The one place this margin is set: MIResult.saturated, the experiment's
#: and the monitor's ``saturated`` column and the analysis key ``saturation_margin`` all use it.
#: Why 0.05 bit: for binning, H(T) = log2 N - 2m/N bits when 2m of the N rows share a bin pairwise
#: and the rest are alone, so within 0.05 bit means at most 2.5% of the rows share a bin with
#: another: the estimator sees (almost) every input as distinct and its number says only that.
#: The same ceiling bounds the KDE estimates (log N of the mixture).
SATURATION_MARGIN_BITS = 0.05


def is_saturated(i_xt: float, n_inputs: int, units: str) -> bool:
    """Whether ``i_xt`` (in ``units``) is within SATURATION_MARGIN_BITS of log(n_inputs), the
    ceiling of I(X;T) over ``n_inputs`` distinct inputs."""
    if n_inputs < 1:
        return False
    ceiling = math.log2(n_inputs) if units == "bits" else math.log(n_inputs)
    margin = SATURATION_MARGIN_BITS * (1.0 if units == "bits" else _LN2)
    return bool(i_xt >= ceiling - margin)
