"""Information planes of your own PyTorch model: ``InfoPlaneRecorder`` hooks chosen layers on a
fixed probe at scheduled epochs and records the tidy table the rest of ibfast reads; the
Lightning callback (``InfoPlaneCallback``, needs ``pip install ibfast[lightning]``) does it from a
``Trainer``. See docs/your-model.md."""

from typing import Any

from .._units import SATURATION_MARGIN_BITS
from .capture import LayerInfo, recordable_layers
from .recorder import DESCRIPTORS, InfoPlaneRecorder, Timings
from .reduce import AUTO_FLAT_MAX, AUTO_K, PCA, Flatten, GlobalAvgPool, RandomProjection, Reduction

__all__ = [
    "AUTO_FLAT_MAX",
    "AUTO_K",
    "DESCRIPTORS",
    "PCA",
    "SATURATION_MARGIN_BITS",
    "Flatten",
    "GlobalAvgPool",
    "InfoPlaneCallback",
    "InfoPlaneRecorder",
    "LayerInfo",
    "RandomProjection",
    "Reduction",
    "Timings",
    "recordable_layers",
]


def __getattr__(name: str) -> Any:
    # the callback imports lightning, an optional extra: only when asked for
    if name == "InfoPlaneCallback":
        from .lightning import InfoPlaneCallback

        return InfoPlaneCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
