"""Every seed's activation of a layer in one compiled pass, forward and backward.

A packed model (several activations, a block of seeds each) would otherwise split each layer,
call one torch function per block, concatenate, and do the same again per block in the
backward pass: about 40 small ops per step for 8 activations and 5 hidden layers, which cost
more than the layers' matrix products. ``packed_activation`` is one call into ``ibfast._core``
each way, for the built-in activations (their ``ActivationSpec.kernel``) on CPU float32 layers.
Its float32 functions are within a few ulp of torch's (tests/test_fused_activations.py pins
them against float64 torch), so a packed seed and the same seed trained alone agree to float
rounding, like the batched matmuls (alone, a parameter-free activation runs torch's function,
see SeedBatchedMLP; prelu runs this pass either way). There is no
second derivative: a double backward through it raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .. import _core
from .activations import ActivationSpec


def kernel_kinds(specs: Sequence[ActivationSpec]) -> np.ndarray | None:
    """The per-seed kind array for ``packed_activation``, or None if any activation has no
    compiled kernel (a user's own, or a built-in name registered anew)."""
    kinds = [spec.kernel for spec in specs]
    if any(k is None for k in kinds):
        return None
    return np.asarray(kinds, dtype=np.int32)


def can_fuse(z: torch.Tensor) -> bool:
    """Whether the compiled pass takes this layer: CPU float32 (CUDA layers keep torch's ops)."""
    return z.device.type == "cpu" and z.dtype == torch.float32


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _forward(z: torch.Tensor, kinds: np.ndarray, params: torch.Tensor | None,
             with_derivative: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """h, and the derivative at z from the same pass (the exp it shares with the function) when
    asked: the backward pass is then one multiply. z and params contiguous."""
    h = torch.empty_like(z)
    derivative = torch.empty_like(z) if with_derivative else None
    _core.activations_forward(_array(z), h.numpy(), None if derivative is None else derivative.numpy(),
                              kinds, None if params is None else _array(params))
    return h, derivative


_PRELU = int(_core.ActivationKind.prelu)  # the only kind that reads z backward


class _PackedActivation(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, params: torch.Tensor | None,  # type: ignore[override]
                kinds: np.ndarray) -> torch.Tensor:
        z = z.contiguous()
        params = None if params is None else params.contiguous()
        h, derivative = _forward(z, kinds, params, with_derivative=True)
        ctx.kinds = kinds
        ctx.param_shape = None if params is None else params.shape
        # z only where a prelu seed's slope gradient needs it
        ctx.save_for_backward(z if bool((kinds == _PRELU).any()) else None, derivative)
        return h

    @staticmethod
    def backward(ctx: Any, grad_h: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        if torch.is_grad_enabled():  # create_graph=True: the result would silently lack act''(z)
            raise RuntimeError("the fused activations have no second derivative; build the model "
                               "with fused_activations=False for a double backward")
        z, derivative = ctx.saved_tensors
        grad_h = grad_h.contiguous()
        grad_z = torch.empty_like(derivative)
        grad_params = None
        if ctx.param_shape is not None:
            grad_params = torch.zeros(ctx.param_shape, dtype=derivative.dtype)
        _core.activations_backward(
            _array(derivative if z is None else z), _array(derivative), _array(grad_h), grad_z.numpy(),
            ctx.kinds, None if grad_params is None else grad_params.numpy(),
        )
        return grad_z, grad_params, None


def packed_activation(z: torch.Tensor, kinds: np.ndarray, params: torch.Tensor | None = None) -> torch.Tensor:
    """h[s] = activation ``kinds[s]`` of z[s] for a (S, width, N) CPU float32 layer, differentiable
    in z and in ``params`` ((S, width, k): prelu's slope is column 0)."""
    if z.dim() != 3 or z.shape[0] != len(kinds):
        raise ValueError(f"z must be ({len(kinds)}, width, N), got {tuple(z.shape)}")
    if not can_fuse(z):
        raise TypeError(f"packed_activation takes CPU float32 layers, got {z.dtype} on {z.device}")
    if not torch.is_grad_enabled() or not (z.requires_grad or (params is not None and params.requires_grad)):
        # inference (recording an epoch): no derivative, no autograd node
        h, _ = _forward(z.detach().contiguous(), kinds,
                        None if params is None else params.detach().contiguous(), with_derivative=False)
        return h
    out: torch.Tensor = _PackedActivation.apply(z, params, kinds)
    return out
