"""The activation registry: a name, a torch function, and its init gain.

Register your own with ``register("name", fn, gain)``; any elementwise torch function works.
The gain g sets the init std g / sqrt(fan_in): 2 for the ReLU family, 1 for the tanh family
(DESIGN.md), following the papers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ActivationSpec:
    name: str
    fn: Activation
    gain: float


_REGISTRY: dict[str, ActivationSpec] = {}
_LN2 = math.log(2.0)


def register(name: str, fn: Activation, gain: float = 1.0) -> None:
    """Add an activation under ``name`` (lower case); an existing name is replaced."""
    if not isinstance(name, str) or not name:
        raise ValueError("an activation needs a non-empty name")
    if not callable(fn):
        raise TypeError(f"activation {name!r}: fn must be callable")
    if not (isinstance(gain, (int, float)) and gain > 0 and math.isfinite(gain)):
        raise ValueError(f"activation {name!r}: gain must be positive, got {gain!r}")
    _REGISTRY[name.lower()] = ActivationSpec(name.lower(), fn, float(gain))


def get(name: str) -> ActivationSpec:
    try:
        return _REGISTRY[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def names() -> list[str]:
    return sorted(_REGISTRY)


register("tanh", torch.tanh, 1.0)
register("relu", torch.relu, 2.0)
register("elu", F.elu, 2.0)
register("softplus", F.softplus, 2.0)
register("centred_softplus", lambda t: F.softplus(t) - _LN2, 2.0)
register("softsign", F.softsign, 1.0)
register("leaky_relu", F.leaky_relu, 2.0)
register("swish", F.silu, 2.0)
register("silu", F.silu, 2.0)
register("sigmoid", torch.sigmoid, 1.0)
register("abs", torch.abs, 2.0)
register("linear", lambda t: t, 1.0)
