"""Data sets: the 12-bit task (generator and var_u.mat loader), sklearn digits, MNIST from a path."""

from .dataset import Dataset, split_indices
from .digits import load_digits
from .mnist import load_mnist
from .twelve_bit import VAR_U_SHA256, all_patterns, generate, load_var_u

__all__ = [
    "VAR_U_SHA256",
    "Dataset",
    "all_patterns",
    "generate",
    "load_digits",
    "load_mnist",
    "load_var_u",
    "split_indices",
]
