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
        self._t_device: torch.Tensor | None = None  # step_on_device's count (float64, on the device)
        base = flat.data_ptr()
        for p in params:
            offset = (p.data_ptr() - base) // flat.element_size()
            if not (0 <= offset and offset + p.numel() <= flat.numel()):
                raise ValueError("every parameter must alias a slice of the flat buffer")
            p.grad = self.grad[offset:offset + p.numel()].view(p.shape)

    def prepare_device_step(self) -> None:
        """Put the step count on the buffer's device for ``step_on_device`` (before any capture:
        a tensor made from a Python value cannot be captured). Again later, it sets the count in
        place: a captured graph keeps updating the same tensor."""
        if self._t_device is None:
            self._t_device = torch.tensor(float(self.t), dtype=torch.float64, device=self.flat.device)
        else:
            self._t_device.fill_(float(self.t))

    def snapshot(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Copies of the parameters, moments and gradient, and the step count (see ``restore``)."""
        return (self.flat.clone(), self.m.clone(), self.v.clone(), self.grad.clone(), self.t)

    def restore(self, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]) -> None:
        """Back to a ``snapshot``, in place (the buffers' addresses stay: captured graphs and the
        parameters' views keep pointing at them); the device step count, if there is one, follows."""
        flat, m, v, grad, t = state
        with torch.no_grad():
            for mine, saved in ((self.flat, flat), (self.m, m), (self.v, v), (self.grad, grad)):
                mine.copy_(saved)
        self.t = int(t)
        if self._t_device is not None:
            self._t_device.fill_(float(self.t))

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

    @torch.no_grad()
    def step_on_device(self) -> None:
        """``step`` with the step count and the bias corrections on the buffer's device: no host
        value enters the update, so a CUDA graph can capture it and replay it at any step (``step``
        bakes its Python bias corrections into each call). Needs ``prepare_device_step`` first;
        advances ``t`` too (a replayed graph does not: its caller adds the steps)."""
        if self._t_device is None:
            raise RuntimeError("call prepare_device_step() before step_on_device()")
        self.t += 1
        t = self._t_device.add_(1.0)
        b1, b2 = self.betas
        self.m.mul_(b1).add_(self.grad, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(self.grad, self.grad, value=1 - b2)
        bias1 = 1.0 - torch.pow(b1, t)
        bias2_sqrt = torch.sqrt(1.0 - torch.pow(b2, t))
        denom = (self.v.sqrt() / bias2_sqrt.to(self.v.dtype)).add_(self.eps)
        self.flat.addcdiv_(self.m * (-self.lr / bias1).to(self.m.dtype), denom)
