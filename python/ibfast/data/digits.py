"""scikit-learn's bundled 8x8 digits: 1797 real images of 10 classes, no download."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset


def load_digits() -> Dataset:
    """Pixel values scaled to [0, 1] (64 inputs), labels 0..9."""
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the digits data set needs scikit-learn: pip install scikit-learn") from err
    bunch = _load()
    x = (np.asarray(bunch.data, dtype=np.float32) / 16.0).copy()
    y = np.asarray(bunch.target, dtype=np.int64)
    return Dataset("digits", x, y, 10, {"source": "sklearn.datasets.load_digits"})
