"""KDE log-sum-exp: ibfast's streamed kernel against torch and the dense numpy reference.

    pytest bench/test_bench_kde.py -p no:cacheprovider --benchmark-columns=min,median,rounds

Every implementation computes, for the same float32 activations T and alpha = 1 / (2 s2) (the
upper bound), lse_i = ln sum_j exp(-alpha ||t_i - t_j||^2) over all rows j; I_upper(X;T) =
ln N - mean(lse). Baselines:

* torch-rowblock-B: what a careful torch user writes: for blocks of B rows,
  D = (|x_i|^2 + |x_j|^2 - 2 x_i.x_j).clamp_min(0) in float32, torch.logsumexp(-alpha D, dim=1).
  Two block sizes are timed (256 and 1024; which wins depends on N, d and noise) and targets
  use the faster one. At s2 = 1e-3 most exp(-alpha D) terms lie far below float32's range:
  torch computes them (denormal results, slow on CPU), ibfast skips them; that difference is
  part of what is measured.
* torch-cdist: the one-liner, full N x N matrix: logsumexp(-alpha * cdist(T, T)**2, dim=1).
* reference: ibfast.reference.kde_log_sum_exp, dense float64 numpy (the oracle).

torch runs with its default thread count (all cores), as ibfast does.

Section 4 times the issue's whole-epoch case: one recorded epoch of the 12-bit task is EBAB, the
KDE upper and the KDE lower bound (s2 = 1e-3) with labels on the six layers of a tanh 12-10-7-5-
4-3-2 net (ibfast.demo.demo_layers), N = 4096. ibfast computes it with ``estimate_together`` (both
KDE bounds from one pass over each layer's pairs); ibfast-separate is the three ``many`` calls;
torch-rowblock-B computes both bounds the row-blocked way, for all rows and within each class
(I(X;T) and I(T;Y)), and no EBAB, so its ratio understates ibfast's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import ibfast
from ibfast import reference
from ibfast.demo import demo_layers
from ibfast.estimators.kde import estimate_together

from .conftest import clear_refs_works, peak_extra_bytes

EPS32 = float(np.finfo(np.float32).eps)

# --------------------------------------------------------------------------------------------
# The implementations
# --------------------------------------------------------------------------------------------


def ibfast_lse(t: np.ndarray, alpha: float) -> np.ndarray:
    return ibfast.kernels.kde_log_sum_exp(t, alpha)[0]


def torch_rowblock_lse(x: torch.Tensor, alpha: float, block: int) -> torch.Tensor:
    n = x.shape[0]
    sq = (x * x).sum(dim=1)
    out = torch.empty(n, dtype=x.dtype)
    for i in range(0, n, block):
        xb = x[i : i + block]
        d = (sq[i : i + block, None] + sq[None, :] - 2.0 * (xb @ x.T)).clamp_min_(0.0)
        out[i : i + block] = torch.logsumexp(d.mul_(-alpha), dim=1)
    return out


def torch_cdist_lse(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.logsumexp(torch.cdist(x, x).square_().mul_(-alpha), dim=1)


def reference_lse(t: np.ndarray, alpha: float) -> np.ndarray:
    return reference.kde_log_sum_exp(t, alpha)[0]


def exact_lse_rows(t: np.ndarray, alpha: float, rows: np.ndarray) -> np.ndarray:
    """lse of the given rows from float64 exact differences, a few rows at a time."""
    x = t.astype(np.float64)
    out = np.empty(len(rows))
    step = max(1, 4_000_000 // (x.shape[0] * x.shape[1]))
    for k in range(0, len(rows), step):
        r = rows[k : k + step]
        diff = x[r, None, :] - x[None, :, :]
        a = -alpha * np.einsum("ijk,ijk->ij", diff, diff)
        m = a.max(axis=1, keepdims=True)
        out[k : k + step] = (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]
    return out


def float32_tolerance(t: np.ndarray, alpha: float) -> float:
    """How far a float32 |a|^2 + |b|^2 - 2ab computation may honestly move an lse.

    The expansion loses a few ulps of |a|^2 + |b|^2 in every D_ij; the lse moves by at most
    alpha times that. Generous by a factor of ~8 so that only wrong answers fail.
    """
    max_sq = float((t.astype(np.float64) ** 2).sum(axis=1).max())
    return 1e-4 + alpha * 2.0 * max_sq * EPS32 * 8.0


def check_exact(t: np.ndarray, alpha: float, lse: np.ndarray, n_rows: int = 48) -> None:
    """ibfast against float64 exact differences on a sample of rows (1e-5 relative, the accuracy contract)."""
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(t.shape[0], size=min(n_rows, t.shape[0]), replace=False))
    want = exact_lse_rows(t, alpha, rows)
    np.testing.assert_allclose(lse[rows], want, rtol=1e-5, atol=1e-5)


def mi_bits(lse: np.ndarray) -> float:
    return (math.log(len(lse)) - float(np.mean(lse))) / math.log(2.0)


def ibfast_reference_result(cache: dict, key: tuple, t: np.ndarray, alpha: float) -> np.ndarray:
    """ibfast's lse for this case, computed once (untimed) for the baselines to agree with."""
    k = ("kde-ibfast", *key)
    if k not in cache:
        cache[k] = ibfast_lse(t, alpha)
    return cache[k]


def run_case(
    compare: Any, cache: dict, t: np.ndarray, s2: float, impl: str, group: str, rounds: dict
) -> None:
    alpha = 1.0 / (2.0 * s2)
    compare.group(group)
    key = (group,)
    n = t.shape[0]
    if impl == "ibfast":
        lse = compare("ibfast", ibfast_lse, t, alpha, rounds=rounds["ibfast"])
        check_exact(t, alpha, lse)
        cache[("kde-ibfast", *key)] = lse
        compare.note(f"I_upper(X;T) = {mi_bits(lse):.4f} bits (of log2 N = {math.log2(n):.2f})")
        return
    want = ibfast_reference_result(cache, key, t, alpha)
    if impl.startswith("torch-rowblock"):
        block = int(impl.rsplit("-", 1)[1])
        x = torch.from_numpy(t)
        got = compare(impl, torch_rowblock_lse, x, alpha, block, rounds=rounds["torch"]).numpy()
        tol = float32_tolerance(t, alpha)
    elif impl == "torch-cdist":
        x = torch.from_numpy(t)
        got = compare(impl, torch_cdist_lse, x, alpha, rounds=rounds["torch"]).numpy()
        tol = float32_tolerance(t, alpha)
    elif impl == "reference":
        got = compare(impl, reference_lse, t, alpha, rounds=rounds["reference"], warmup_rounds=0)
        tol = None
    else:
        raise ValueError(impl)
    if tol is None:
        np.testing.assert_allclose(want, got, rtol=1e-5, atol=1e-5)
    else:
        err = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want)))
        assert err <= tol, f"{impl}: max |lse - ibfast| = {err:.3g} nats > float32 bound {tol:.3g}"


# --------------------------------------------------------------------------------------------
# 1. N = 4096, d = 10 (the 12-bit task's first layer)
# --------------------------------------------------------------------------------------------

IMPLS_SMALL = ["ibfast", "torch-rowblock-256", "torch-rowblock-1024", "torch-cdist", "reference"]


@pytest.mark.parametrize("impl", IMPLS_SMALL)
@pytest.mark.parametrize("s2", [1e-3, 1e-1], ids=["s2=1e-3", "s2=1e-1"])
@pytest.mark.parametrize("kind", ["tanh", "relu"])
def test_kde_4096x10(compare: Any, cache: dict, layer: Any, kind: str, s2: float, impl: str):
    t = layer(kind, 4096, 10)
    group = f"kde N=4096 d=10 {kind} s2={s2:g}"
    rounds = {"ibfast": 20, "torch": 5, "reference": 3}
    run_case(compare, cache, t, s2, impl, group, rounds)
    if impl == "ibfast":
        compare.target_speedup("torch-rowblock", 4.0)
        compare.target_speedup("reference", 20.0)


# --------------------------------------------------------------------------------------------
# 2. N = 10000, d = 100 (the dense float64 reference is left out: tens of seconds per call)
# --------------------------------------------------------------------------------------------

IMPLS_LARGE = ["ibfast", "torch-rowblock-256", "torch-rowblock-1024", "torch-cdist"]


@pytest.mark.parametrize("impl", IMPLS_LARGE)
@pytest.mark.parametrize("s2", [1e-3, 1e-1], ids=["s2=1e-3", "s2=1e-1"])
def test_kde_10000x100(compare: Any, cache: dict, layer: Any, s2: float, impl: str):
    t = layer("tanh", 10000, 100)
    group = f"kde N=10000 d=100 tanh s2={s2:g}"
    rounds = {"ibfast": 3, "torch": 2, "reference": 1}
    run_case(compare, cache, t, s2, impl, group, rounds)
    if impl == "ibfast":
        compare.target_speedup("torch-rowblock", 1.5)
        compare.note("reference (dense float64) not timed here; ibfast checked on sampled rows")


# --------------------------------------------------------------------------------------------
# 3. N = 70000, d = 20: streamed, O(N) memory where a dense matrix would need ~20 GB float32
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_kde_70000x20_memory(compare: Any, layer: Any):
    if not clear_refs_works():
        pytest.skip("needs Linux /proc/self/clear_refs and VmHWM to measure peak memory")
    s2 = 1e-1
    alpha = 1.0 / (2.0 * s2)
    t = layer("tanh", 70000, 20)
    ibfast_lse(t[:256], alpha)  # threads and code pages in place before measuring
    compare.group("kde N=70000 d=20 tanh s2=0.1")
    peaks: list[int] = []

    def measured(x: np.ndarray) -> np.ndarray:
        lse, extra = peak_extra_bytes(ibfast_lse, x, alpha)
        peaks.append(extra)
        return lse

    # Positive control: a fresh 16 MB array must show up, or the measurement proves nothing.
    _, control = peak_extra_bytes(lambda: np.ones(2**21))
    assert control >= 12 * 2**20, f"peak-memory measurement missed a 16 MB array ({control} B)"
    lse = compare("ibfast", measured, t, rounds=1, warmup_rounds=0)
    check_exact(t, alpha, lse, n_rows=16)
    peak_mb = max(peaks) / 2**20
    dense_gb = 70000**2 * 4 / 1e9
    compare.check("peak extra memory", f"{peak_mb:.1f} MB", "< 50 MB", peak_mb < 50)
    compare.note(
        f"a dense N x N float32 matrix would be {dense_gb:.1f} GB ({2 * dense_gb:.1f} "
        "GB float64); baselines not timed"
    )
    compare.note(f"I_upper(X;T) = {mi_bits(lse):.4f} bits (of log2 N = {math.log2(70000):.2f})")
    assert peak_mb < 50, f"ibfast KDE at N=70000, d=20 added {peak_mb:.1f} MB of peak memory"


# --------------------------------------------------------------------------------------------
# 4. One recorded 12-bit epoch: EBAB + KDE upper + KDE lower on six layers, N = 4096
# --------------------------------------------------------------------------------------------

EPOCH_S2 = 1e-3
EPOCH_IMPLS = ["ibfast", "ibfast-separate", "torch-rowblock-256", "torch-rowblock-1024"]


def epoch_estimators() -> list[Any]:
    return [ibfast.EBAB(), ibfast.KDE(EPOCH_S2), ibfast.KDE(EPOCH_S2, bound="lower")]


def ibfast_epoch(layers: list[np.ndarray], y: np.ndarray) -> list[list[Any]]:
    return estimate_together(epoch_estimators(), layers, y)


def ibfast_epoch_separate(layers: list[np.ndarray], y: np.ndarray) -> list[list[Any]]:
    return [est.many(layers, y) for est in epoch_estimators()]


def torch_epoch_kde(layers: list[torch.Tensor], y: np.ndarray, block: int) -> list[list[tuple[float, float]]]:
    """(I(X;T), I(T;Y)) in nats per bound (upper, lower) and layer, from row-blocked lse's over
    all rows and over each class's rows."""
    classes = [torch.from_numpy(np.flatnonzero(y == c)) for c in np.unique(y)]
    n = len(y)
    out = []
    for factor in (2.0, 8.0):
        alpha = 1.0 / (factor * EPOCH_S2)
        per_layer = []
        for x in layers:
            i_xt = math.log(n) - float(torch_rowblock_lse(x, alpha, block).double().mean())
            within = 0.0
            for idx in classes:
                lse_c = torch_rowblock_lse(x[idx], alpha, block).double()
                within += float((math.log(len(idx)) - lse_c).sum()) / n
            per_layer.append((i_xt, i_xt - within))
        out.append(per_layer)
    return out


@pytest.mark.parametrize("impl", EPOCH_IMPLS)
def test_epoch_ebab_and_both_kde_bounds(compare: Any, cache: dict, impl: str):
    layers, y = demo_layers(0)  # widths 10, 7, 5, 4, 3, 2
    group = "epoch 12-bit: EBAB + KDE upper + KDE lower, 6 layers N=4096 tanh s2=1e-3"
    compare.group(group)
    key = ("epoch-ibfast",)
    if impl == "ibfast":
        got = compare("ibfast", ibfast_epoch, layers, y, rounds=20)
        want = ibfast_epoch_separate(layers, y)
        assert got == want, "estimate_together differs from the separate calls"
        for factor in (2.0, 8.0):
            alpha = 1.0 / (factor * EPOCH_S2)
            for t in layers[::2]:  # the KDE lse's on sampled rows against float64 exact differences
                check_exact(t, alpha, ibfast_lse(t, alpha))
        cache[key] = got
        compare.note("ibfast: estimate_together (both KDE bounds from one pass per layer); "
                     "torch: KDE only (no EBAB), all rows and within each class")
        compare.note("I_upper(X;T) per layer (bits): " + ", ".join(f"{r.i_xt:.3f}" for r in got[1]))
        compare.note("I_lower(X;T) per layer (bits): " + ", ".join(f"{r.i_xt:.3f}" for r in got[2]))
        compare.target_speedup("torch-rowblock", 70.0)
        compare.target_time(0.030)
        return
    if key not in cache:
        cache[key] = ibfast_epoch(layers, y)
    want = cache[key]
    if impl == "ibfast-separate":
        got = compare(impl, ibfast_epoch_separate, layers, y, rounds=10)
        assert got == want
        return
    block = int(impl.rsplit("-", 1)[1])
    xs = [torch.from_numpy(t) for t in layers]
    got_t = compare(impl, torch_epoch_kde, xs, y, block, rounds=3)
    for bound, per_layer in enumerate(got_t):
        alpha = 1.0 / ((2.0, 8.0)[bound] * EPOCH_S2)
        for t, (i_xt, i_ty), r in zip(layers, per_layer, want[1 + bound], strict=True):
            tol = float32_tolerance(t, alpha)
            assert abs(i_xt - r.i_xt * math.log(2.0)) <= tol, (impl, bound, t.shape, i_xt, r.i_xt)
            assert abs(i_ty - r.i_ty * math.log(2.0)) <= 2 * tol, (impl, bound, t.shape, i_ty, r.i_ty)
