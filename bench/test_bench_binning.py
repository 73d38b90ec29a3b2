"""Binning + distinct-row entropy of a 70000 x 1000 layer: ibfast against numpy.

    pytest bench/test_bench_binning.py -p no:cacheprovider --benchmark-columns=min,median,rounds

1. The estimator (the issue's target): FixedRange(30) I(X;T) and I(T;Y) of a 70000 x 1000 tanh
layer with 10 classes, from the float32 matrix and the labels to the two numbers in bits:

* ibfast: ibfast.FixedRange(30)(T, y): intake, then one fused pass that bins, hashes and counts
  (no code matrix).
* ibfast-two-pass: the same estimator through its two passes (bin codes, then row_entropy): the
  path before the fused kernel, with bit-identical numbers (checked).
* numpy: what a user writes: codes = np.digitize(T, edges) as uint8, H(T) from
  np.unique(codes, axis=0, return_counts=True), H(T|Y) = sum_c p(c) H(T | Y=c) from np.unique of
  each class's rows.

Targets: ibfast >= 25x numpy and < 40 ms. The peak memory each ibfast path adds (the two passes
hold the 280 MB int32 code matrix) is measured after the timings.

2. The functional kernels: the layer is ReLU of a random linear map of 64-dimensional Gaussian
inputs (about half exact zeros), binned with 30 edges linspace(0, max, 30); the entropy is the
plug-in entropy of the distinct rows of bin codes, in bits. Implementations, timed from the
float32 matrix to H:

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
from ibfast.estimators.binning import Bins

from .conftest import clear_refs_works, peak_extra_bytes

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


# --------------------------------------------------------------------------------------------
# 1. The estimator: FixedRange(30) I(X;T) and I(T;Y), 70000 x 1000 tanh, 10 classes
# --------------------------------------------------------------------------------------------

N_CLASSES = 10
EST_GROUP = f"FixedRange(30) I(X;T), I(T;Y) N={N} d={D} tanh {N_CLASSES} classes"


class TwoPassFixedRange(ibfast.FixedRange):
    """FixedRange through its two passes: _codes, then row_entropy (the path before fusion)."""

    def _bins(self, x: Any) -> tuple[Bins, dict[str, Any]] | None:
        return None


def labels_10(n: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, N_CLASSES, n)


def ibfast_mi(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    r = ibfast.FixedRange(30)(t, y)
    return r.i_xt, r.i_ty


def ibfast_two_pass_mi(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    r = TwoPassFixedRange(30)(t, y)
    return r.i_xt, r.i_ty


def _entropy_bits(codes: np.ndarray) -> float:
    _, counts = np.unique(codes, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log2(p)))


def numpy_mi(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    edges = np.linspace(-1.0, 1.0, 30)
    codes = np.digitize(t, edges).astype(np.uint8)  # code + 1: 0 below the first edge
    h_t = _entropy_bits(codes)
    h_t_given_y = sum(float(np.mean(y == c)) * _entropy_bits(codes[y == c]) for c in np.unique(y))
    return h_t, h_t - h_t_given_y  # I(X;T) = H(T) for distinct inputs


EST_IMPLS = {
    "ibfast": (ibfast_mi, 9, 2),  # (function, rounds, warmup rounds)
    "ibfast-two-pass": (ibfast_two_pass_mi, 5, 1),
    "numpy": (numpy_mi, 2, 0),
}


@pytest.mark.parametrize("impl", list(EST_IMPLS))
def test_fixed_range_mi_70000x1000(compare: Any, cache: dict, layer: Any, impl: str):
    t = layer("tanh", N, D)
    y = labels_10(N)
    compare.group(EST_GROUP)
    fn, rounds, warmup = EST_IMPLS[impl]
    got = compare(impl, fn, t, y, rounds=rounds, warmup_rounds=warmup)
    key = ("fixed-range-mi", EST_GROUP)
    if key not in cache:
        cache[key] = got if impl == "ibfast" else ibfast_mi(t, y)
    want = cache[key]
    if impl == "ibfast":
        compare.target_speedup("numpy", 25.0)
        compare.target_time(0.040)
        compare.note(f"I(X;T) = {got[0]:.6f} bits (log2 N = {np.log2(N):.6f}), I(T;Y) = {got[1]:.6f} bits")
    elif impl == "ibfast-two-pass":
        assert got == want, f"two passes {got!r} != fused {want!r}: not bit for bit"
        compare.note("ibfast-two-pass = the same estimator through bin codes + row_entropy: bit-identical")
    else:
        assert abs(got[0] - want[0]) <= 1e-9, f"numpy I(X;T) {got[0]!r}, ibfast {want[0]!r}"
        assert abs(got[1] - want[1]) <= 1e-9, f"numpy I(T;Y) {got[1]!r}, ibfast {want[1]!r}"
        compare.note("numpy's I(X;T) and I(T;Y) agree with ibfast's to 1e-9 bits")


def test_fixed_range_mi_peak_memory(compare: Any, layer: Any):
    """Peak resident memory each ibfast path adds (C++ allocations included), after the layer and
    the labels exist: the fused pass holds O(N) hashes and ids, the two passes the N x d codes."""
    if not clear_refs_works():
        pytest.skip("needs Linux /proc/self/clear_refs and VmHWM to measure peak memory")
    t = layer("tanh", N, D)
    y = labels_10(N)
    ibfast_mi(t[:512], y[:512])  # threads and code pages in place before measuring
    ibfast_two_pass_mi(t[:512], y[:512])
    compare.group(EST_GROUP)
    _, control = peak_extra_bytes(lambda: np.ones(2**21))
    assert control >= 12 * 2**20, f"peak-memory measurement missed a 16 MB array ({control} B)"
    fused, fused_peak = peak_extra_bytes(ibfast_mi, t, y)
    two, two_peak = peak_extra_bytes(ibfast_two_pass_mi, t, y)
    assert fused == two
    codes_mb = N * D * 4 / 2**20
    fused_mb, two_mb = fused_peak / 2**20, two_peak / 2**20
    compare.check("peak extra memory, fused", f"{fused_mb:.1f} MB", "< 50 MB", fused_mb < 50)
    compare.check("peak extra memory, two passes", f"{two_mb:.1f} MB", f">= the {codes_mb:.0f} MB of codes",
                  two_mb >= 0.95 * codes_mb)
    assert fused_mb < 50, f"the fused estimate added {fused_mb:.1f} MB of peak memory"
