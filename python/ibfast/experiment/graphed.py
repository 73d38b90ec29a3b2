"""A training epoch on a GPU as one CUDA graph replay.

A packed grid's step is about a hundred small kernels (a batched matmul, an activation per block of
seeds, their backward, Adam) of a few microseconds each, so on a GPU the step is bound by their
launches, not by the arithmetic. ``GraphedEpoch`` captures a whole epoch's optimiser steps (every
mini-batch, the last partial one included) once, and each epoch is then one copy of the batch
order into a fixed buffer and one graph replay.

The captured steps are ``train_one_epoch``'s (``epoch_steps``: ``batch_loss``, backward into the
flat gradient, then ``FlatAdam.step_on_device``): the same numbers as eager training to float
rounding (the bias corrections are computed on the device in float64, not on the host).
"""

from __future__ import annotations

import torch

from ..models import SeedBatchedMLP
from ..models.optim import FlatAdam
from .train import epoch_steps

# Eager passes over the captured code on the capture stream before capture: they set up what
# must not be created during one (cuBLAS handles and workspaces, autograd's device state).
_WARMUP_EPOCHS = 2


class GraphedEpoch:
    """``run_epoch(order)`` trains one epoch like ``train_one_epoch(model, optimiser, x_train,
    y_train, order, batch_size, l2)``, from one CUDA graph captured at construction.

    Construction runs the epoch eagerly (``_WARMUP_EPOCHS`` times) and captures it; the model and
    optimiser are restored afterwards, so training starts from the state they were given.
    """

    def __init__(
        self,
        model: SeedBatchedMLP,
        optimiser: FlatAdam,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        batch_size: int,
        l2: float | torch.Tensor = 0.0,
    ) -> None:
        device = model.flat.device
        if device.type != "cuda" or not x_train.is_cuda or not y_train.is_cuda:
            raise ValueError(f"CUDA graphs need the model and data on a CUDA device, got {device}")
        if isinstance(l2, torch.Tensor) and l2.device != device:
            raise ValueError("the per-seed l2 strengths must be on the model's device")
        self.model, self.optimiser = model, optimiser
        self.x_train, self.y_train, self.l2 = x_train, y_train, l2
        self.batch_size = int(batch_size)
        self.n_train = int(x_train.shape[0])
        self.steps = -(-self.n_train // self.batch_size)
        # The batch order the graph reads: (S, n_train) at a fixed address, refilled every epoch
        # from a pinned host buffer without waiting for the previous epoch's replay.
        self.order = torch.arange(self.n_train, device=device).repeat(model.n_seeds, 1)
        self._staging = torch.empty(self.order.shape, dtype=self.order.dtype, pin_memory=True)
        self._staged = torch.cuda.Event()
        self.graph = torch.cuda.CUDAGraph()
        optimiser.prepare_device_step()
        state = optimiser.snapshot()
        current = torch.cuda.current_stream(device)
        stream = torch.cuda.Stream(device=device)
        stream.wait_stream(current)
        try:
            # One outer stream context: should the capture fail, the caller's stream is current
            # again all the same (torch.cuda.graph restores it only after a clean capture_end).
            with torch.cuda.stream(stream):
                for _ in range(_WARMUP_EPOCHS):
                    self._epoch()
                with torch.cuda.graph(self.graph, stream=stream):
                    self._epoch()
        finally:
            current.wait_stream(stream)
            optimiser.restore(state)  # warm-up steps trained; capture advanced the host count
        self._t = optimiser.t

    def _epoch(self) -> None:
        epoch_steps(self.model, self.optimiser, self.x_train, self.y_train, self.order, self.batch_size,
                    self.l2, on_device=True)

    def run_epoch(self, order: torch.Tensor) -> int:
        """One epoch with seed s's batches the consecutive slices of ``order[s]`` (an (S, n_train)
        permutation, as ``train_one_epoch`` takes); returns the number of optimiser steps."""
        if tuple(order.shape) != tuple(self.order.shape):
            raise ValueError(f"order must be {tuple(self.order.shape)}, got {tuple(order.shape)}")
        opt = self.optimiser
        if opt.t != self._t:  # eager steps in between: the graph reads the device count
            opt.prepare_device_step()
        self._staged.synchronize()  # the last epoch's copy has read the staging buffer
        self._staging.copy_(order)
        self.order.copy_(self._staging, non_blocking=True)
        self._staged.record()
        self.graph.replay()
        opt.t += self.steps  # the device count advanced in the graph
        self._t = opt.t
        return self.steps
