"""KDE specifics: the per-row log-sum-exp, float32 exactness, threads, and O(N) memory."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import activations, labels_for

import ibfast
from ibfast import kernels, reference


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 50.0, 500.0, 5e4])
@pytest.mark.parametrize("kind", ["gauss", "relu", "tanh_sat", "few", "ints"])
@pytest.mark.parametrize("n, d", [(1, 1), (3, 2), (120, 1), (257, 7), (400, 33)])
def test_log_sum_exp_per_row_matches_reference(n, d, kind, alpha):
    rng = np.random.default_rng(n + d)
    T = activations(kind, n, d, rng) * np.float32(0.1)
    g = labels_for("unbalanced", n, rng)
    got_all, got_within = kernels.kde_log_sum_exp(T, alpha, g)
    ref_all, ref_within = reference.kde_log_sum_exp(T, alpha, g)
    assert got_all.shape == (n,) and got_within.shape == (n,)
    # per row: float32 distances and float32 lane sums next to the diagonal term 1.0 (a lane
    # adds up to 32 terms before the flush to float64, each rounded to ulp(1)/2 = 6e-8) allow
    # about 2e-6 nats; the observed worst case is ~6e-7.
    np.testing.assert_allclose(got_all, ref_all, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(got_within, ref_within, rtol=1e-5, atol=2e-6)
    # every sum contains its own term exp(0) = 1 and at most N terms
    assert np.all(got_all >= 0) and np.all(got_all <= math.log(n) + 1e-12)
    assert np.all(got_within <= got_all + 1e-12)
    none_all, none_within = kernels.kde_log_sum_exp(T, alpha)
    assert none_within is None
    np.testing.assert_array_equal(none_all, got_all)


def test_log_sum_exp_limits():
    rng = np.random.default_rng(1)
    T = rng.standard_normal((300, 4)).astype(np.float32)
    g = rng.integers(0, 5, size=300)
    counts = np.bincount(g)
    # tiny alpha: every term ~ 1 -> ln N and ln n_c
    lse_all, lse_within = kernels.kde_log_sum_exp(T, 1e-12, g)
    np.testing.assert_allclose(lse_all, math.log(300), rtol=1e-9)
    np.testing.assert_allclose(lse_within, np.log(counts[g]), rtol=1e-9)
    # huge alpha: only the diagonal term survives -> exactly 0
    lse_all, lse_within = kernels.kde_log_sum_exp(T, 1e12, g)
    np.testing.assert_array_equal(lse_all, 0.0)
    np.testing.assert_array_equal(lse_within, 0.0)


def test_duplicate_rows_give_log_multiplicity():
    # k copies of each of several far-apart points: lse_i = ln k
    base = np.arange(40, dtype=np.float32)[:, None] * np.float32(10.0)
    mult = np.arange(1, 41)
    T = np.repeat(base, mult, axis=0)
    lse_all, _ = kernels.kde_log_sum_exp(T, 500.0)
    np.testing.assert_allclose(lse_all, np.log(np.repeat(mult, mult)), rtol=1e-12)
    r = ibfast.KDE()(T)
    p = mult / mult.sum()
    assert r.i_xt == pytest.approx(float(-(p * np.log2(p)).sum()), abs=1e-9)


def test_large_magnitudes_use_exact_differences():
    # rows near 1000 that differ by 1/16 (all exact in float32). ||a||^2 + ||b||^2 - 2ab in
    # float32 would lose everything (||a||^2 ~ 1.6e7, float32 spacing 1 or 2 there).
    d = 16
    a = np.full(d, 1000.0, dtype=np.float32)
    b = a.copy()
    b[:4] += np.float32(0.0625)
    T = np.stack([a, b])
    D = 4 * 0.0625**2
    s2 = 1e-3
    for bound, factor in (("upper", 2.0), ("lower", 8.0)):
        r = ibfast.KDE(noise_variance=s2, bound=bound, units="nats")(T)
        expected = math.log(2.0) - math.log1p(math.exp(-D / (factor * s2)))
        assert r.i_xt == pytest.approx(expected, rel=1e-6)


def test_noise_entropy_is_the_gaussian_entropy():
    T = np.zeros((5, 7), dtype=np.float32)
    for s2 in (1e-3, 0.1, 2.0):
        for bound in ("upper", "lower"):
            r = ibfast.KDE(noise_variance=s2, bound=bound)(T)
            assert r.h_t_given_x == pytest.approx(3.5 * math.log2(2 * math.pi * math.e * s2))


def test_thread_count_does_not_change_the_result():
    rng = np.random.default_rng(2)
    T = (0.05 * rng.standard_normal((1500, 9))).astype(np.float32)
    y = rng.integers(0, 4, size=1500)
    try:
        ibfast.set_num_threads(1)
        one = ibfast.KDE()(T, y)
        codes_one = ibfast.EBAB()(T, y)
    finally:
        ibfast.set_num_threads(0)
    many = ibfast.KDE()(T, y)
    assert many.i_xt == pytest.approx(one.i_xt, rel=1e-10)
    assert many.i_ty == pytest.approx(one.i_ty, rel=1e-10)
    assert ibfast.EBAB()(T, y).h_t == codes_one.h_t


# --------------------------------------------------------------------------------------------
# Memory: the KDE must stream, never hold N x N
# --------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("labels", [False, True])
def test_kde_memory_is_linear_in_n(labels):
    if not Path("/proc/self/clear_refs").exists() or not _reset_peak_rss():
        pytest.skip("/proc/self/clear_refs is not writable: cannot reset the peak RSS")
    n, d = 20000, 20
    rng = np.random.default_rng(3)
    T = (0.1 * rng.standard_normal((n, d))).astype(np.float32)
    y = rng.integers(0, 10, size=n) if labels else None
    est = ibfast.KDE(noise_variance=1e-2)
    est(T[:100], None if y is None else y[:100])  # warm-up: lazy imports, thread pool
    rss_before = _status_kib("VmRSS")
    assert _reset_peak_rss()
    r = est(T, y)
    peak = _status_kib("VmHWM")
    grew_mb = (peak - rss_before) / 1024
    # a dense float64 N x N matrix would be 3200 MB; float32 1600 MB; one row tile of it at
    # least N * 4 bytes per row is fine, the input itself is 1.6 MB
    assert grew_mb < 50, f"peak RSS grew by {grew_mb:.0f} MB during KDE of N={n}, d={d}"
    assert 0 < r.i_xt <= math.log2(n)


def test_concurrent_calls_from_python_threads_agree():
    # the kernels release the GIL: simultaneous calls must not share state
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    data = [
        ((0.05 * rng.standard_normal((600, 6))).astype(np.float32), rng.integers(0, 3, 600))
        for _ in range(6)
    ]
    ests = [ibfast.KDE(), ibfast.EBAB(), ibfast.FixedWidth(0.01)]
    serial = [[e(T, y).as_dict() for e in ests] for T, y in data]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(lambda T=T, y=y: [e(T, y).as_dict() for e in ests]) for T, y in data]
        threaded = [f.result() for f in futures]
    assert threaded == serial
