"""Parameter checks shared by estimators, kernels, configs, the optimiser and the registries.

One convention everywhere: a value of the wrong type raises TypeError, a value of the right type
that is out of range raises ValueError; both name the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def real_number(value: Any, name: str, what: str = "a real number") -> float:
    """A real number (bools are not); TypeError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return float(value)


def finite_real(value: Any, name: str, what: str = "a real number") -> float:
    """A finite real number."""
    v = real_number(value, name, what)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def positive_finite(value: Any, name: str) -> float:
    """A positive finite real number."""
    v = real_number(value, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def non_negative_finite(value: Any, name: str) -> float:
    """A finite real number >= 0."""
    v = real_number(value, name)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be >= 0 and finite, got {value!r}")
    return v


def integer(value: Any, name: str, minimum: int | None = None) -> int:
    """An int (bools are not), at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_int(value: Any, name: str) -> int:
    """An int >= 1."""
    return integer(value, name, 1)


def open_unit_interval(value: Any, name: str) -> float:
    """A real number strictly between 0 and 1."""
    v = real_number(value, name)
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return v


def one_of(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of the named string choices."""
    listed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {listed}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value
