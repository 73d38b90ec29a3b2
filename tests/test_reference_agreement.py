"""ibfast against ibfast.reference: 1e-9 bits for binning, 1e-5 relative for KDE."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from conftest import (
    BINNING,
    KDES,
    KINDS,
    LABEL_STRUCTURES,
    activations,
    assert_binning_matches,
    assert_kde_matches,
    labels_for,
    repeated_input_ids,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ibfast
from ibfast import reference

SHAPES = [(1, 1), (2, 3), (7, 1), (50, 5), (333, 12), (1000, 10), (2000, 4), (200, 64), (40, 513)]

# every kind meets every shape once, with label structures and input ids cycling through
CASES = [
    (kind, n, d, LABEL_STRUCTURES[(i + j) % len(LABEL_STRUCTURES)], (i + j) % 2 == 1)
    for i, kind in enumerate(KINDS)
    for j, (n, d) in enumerate(SHAPES)
]


def _case_id(case) -> str:
    kind, n, d, labels, ids = case
    return f"{kind}-{n}x{d}-{labels}" + ("-ids" if ids else "")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_binning_agrees_with_reference(case):
    kind, n, d, structure, with_ids = case
    rng = np.random.default_rng(zlib.crc32(_case_id(case).encode()))
    T = activations(kind, n, d, rng)
    y = labels_for(structure, n, rng)
    ids = repeated_input_ids(n, rng) if with_ids else None
    for name, (est, ref) in BINNING.items():
        assert_binning_matches(est(T, y, input_ids=ids), ref(T, y, ids), context=name)


KDE_SHAPES = [(1, 1), (2, 3), (7, 1), (50, 5), (333, 12), (400, 10), (200, 64), (40, 513)]
KDE_CASES = [
    (kind, n, d, LABEL_STRUCTURES[(i + j) % len(LABEL_STRUCTURES)], False)
    for i, kind in enumerate(KINDS)
    for j, (n, d) in enumerate(KDE_SHAPES)
]


@pytest.mark.parametrize("case", KDE_CASES, ids=_case_id)
def test_kde_agrees_with_reference(case):
    kind, n, d, structure, _ = case
    rng = np.random.default_rng(zlib.crc32(_case_id(case).encode()))
    T = activations(kind, n, d, rng)
    if kind in ("gauss", "swish", "wide"):
        T *= np.float32(0.05)  # bring neighbours within a few noise widths of each other
    y = labels_for(structure, n, rng)
    for name, (est, ref) in KDES.items():
        assert_kde_matches(est(T, y), ref(T, y), context=name)


@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_kde_large_case_agrees_with_reference(bound):
    # N = 2000, d = 20, ten classes, noise chosen so that every row has many neighbours
    rng = np.random.default_rng(7)
    T = (0.1 * np.tanh(rng.standard_normal((2000, 20)))).astype(np.float32)
    y = rng.integers(0, 10, size=2000)
    for s2 in (0.005, 0.05):
        r = ibfast.KDE(noise_variance=s2, bound=bound)(T, y)
        ref = reference.kde(T, y, noise_variance=s2, bound=bound)
        assert 0.1 < ref["i_xt"] < np.log2(2000) - 0.1  # not a degenerate case
        assert_kde_matches(r, ref, context=f"s2={s2}")


def test_nats_agree_with_reference():
    rng = np.random.default_rng(11)
    T = activations("relu", 300, 6, rng)
    y = labels_for("ten", 300, rng)
    r = ibfast.EBAB(units="nats")(T, y)
    assert_binning_matches(r, reference.ebab(T, y, units="nats"))
    r = ibfast.KDE(noise_variance=0.1, units="nats")(T, y)
    assert_kde_matches(r, reference.kde(T, y, noise_variance=0.1, units="nats"))


# --------------------------------------------------------------------------------------------
# Hypothesis: random shapes, kinds, groups and estimators
# --------------------------------------------------------------------------------------------

random_case = st.tuples(
    st.integers(1, 400),  # N
    st.integers(1, 16),  # d
    st.sampled_from(KINDS),
    st.sampled_from(LABEL_STRUCTURES),
    st.booleans(),  # input ids
    st.integers(0, 2**32 - 1),  # seed
)


@settings(max_examples=50, deadline=None)
@given(case=random_case, name=st.sampled_from(sorted(BINNING)))
def test_binning_random_cases(case, name):
    n, d, kind, structure, with_ids, seed = case
    rng = np.random.default_rng(seed)
    T = activations(kind, n, d, rng)
    y = labels_for(structure, n, rng)
    ids = repeated_input_ids(n, rng) if with_ids else None
    est, ref = BINNING[name]
    assert_binning_matches(est(T, y, input_ids=ids), ref(T, y, ids))


@settings(max_examples=40, deadline=None)
@given(
    case=random_case,
    name=st.sampled_from(sorted(KDES)),
    shrink=st.sampled_from([1.0, 0.1, 0.01]),
)
def test_kde_random_cases(case, name, shrink):
    n, d, kind, structure, _, seed = case
    rng = np.random.default_rng(seed)
    T = activations(kind, n, d, rng) * np.float32(shrink)
    y = labels_for(structure, n, rng)
    est, ref = KDES[name]
    assert_kde_matches(est(T, y), ref(T, y))


# Values that sit exactly on, or one float32 step around, the fixed-range and width edges.
_EDGES32 = np.linspace(-1.0, 1.0, 30).astype(np.float32)
_TRICKY = np.unique(
    np.concatenate(
        [
            _EDGES32,
            np.nextafter(_EDGES32, np.float32(np.inf)),
            np.nextafter(_EDGES32, np.float32(-np.inf)),
            np.float32(0.07) * np.arange(-20, 21, dtype=np.float32),
            np.array([-0.0, 0.0, 1.0, -1.0, 1.5, -1.5, 3.0, -7.0, 1e-30], dtype=np.float32),
        ]
    )
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    T=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 60), st.integers(1, 5)),
        elements=st.sampled_from(_TRICKY.tolist()),
    ),
    n_classes=st.integers(1, 4),
    name=st.sampled_from(sorted(BINNING)),
)
def test_binning_values_on_edges(T, n_classes, name):
    y = np.arange(T.shape[0]) % n_classes
    est, ref = BINNING[name]
    assert_binning_matches(est(T, y), ref(T, y, None))
    # the bin codes themselves, not only the entropies
    codes = est.codes(T)
    if hasattr(est, "edges"):
        np.testing.assert_array_equal(codes, reference.bin_by_edges(T, est.edges(T)))
    else:
        np.testing.assert_array_equal(codes, reference.bin_by_width(T, est.width))
