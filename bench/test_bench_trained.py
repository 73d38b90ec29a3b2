"""The grid's estimation on layers of networks actually trained (bench/trained_layers.py).

    pytest bench/test_bench_trained.py -p no:cacheprovider --benchmark-columns=min,median,rounds

The paper's grid estimates every recorded epoch of every seed with five estimators: EBAB and
Shwartz-Ziv & Tishby's fixed bins, adaptive KDE with power 1 and power 2, and Saxe et al.'s KDE
(s2 = 1e-3), upper bounds, with I(T;Y) from the labels. On untrained layers (the demo's) most
pairs of rows are too far apart at these noise levels to contribute, and the KDE kernel skips
them; on trained layers most pairs are near. These benchmarks time one seed's recorded epoch
(six layers, N = 4096) at epochs 30, 1000 and 8000 of tanh and ReLU networks:

* ``ibfast``: the five estimators through ``estimate_together`` (what the grid runs);
* ``ibfast-<name>``: one estimator alone (``many`` over the six layers), the issue's table;
* ``torch-rowblock-256``: the same three noise levels the row-blocked torch way (all rows and
  within each class, float32), with no binning: what a careful torch user would write.

Target (issue 17): the five estimators <= 30 ms per seed-epoch on 2 threads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import ibfast

from .test_bench_kde import torch_rowblock_lse
from .trained_layers import trained_layers

CASES = [(a, e) for a in ("tanh", "relu") for e in (30, 1000, 8000)]


def grid_estimators() -> dict[str, Any]:
    return {
        "ebab": ibfast.EBAB(),
        "fixed_range": ibfast.FixedRange(),
        "adaptive_kde_p1": ibfast.AdaptiveKDE(power=1),
        "adaptive_kde_p2": ibfast.AdaptiveKDE(power=2),
        "kde_upper": ibfast.KDE(1e-3),
    }


def together(layers: list[np.ndarray], y: np.ndarray) -> list[list[Any]]:
    return ibfast.estimate_together(list(grid_estimators().values()), layers, y)


def noise_variances(t: np.ndarray) -> list[float]:
    """The three KDE noise levels of the grid for layer t: Saxe's fixed 1e-3 and adaptive KDE's
    two powers with c = 1e-3 (an all-zero layer as if its maximum were 1)."""
    m = float(np.abs(t).max()) or 1.0
    return [1e-3, 1e-3 * m, (1e-3 * m) ** 2]


def torch_grid_kde(layers: list[torch.Tensor], y: np.ndarray, block: int) -> list[list[float]]:
    """I_upper(X;T) in nats per layer and noise level, the row-blocked torch way, with the
    within-class sums I(T;Y) needs."""
    classes = [torch.from_numpy(np.flatnonzero(y == c)) for c in np.unique(y)]
    n = len(y)
    out = []
    for x in layers:
        row = []
        for s2 in noise_variances(x.numpy()):
            alpha = 1.0 / (2.0 * s2)
            i_xt = math.log(n) - float(torch_rowblock_lse(x, alpha, block).double().mean())
            for idx in classes:  # computed as the estimators do, though only I(X;T) is compared
                torch_rowblock_lse(x[idx], alpha, block)
            row.append(i_xt)
        out.append(row)
    return out


@pytest.fixture(scope="module")
def trained() -> Any:
    return trained_layers()


@pytest.mark.parametrize("impl", ["ibfast", "torch-rowblock-256"])
@pytest.mark.parametrize("activation, epoch", CASES)
def test_grid_epoch_on_trained_layers(compare: Any, trained: Any, activation: str, epoch: int, impl: str):
    layers, y = trained.epoch(activation, epoch), trained.labels
    compare.group(f"grid epoch, trained {activation} at epoch {epoch}: 5 estimators, 6 layers N=4096")
    want = together(layers, y)
    if impl == "ibfast":
        got = compare("ibfast", together, layers, y, rounds=5)
        assert got == want
        compare.target_time(0.030)
        compare.note(f"labels: {trained.source}; widths 10 7 5 4 3 2 (+ softmax output)")
        return
    xs = [torch.from_numpy(t) for t in layers]
    got_t = compare(impl, torch_grid_kde, xs, y, 256, rounds=2)
    ibf = {name: r for name, r in zip(grid_estimators(), want, strict=True)}
    # The same numbers to torch's float32 rounding, where that rounding is small: its expanded
    # distances |a|^2 + |b|^2 - 2 a.b lose ~1e-4 on rows near +-1, which alpha = 500 turns into
    # up to 0.13 bits, above log2 N, on saturated layers; those are left out of the comparison.
    ceiling = math.log2(len(y))
    for k in range(len(layers)):
        for name, value in zip(("kde_upper", "adaptive_kde_p1", "adaptive_kde_p2"), got_t[k], strict=True):
            if ibf[name][k].i_xt < ceiling - 0.5:
                assert ibf[name][k].i_xt == pytest.approx(value / math.log(2), abs=0.1)


@pytest.mark.parametrize("name", ["ebab", "fixed_range", "adaptive_kde_p1", "adaptive_kde_p2", "kde_upper"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_each_grid_estimator_on_late_trained_layers(compare: Any, trained: Any, activation: str, name: str):
    layers, y = trained.epoch(activation, 8000), trained.labels
    compare.group(f"one estimator alone, trained {activation} at epoch 8000, 6 layers N=4096")
    est = grid_estimators()[name]
    compare(f"ibfast-{name}", est.many, layers, y, rounds=5)
