"""A quick look at every estimator on the layers of an untrained 12-10-7-5-4-3-2 network.

Inputs are all 4096 12-bit patterns; labels come from a spherically symmetric rule. This needs no
torch and no data file; ``ibfast run`` trains real networks.
"""

from __future__ import annotations

import itertools

import numpy as np

from .data.twelve_bit import all_patterns
from .estimators import MIResult, estimator_names, make_estimator


def demo_layers(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Activations of a random tanh 12-10-7-5-4-3-2 net (softmax output) and balanced labels."""
    rng = np.random.default_rng(seed)
    x = all_patterns()[:, ::-1].astype(np.float64)  # column j = bit j (least significant first)
    r = np.linalg.norm(x - 0.5, axis=1) + 0.01 * rng.standard_normal(4096)
    labels = (r > np.median(r)).astype(np.int64)
    layers, h = [], x
    widths = [12, 10, 7, 5, 4, 3, 2]
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        z = h @ (rng.standard_normal((a, b)) * np.sqrt(1.0 / a))
        if i < len(widths) - 2:
            h = np.tanh(z)
        else:
            z = z - z.max(1, keepdims=True)
            h = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        layers.append(h.astype(np.float32))
    return layers, labels


def demo_table(seed: int = 0) -> list[tuple[int, MIResult]]:
    """Every registered estimator, with its 12-bit defaults, on every layer."""
    layers, labels = demo_layers(seed)
    estimators = [make_estimator(name) for name in estimator_names()]
    return [(k + 1, est(t, labels)) for k, t in enumerate(layers) for est in estimators]


def format_table(rows: list[tuple[int, MIResult]]) -> str:
    lines = [f"{'layer':>5}  {'estimator':<20} {'I(X;T)':>8} {'I(T;Y)':>8}  (bits)"]
    for layer, r in rows:
        lines.append(f"{layer:>5}  {r.estimator:<20} {r.i_xt:8.4f} {r.i_ty or 0.0:8.4f}")
    return "\n".join(lines)
