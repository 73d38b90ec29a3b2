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
