"""Which epochs are recorded: log-spaced, dense early (Shwartz-Ziv & Tishby; Chelombiev et al.)."""

from __future__ import annotations

import numpy as np

from .._params import positive_int


def log_spaced_epochs(epochs: int, n_points: int = 400) -> np.ndarray:
    """unique(int(logspace(0, log2 epochs, n_points, base 2))) - 1: 0-based epoch indices.

    For 8000 epochs and 400 points these are the 274 epochs of the papers, from 0 to 7999.
    Whether epoch e is taken before its training pass (the authors' protocol: epoch 0 is the
    untrained network) or after it is the configuration's ``record_timing``.
    """
    positive_int(epochs, "epochs")
    positive_int(n_points, "n_points")
    points = np.logspace(0.0, np.log2(epochs), n_points, base=2.0).astype(np.int64)
    return np.unique(points) - 1
