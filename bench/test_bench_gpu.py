"""GPU benchmarks (marked cuda; skipped without the CUDA module and a device).

    IBFAST_REQUIRE_CUDA=1 pytest bench/test_bench_gpu.py -p no:cacheprovider

Same inputs, side by side on the device: ibfast._cuda, torch.cdist + logsumexp, and torch
row-blocked (||a||^2 + ||b||^2 - 2ab in FP32, TF32 off). Targets (H100): KDE N=70000 d=100 in
<= 25 ms with no N x N buffer; 100 batched KDE evaluations of 4096 x 10 in <= 5 ms; binning +
distinct-row entropy of a 70000 x 1000 device tensor in <= 1 ms; the FixedRange(30) estimate of
that layer with 10 classes through the fused kernel (no N x d code matrix: < 50 MB of extra GPU
memory) beside its two passes (codes, then row_entropy), with bit-identical numbers. And the
packed grid's training epoch (80 seeds) replayed from a CUDA graph beside eager training, timed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import ibfast
from ibfast import kernels

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def dev():
    if not ibfast.cuda_available():
        if os.environ.get("IBFAST_REQUIRE_CUDA") == "1":
            pytest.fail("IBFAST_REQUIRE_CUDA=1 but the CUDA module or a device is missing")
        pytest.skip("needs ibfast's CUDA module and a CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch.device("cuda")


def _sync(fn):
    def run(*args):
        out = fn(*args)
        torch.cuda.synchronize()
        return out

    return run


def _layer(n, d, seed, dev):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(n, 64, generator=g) @ (torch.randn(64, d, generator=g) / 8.0)
    return torch.tanh(x).to(dev).contiguous()


def _torch_rowblock(x, alpha, block=4096):
    sq = (x * x).sum(1)
    out = []
    for s in range(0, x.shape[0], block):
        xb = x[s:s + block]
        dist = (sq[s:s + block, None] + sq[None, :] - 2.0 * xb @ x.T).clamp_min(0)
        out.append(torch.logsumexp(-alpha * dist, dim=1))
    return torch.cat(out)


def test_kde_70000x100(compare, dev):
    x = _layer(70000, 100, 0, dev)
    alpha = 1 / (2 * 0.1)
    compare.group("cuda kde N=70000 d=100 s2=0.1")
    compare.target_time(0.025)
    # torch's allocator holds the outputs, the kernels' stream-ordered pool their scratch
    from ibfast._backend import require_cuda

    torch.cuda.reset_peak_memory_stats()
    require_cuda().scratch_peak_bytes(reset=True)
    base = torch.cuda.memory_allocated()
    lse, _ = compare("ibfast", _sync(lambda: kernels.kde_log_sum_exp(x, alpha)), rounds=5)
    extra = (torch.cuda.max_memory_allocated() - base + require_cuda().scratch_peak_bytes()) / 2**20
    compare.check("peak extra GPU memory", f"{extra:.1f} MB", "< 100 MB", extra < 100)
    ref = compare("torch-rowblock", _sync(lambda: _torch_rowblock(x, alpha)), rounds=3)
    np.testing.assert_allclose(lse.cpu().numpy(), ref.double().cpu().numpy(), rtol=1e-3, atol=1e-3)
    assert extra < 100


def test_kde_100_batched_4096x10(compare, dev):
    xs = [_layer(4096, 10, s, dev) for s in range(100)]
    y = torch.randint(0, 2, (4096,), device=dev)
    compare.group("cuda kde 100 x (4096 x 10) batched")
    compare.target_time(0.005)
    out = compare("ibfast", _sync(lambda: kernels.kde_log_sum_exp_many(xs, 500.0, y)), rounds=10)
    ref = compare("torch-rowblock", _sync(lambda: [_torch_rowblock(x, 500.0) for x in xs]), rounds=3)
    for (a, _), r in zip(out[:5], ref[:5], strict=True):
        np.testing.assert_allclose(a.cpu().numpy(), r.double().cpu().numpy(), rtol=1e-3, atol=1e-3)


def test_bin_entropy_70000x1000(compare, dev):
    x = torch.relu(torch.randn(70000, 1000, device=dev))
    edges = np.linspace(-1, 1, 30)
    compare.group("cuda bin+entropy 70000 x 1000")
    compare.target_time(0.001)

    def run():
        return kernels.distinct_row_entropy(kernels.bin_by_edges(x, edges))

    r = compare("ibfast", _sync(run), rounds=10)
    cpu = kernels.distinct_row_entropy(kernels.bin_by_edges(x.cpu().numpy(), edges))
    assert r.h == pytest.approx(cpu.h, abs=1e-9)


def _packed_grid_on(dev):
    from ibfast.data import generate
    from ibfast.experiment.batches import BatchOrder
    from ibfast.models import SeedBatchedMLP
    from ibfast.models.optim import FlatAdam

    acts = ("tanh", "relu", "elu", "softplus", "centred_softplus", "swish", "abs", "prelu")
    names = [a for a in acts for _ in range(10)]
    seeds = [s for _ in acts for s in range(10)]
    data = generate(0)
    x = torch.from_numpy(data.x[:3277]).to(dev)
    y = torch.from_numpy(data.y[:3277]).to(dev)
    model = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, names, seeds, device=dev)
    opt = FlatAdam(model.flat, list(model.parameters()), lr=4e-4)
    l2 = torch.tensor([0.0 if s < 5 else 0.015 for s in seeds], device=dev)
    return model, opt, x, y, l2, BatchOrder("fixed", seeds, 3277)


PACKED_GPU_GROUP = "packed grid: one training epoch (13 steps) of 80 seeds on the GPU"


@pytest.mark.parametrize("impl", ["ibfast", "eager"])
def test_packed_grid_training_epoch_on_the_gpu(compare, dev, impl):
    """The paper's packed grid (8 activations x 2 L2 x 5 seeds = 80 seeds in one model): one
    training epoch on the device, timed: replayed from a CUDA graph (what Experiment does) and
    eagerly (a launch per kernel)."""
    from ibfast.experiment.graphed import GraphedEpoch
    from ibfast.experiment.train import train_one_epoch

    model, opt, x, y, l2, order = _packed_grid_on(dev)
    compare.group(PACKED_GPU_GROUP)
    if impl == "ibfast":
        graphed = GraphedEpoch(model, opt, x, y, 256, l2)

        def epoch():
            graphed.run_epoch(order.next_epoch())
            torch.cuda.synchronize()
            return model.flat
    else:
        def epoch():
            train_one_epoch(model, opt, x, y, order.next_epoch(), 256, l2)
            torch.cuda.synchronize()
            return model.flat

    name = "ibfast (CUDA graph)" if impl == "ibfast" else "eager (cuda_graphs=False)"
    flat = compare("ibfast" if impl == "ibfast" else name, epoch, rounds=20, warmup_rounds=2)
    if impl == "ibfast":
        compare.note(f"{name}: one graph replay per epoch; eager: train_one_epoch, a launch per kernel")
    assert bool(torch.isfinite(flat).all())


def _peak_extra_mb(fn):
    """fn()'s result and the GPU memory it added at its peak: torch's allocations (the outputs,
    the codes of the two passes) plus the kernels' stream-ordered scratch."""
    from ibfast._backend import require_cuda

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    require_cuda().scratch_peak_bytes(reset=True)
    base = torch.cuda.memory_allocated()
    out = fn()
    torch.cuda.synchronize()
    return out, (torch.cuda.max_memory_allocated() - base + require_cuda().scratch_peak_bytes()) / 2**20


def test_fixed_range_mi_70000x1000(compare, dev):
    from ibfast.estimators.binning import BinningEstimator

    class TwoPass(ibfast.FixedRange):
        _bins = BinningEstimator._bins  # None: codes, then row_entropy

    x = _layer(70000, 1000, 1, dev)
    y = torch.from_numpy(np.random.default_rng(1).integers(0, 10, 70000)).to(dev)
    fused_est, two_est = ibfast.FixedRange(30), TwoPass(30)
    compare.group("cuda FixedRange(30) I(X;T), I(T;Y) 70000 x 1000, 10 classes")
    fused = compare("ibfast", _sync(lambda: fused_est(x, y)), rounds=10)
    two = compare("ibfast-two-pass", _sync(lambda: two_est(x, y)), rounds=5)
    assert (fused.i_xt, fused.i_ty) == (two.i_xt, two.i_ty)  # the same hashes, order and sums
    _, fused_mb = _peak_extra_mb(lambda: fused_est(x, y))
    _, two_mb = _peak_extra_mb(lambda: two_est(x, y))
    compare.check("peak extra GPU memory, fused", f"{fused_mb:.1f} MB", "< 50 MB", fused_mb < 50)
    compare.note(f"peak extra GPU memory of the two passes: {two_mb:.1f} MB (the int32 codes: 267 MB)")
    cpu = fused_est(x.cpu().numpy(), y.cpu().numpy())
    assert fused.i_xt == pytest.approx(cpu.i_xt, abs=1e-9) and fused.i_ty == pytest.approx(cpu.i_ty, abs=1e-9)
    assert fused_mb < 50
