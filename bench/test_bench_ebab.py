"""EBAB I(X;T) and I(T;Y) for all 6 layers of one epoch of the 12-10-7-5-4-3-2 network.

    pytest bench/test_bench_ebab.py -p no:cacheprovider --benchmark-columns=min,median,rounds

The input is all 4096 12-bit patterns (bits centred to +-0.5); a random numpy forward pass
(weights N(0, 1/fan_in), zero biases) gives five tanh hidden layers and a 2-unit softmax output;
labels are binary, half ones (a random linear rule on the bits). Implementations:

* ibfast: ``ibfast.EBAB(n_bins=30)(T, labels)`` for each of the 6 layers.
* reference: ``ibfast.reference.ebab(T, labels, n_bins=30)`` for each layer (numpy np.unique).

Target: ibfast under 5 ms for the 6 layers (one recorded epoch; 274 epochs make a run).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import ibfast
from ibfast import reference

WIDTHS = (10, 7, 5, 4, 3, 2)
GROUP = "ebab 6 layers of 12-10-7-5-4-3-2, N=4096"


def network_layers(bits: np.ndarray, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    x = bits.astype(np.float64) - 0.5
    layers = []
    h = x
    for k, width in enumerate(WIDTHS):
        w = rng.standard_normal((h.shape[1], width)) / math.sqrt(h.shape[1])
        z = h @ w
        if k < len(WIDTHS) - 1:
            h = np.tanh(z)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
        layers.append(np.ascontiguousarray(h, dtype=np.float32))
    score = x @ rng.standard_normal(12)
    labels = (score > np.median(score)).astype(np.int64)
    return layers, labels


def ibfast_ebab(layers: list[np.ndarray], labels: np.ndarray) -> list[tuple[float, float]]:
    out = []
    for t in layers:
        r = ibfast.EBAB(n_bins=30)(t, labels)
        out.append((r.i_xt, r.i_ty))
    return out


def reference_ebab(layers: list[np.ndarray], labels: np.ndarray) -> list[tuple[float, float]]:
    out = []
    for t in layers:
        r = reference.ebab(t, labels, n_bins=30)
        out.append((r["i_xt"], r["i_ty"]))
    return out


IMPLS = {"ibfast": (ibfast_ebab, 50, 3), "reference": (reference_ebab, 5, 1)}


@pytest.fixture(scope="module")
def net(twelve_bit_x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    return network_layers(twelve_bit_x)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_ebab_one_epoch(compare: Any, net: tuple[list[np.ndarray], np.ndarray], impl: str):
    layers, labels = net
    assert 0.4 < labels.mean() < 0.6
    compare.group(GROUP)
    fn, rounds, warmup = IMPLS[impl]
    got = compare(impl, fn, layers, labels, rounds=rounds, warmup_rounds=warmup)
    other = reference_ebab if impl == "ibfast" else ibfast_ebab
    want = other(layers, labels)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=0, atol=1e-9)
    if impl == "ibfast":
        compare.target_time(5e-3)
        compare.note("I(X;T) bits per layer: " + ", ".join(f"{a:.3f}" for a, _ in got))
        compare.note("I(T;Y) bits per layer: " + ", ".join(f"{b:.3f}" for _, b in got))
