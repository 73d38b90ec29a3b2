"""Adam over one flat parameter buffer (for SeedBatchedMLP, whose parameters alias it)."""

from __future__ import annotations

import math

import torch

from .._params import positive_finite


class FlatAdam:
    """Adam (Kingma & Ba; torch.optim.Adam's arithmetic, no weight decay) on a flat buffer.

    The parameters' ``.grad`` are set to views of one flat gradient buffer; autograd accumulates
    into them in place, so the whole update is a handful of ops on two flat tensors. Being
    elementwise, Adam on the stacked seeds equals Adam on each seed separately.
    """

    def __init__(
        self,
        flat: torch.Tensor,
        params: list[torch.nn.Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.flat = flat
        self.lr = positive_finite(lr, "lr")
        self.betas, self.eps = betas, float(eps)
        self.grad = torch.zeros_like(flat)
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)
        self.t = 0
        base = flat.data_ptr()
        for p in params:
            offset = (p.data_ptr() - base) // flat.element_size()
            if not (0 <= offset and offset + p.numel() <= flat.numel()):
                raise ValueError("every parameter must alias a slice of the flat buffer")
            p.grad = self.grad[offset:offset + p.numel()].view(p.shape)

    def zero_grad(self) -> None:
        self.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        self.m.mul_(b1).add_(self.grad, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(self.grad, self.grad, value=1 - b2)
        bias1 = 1 - b1**self.t
        bias2_sqrt = math.sqrt(1 - b2**self.t)
        denom = (self.v.sqrt() / bias2_sqrt).add_(self.eps)
        self.flat.addcdiv_(self.m, denom, value=-self.lr / bias1)
