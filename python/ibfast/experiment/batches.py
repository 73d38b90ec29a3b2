"""Mini-batch order: which training samples each seed's batches hold, epoch by epoch.

- ``fixed`` (Chelombiev et al.'s code, and the IDNNs'): the training set cut into the same
  contiguous batches every epoch, in order, for every seed; seeds then differ in their
  initialisation only.
- ``per_seed``: every seed reshuffles every epoch with its own generator, as separate runs with
  their own shuffling would (ibfast's former default).
- ``shared_shuffle``: reshuffled every epoch, the same order for every seed (one generator seeded
  by ``batch_seed``): shuffled batches, yet seeds still differ in their initialisation only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._params import one_of

BATCH_ORDERS = ("fixed", "per_seed", "shared_shuffle")


class BatchOrder:
    """``next_epoch()`` gives the (S, n_train) sample order of the coming epoch for S seeds."""

    def __init__(self, kind: str, seeds: Sequence[int], n_train: int, batch_seed: int = 0) -> None:
        self.kind = one_of(kind, "batch_order", BATCH_ORDERS)
        self.n_seeds, self.n_train = len(seeds), int(n_train)
        if self.kind == "per_seed":
            self._gens = [torch.Generator().manual_seed(10_007 * int(s) + 1) for s in seeds]
        elif self.kind == "shared_shuffle":
            self._gens = [torch.Generator().manual_seed(int(batch_seed))]
        else:
            self._gens = []

    def state(self) -> list[torch.Tensor]:
        """The generators' states (for a checkpoint)."""
        return [g.get_state() for g in self._gens]

    def set_state(self, states: list[torch.Tensor]) -> None:
        if len(states) != len(self._gens):
            raise ValueError(f"a batch-order state of {len(states)} generators for {len(self._gens)}")
        for g, s in zip(self._gens, states, strict=True):
            g.set_state(s)

    def next_epoch(self) -> torch.Tensor:
        if self.kind == "fixed":
            return torch.arange(self.n_train).expand(self.n_seeds, -1)
        orders = [torch.randperm(self.n_train, generator=g) for g in self._gens]
        if self.kind == "shared_shuffle":
            return orders[0].expand(self.n_seeds, -1)
        return torch.stack(orders)
