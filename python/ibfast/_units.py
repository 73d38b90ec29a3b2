"""Information units: kernels work in nats, results default to bits."""

from __future__ import annotations

import math
from typing import Literal

Units = Literal["bits", "nats"]
_LN2 = math.log(2.0)


def check_units(units: str) -> Units:
    if units not in ("bits", "nats"):
        raise ValueError(f"units must be 'bits' or 'nats', got {units!r}")
    return units  # type: ignore[return-value]


def from_nats(value: float, units: Units) -> float:
    return value / _LN2 if units == "bits" else value
