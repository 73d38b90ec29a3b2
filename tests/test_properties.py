"""Properties every estimate must have: bounds, bound ordering, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    ALL_ESTIMATORS,
    BINNING,
    FIELDS,
    KINDS,
    LABEL_STRUCTURES,
    activations,
    labels_for,
    repeated_input_ids,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import ibfast

case = st.tuples(
    st.integers(1, 300),  # N
    st.integers(1, 12),  # d
    st.sampled_from(KINDS),
    st.sampled_from(LABEL_STRUCTURES[1:]),  # with labels
    st.integers(0, 2**32 - 1),
)


def _label_entropy_bits(y) -> float:
    _, counts = np.unique(y, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _data(n, d, kind, structure, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    T = activations(kind, n, d, rng) * np.float32(scale)
    return T, labels_for(structure, n, rng), rng


@settings(max_examples=60, deadline=None)
@given(case=case, name=st.sampled_from(sorted(BINNING)))
def test_binning_bounds(case, name):
    T, y, _ = _data(*case)
    n = T.shape[0]
    r = BINNING[name][0](T, y)
    eps = 1e-9
    h_y = _label_entropy_bits(y)
    assert -eps <= r.i_xt <= math.log2(n) + eps
    assert r.i_xt == pytest.approx(r.h_t, abs=eps)  # distinct inputs: H(T|X) = 0
    assert -eps <= r.i_ty <= min(h_y, r.h_t) + eps
    assert -eps <= r.h_t_given_y <= r.h_t + eps


@settings(max_examples=40, deadline=None)
@given(case=case, name=st.sampled_from(sorted(BINNING)))
def test_binning_bounds_with_repeated_inputs(case, name):
    T, y, rng = _data(*case)
    ids = repeated_input_ids(T.shape[0], rng)
    r = BINNING[name][0](T, y, input_ids=ids)
    eps = 1e-9
    # I(X;T) <= H(X) where X is uniform over the rows' input ids
    assert -eps <= r.i_xt <= _label_entropy_bits(ids) + eps
    assert -eps <= r.h_t_given_x <= r.h_t + eps


@settings(max_examples=40, deadline=None)
@given(case=case, scale=st.sampled_from([1.0, 0.1, 0.01]))
def test_kde_bounds_and_bound_order(case, scale):
    T, y, _ = _data(*case, scale=scale)
    n = T.shape[0]
    for s2 in (1e-3, 1e-1):
        up = ibfast.KDE(noise_variance=s2, bound="upper")(T, y)
        lo = ibfast.KDE(noise_variance=s2, bound="lower")(T, y)
        for r in (up, lo):
            assert 0.0 <= r.i_xt <= math.log2(n) + 1e-9
            assert r.h_t == pytest.approx(r.h_t_given_x + r.i_xt, abs=1e-9)
        # Bhattacharyya (alpha / 4) sums are larger term by term: I_lower <= I_upper
        assert lo.i_xt <= up.i_xt + 1e-9
    # more noise, less information
    assert (
        ibfast.KDE(noise_variance=1e-1)(T).i_xt <= ibfast.KDE(noise_variance=1e-3)(T).i_xt + 1e-9
    )


def _permuted_equal(a, b, rtol, atol):
    for f in FIELDS:
        x, z = getattr(a, f), getattr(b, f)
        if x is None:
            assert z is None
            continue
        assert z == pytest.approx(x, rel=rtol, abs=atol), f


@settings(max_examples=40, deadline=None)
@given(case=case, name=st.sampled_from(sorted(ALL_ESTIMATORS)), ids=st.booleans())
def test_row_and_unit_order_do_not_matter(case, name, ids):
    T, y, rng = _data(*case, scale=0.1)
    est = ALL_ESTIMATORS[name]
    binning = name in BINNING
    input_ids = repeated_input_ids(T.shape[0], rng) if (ids and binning) else None
    base = est(T, y, input_ids=input_ids)
    rows = rng.permutation(T.shape[0])
    cols = rng.permutation(T.shape[1])
    perm_ids = None if input_ids is None else input_ids[rows]
    by_rows = est(np.ascontiguousarray(T[rows]), y[rows], input_ids=perm_ids)
    by_cols = est(np.ascontiguousarray(T[:, cols]), y, input_ids=input_ids)
    rtol, atol = (0.0, 1e-9) if binning else (1e-6, 1e-7)
    _permuted_equal(base, by_rows, rtol, atol)
    _permuted_equal(base, by_cols, rtol, atol)


@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_label_values_do_not_matter(name):
    # relabelling classes (any values, any order) changes nothing
    rng = np.random.default_rng(5)
    T = activations("tanh_sat", 400, 5, rng) * np.float32(0.1)
    y = rng.integers(0, 4, size=400)
    est = ALL_ESTIMATORS[name]
    base = est(T, y)
    names = np.array(["cat", "dog", "eel", "ant"])
    relabellings = (
        np.array([7, -3, 100, 0])[y],
        np.array([2**40, -(2**50), 3, 2**62])[y],  # beyond int32
        names[y],
        (y * 2.0 - 3.0).astype(np.float64),  # integer-valued floats are class labels too
        [int(v) for v in y],
    )
    for relabelled in relabellings:
        _permuted_equal(base, est(T, relabelled), 1e-12, 1e-12)
    with pytest.raises(ValueError, match="labels"):  # non-integer floats are no classes (issue 19)
        est(T, (y * 0.5).astype(np.float64))
    # and a label that splits no further (labels constant) gives I(T;Y) = 0
    assert est(T, np.zeros(400, dtype=int)).i_ty == pytest.approx(0.0, abs=1e-9)


def test_input_ids_values_do_not_matter():
    rng = np.random.default_rng(6)
    T = activations("few", 300, 3, rng)
    ids = repeated_input_ids(300, rng)
    for est in (BINNING["ebab"][0], BINNING["bin_width_0.07"][0]):
        a = est(T, input_ids=ids)
        b = est(T, input_ids=ids * 13 + 1000)
        assert a.i_xt == b.i_xt and a.h_t_given_x == b.h_t_given_x
        assert a.h_t_given_x > 0.1  # "few" values and repeated ids: T does vary within an input


UNIT_FACTORIES = {
    "fixed_range": lambda u: ibfast.FixedRange(n_bins=12, lo=0.0, hi=0.3, units=u),
    "bin_width": lambda u: ibfast.FixedWidth(0.02, units=u),
    "adaptive_range": lambda u: ibfast.AdaptiveRange(n_bins=8, units=u),
    "ebab": lambda u: ibfast.EBAB(n_bins=10, lower=None, units=u),
    "kde": lambda u: ibfast.KDE(noise_variance=1e-3, bound="lower", units=u),
    "adaptive_kde": lambda u: ibfast.AdaptiveKDE(scale=1e-2, units=u),
}


@pytest.mark.parametrize("name", sorted(UNIT_FACTORIES))
def test_units_nats_equal_bits_times_ln2(name):
    rng = np.random.default_rng(8)
    T = activations("relu", 300, 4, rng) * np.float32(0.1)
    y = labels_for("ten", 300, rng)
    b = UNIT_FACTORIES[name]("bits")(T, y)
    n = UNIT_FACTORIES[name]("nats")(T, y)
    assert b.units == "bits" and n.units == "nats"
    assert b.i_xt > 0.5 and b.i_ty > 0.01  # not a degenerate case
    for f in FIELDS:
        assert getattr(n, f) == pytest.approx(getattr(b, f) * math.log(2.0), rel=1e-12, abs=1e-15)


def test_kde_upper_and_lower_differ_on_overlapping_data():
    # a guard that the bound argument is honoured
    rng = np.random.default_rng(9)
    T = (0.03 * rng.standard_normal((300, 3))).astype(np.float32)
    up = ibfast.KDE(noise_variance=1e-3, bound="upper")(T)
    lo = ibfast.KDE(noise_variance=1e-3, bound="lower")(T)
    assert lo.i_xt < up.i_xt - 0.1


@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_result_record(name):
    rng = np.random.default_rng(10)
    T = activations("swish", 50, 3, rng)
    r = ALL_ESTIMATORS[name](T)
    assert r.n_samples == 50
    assert r.units == "bits"
    assert r.i_ty is None and r.h_t_given_y is None
    assert isinstance(r.details, dict)
    for f in ("i_xt", "h_t", "h_t_given_x"):
        assert isinstance(getattr(r, f), float)
