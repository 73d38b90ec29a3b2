"""ibfast: fast mutual-information estimators for the information plane of neural networks.

>>> import ibfast
>>> r = ibfast.EBAB(n_bins=30)(T, labels)      # T: (N, d) activations, labels: (N,)
>>> r.i_xt, r.i_ty                              # bits
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import estimators, kernels, reference
from ._backend import build_info, cuda_available, cuda_built, set_num_threads
from .estimators import *  # noqa: F403  (the estimator API is ibfast's API; its __all__ is the list)
from .estimators import estimate_bounds as estimate_bounds  # deprecated: estimate_together
from .estimators import many_together as many_together  # deprecated: estimate_together
from .estimators._deprecated import RENAMED, UNEXPORTED, deprecated_attribute

try:
    __version__ = version("ibfast")  # written once, in pyproject.toml
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    *estimators.__all__,
    "__version__",
    "build_info",
    "cuda_available",
    "cuda_built",
    "kernels",
    "reference",
    "set_num_threads",
]


def __getattr__(name: str) -> Any:
    """``ibfast.monitor`` on first use (it imports torch: ``import ibfast`` stays light), and the
    renamed classes' old names (``KDEBase``, ``BinWidth``) and the registry plumbing ``ibfast``
    exported before, for one more release, with a DeprecationWarning."""
    if name == "monitor":
        # importing the subpackage binds ibfast.monitor, so later lookups do not come here;
        # ``from . import monitor`` would (its hasattr check calls this function again)
        import sys

        from .monitor import InfoPlaneRecorder  # noqa: F401

        return sys.modules[f"{__name__}.monitor"]
    return deprecated_attribute(__name__, name, {**RENAMED, **UNEXPORTED})
