"""Networks for the experiments: the activation registry and seed-batched MLPs."""

from . import activations
from .mlp import SeedBatchedMLP

__all__ = ["SeedBatchedMLP", "activations"]
