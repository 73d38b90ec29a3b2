"""Cases whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ALL_ESTIMATORS, BINNING, KDES

import ibfast

BIN_EXACT = 1e-9

# Every binning estimator puts 0 and 1 in different bins, so each 12-bit pattern is its own row.
PATTERN_BINNERS = {
    "bin_width_0.5": ibfast.FixedWidth(0.5),
    "fixed_range": ibfast.FixedRange(),
    "adaptive_range": ibfast.AdaptiveRange(),
    "ebab": ibfast.EBAB(),
    "ebab_none": ibfast.EBAB(lower=None),
}


@pytest.mark.parametrize("name", sorted(PATTERN_BINNERS))
def test_all_12bit_patterns_have_12_bits(name, all_12bit_patterns):
    r = PATTERN_BINNERS[name](all_12bit_patterns)
    assert r.h_t == pytest.approx(12.0, abs=BIN_EXACT)
    assert r.i_xt == pytest.approx(12.0, abs=BIN_EXACT)
    assert r.h_t_given_x == 0.0
    assert r.i_ty is None and r.h_t_given_y is None
    assert r.units == "bits"
    assert r.n_samples == 4096


def test_12bit_patterns_in_nats(all_12bit_patterns):
    r = ibfast.FixedWidth(0.5, units="nats")(all_12bit_patterns)
    assert r.units == "nats"
    assert r.h_t == pytest.approx(12.0 * math.log(2.0), abs=BIN_EXACT)


def test_pattern_subsets_have_log2_n_bits(all_12bit_patterns):
    # the first 2^k patterns vary only in the k lowest bits: H = k bits
    for k in (0, 1, 5, 11):
        r = ibfast.FixedWidth(0.5)(all_12bit_patterns[: 2**k])
        assert r.h_t == pytest.approx(float(k), abs=BIN_EXACT)


def test_fixed_range_one_bit_label_on_patterns(all_12bit_patterns):
    # label = the highest bit: H(Y) = 1 bit and T determines Y, so I(T;Y) = 1 bit exactly
    y = all_12bit_patterns[:, 11].astype(int)
    r = ibfast.FixedRange()(all_12bit_patterns, y)
    assert r.i_ty == pytest.approx(1.0, abs=BIN_EXACT)
    assert r.h_t_given_y == pytest.approx(11.0, abs=BIN_EXACT)


# --------------------------------------------------------------------------------------------
# Deterministic maps and repeated inputs: H(T|X) from the input ids
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BINNING))
def test_deterministic_map_of_repeated_inputs_has_zero_conditional_entropy(name, rng):
    est = BINNING[name][0]
    n_inputs = 300
    X = rng.standard_normal((n_inputs, 5))
    W = rng.standard_normal((5, 4))
    ids = rng.integers(0, n_inputs, size=900)  # inputs repeat
    T = np.tanh(X[ids] @ W).astype(np.float32)  # T = f(X): identical rows for identical inputs
    r = est(T, input_ids=ids)
    assert r.h_t_given_x == pytest.approx(0.0, abs=BIN_EXACT)
    assert r.i_xt == pytest.approx(r.h_t, abs=BIN_EXACT)
    assert r.h_t > 1.0  # the map is not trivial


def test_repeated_inputs_half_of_them_noisy(all_12bit_patterns):
    # Each of the 4096 inputs appears twice. For half of the inputs the two copies give the same
    # row, for the other half they differ. By hand (bits):
    #   H(T|X) = 1/2 * 0 + 1/2 * 1 = 0.5
    #   H(T)   = 2048 rows of p = 2/8192 and 4096 rows of p = 1/8192 = 0.5*12 + 0.5*13 = 12.5
    #   I(X;T) = 12
    P = all_12bit_patterns
    first = P.copy()
    second = P.copy()
    noisy = P[:, 0] == 1  # half of the patterns
    second[noisy, 5] += 2.0  # a value no pattern has: the two copies differ
    T = np.concatenate([first, second])
    ids = np.concatenate([np.arange(4096), np.arange(4096)])
    for est in (ibfast.FixedWidth(0.5), ibfast.EBAB(), ibfast.AdaptiveRange()):
        r = est(T, input_ids=ids)
        assert r.h_t_given_x == pytest.approx(0.5, abs=BIN_EXACT), type(est).__name__
        assert r.h_t == pytest.approx(12.5, abs=BIN_EXACT), type(est).__name__
        assert r.i_xt == pytest.approx(12.0, abs=BIN_EXACT), type(est).__name__


def test_three_copies_one_differs():
    # 50 inputs, three copies each; copy 3 differs from copies 1-2 for every input:
    # H(T|X) = h(1/3) = log2 3 - 2/3 bits, and all 100 rows are distinct across inputs:
    # H(T) = 50 * (2/150 log2 75 + 1/150 log2 150)
    base = np.arange(50, dtype=np.float32)[:, None]
    T = np.concatenate([base, base, base + 0.5])
    ids = np.tile(np.arange(50), 3)
    r = ibfast.FixedWidth(0.25)(T, input_ids=ids)
    h_given = math.log2(3.0) - 2.0 / 3.0
    h_t = 50 * (2 / 150 * math.log2(75) + 1 / 150 * math.log2(150))
    assert r.h_t_given_x == pytest.approx(h_given, abs=BIN_EXACT)
    assert r.h_t == pytest.approx(h_t, abs=BIN_EXACT)
    assert r.i_xt == pytest.approx(h_t - h_given, abs=BIN_EXACT)


# --------------------------------------------------------------------------------------------
# KDE: far-apart points and closed forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bound", ["upper", "lower"])
@pytest.mark.parametrize("n", [1, 2, 17, 500])
def test_kde_far_apart_points_give_log2_n(n, bound, rng):
    # points on a line spaced 1 apart, noise 1e-3: every off-diagonal exp(-D / (2 s2)) is
    # below exp(-125), so I(X;T) = log2 N; with labels, I(T;Y) = H(Y).
    T = np.zeros((n, 3), dtype=np.float32)
    T[:, 0] = np.arange(n)
    T[:, 1] = 0.5
    y = rng.integers(0, 3, size=n)
    r = ibfast.KDE(noise_variance=1e-3, bound=bound)(T, y)
    assert r.i_xt == pytest.approx(math.log2(n), abs=1e-6)
    _, counts = np.unique(y, return_counts=True)
    p = counts / n
    h_y = float(-(p * np.log2(p)).sum())
    assert r.i_ty == pytest.approx(h_y, abs=1e-6)
    h_noise = 1.5 * math.log2(2 * math.pi * math.e * 1e-3)
    assert r.h_t_given_x == pytest.approx(h_noise, rel=1e-12)
    assert r.h_t == pytest.approx(h_noise + math.log2(n), abs=1e-6)


def test_kde_far_apart_high_dimensional_one_hot():
    n = 64
    T = (10.0 * np.eye(n)).astype(np.float32)
    r = ibfast.KDE(noise_variance=1e-2)(T)
    assert r.i_xt == pytest.approx(math.log2(n), abs=1e-6)
    assert r.h_t_given_x == pytest.approx(n / 2 * math.log2(2 * math.pi * math.e * 1e-2))


@pytest.mark.parametrize("bound, factor", [("upper", 2.0), ("lower", 8.0)])
@pytest.mark.parametrize("dist", [0.0, 0.01, 0.05, 0.1, 0.3])
def test_kde_two_points_closed_form(dist, bound, factor):
    # two points at distance r: lse_i = ln(1 + exp(-r^2 / (factor s2))) for both rows, so
    # I = ln 2 - ln(1 + exp(-r^2 / (factor s2))) nats
    s2 = 1e-3
    T = np.array([[0.0, 0.0], [dist, 0.0]], dtype=np.float32)
    r2 = float(np.float32(dist)) ** 2
    expected = (math.log(2.0) - math.log1p(math.exp(-r2 / (factor * s2)))) / math.log(2.0)
    r = ibfast.KDE(noise_variance=s2, bound=bound)(T)
    assert r.i_xt == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_kde_two_points_with_labels_closed_form():
    # 4 points: class 0 = {0, a}, class 1 = {10, 10 + a} (classes far apart; all exact in float32)
    # I(T;Y) = H(T) - H(T|Y) = ln 2 exactly, since each class term equals half of the whole.
    s2, a = 1e-2, 0.125
    T = np.array([[0.0], [a], [10.0], [10.0 + a]], dtype=np.float32)
    y = np.array([0, 0, 1, 1])
    r = ibfast.KDE(noise_variance=s2, units="nats")(T, y)
    assert r.i_ty == pytest.approx(math.log(2.0), rel=1e-9)
    lse = math.log1p(math.exp(-(a**2) / (2 * s2)))
    assert r.i_xt == pytest.approx(math.log(4.0) - lse, rel=1e-6)


def test_adaptive_kde_noise_scales_with_max_activity():
    # AdaptiveKDE(scale) must equal KDE(noise_variance = scale * max|T|)
    rng = np.random.default_rng(3)
    T = (rng.standard_normal((200, 4)) * 3.0).astype(np.float32)
    top = float(np.abs(T).max())
    for bound in ("upper", "lower"):
        a = ibfast.AdaptiveKDE(scale=1e-2, bound=bound)(T)
        k = ibfast.KDE(noise_variance=1e-2 * top, bound=bound)(T)
        assert a.i_xt == pytest.approx(k.i_xt, rel=1e-12)
        assert a.h_t == pytest.approx(k.h_t, rel=1e-12)
    # s2 grows like max|T| but D like |T|^2: scaling T by c equals dividing the scale by c
    # (the exponent c D / (2 s max|T|) is the same); the factor 4 is exact in float32
    r1 = ibfast.AdaptiveKDE(scale=1e-2 / 4)(T)
    r2 = ibfast.AdaptiveKDE(scale=1e-2)(T * np.float32(4.0))
    assert r1.i_xt == pytest.approx(r2.i_xt, rel=1e-6)
    assert r1.i_xt != pytest.approx(ibfast.AdaptiveKDE(scale=1e-2)(T).i_xt, rel=1e-3)


# --------------------------------------------------------------------------------------------
# Identical rows: no information
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.3, -2.0, 7.0])
@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_identical_rows_carry_no_information(name, value, rng):
    T = np.full((257, 6), value, dtype=np.float32)
    y = rng.integers(0, 3, size=257)
    r = ALL_ESTIMATORS[name](T, y)
    assert r.i_xt == pytest.approx(0.0, abs=1e-9)
    assert r.i_ty == pytest.approx(0.0, abs=1e-9)
    if name in BINNING:
        assert r.h_t == pytest.approx(0.0, abs=1e-12)
        assert r.h_t_given_y == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(KDES))
def test_kde_single_sample(name):
    r = KDES[name][0](np.array([[0.5, -1.0]], dtype=np.float32), [1])
    assert r.i_xt == pytest.approx(0.0, abs=1e-12)
    assert r.i_ty == pytest.approx(0.0, abs=1e-12)
    assert r.h_t == pytest.approx(r.h_t_given_x, abs=1e-12)


# --------------------------------------------------------------------------------------------
# The 12-bit task (var_u.mat)
# --------------------------------------------------------------------------------------------


def _label_entropy_bits(y: np.ndarray) -> float:
    _, counts = np.unique(y, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_var_u_input_layer_carries_all_label_information(name, var_u):
    # T = F: every row distinct (binning) or at squared distance >= 1 from every other (KDE:
    # at alpha >= 125 the cross terms are below exp(-125)), so I(X;T) = 12 bits and
    # I(T;Y) = H(Y) from the label counts.
    F, y = var_u
    if name in ("kde_upper_0.1", "adaptive_kde_lower"):
        pytest.skip("this noise blurs neighbouring patterns: not a closed-form case")
    h_y = _label_entropy_bits(y)
    assert 0.99 < h_y < 1.0  # 1978 zeros, 2118 ones
    r = ALL_ESTIMATORS[name](F, y)
    tol = BIN_EXACT if name in BINNING else 1e-6
    assert r.i_ty == pytest.approx(h_y, abs=tol)
    assert r.i_xt == pytest.approx(12.0, abs=tol)


def test_var_u_label_column_only(var_u):
    # a layer that holds exactly the label: I(X;T) = I(T;Y) = H(Y)
    _, y = var_u
    T = np.ascontiguousarray(np.stack([y, y], axis=1), dtype=np.float32)
    h_y = _label_entropy_bits(y)
    r = ibfast.EBAB()(T, y)
    assert r.i_xt == pytest.approx(h_y, abs=BIN_EXACT)
    assert r.i_ty == pytest.approx(h_y, abs=BIN_EXACT)
    assert r.h_t_given_y == pytest.approx(0.0, abs=BIN_EXACT)


def test_var_u_repeated_inputs_noisy_for_one_class(var_u):
    # every input twice; the copies differ exactly for the inputs with y = 1. By hand (bits):
    #   H(T|X) = P(y=1) * 1 = 2118/4096;  I(X;T) = 12 (all 4096 inputs stay distinguishable)
    #   H(T) = H(T|X) + I(X;T);  T still determines Y, so I(T;Y) = H(Y)
    F, y = var_u
    second = F.copy()
    second[y == 1, 3] += 2.0
    T = np.concatenate([F, second])
    ids = np.tile(np.arange(4096), 2)
    labels = np.tile(y, 2)
    p1 = float(np.mean(y == 1))
    for est in (ibfast.FixedWidth(0.5), ibfast.EBAB(), ibfast.FixedRange(n_bins=30, lo=0.0, hi=3.0)):
        r = est(T, labels, input_ids=ids)
        assert r.h_t_given_x == pytest.approx(p1, abs=BIN_EXACT)
        assert r.i_xt == pytest.approx(12.0, abs=BIN_EXACT)
        assert r.h_t == pytest.approx(12.0 + p1, abs=BIN_EXACT)
        assert r.i_ty == pytest.approx(_label_entropy_bits(y), abs=BIN_EXACT)
