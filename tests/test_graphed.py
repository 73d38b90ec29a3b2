"""CUDA-graph training (experiment/graphed.py): the parts that run on any machine. The captured
epoch itself is tested on a GPU in tests/test_cuda.py (bench/gpu_check.sh)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.experiment.batches import BatchOrder  # noqa: E402
from ibfast.experiment.graphed import GraphedEpoch  # noqa: E402
from ibfast.experiment.train import batch_loss, epoch_steps  # noqa: E402
from ibfast.models import SeedBatchedMLP  # noqa: E402
from ibfast.models.optim import FlatAdam  # noqa: E402


def _model() -> tuple[SeedBatchedMLP, FlatAdam]:
    m = SeedBatchedMLP(4, (6, 3), 2, ["tanh", "relu", "prelu"], [0, 1, 2])
    return m, FlatAdam(m.flat, list(m.parameters()), lr=1e-2)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(rng.integers(0, 2, 40))


def _steps(m: SeedBatchedMLP, opt: FlatAdam, n: int, *, on_device: bool) -> None:
    """n optimiser steps on the first 16 samples, every seed the same batch."""
    x, y = _data()
    for _ in range(n):
        epoch_steps(m, opt, x[:16], y[:16], torch.arange(16).repeat(m.n_seeds, 1), 16, on_device=on_device)


def _train(step: str, n_steps: int) -> tuple[FlatAdam, torch.Tensor]:
    m, opt = _model()
    x, y = _data()
    if step == "step_on_device":
        opt.prepare_device_step()
    order = BatchOrder("per_seed", m.seeds, 40)
    for _ in range(n_steps):
        loss = batch_loss(m, x, y, order.next_epoch()[:, :16], 0.01)
        opt.zero_grad()
        loss.backward()
        getattr(opt, step)()
    return opt, m.flat.detach().clone()


def test_the_device_step_equals_the_host_step():
    """The captured update: bias corrections from a float64 device count, not host floats."""
    host_opt, host = _train("step", 25)
    dev_opt, dev = _train("step_on_device", 25)
    assert host_opt.t == dev_opt.t == 25 and float(dev_opt._t_device) == 25.0
    assert not torch.equal(host, _model()[0].flat)  # it trained
    torch.testing.assert_close(dev, host, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dev_opt.m, host_opt.m, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(dev_opt.v, host_opt.v, rtol=1e-6, atol=1e-12)


def test_the_device_step_needs_its_count_first():
    _, opt = _model()
    with pytest.raises(RuntimeError, match="prepare_device_step"):
        opt.step_on_device()


def test_restore_goes_back_in_place():
    m, opt = _model()
    opt.prepare_device_step()
    state = opt.snapshot()
    addresses = [t.data_ptr() for t in (opt.flat, opt.m, opt.v, opt.grad)]
    before = m.flat.clone()
    _steps(m, opt, 3, on_device=True)
    assert opt.t == 3 and not torch.equal(m.flat, before)
    opt.restore(state)
    assert opt.t == 0 and float(opt._t_device) == 0.0
    assert torch.equal(m.flat, before) and not opt.m.any() and not opt.v.any()
    assert addresses == [t.data_ptr() for t in (opt.flat, opt.m, opt.v, opt.grad)]
    assert m.weights[0].data_ptr() == opt.flat.data_ptr()  # the parameters still alias the buffer


def test_graphs_need_a_cuda_model():
    m, opt = _model()
    x, y = _data()
    with pytest.raises(ValueError, match="CUDA graphs need the model and data on a CUDA device"):
        GraphedEpoch(m, opt, x, y, 16)


def test_cuda_graphs_is_a_bool_and_unused_on_the_cpu():
    cfg = ExperimentConfig(epochs=2, seeds=(0,), hidden=(4,), record_epochs=(1,), estimators=("kde_upper",))
    with pytest.raises(TypeError, match="cuda_graphs must be a bool"):
        Experiment(cfg, cuda_graphs="yes")  # type: ignore[arg-type]
    exp = Experiment(cfg)
    exp.run()
    assert exp.cuda_graphs and not exp.used_cuda_graphs


def test_a_failed_capture_falls_back_to_eager_training_with_a_warning():
    """The fallback path, driven on the CPU (where GraphedEpoch refuses before any work): a
    warning naming the cause and no graph. The restore after a failed warm-up or capture needs a
    GPU and is not tested here."""
    cfg = ExperimentConfig(epochs=2, seeds=(0,), hidden=(4,), record_epochs=(1,), estimators=("kde_upper",))
    exp = Experiment(cfg)
    m, opt = _model()
    x, y = _data()
    before = m.flat.clone()
    with pytest.warns(RuntimeWarning, match="CUDA graph capture failed .*CUDA graphs need"):
        assert exp._graphed_epoch(m, opt, x, y, 0.0) is None
    assert not exp.used_cuda_graphs and torch.equal(m.flat, before)
    assert Experiment(cfg, cuda_graphs=False)._graphed_epoch(m, opt, x, y, 0.0) is None


def test_restore_sets_the_device_count_from_the_snapshot_taken_before_it_existed():
    m, opt = _model()
    _steps(m, opt, 2, on_device=False)
    state = opt.snapshot()  # t = 2, no device count yet
    opt.prepare_device_step()
    _steps(m, opt, 1, on_device=True)
    opt.restore(state)
    assert opt.t == 2 and float(opt._t_device) == 2.0
