"""EBAB: edges from distinct values (Chelombiev et al. 2019), checked against its definition."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import KINDS, activations
from hypothesis import given, settings
from hypothesis import strategies as st

import ibfast
from ibfast import reference


def _distinct_per_code(T, codes):
    """{code: number of distinct values of T that got that code}."""
    t = T.reshape(-1)
    c = codes.reshape(-1)
    out = {}
    for code in np.unique(c):
        out[int(code)] = len(np.unique(t[c == code]))
    return out


def _expected_distinct_per_code(U: int, B: int, offset: int) -> dict:
    """From the definition, for U >= B distinct values above `lower`:
    edges e_k = u[k U // B] (k < B) and e_B = u[U-1]. Code k < B - 1 holds
    u[k U // B] .. u[(k+1) U // B - 1]; code B - 1 holds u[(B-1) U // B] .. u[U-2];
    code B (the top edge) holds u[U-1] alone. `offset` = 1 when [lower] leads the edges."""
    exp = {offset + k: (k + 1) * U // B - k * U // B for k in range(B - 1)}
    exp[offset + B - 1] = U - 1 - (B - 1) * U // B
    exp[offset + B] = 1
    return {k: v for k, v in exp.items() if v > 0}


@pytest.mark.parametrize("n_bins", [1, 2, 3, 7, 30, 64])
@pytest.mark.parametrize("n, d", [(100, 1), (97, 3), (1000, 12), (5, 20)])
def test_bins_hold_equal_numbers_of_distinct_values(n, d, n_bins):
    rng = np.random.default_rng(n * 100 + d)
    T = rng.standard_normal((n, d)).astype(np.float32)  # distinct values, both signs
    U = len(np.unique(T))
    assert U >= n_bins
    est = ibfast.EBAB(n_bins=n_bins)  # auto -> None: data has negatives
    codes = est.codes(T)
    got = _distinct_per_code(T, codes)
    assert got == _expected_distinct_per_code(U, n_bins, offset=0)
    # the first B bins differ by at most one distinct value
    counts = [got.get(k, 0) for k in range(n_bins - 1)]
    if counts:
        assert max(counts) - min(counts) <= 1


@pytest.mark.parametrize("n_bins", [1, 4, 30])
def test_bins_with_lower_zero_on_relu(n_bins):
    rng = np.random.default_rng(1)
    T = np.maximum(rng.standard_normal((500, 8)), 0).astype(np.float32)
    n_zero = int(np.sum(T == 0))
    assert n_zero > 1000
    est = ibfast.EBAB(n_bins=n_bins)  # auto -> 0: no negatives
    codes = est.codes(T)
    U = len(np.unique(T[T > 0]))
    expected = _expected_distinct_per_code(U, n_bins, offset=1)
    expected[0] = 1  # the exact zeros
    assert _distinct_per_code(T, codes) == expected


def test_relu_zeros_get_their_own_bin():
    rng = np.random.default_rng(2)
    T = np.maximum(rng.standard_normal((1000, 10)), 0).astype(np.float32)
    T[0, :3] = np.float32(-0.0)  # negative zero is zero, not a negative value
    T[1, 0] = np.float32(1e-38)  # tiny positive: not zero
    est = ibfast.EBAB()
    edges = est.edges(T)
    assert edges[0] == 0.0
    codes = est.codes(T)
    np.testing.assert_array_equal(codes == 0, T == 0)
    assert codes.min() == 0  # no underflow: nothing is negative
    assert codes[1, 0] == 1
    # the zeros do not swallow the bins: all 31 other codes are used
    assert len(np.unique(codes)) == 32


def test_tanh_saturation_at_plus_minus_one():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((800, 6))
    T = np.tanh(3 * z).astype(np.float32)
    T[np.abs(z) > 1.0] = np.sign(z[np.abs(z) > 1.0])
    assert np.sum(T == 1.0) > 500 and np.sum(T == -1.0) > 500
    est = ibfast.EBAB()  # negatives present -> lower None
    edges = est.edges(T)
    assert edges[0] == -1.0 and edges[-1] == 1.0 and len(edges) == 31
    codes = est.codes(T)
    assert codes.min() == 0  # nothing below the lowest value
    np.testing.assert_array_equal(codes == 30, T == 1.0)  # +1 alone in the top bin
    U = len(np.unique(T))
    assert _distinct_per_code(T, codes) == _expected_distinct_per_code(U, 30, offset=0)
    # with the authors' lower = -1.000001, -1 joins the distinct values above lower
    est2 = ibfast.EBAB(lower=-1.000001)
    edges2 = est2.edges(T)
    assert edges2[0] == -1.000001 and edges2[1] == -1.0
    codes2 = est2.codes(T)
    assert codes2.min() == 1  # the bin [lower, u[0]) is empty: every value is > lower
    np.testing.assert_array_equal(codes2 == 31, T == 1.0)


def test_swish_negatives_go_to_underflow_with_lower_zero():
    rng = np.random.default_rng(4)
    x = 2 * rng.standard_normal((600, 7))
    T = (x / (1 + np.exp(-x))).astype(np.float32)
    T[:5, 0] = 0.0
    assert T.min() < 0
    codes = ibfast.EBAB(lower=0.0).codes(T)
    np.testing.assert_array_equal(codes == -1, T < 0)  # underflow code, never wrapped
    np.testing.assert_array_equal(codes == 0, T == 0)
    assert codes.max() == 31
    np.testing.assert_array_equal(codes == 31, T == T.max())
    # "auto" sees negatives and uses no lower: the minimum leads the edges, no underflow
    auto_edges = ibfast.EBAB().edges(T)
    np.testing.assert_array_equal(auto_edges, ibfast.EBAB(lower=None).edges(T))
    assert auto_edges[0] == float(T.min()) and len(auto_edges) == 31
    assert ibfast.EBAB().codes(T).min() == 0
    # and the information differs between the two choices (lower=0 lumps all negatives)
    assert ibfast.EBAB(lower=0.0)(T).h_t < ibfast.EBAB()(T).h_t


@pytest.mark.parametrize("lower", ["auto", None, 0.0, 0.25, -5.0])
@pytest.mark.parametrize("kind", KINDS)
def test_edges_are_sorted_and_cover_every_value(kind, lower):
    rng = np.random.default_rng(len(kind))
    T = activations(kind, 300, 5, rng)
    est = ibfast.EBAB(lower=lower)
    edges = est.edges(T)
    np.testing.assert_array_equal(edges, reference.ebab_edges(T, 30, lower))
    assert edges.dtype == np.float64
    assert np.all(np.diff(edges) >= 0)
    codes = est.codes(T)
    top = len(edges) - 1
    resolved = reference.ebab_lower(T, lower)
    # nothing lies above the top edge: the top code is exactly the maximum
    if resolved is None or T.max() > resolved:
        assert edges[-1] == float(T.max())
        np.testing.assert_array_equal(codes == top, T == T.max())
    assert codes.max() <= top
    # underflow only below an explicit lower
    if resolved is None:
        assert codes.min() >= 0
    else:
        np.testing.assert_array_equal(codes == -1, T < resolved)


def test_few_distinct_values_each_get_their_own_bin():
    # U <= B: every distinct value is an edge, so distinct values never share a code
    rng = np.random.default_rng(5)
    vals = np.array([-0.5, 0.0, 0.25, 1.0, 3.0], dtype=np.float32)
    T = rng.choice(vals, size=(400, 4))
    for n_bins in (5, 6, 30):
        codes = ibfast.EBAB(n_bins=n_bins).codes(T)
        per_value = {float(v): np.unique(codes[T == v]) for v in vals}
        assert all(len(c) == 1 for c in per_value.values())
        assert len({int(c[0]) for c in per_value.values()}) == len(vals)
        assert per_value[3.0][0] == n_bins  # the maximum takes the top edge


def test_all_values_equal_lower():
    # U == 0: edges = [lower], everything in code 0, no information
    T = np.zeros((50, 3), dtype=np.float32)
    est = ibfast.EBAB()
    np.testing.assert_array_equal(est.edges(T), [0.0])
    np.testing.assert_array_equal(est.codes(T), np.zeros((50, 3)))
    assert est(T).h_t == 0.0
    T2 = np.full((10, 2), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(ibfast.EBAB(lower=0.5).edges(T2), [0.5])
    np.testing.assert_array_equal(ibfast.EBAB(lower=0.5).codes(T2), np.zeros((10, 2)))


def test_ebab_pools_all_units():
    # edges come from all N*d values pooled, not per unit: a unit-shifted copy changes them
    rng = np.random.default_rng(6)
    T = rng.standard_normal((200, 2)).astype(np.float32)
    e_pooled = ibfast.EBAB(lower=None).edges(T)
    np.testing.assert_array_equal(e_pooled, ibfast.EBAB(lower=None).edges(T.reshape(-1, 1)))
    assert not np.array_equal(e_pooled, ibfast.EBAB(lower=None).edges(T[:, :1]))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 200),
    d=st.integers(1, 8),
    n_bins=st.integers(1, 40),
    kind=st.sampled_from(KINDS),
    lower=st.sampled_from(["auto", None, 0.0, 0.5, -1.000001]),
    seed=st.integers(0, 2**32 - 1),
)
def test_edges_match_reference(n, d, n_bins, kind, lower, seed):
    T = activations(kind, n, d, np.random.default_rng(seed))
    edges = ibfast.EBAB(n_bins=n_bins, lower=lower).edges(T)
    np.testing.assert_array_equal(edges, reference.ebab_edges(T, n_bins, lower))
    np.testing.assert_array_equal(
        ibfast.kernels.ebab_edges(T, n_bins=n_bins, lower=lower), edges
    )


def test_lower_above_every_value_puts_everything_in_underflow():
    T = np.random.default_rng(7).random((50, 3)).astype(np.float32)
    est = ibfast.EBAB(lower=10.0)
    np.testing.assert_array_equal(est.edges(T), [10.0])
    np.testing.assert_array_equal(est.codes(T), -np.ones((50, 3)))
    assert est(T).h_t == 0.0
