"""CUDA backend: every kernel and estimator on the GPU agrees with the CPU; errors are the same.

Marked `cuda`: skipped without the CUDA module or a device; IBFAST_REQUIRE_CUDA=1 makes that a
failure (bench/gpu_check.sh sets it on GPU machines).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import activations

import ibfast
from ibfast import kernels

torch = pytest.importorskip("torch")


SHAPES = [(1, 1), (7, 3), (130, 1), (257, 10), (1000, 33), (4096, 10), (300, 200)]
KINDS = ["gauss", "relu", "tanh_sat", "swish", "few", "binary"]


def _data(kind, n, d, seed=0):
    rng = np.random.default_rng(seed)
    t = activations(kind, n, d, rng)
    y = rng.integers(0, 3, n)
    return t, y


@pytest.mark.parametrize(("n", "d"), SHAPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.cuda
def test_binning_kernels_match_cpu_exactly(cuda_device, kind, n, d):
    t, _ = _data(kind, n, d)
    g = torch.from_numpy(t).to(cuda_device)
    edges = np.linspace(-1, 1, 30)
    cpu_codes = kernels.bin_by_edges(t, edges)
    np.testing.assert_array_equal(kernels.bin_by_edges(g, edges).cpu().numpy(), cpu_codes)
    np.testing.assert_array_equal(kernels.bin_by_width(g, 0.07).cpu().numpy(), kernels.bin_by_width(t, 0.07))
    for lower in ("auto", None, 0.0, -1.000001):
        np.testing.assert_array_equal(kernels.ebab_edges(g, 30, lower), kernels.ebab_edges(t, 30, lower))


@pytest.mark.parametrize(("n", "d"), SHAPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.cuda
def test_row_entropy_matches_cpu(cuda_device, kind, n, d):
    t, y = _data(kind, n, d)
    codes = kernels.bin_by_width(t, 0.25)
    ids = np.arange(n) // 2
    cpu = kernels.distinct_row_entropy(codes, y, ids)
    gpu = kernels.distinct_row_entropy(torch.from_numpy(codes).to(cuda_device), y, ids)
    assert gpu.n_distinct == cpu.n_distinct
    assert gpu.h == pytest.approx(cpu.h, abs=1e-12)
    np.testing.assert_allclose(gpu.h_given, cpu.h_given, atol=1e-12)


def _gpu_groupings(x, y):
    """The labels y and input ids (two rows per input) as int32 ids on x's device, and their sizes."""
    from ibfast._dispatch import group_ids_like

    mapped = [group_ids_like(g, x) for g in (y, np.arange(x.shape[0]) // 2)]
    return [ids for ids, _ in mapped], [size for _, size in mapped]


@pytest.mark.parametrize(("n", "d"), [*SHAPES, (64, 1000)])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.cuda
def test_fused_binned_entropy_on_the_gpu(cuda_device, kind, n, d):
    """The fused kernel (bins where it hashes and verifies) gives bit for bit the GPU's two passes
    (the same hash of the same codes, so the same order and sums), and the CPU's numbers."""
    from ibfast._dispatch import binned_row_entropy_nats, row_entropy_nats

    t, y = _data(kind, n, d)
    g = torch.from_numpy(t).to(cuda_device)
    groups, sizes = _gpu_groupings(g, y)
    cpu_groups = [x.cpu().numpy() for x in groups]
    rng = np.random.default_rng(n * d)
    for n_edges in (1, 2, 30, 32, 64, 65, 300):
        edges = np.sort(rng.uniform(float(t.min()) - 0.1, float(t.max()) + 0.1, n_edges))
        for k in (0, 1, 2):
            gpu = binned_row_entropy_nats(g, edges, None, groups[:k], sizes[:k])
            assert gpu == row_entropy_nats(kernels.bin_by_edges(g, edges), groups[:k], sizes[:k])
            cpu = binned_row_entropy_nats(t, edges, None, cpu_groups[:k], sizes[:k])
            assert gpu[2] == cpu[2]
            assert gpu[0] == pytest.approx(cpu[0], abs=1e-12)
            np.testing.assert_allclose(gpu[1], cpu[1], atol=1e-12)
    for width in (0.07, 0.5):
        gpu = binned_row_entropy_nats(g, None, width, groups, sizes)
        assert gpu == row_entropy_nats(kernels.bin_by_width(g, width), groups, sizes)
        cpu = binned_row_entropy_nats(t, None, width, cpu_groups, sizes)
        assert gpu[2] == cpu[2]
        assert gpu[0] == pytest.approx(cpu[0], abs=1e-12)


@pytest.mark.parametrize("hash_bits", [1, 4, 16])
@pytest.mark.cuda
def test_fused_binned_entropy_on_the_gpu_with_colliding_hashes(cuda_device, hash_bits):
    """Truncated hashes put different rows next to each other in the sorted order: the
    verification must see it and the exact path must give the full hash's numbers. (Where the
    truncated hashes happen not to collide, the rows are summed in another order: the same
    counts, sums equal to rounding.)"""
    from ibfast._dispatch import binned_row_entropy_nats

    for kind, n, d in [("few", 800, 3), ("gauss", 600, 20), ("tanh_sat", 400, 40)]:
        t, y = _data(kind, n, d, seed=hash_bits)
        g = torch.from_numpy(t).to(cuda_device)
        groups, sizes = _gpu_groupings(g, y)
        for edges, width in ((np.linspace(-1, 1, 30), None), (np.linspace(-1, 1, 300), None), (None, 0.25)):
            full = binned_row_entropy_nats(g, edges, width, groups, sizes)
            got = binned_row_entropy_nats(g, edges, width, groups, sizes, hash_bits=hash_bits)
            assert got[2] == full[2]
            assert got[0] == pytest.approx(full[0], abs=1e-12)
            np.testing.assert_allclose(got[1], full[1], atol=1e-12)


@pytest.mark.parametrize("name", ["fixed_range", "fixed_width", "adaptive_range", "ebab"])
@pytest.mark.cuda
def test_gpu_estimators_take_the_fused_path_with_the_same_numbers(cuda_device, name, monkeypatch):
    from ibfast.estimators.binning import BinningEstimator

    t, y = _data("tanh_sat", 3000, 12, seed=3)
    g = torch.from_numpy(t).to(cuda_device)
    est = ESTIMATORS[name]
    fused = est(g, y, input_ids=np.arange(3000) // 3)
    monkeypatch.setattr(type(est), "_bins", BinningEstimator._bins)
    assert est(g, y, input_ids=np.arange(3000) // 3) == fused


@pytest.mark.cuda
def test_fused_path_refuses_too_many_edges_on_the_gpu(cuda_device):
    from ibfast._dispatch import binned_row_entropy_nats

    g = torch.zeros(4, 2, device=cuda_device)
    with pytest.raises(ValueError, match="at most 512 edges"):
        binned_row_entropy_nats(g, np.linspace(0, 1, 513))


@pytest.mark.parametrize(("n", "d"), SHAPES)
@pytest.mark.parametrize("alpha", [0.5, 50.0, 500.0])
@pytest.mark.cuda
def test_kde_log_sum_exp_matches_cpu(cuda_device, n, d, alpha):
    t, y = _data("tanh_sat", n, d)
    a_cpu, w_cpu = kernels.kde_log_sum_exp(t, alpha, y)
    a_gpu, w_gpu = kernels.kde_log_sum_exp(torch.from_numpy(t).to(cuda_device), alpha, y)
    assert a_gpu.device.type == "cuda" and a_gpu.dtype == torch.float64
    np.testing.assert_allclose(a_gpu.cpu().numpy(), a_cpu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w_gpu.cpu().numpy(), w_cpu, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("n", "d"), SHAPES)
@pytest.mark.cuda
def test_kde_multi_alpha_matches_single_alpha_and_cpu(cuda_device, n, d):
    # several alphas from one pass: each as the single-alpha launch (up to the order of the
    # float64 atomics) and as the CPU (the float32 contract); 3 alphas take two passes (kFused = 2)
    t, y = _data("tanh_sat", n, d)
    g = torch.from_numpy(t).to(cuda_device)
    alphas = [500.0, 125.0, 0.5]
    many = kernels.kde_log_sum_exp_alphas(g, alphas, y)
    cpu = kernels.kde_log_sum_exp_alphas(t, alphas, y)
    for a, (ga, gw), (ca, cw) in zip(alphas, many, cpu, strict=True):
        one_a, one_w = kernels.kde_log_sum_exp(g, a, y)
        np.testing.assert_allclose(ga.cpu().numpy(), one_a.cpu().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gw.cpu().numpy(), one_w.cpu().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ga.cpu().numpy(), ca, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gw.cpu().numpy(), cw, rtol=1e-5, atol=1e-6)
    no_groups = kernels.kde_log_sum_exp_alphas(g, alphas)
    assert all(w is None for _, w in no_groups)
    np.testing.assert_allclose(no_groups[1][0].cpu().numpy(), many[1][0].cpu().numpy(),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.cuda
def test_estimate_together_on_cuda_equals_separate_calls(cuda_device):

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 4096)
    widths = (10, 7, 5, 4, 3, 2)
    layers = [torch.from_numpy(activations("tanh_sat", 4096, d, rng)).to(cuda_device) for d in widths]
    ests = [ibfast.EBAB(), ibfast.KDE(), ibfast.KDE(bound="lower"), ibfast.AdaptiveKDE(),
            ibfast.AdaptiveKDE(bound="lower"), ibfast.AdaptiveKDE(0.05, power=2),
            ibfast.AdaptiveKDE(0.05, bound="lower", power=2)]
    for labels in (None, y):
        together = ibfast.estimate_together(ests, layers, labels)
        for est, got in zip(ests, together, strict=True):
            want = est.many(layers, labels)
            for a, b in zip(got, want, strict=True):
                assert a.i_xt == pytest.approx(b.i_xt, rel=1e-12, abs=1e-12)
                assert a.h_t == pytest.approx(b.h_t, rel=1e-12, abs=1e-12)
                if labels is None:
                    assert a.i_ty is None
                else:
                    assert a.i_ty == pytest.approx(b.i_ty, rel=1e-12, abs=1e-12)
        upper, lower = ibfast.estimate_together(ests[1:3], layers, labels)
        cpu_upper, cpu_lower = ibfast.estimate_together(ests[1:3], [t.cpu().numpy() for t in layers], labels)
        for got, want in zip(upper + lower, cpu_upper + cpu_lower, strict=True):
            assert got.i_xt == pytest.approx(want.i_xt, rel=1e-5, abs=1e-6)


ESTIMATORS = {
    "fixed_range": ibfast.FixedRange(), "fixed_width": ibfast.FixedWidth(0.07),
    "adaptive_range": ibfast.AdaptiveRange(), "ebab": ibfast.EBAB(),
    "kde_upper": ibfast.KDE(1e-3), "kde_lower": ibfast.KDE(1e-1, bound="lower"),
    "adaptive_kde": ibfast.AdaptiveKDE(),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.cuda
def test_estimators_match_cpu(cuda_device, name, kind):
    t, y = _data(kind, 2000, 8, seed=5)
    est = ESTIMATORS[name]
    cpu = est(t, y)
    gpu = est(torch.from_numpy(t).to(cuda_device), torch.from_numpy(y).to(cuda_device))
    tol = 1e-9 if not name.startswith(("kde", "adaptive_kde")) else 1e-5 * max(1.0, abs(cpu.i_xt))
    assert gpu.i_xt == pytest.approx(cpu.i_xt, abs=tol)
    assert gpu.i_ty == pytest.approx(cpu.i_ty, abs=tol)


@pytest.mark.cuda
def test_kde_many_equals_one_by_one(cuda_device):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 4096)
    widths = (10, 7, 5, 4, 3, 2)
    layers = [torch.from_numpy(activations("tanh_sat", 4096, d, rng)).to(cuda_device) for d in widths]
    est = ibfast.KDE(1e-3)
    batched = est.many(layers * 4, y)
    for k, r in enumerate(batched):
        one = est(layers[k % 6], y)
        assert r.i_xt == pytest.approx(one.i_xt, rel=1e-9)
        assert r.i_ty == pytest.approx(one.i_ty, rel=1e-9, abs=1e-12)


@pytest.mark.cuda
def test_bad_input_on_the_gpu_path(cuda_device):
    t = torch.zeros(10, 3, device=cuda_device)
    t[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        ibfast.EBAB()(t)
    with pytest.raises(ValueError, match="2-D"):
        ibfast.KDE()(torch.zeros(10, device=cuda_device))
    with pytest.raises(ValueError, match="labels has 3 entries"):
        ibfast.KDE()(torch.zeros(10, 2, device=cuda_device), np.arange(3))
    with pytest.raises(ValueError, match="must be on"):
        kernels.kde_log_sum_exp_many([torch.zeros(4, 2, device=cuda_device), np.zeros((4, 2), np.float32)],
                                     1.0)
    # non-contiguous and float64 device input give the CPU numbers
    base = torch.from_numpy(_data("gauss", 300, 6)[0]).double().to(cuda_device)
    view = base.t().contiguous().t()
    assert ibfast.KDE(0.1)(view).i_xt == pytest.approx(ibfast.KDE(0.1)(base.cpu().numpy()).i_xt, rel=1e-5)


@pytest.mark.cuda
def test_experiment_on_cuda_matches_cpu(cuda_device):
    from ibfast.experiment import Experiment, ExperimentConfig

    cfg = dict(epochs=4, seeds=(0, 1), hidden=(8, 5), record_epochs=(0, 3), estimators=("kde_upper",),
               batch_size=512)
    cpu = Experiment(ExperimentConfig(**cfg)).run()
    gpu = Experiment(ExperimentConfig(**cfg, device="cuda")).run()
    np.testing.assert_allclose(gpu["train_loss"], cpu["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(gpu["i_xt"], cpu["i_xt"], rtol=1e-3)


@pytest.mark.cuda
def test_a_graphed_epoch_trains_as_the_eager_one(cuda_device):
    """Three epochs of a packed model (per-seed shuffles, a last partial batch, per-seed L2),
    replayed from one CUDA graph but for an eager middle one, against eager train_one_epoch from
    the same start."""
    from ibfast.experiment.batches import BatchOrder
    from ibfast.experiment.graphed import GraphedEpoch
    from ibfast.experiment.train import train_one_epoch
    from ibfast.models import SeedBatchedMLP
    from ibfast.models.optim import FlatAdam

    names = ["tanh", "tanh", "relu", "prelu", "swish", "softplus"]
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(300, 12)).astype(np.float32)).to(cuda_device)
    y = torch.from_numpy(rng.integers(0, 2, 300)).to(cuda_device)
    l2 = torch.tensor([0.0, 0.015, 0.0, 0.015, 0.0, 0.015], device=cuda_device)
    flats = []
    for graphs in (True, False):
        m = SeedBatchedMLP(12, (10, 7, 5), 2, names, list(range(6)), device=cuda_device)
        opt = FlatAdam(m.flat, list(m.parameters()), lr=1e-3)
        start = m.flat.clone()
        order = BatchOrder("per_seed", m.seeds, 300)
        graphed = GraphedEpoch(m, opt, x, y, 64, l2) if graphs else None
        assert torch.equal(m.flat, start) and opt.t == 0  # capture left the model as it was
        for epoch in range(3):
            if graphed is not None and epoch != 1:  # epoch 1 eager: the graph picks up its count
                assert graphed.run_epoch(order.next_epoch()) == 5
            else:
                train_one_epoch(m, opt, x, y, order.next_epoch(), 64, l2)
        assert opt.t == 15
        flats.append(m.flat.clone())
    assert not torch.equal(flats[1], start)
    torch.testing.assert_close(flats[0], flats[1], rtol=1e-5, atol=1e-6)


@pytest.mark.cuda
def test_experiment_on_cuda_trains_from_a_graph(cuda_device):
    from ibfast.experiment import Experiment, ExperimentConfig

    cfg = ExperimentConfig(epochs=5, seeds=(0, 1), hidden=(8, 5), record_epochs=(0, 4),
                           estimators=("kde_upper",), batch_size=512, device="cuda")
    graphed = Experiment(cfg)
    with_graph = graphed.run()
    assert graphed.used_cuda_graphs
    eager = Experiment(cfg, cuda_graphs=False)
    without = eager.run()
    assert not eager.used_cuda_graphs
    np.testing.assert_allclose(with_graph["train_loss"], without["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(with_graph["i_xt"], without["i_xt"], rtol=1e-4)


def test_asking_for_cuda_without_it_is_a_clear_error():
    """Runs everywhere: on a machine without CUDA, device='cuda' names the reason."""
    if ibfast.cuda_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA was asked for"):
        ibfast.EBAB()(np.zeros((4, 2), np.float32), device="cuda")
    with pytest.raises(ValueError, match="CUDA was asked for"):
        kernels.kde_log_sum_exp(np.zeros((4, 2), np.float32), 1.0, device="cuda")


# (arguments of _core.row_entropy / binned_row_entropy, of the _cuda ones, message after the prefix)
ROW_ENTROPY_BAD_ARGS = {
    "n_groups_count": ("row_entropy", dict(n_groups=[]), "one n_groups per grouping"),
    "n_groups_0": ("row_entropy", dict(n_groups=[0]), "a grouping needs n_groups >= 1"),
    "hash_bits_0": ("binned_row_entropy", dict(hash_bits=0), r"hash_bits must be in \[1, 64\], got 0"),
    "hash_bits_65": ("binned_row_entropy", dict(hash_bits=65), r"hash_bits must be in \[1, 64\], got 65"),
    "width_0": ("binned_row_entropy", dict(width=0.0), "width must be finite and > 0"),
    "width_inf": ("binned_row_entropy", dict(width=float("inf")), "width must be finite and > 0"),
}


@pytest.mark.parametrize("bad", sorted(ROW_ENTROPY_BAD_ARGS))
@pytest.mark.cuda
def test_row_entropy_arguments_are_refused_as_on_the_cpu(cuda_device, bad):
    # one check (ibfast/row_entropy_checks.hpp) for both backends: the same message after the prefix
    from ibfast import _core
    from ibfast._dispatch import on_gpu

    entry, change, message = ROW_ENTROPY_BAD_ARGS[bad]
    args = dict(n_groups=[2], hash_bits=64, width=0.5) | change
    codes = np.zeros((4, 2), np.int32)
    x = np.zeros((4, 2), np.float32)
    g = np.array([0, 1, 0, 1], np.int32)
    gc, xc, codes_c = (torch.from_numpy(a).to(cuda_device) for a in (g, x, codes))
    binned = entry == "binned_row_entropy"
    with pytest.raises(ValueError, match=rf"^ibfast {entry}: {message}$"):
        if binned:
            _core.binned_row_entropy(x, None, args["width"], [g], args["n_groups"], args["hash_bits"])
        else:
            _core.row_entropy(codes, [g], args["n_groups"])
    with pytest.raises(ValueError, match=rf"^ibfast CUDA {entry}: {message}$"):
        if binned:
            on_gpu(xc, "binned_row_entropy", xc.data_ptr(), 4, 2, None, args["width"], [gc.data_ptr()],
                   args["n_groups"], args["hash_bits"])
        else:
            on_gpu(codes_c, "row_entropy", codes_c.data_ptr(), 4, 2, [gc.data_ptr()], args["n_groups"])
