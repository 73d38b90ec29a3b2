"""ibfast: fast mutual-information estimators for the information plane of neural networks.

>>> import ibfast
>>> r = ibfast.EBAB(n_bins=30)(T, labels)      # T: (N, d) activations, labels: (N,)
>>> r.i_xt, r.i_ty                              # bits
"""

from . import kernels, reference
from ._backend import build_info, cuda_available, cuda_built, set_num_threads
from .estimators import (
    EBAB,
    KDE,
    AdaptiveKDE,
    AdaptiveRange,
    BinningEstimator,
    BinWidth,
    FixedRange,
    MIResult,
)

__version__ = "0.1.0"

__all__ = [
    "EBAB",
    "KDE",
    "AdaptiveKDE",
    "AdaptiveRange",
    "BinWidth",
    "BinningEstimator",
    "FixedRange",
    "MIResult",
    "__version__",
    "build_info",
    "cuda_available",
    "cuda_built",
    "kernels",
    "reference",
    "set_num_threads",
]
