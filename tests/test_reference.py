"""The oracle itself: ibfast.reference against scipy, hand values and naive loops.

Agreement tests only mean something if the reference is right independently of ibfast.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from conftest import activations

from ibfast import reference

scipy_special = pytest.importorskip("scipy.special")
scipy_spatial = pytest.importorskip("scipy.spatial.distance")


def _naive_entropy_bits(rows) -> float:
    c = np.array(list(Counter(map(tuple, np.asarray(rows).tolist())).values()), dtype=float)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def test_ebab_edges_by_hand():
    T = np.array([[0, 0, 1, 2], [3, 4, 5, 0]], dtype=np.float32)
    # lower auto = 0 (no negatives); u = [1, 2, 3, 4, 5], U = 5, B = 2: u[0], u[5 // 2], u[4]
    np.testing.assert_array_equal(reference.ebab_edges(T, 2), [0.0, 1.0, 3.0, 5.0])
    # without lower: u = [0, 1, 2, 3, 4, 5], U = 6: u[0], u[3], u[5]
    np.testing.assert_array_equal(reference.ebab_edges(T, 2, lower=None), [0.0, 3.0, 5.0])
    # with negatives, auto = None
    np.testing.assert_array_equal(reference.ebab_edges(T - 1, 2), [-1.0, 2.0, 4.0])
    # lower = 2.5: u = [3, 4, 5]
    np.testing.assert_array_equal(reference.ebab_edges(T, 3, lower=2.5), [2.5, 3, 4, 5, 5])
    # nothing above lower
    np.testing.assert_array_equal(reference.ebab_edges(np.zeros((2, 2)), 30), [0.0])


def test_bin_by_edges_and_width_by_hand():
    T = np.array([[-2.0, -1.0, 0.0, 0.99, 1.0, 7.0]], dtype=np.float32)
    np.testing.assert_array_equal(reference.bin_by_edges(T, [-1.0, 0.0, 1.0]), [[-1, 0, 1, 1, 2, 2]])
    np.testing.assert_array_equal(reference.bin_by_width(T, 0.5), [[-4, -2, 0, 1, 2, 14]])
    np.testing.assert_array_equal(reference.fixed_range_edges(3), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(reference.adaptive_range_edges(T, 3), [-2.0, 2.5, 7.0])


@pytest.mark.parametrize("kind", ["few", "binary", "ints"])
def test_entropies_match_naive_counting(kind):
    rng = np.random.default_rng(0)
    codes = activations(kind, 500, 3, rng).astype(np.int64)
    g = rng.integers(0, 4, size=500)
    assert reference.entropy_of_rows(codes) == pytest.approx(_naive_entropy_bits(codes), abs=1e-12)
    h_given = sum(
        np.mean(g == k) * _naive_entropy_bits(codes[g == k]) for k in np.unique(g)
    )
    assert reference.conditional_entropy_of_rows(codes, g) == pytest.approx(h_given, abs=1e-12)
    r = reference.binning_mi(codes, labels=g, input_ids=np.arange(500) // 2, units="nats")
    assert r["i_ty"] == pytest.approx((_naive_entropy_bits(codes) - h_given) * math.log(2))
    assert r["i_xt"] == pytest.approx(r["h_t"] - r["h_t_given_x"], abs=1e-15)


def test_kde_log_sum_exp_matches_scipy():
    rng = np.random.default_rng(1)
    T = rng.standard_normal((150, 4))
    g = rng.integers(0, 3, size=150)
    D = scipy_spatial.cdist(T, T, "sqeuclidean")
    for alpha in (0.1, 3.0, 500.0):
        lse_all, lse_within = reference.kde_log_sum_exp(T, alpha, g)
        want_all = scipy_special.logsumexp(-alpha * D, axis=1)
        np.testing.assert_allclose(lse_all, want_all, rtol=1e-12, atol=1e-14)
        want = [scipy_special.logsumexp(-alpha * D[i, g == g[i]]) for i in range(150)]
        np.testing.assert_allclose(lse_within, want, rtol=1e-12, atol=1e-14)


def test_kde_mi_closed_forms():
    s2 = 1e-3
    # two points at distance r
    for r, bound, f in ((0.05, "upper", 2.0), (0.05, "lower", 8.0)):
        T = np.array([[0.0], [r]])
        got = reference.kde_mi(T, noise_variance=s2, bound=bound, units="nats")["i_xt"]
        assert got == pytest.approx(math.log(2) - math.log1p(math.exp(-(r**2) / (f * s2))))
    # far apart: log2 N and H(Y)
    T = np.arange(64, dtype=float)[:, None]
    y = np.arange(64) % 4
    out = reference.kde_mi(T, y, noise_variance=s2)
    assert out["i_xt"] == pytest.approx(6.0, abs=1e-12)
    assert out["i_ty"] == pytest.approx(2.0, abs=1e-12)
    assert out["h_t_given_x"] == pytest.approx(0.5 * math.log2(2 * math.pi * math.e * s2))


def test_estimator_helpers(all_12bit_patterns):
    P = all_12bit_patterns
    for f in (reference.fixed_range, reference.adaptive_range, reference.ebab):
        assert f(P)["h_t"] == pytest.approx(12.0, abs=1e-12)
    assert reference.fixed_width(P, width=0.5)["i_xt"] == pytest.approx(12.0, abs=1e-12)
    with pytest.warns(DeprecationWarning, match="use ibfast.reference.fixed_width"):
        assert reference.bin_width(P[:100], width=0.5) == reference.fixed_width(P[:100], width=0.5)
    top = 3.0
    a = reference.adaptive_kde(P * top, scale=1e-2)
    k = reference.kde(P * top, noise_variance=1e-2 * top)
    assert a == k
