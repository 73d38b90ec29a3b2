"""Parameter checks shared by estimators, kernels, configs, the optimiser and the registries.

One convention everywhere: a value of the wrong type raises TypeError, a value of the right type
that is out of range raises ValueError; both name the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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


def check_callable(value: Any, name: str) -> Callable[..., Any]:
    """A callable (a function, a class, an object with ``__call__``)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def one_of(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of the named string choices."""
    listed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {listed}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


# ---- the estimators' and kernels' own parameters -----------------------------------------------

# float32 holds -alpha * D; beyond this the exponent of the diagonal term (D = 0) would be 0 * inf.
_MAX_ALPHA = 1e30


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """A KDE kernel's alpha = 1 / (factor * s2): positive, finite and small enough for float32."""
    a = positive_finite(alpha, name)
    if a > _MAX_ALPHA:
        raise ValueError(f"{name} = {a:g} is too large for float32 arithmetic (noise variance too small)")
    return a


def check_alphas(alphas: Any, name: str = "alphas") -> list[float]:
    """A sequence of alphas (``check_alpha`` each); a bare number or a string is a TypeError."""
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of numbers, got {alphas!r}")
    return [check_alpha(a) for a in alphas]


def sorted_edges(edges: Any, name: str = "edges") -> np.ndarray:
    """Bin edges as a C-contiguous float64 array: non-empty, finite, sorted ascending (repeats allowed)."""
    e = np.ascontiguousarray(np.asarray(edges, dtype=np.float64).reshape(-1))
    if e.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(e).all():
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(np.diff(e) < 0):
        raise ValueError(f"{name} must be sorted ascending")
    return e


def check_lower(lower: Any) -> float | str | None:
    """EBAB's ``lower`` argument: "auto", None or a finite number."""
    if isinstance(lower, str):
        if lower != "auto":
            raise ValueError(f"lower must be 'auto', None or a number, got {lower!r}")
        return lower
    if lower is None:
        return None
    return finite_real(lower, "lower", "'auto', None or a number")


def check_power(power: Any, name: str = "power") -> int:
    """AdaptiveKDE's power: 1 (s2 = scale * max|T|) or 2 (s2 = (scale * max|T|)^2)."""
    p = integer(power, name)
    if p not in (1, 2):
        raise ValueError(f"{name} must be 1 (s2 = scale * max|T|) or 2 (s2 = (scale * max|T|)^2), got {p}")
    return p


#: The rules SeedBatchedMLP can initialise by (ibfast.models.activations.ActivationSpec.hidden_gain).
INIT_GAIN_RULES = ("authors", "ibfast")


def check_init_gain_rule(rule: object) -> str:
    """Return ``rule`` if it names an init gain rule; TypeError if not a str, else ValueError."""
    return one_of(rule, "init_gain", INIT_GAIN_RULES)
