"""Binning + distinct-row entropy of a 70000 x 1000 layer: ibfast against numpy.

    pytest bench/test_bench_binning.py -p no:cacheprovider --benchmark-columns=min,median,rounds

The layer is ReLU of a random linear map of 64-dimensional Gaussian inputs (about half exact
zeros), binned with 30 edges linspace(0, max, 30); the entropy is the plug-in entropy of the
distinct rows of bin codes, in bits. Implementations, timed from the float32 matrix to H:

* ibfast: ibfast.kernels.bin_by_edges + ibfast.kernels.distinct_row_entropy (hash and verify).
* numpy: what a user writes: np.digitize(T, edges) - 1, np.unique(codes, axis=0,
  return_counts=True), -sum p log2 p.
* reference: ibfast.reference.bin_by_edges + ibfast.reference.entropy_of_rows.

np.unique(axis=0) takes seconds here, so the baselines run one or two rounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ibfast
from ibfast import reference

N, D, N_EDGES = 70000, 1000, 30
GROUP = f"bin+entropy N={N} d={D} relu {N_EDGES} edges"


def ibfast_bin_entropy(t: np.ndarray, edges: np.ndarray) -> tuple[float, np.ndarray]:
    codes = ibfast.kernels.bin_by_edges(t, edges)
    return ibfast.kernels.distinct_row_entropy(codes).h, codes


def numpy_bin_entropy(t: np.ndarray, edges: np.ndarray) -> tuple[float, np.ndarray]:
    codes = np.digitize(t, edges) - 1
    _, counts = np.unique(codes, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log2(p))), codes


def reference_bin_entropy(t: np.ndarray, edges: np.ndarray) -> tuple[float, np.ndarray]:
    codes = reference.bin_by_edges(t, edges)
    return reference.entropy_of_rows(codes), codes


IMPLS = {
    "ibfast": (ibfast_bin_entropy, 3, 1),  # (function, rounds, warmup rounds)
    "numpy": (numpy_bin_entropy, 2, 0),
    "reference": (reference_bin_entropy, 1, 0),
}


@pytest.mark.parametrize("impl", list(IMPLS))
def test_bin_entropy_70000x1000(compare: Any, cache: dict, layer: Any, impl: str):
    t = layer("relu", N, D)
    edges = np.linspace(0.0, float(t.max()), N_EDGES)
    compare.group(GROUP)
    fn, rounds, warmup = IMPLS[impl]
    h, codes = compare(impl, fn, t, edges, rounds=rounds, warmup_rounds=warmup)
    key = ("bin-ibfast", GROUP)
    if impl == "ibfast":
        compare.target_speedup("numpy", 15.0)
        compare.note(f"H(T) = {h:.6f} bits (log2 N = {np.log2(N):.6f}); zeros: {float(np.mean(t == 0)):.0%}")
        cache[key] = (h, codes)
        # The full layer's rows are all distinct; a 4-unit slice has many repeats, so check the
        # entropy itself there against numpy's np.unique.
        sub = np.ascontiguousarray(codes[:, :4])
        _, counts = np.unique(sub, axis=0, return_counts=True)
        p = counts / N
        want = float(-np.sum(p * np.log2(p)))
        got = ibfast.kernels.distinct_row_entropy(sub)
        assert abs(got.h - want) <= 1e-9
        assert got.n_distinct == len(counts)
        return
    if key not in cache:
        cache[key] = ibfast_bin_entropy(t, edges)
    want_h, want_codes = cache[key]
    assert np.array_equal(codes, want_codes), f"{impl} bin codes differ from ibfast's"
    assert abs(h - want_h) <= 1e-9, f"{impl}: H = {h!r} bits, ibfast {want_h!r}"
