"""The activation registry: a name, a torch function, its init gains and learnable parameters.

Register your own with ``register("name", fn, gain)``; any elementwise torch function works.
The gain g sets the init std g / sqrt(fan_in). ``gain`` follows Chelombiev et al.'s code: 2 for
ReLU, softplus, ELU, PReLU and swish, 1 for tanh and abs (the others here follow their family).
``ibfast_gain`` is the gain this package used before, which differs only for abs (2).
``INIT_GAIN_RULES`` names the rules SeedBatchedMLP can initialise by.

A parametric activation has ``n_params`` learnable values per unit and seed, all starting at
``init_param``; it is called ``fn(z, params)`` with z of shape (S, width, N) and params of shape
(S, width, n_params), so ``params[..., j:j+1]`` broadcasts over the samples.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .. import _core
from .._params import INIT_GAIN_RULES as INIT_GAIN_RULES  # ActivationSpec.hidden_gain's rules, by name
from .._params import check_callable, check_init_gain_rule, finite_real, integer, positive_finite

Activation = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class ActivationSpec:
    name: str
    fn: Activation
    gain: float                      # the paper's (authors' code) init gain
    ibfast_gain: float | None = None  # this package's former gain; None becomes gain
    n_params: int = 0                # learnable parameters per unit and seed
    init_param: float = 0.0          # their initial value
    kernel: int | None = None        # ibfast._core.ActivationKind's number (built-ins only: KERNEL_KINDS)

    def __post_init__(self) -> None:
        if self.ibfast_gain is None:
            object.__setattr__(self, "ibfast_gain", self.gain)

    def hidden_gain(self, rule: str) -> float:
        """The init gain of the hidden layers under ``rule`` (one of INIT_GAIN_RULES)."""
        if check_init_gain_rule(rule) == "ibfast" and self.ibfast_gain is not None:
            return self.ibfast_gain
        return self.gain

    def output_gain(self, rule: str) -> float:
        """The init gain of the output layer: the hidden layers' for "authors", 1 for "ibfast"."""
        return 1.0 if check_init_gain_rule(rule) == "ibfast" else self.gain


_REGISTRY: dict[str, ActivationSpec] = {}
_LN2 = math.log(2.0)


def register(
    name: str,
    fn: Activation,
    gain: float = 1.0,
    *,
    ibfast_gain: float | None = None,
    n_params: int = 0,
    init_param: float = 0.0,
) -> None:
    """Add an activation under ``name`` (lower case); an existing name is replaced.

    With ``n_params`` > 0, ``fn(z, params)`` receives the (S, width, n_params) parameters.
    """
    if not isinstance(name, str):
        raise TypeError(f"an activation name must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("an activation needs a non-empty name")
    what = f"activation {name!r}: "
    check_callable(fn, what + "fn")
    g = positive_finite(gain, what + "gain")
    g_ibfast = None if ibfast_gain is None else positive_finite(ibfast_gain, what + "ibfast_gain")
    k = integer(n_params, what + "n_params", 0)
    _REGISTRY[name.lower()] = ActivationSpec(
        name.lower(), fn, g, g_ibfast, k, finite_real(init_param, what + "init_param")
    )


def get(name: str) -> ActivationSpec:
    try:
        return _REGISTRY[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def prelu(z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """z where z >= 0, a * z elsewhere; a (S, width, 1) is each seed's and unit's slope."""
    # torch.where, not clamp(z, 0) + a * clamp(z, max=0): at z = 0 both clamps would pass the
    # gradient, giving 1 + a instead of 1.
    return torch.where(z >= 0, z, a * z)


# The compiled kind (ibfast._core.ActivationKind, bound from ibfast/activations.hpp) of each
# built-in: models compute these (on CPU float32) in one compiled pass for all seeds
# (models/fused.py). Registering a name anew drops its kernel. Every name is the kind's own but
# "swish", silu's other name.
_KIND_OF = {name: name for name in _core.ActivationKind.__members__} | {"swish": "silu"}
KERNEL_KINDS: dict[str, int] = {
    name: int(_core.ActivationKind.__members__[kind]) for name, kind in _KIND_OF.items()
}


def _builtin(name: str, fn: Activation, gain: float, **kwargs: Any) -> None:
    register(name, fn, gain, **kwargs)
    _REGISTRY[name] = dataclasses.replace(_REGISTRY[name], kernel=KERNEL_KINDS[name])


_builtin("tanh", torch.tanh, 1.0)
_builtin("relu", torch.relu, 2.0)
_builtin("elu", F.elu, 2.0)
_builtin("softplus", F.softplus, 2.0)
_builtin("centred_softplus", lambda t: F.softplus(t) - _LN2, 2.0)
_builtin("softsign", F.softsign, 1.0)
_builtin("leaky_relu", F.leaky_relu, 2.0)
_builtin("swish", F.silu, 2.0)
_builtin("silu", F.silu, 2.0)
_builtin("sigmoid", torch.sigmoid, 1.0)
_builtin("abs", torch.abs, 1.0, ibfast_gain=2.0)
_builtin("prelu", prelu, 2.0, n_params=1, init_param=0.0)  # starts as ReLU
_builtin("linear", lambda t: t, 1.0)
