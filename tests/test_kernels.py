"""The functional kernels in ibfast.kernels against numpy and ibfast.reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import KINDS, activations
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ibfast import kernels, reference

# --------------------------------------------------------------------------------------------
# bin_by_edges
# --------------------------------------------------------------------------------------------


def test_bin_by_edges_on_below_and_above_the_edges():
    edges = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    T = np.array(
        [[-2.0, -1.0, -0.75, -0.5], [0.0, 0.25, 0.5, 0.9999], [1.0, 1.5, 100.0, -1.0001]],
        dtype=np.float32,
    )
    expected = np.array([[-1, 0, 0, 1], [2, 2, 3, 3], [4, 4, 4, -1]])
    got = kernels.bin_by_edges(T, edges)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, reference.bin_by_edges(T, edges))
    assert got.shape == T.shape
    assert np.issubdtype(got.dtype, np.integer)


def test_bin_by_edges_compares_as_float64():
    # linspace(-1, 1, 30) edges are not float32 numbers: float32(edge) may lie just below or just
    # above the float64 edge, and the code must follow the float64 comparison
    edges = np.linspace(-1.0, 1.0, 30)
    e32 = edges.astype(np.float32)
    T = np.stack(
        [e32, np.nextafter(e32, np.float32(-2)), np.nextafter(e32, np.float32(2))], axis=1
    )
    got = kernels.bin_by_edges(T, edges)
    np.testing.assert_array_equal(got, reference.bin_by_edges(T, edges))
    # and not merely by the float32 comparison everywhere
    naive = np.searchsorted(e32, T, side="right") - 1
    assert np.any(naive != got)


def test_bin_by_edges_repeated_edges_leave_empty_bins():
    edges = np.array([0.0, 1.0, 1.0, 1.0, 2.0])
    T = np.array([[0.5, 1.0, 1.5, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(kernels.bin_by_edges(T, edges), [[0, 3, 3, 4, 4]])


def test_bin_by_edges_single_edge():
    T = np.array([[-1.0], [0.0], [2.0]], dtype=np.float32)
    np.testing.assert_array_equal(kernels.bin_by_edges(T, [0.0]), [[-1], [0], [0]])


@settings(max_examples=60, deadline=None)
@given(
    T=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 50), st.integers(1, 6)),
        elements=st.floats(-3, 3, width=32, allow_subnormal=False),
    ),
    edges=st.lists(st.floats(-2.5, 2.5), min_size=1, max_size=40).map(sorted),
    reuse=st.booleans(),
)
def test_bin_by_edges_matches_reference(T, edges, reuse):
    if reuse:  # put some values exactly on edges
        flat = T.reshape(-1)
        flat[: len(edges)] = np.asarray(edges[: flat.size], dtype=np.float32)
    np.testing.assert_array_equal(
        kernels.bin_by_edges(T, edges), reference.bin_by_edges(T, np.asarray(edges))
    )


# --------------------------------------------------------------------------------------------
# bin_by_width
# --------------------------------------------------------------------------------------------


def test_bin_by_width_exact_multiples_and_negatives():
    T = np.array([[0.0, -0.0, 0.5, 1.0, -0.5, -0.25, 0.49999997, 1e-30, -1e-30]], np.float32)
    expected = [[0, 0, 1, 2, -1, -1, 0, 0, -1]]
    np.testing.assert_array_equal(kernels.bin_by_width(T, 0.5), expected)
    np.testing.assert_array_equal(reference.bin_by_width(T, 0.5), expected)


@pytest.mark.parametrize("width", [0.07, 0.5, 1.0, 3.3, 1e-3])
@pytest.mark.parametrize("kind", KINDS)
def test_bin_by_width_matches_reference(kind, width):
    T = activations(kind, 200, 7, np.random.default_rng(len(kind)))
    np.testing.assert_array_equal(
        kernels.bin_by_width(T, width), reference.bin_by_width(T, width)
    )


def test_bin_by_width_on_multiples_of_width():
    # k * 0.07 in float32 lies a hair above or below the float64 multiple: floor in float64
    T = (np.float32(0.07) * np.arange(-100, 101, dtype=np.float32))[:, None]
    np.testing.assert_array_equal(kernels.bin_by_width(T, 0.07), reference.bin_by_width(T, 0.07))


# --------------------------------------------------------------------------------------------
# sorted_distinct and ebab_edges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sorted_distinct_matches_numpy(kind):
    T = activations(kind, 300, 5, np.random.default_rng(3))
    T[0, :2] = [-0.0, 0.0]
    got = kernels.sorted_distinct(T)
    want = np.unique(T)
    np.testing.assert_array_equal(got, want)
    assert np.sum(got == 0) <= 1  # -0.0 and 0.0 are one value


def test_sorted_distinct_negative_zero_only():
    T = np.array([[-0.0, -0.0], [1.0, -0.0]], dtype=np.float32)
    np.testing.assert_array_equal(kernels.sorted_distinct(T), [0.0, 1.0])


@pytest.mark.parametrize("n_bins", [1, 2, 30, 100])
@pytest.mark.parametrize("lower", ["auto", None, 0.0, -0.5])
def test_ebab_edges_kernel_matches_reference(n_bins, lower):
    for kind in KINDS:
        T = activations(kind, 150, 4, np.random.default_rng(n_bins))
        np.testing.assert_array_equal(
            kernels.ebab_edges(T, n_bins=n_bins, lower=lower),
            reference.ebab_edges(T, n_bins, lower),
        )


# --------------------------------------------------------------------------------------------
# distinct_row_entropy: never merge different rows
# --------------------------------------------------------------------------------------------


def _check_entropy(codes, *groupings):
    r = kernels.distinct_row_entropy(codes, *groupings)
    assert r.n_distinct == len(np.unique(codes, axis=0))
    assert r.h == pytest.approx(reference.entropy_of_rows(codes), abs=1e-9)
    assert len(r.h_given) == len(groupings)
    for h, g in zip(r.h_given, groupings, strict=True):
        assert h == pytest.approx(reference.conditional_entropy_of_rows(codes, g), abs=1e-9)
    return r


def test_permutations_of_the_same_values_are_different_rows():
    # sum/xor/sorted-multiset hashes collide on permutations
    rows = np.array(list(itertools.permutations(range(7))), dtype=np.int32)  # 5040 rows
    r = _check_entropy(rows)
    assert r.n_distinct == 5040
    assert r.h == pytest.approx(math.log2(5040), abs=1e-9)


def test_rows_differing_in_one_element():
    n, d = 3000, 40
    rows = np.zeros((n, d), dtype=np.int32)
    rows[np.arange(n), np.arange(n) % d] = np.arange(n) // d + 1  # each row unique
    r = _check_entropy(rows)
    assert r.n_distinct == n
    # and in the last element only, with large and negative codes
    rows2 = np.tile(np.array([5, -1, 2**31 - 1, -(2**31)], dtype=np.int32), (1000, 1))
    rows2[:, -1] = np.arange(1000, dtype=np.int32) * 7919 - 2**30
    assert _check_entropy(rows2).n_distinct == 1000


def test_rows_that_collide_in_simple_linear_hashes():
    # rows (a, b) with a * P + b equal for P = 31 and 2^32 wrap-arounds
    a = np.arange(500, dtype=np.int64)
    rows = np.stack([a, 1000 - 31 * a], axis=1).astype(np.int32)  # 31 a + b == 1000
    wrap = np.stack([a, a + 2**16], axis=1).astype(np.int32)
    both = np.concatenate([rows, wrap, rows])  # rows twice: p = 2/1500 each
    r = _check_entropy(both, np.r_[np.zeros(1000), np.ones(500)])
    assert r.n_distinct == 1000


def test_distinct_row_entropy_with_duplicates_and_groupings():
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 3, size=(2000, 3)).astype(np.int32)
    labels = rng.integers(0, 5, size=2000)
    ids = rng.integers(0, 700, size=2000)
    r = _check_entropy(codes, labels, ids)
    assert r.n_distinct <= 27
    # units
    n = kernels.distinct_row_entropy(codes, labels, units="nats")
    assert n.h == pytest.approx(r.h * math.log(2.0), rel=1e-12)


def test_distinct_row_entropy_single_column_and_row():
    assert kernels.distinct_row_entropy(np.array([[3]], dtype=np.int32)).h == 0.0
    r = _check_entropy(np.arange(8, dtype=np.int32).reshape(8, 1))
    assert r.h == pytest.approx(3.0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    codes=hnp.arrays(
        np.int32,
        st.tuples(st.integers(1, 80), st.integers(1, 6)),
        elements=st.integers(-3, 3) | st.sampled_from([2**31 - 1, -(2**31), 65536, -65536]),
    ),
    n_groups=st.integers(1, 6),
)
def test_distinct_row_entropy_random(codes, n_groups):
    g = np.arange(codes.shape[0]) % n_groups
    _check_entropy(codes, g)


# --------------------------------------------------------------------------------------------
# kde_log_sum_exp
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    d=st.integers(1, 40),
    kind=st.sampled_from(KINDS),
    alpha=st.sampled_from([0.01, 1.0, 125.0, 500.0]),
    n_groups=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_kde_log_sum_exp_matches_reference(n, d, kind, alpha, n_groups, seed):
    rng = np.random.default_rng(seed)
    T = activations(kind, n, d, rng) * np.float32(0.1)
    g = rng.integers(0, n_groups, size=n)
    got_all, got_within = kernels.kde_log_sum_exp(T, alpha, g)
    ref_all, ref_within = reference.kde_log_sum_exp(T, alpha, g)
    # tolerance: see test_kde.test_log_sum_exp_per_row_matches_reference
    np.testing.assert_allclose(got_all, ref_all, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(got_within, ref_within, rtol=1e-5, atol=2e-6)


# --------------------------------------------------------------------------------------------
# The scans behind the intake's finite check and the layer range (_core.count_nonfinite, min_max)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 15, 16, 17, 1000, 2**16 + 5, 2**18 + 3, 3 * 2**18 + 17])
def test_count_nonfinite_and_min_max_match_numpy(size):
    from ibfast import _core

    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(np.float32)
    assert _core.count_nonfinite(x) == 0
    x[-1] = 50.0  # the extremes in the scalar tail, then in the first block
    assert _core.min_max(x) == (float(x.min()), 50.0)
    x[0] = -60.0
    assert _core.min_max(x) == (-60.0, 50.0)
    assert _core.min_max(x.reshape(1, -1)) == (-60.0, 50.0)
    bad = rng.choice(size, size=min(size, 7), replace=False)
    x[bad] = rng.choice(np.array([np.nan, np.inf, -np.inf], np.float32), size=bad.size)
    assert _core.count_nonfinite(x) == size - np.count_nonzero(np.isfinite(x))
    y = np.full(size, np.float32(3e38))  # large but finite, and the largest float
    y[-1] = np.finfo(np.float32).max
    assert _core.count_nonfinite(y) == 0
    assert _core.min_max(y) == (float(np.float32(3e38)), float(np.finfo(np.float32).max))
    assert _core.min_max(np.array([-2.5], np.float32)) == (-2.5, -2.5)
    assert _core.count_nonfinite(np.array([np.inf], np.float32)) == 1
