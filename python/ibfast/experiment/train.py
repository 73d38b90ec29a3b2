"""Mini-batch training of a seed-batched model: one epoch's optimiser steps, and one step's loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models import SeedBatchedMLP
from ..models.optim import FlatAdam


def cross_entropy(logits_t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every sample for feature-major logits (S, C, B) and labels (S, B).

    The softmax runs over the class axis, which is not the contiguous one: torch's CPU
    log_softmax over a short contiguous last axis (C = 2) is an order of magnitude slower.
    """
    logp = F.log_softmax(logits_t, dim=1)
    return -logp.gather(1, y.unsqueeze(1)).squeeze(1)


def train_one_epoch(
    model: SeedBatchedMLP,
    optimiser: FlatAdam,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
    l2: float | torch.Tensor = 0.0,
) -> int:
    """One pass over the training set in mini-batches: seed s's batches are consecutive slices
    of ``order[s]`` (an (S, n_train) permutation, e.g. from ``BatchOrder.next_epoch()``).

    The loss is the sum over seeds of each seed's mean cross-entropy (+ l2 * its penalty), so
    every seed gets exactly its own gradient; ``l2`` is one strength, or one per seed (an (S,)
    tensor: a packed model of several configurations). Returns the number of optimiser steps.
    """
    n_train, n_seeds = x_train.shape[0], model.n_seeds
    if tuple(order.shape) != (n_seeds, n_train):
        raise ValueError(f"order must be ({n_seeds}, {n_train}), got {tuple(order.shape)}")
    return epoch_steps(model, optimiser, x_train, y_train, order.to(x_train.device), batch_size, l2)


def epoch_steps(
    model: SeedBatchedMLP,
    optimiser: FlatAdam,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
    l2: float | torch.Tensor = 0.0,
    *,
    on_device: bool = False,
) -> int:
    """``train_one_epoch``'s steps, unchecked, with ``order`` on the data's device. ``on_device``:
    Adam's ``step_on_device`` (the update a CUDA graph can capture, experiment/graphed.py)."""
    step = optimiser.step_on_device if on_device else optimiser.step
    steps = 0
    for start in range(0, x_train.shape[0], batch_size):
        loss = batch_loss(model, x_train, y_train, order[:, start:start + batch_size], l2)
        optimiser.zero_grad()
        loss.backward()
        step()
        steps += 1
    return steps


def batch_loss(
    model: SeedBatchedMLP,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    idx: torch.Tensor,
    l2: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """The loss of one mini-batch step: seed s's samples are ``idx[s]`` (an (S, B) index slice),
    the sum over seeds of each seed's mean cross-entropy, plus l2 (one strength or one per seed)
    times its penalty. No host synchronisation: a CUDA graph can capture it (experiment/graphed.py)."""
    n_seeds = model.n_seeds
    flat_idx = idx.reshape(-1)
    # index_select is several times faster than advanced indexing on CPU
    xb = x_train.index_select(0, flat_idx).view(n_seeds, -1, x_train.shape[1]).transpose(1, 2)
    yb = y_train.index_select(0, flat_idx).view(n_seeds, -1)
    _, logits_t = model.forward_features(xb, keep_hidden=False)
    loss = cross_entropy(logits_t, yb).mean(dim=1).sum()
    if isinstance(l2, torch.Tensor):
        loss = loss + (l2 * model.l2_penalty()).sum()
    elif l2 > 0:
        loss = loss + l2 * model.l2_penalty().sum()
    return loss
