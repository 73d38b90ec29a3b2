"""What ``ibfast.monitor.InfoPlaneRecorder`` costs a user's training run.

    pytest bench/test_bench_monitor.py -p no:cacheprovider --benchmark-columns=min,median,rounds

* a recorded epoch of a small CNN on sklearn's digits (CPU, all 1797 digits as the probe, EBAB and
  the adaptive KDE upper bound on 4 layers, the conv layers reduced by global average pooling),
  split into the probe's forward pass, the reductions in the hooks and the estimation; next to
  one training epoch for scale.
* an epoch that is not recorded: ``rec.step(e)`` on an epoch off the schedule, against the
  training epoch. Goal: <= 1% (it is a set lookup).
* peak extra memory of a record whose conv layer has d = 16 x 32 x 32 = 16384 units, projected to
  k = 64 inside the hook, at N = 1024 and N = 4096 probe rows: goal O(N k + batch d), i.e. it
  does not grow with N as an N x d matrix would (192 MiB more at 4096); ``flatten`` is the
  positive control (it holds N x d).
* GPU (marked cuda, skipped without ibfast's CUDA module and a device): a ResNet-18-like network
  on a 10000-image CIFAR-shaped random probe, 4 stages + the logits, on the device throughout:
  time per record and the GPU memory it adds beyond the model's own.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest

import ibfast

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from ibfast.data import load_digits  # noqa: E402
from ibfast.monitor import InfoPlaneRecorder  # noqa: E402

from .conftest import clear_refs_works, peak_extra_bytes  # noqa: E402

ESTIMATORS = ("ebab", "adaptive_kde_upper")


class DigitsCNN(nn.Module):
    """examples/digits_cnn.py's network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.act1 = nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.act2 = nn.ReLU(inplace=True)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 2 * 2, 32)
        self.act3 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool1(self.act1(self.conv1(x)))
        h = self.pool2(self.act2(self.conv2(h)))
        return self.fc2(self.act3(self.fc1(h.flatten(1))))


LAYERS = {"act1": "conv1", "act2": "conv2", "act3": "fc1", "fc2": "out"}


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    return torch.from_numpy(d.x).reshape(-1, 1, 8, 8), torch.from_numpy(d.y)


def _train_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    model.train()
    for a in range(0, x.shape[0], 64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[a:a + 64]), y[a:a + 64]).backward()
        opt.step()


def _median_time(fn: Any, *args: Any, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def test_recorded_epoch_cpu(compare: Any, digits) -> None:
    x, y = digits
    torch.manual_seed(0)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    _train_epoch(model, opt, x, y)
    compare.group("monitor: digits CNN, one recorded epoch (N = 1797, 4 layers, EBAB + adaptive KDE)")
    rec = InfoPlaneRecorder(model, LAYERS, (x, y), estimators=ESTIMATORS)
    epochs = iter(range(10**6))
    rec.record(next(epochs))  # the first record resolves the reductions: not what an epoch costs
    before = rec.timings.records, rec.timings.forward_s, rec.timings.reduce_s, rec.timings.estimate_s
    compare("ibfast", lambda: rec.record(next(epochs)), rounds=7)
    t = rec.timings
    n = t.records - before[0]
    split = [(t.forward_s - before[1]) / n, (t.reduce_s - before[2]) / n, (t.estimate_s - before[3]) / n]
    train_s = _median_time(_train_epoch, model, opt, x, y)
    compare.note(f"per record (mean): probe forward {split[0] * 1e3:.1f} ms, reductions in the hooks "
                 f"{split[1] * 1e3:.1f} ms, estimation {split[2] * 1e3:.1f} ms; one training epoch "
                 f"(batch 64): {train_s * 1e3:.1f} ms (median)")
    df = rec.results.reset_index()
    assert np.isfinite(df["i_xt"]).all() and set(df["d_used"]) == {16, 32, 10}


def test_unrecorded_epoch_overhead(compare: Any, digits) -> None:
    x, y = digits
    torch.manual_seed(0)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rec = InfoPlaneRecorder(model, LAYERS, (x, y), estimators=ESTIMATORS, epochs=[0])
    compare.group("monitor: an epoch that is not recorded (rec.step off the schedule)")

    def train_and_step(epoch: int = 7) -> None:
        _train_epoch(model, opt, x, y)
        rec.step(epoch)

    compare("ibfast", train_and_step, rounds=7)
    alone = _median_time(_train_epoch, model, opt, x, y)
    calls = 100000
    t0 = time.perf_counter()
    for _ in range(calls):
        rec.step(7)
    per_call = (time.perf_counter() - t0) / calls
    share = per_call / alone
    compare.note(f"training epoch alone: {alone * 1e3:.1f} ms (median); with rec.step: see the table")
    compare.check("rec.step off the schedule / training epoch",
                  f"{share * 100:.5f}% ({per_call * 1e6:.2f} us)", "<= 1%", share <= 0.01)
    assert rec.timings.records == 0  # nothing ran
    assert share <= 0.01


class WideConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)  # 16 x 32 x 32 = 16384 units
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def _probe(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand((n, 3, 32, 32), generator=gen), torch.randint(0, 10, (n,), generator=gen)


def _peak(model: nn.Module, probe: tuple[torch.Tensor, torch.Tensor], reduce: str) -> int:
    rec = InfoPlaneRecorder(model, ["conv"], probe, reduce=reduce, estimators=("ebab",), batch_size=256)
    rec.record(0)  # the projection matrix (d x k) and the probe's batches exist from here on
    return peak_extra_bytes(rec.record, 1)[1]


def test_peak_memory_is_n_k_not_n_d(compare: Any) -> None:
    if not clear_refs_works():
        pytest.skip("needs Linux /proc/self/clear_refs and VmHWM to measure peak memory")
    d, k, small, large = 16 * 32 * 32, 64, 1024, 4096
    model = WideConv()
    compare.group(f"monitor: peak extra memory of a record, conv d = {d} (CPU, probe batches of 256)")
    extra = {n: _peak(model, _probe(n), f"project:{k}") for n in (small, large)}
    control = _peak(model, _probe(small), "flatten")
    growth = extra[large] - extra[small]
    nd_growth = (large - small) * d * 4  # what holding N x d float32 would add
    mib = 2**20
    compare.check(f"peak extra, project:{k}, N = {small} -> {large}",
                  f"{extra[small] / mib:.1f} -> {extra[large] / mib:.1f} MiB (+{growth / mib:.1f})",
                  f"growth < 10% of N d's {nd_growth / mib:.0f} MiB", growth < 0.1 * nd_growth)
    compare.check(f"peak extra, flatten, N = {small} (control: holds N x d)", f"{control / mib:.1f} MiB",
                  f">= N d = {small * d * 4 / mib:.0f} MiB", control >= small * d * 4)
    compare.note(f"the rest is one batch's forward pass (a batch of the layer: {256 * d * 4 / mib:.0f} MiB); "
                 f"N k float32 at N = {large}: {large * k * 4 / mib:.1f} MiB")
    assert control >= small * d * 4  # the measurement sees an N x d matrix when there is one
    assert growth < 0.1 * nd_growth


# --------------------------------------------------------------------------------------------
# GPU: a ResNet-18-like network on a CIFAR-shaped probe
# --------------------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += self.down(x)  # in place, as torchvision's ResNet: the recorder copies in its hook
        return torch.relu(out)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout for 32 x 32 inputs (3 x 3 stem, no max pool)."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(inplace=True))
        stages, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(h.mean(dim=(2, 3)))


@pytest.mark.cuda
def test_resnet18_cifar_probe_gpu(compare: Any) -> None:
    if not ibfast.cuda_available():
        if os.environ.get("IBFAST_REQUIRE_CUDA") == "1":
            pytest.fail("IBFAST_REQUIRE_CUDA=1 but the CUDA module or a device is missing")
        pytest.skip("needs ibfast's CUDA module and a CUDA device")
    dev = torch.device("cuda")
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((10000, 3, 32, 32), generator=gen).to(dev)
    y = torch.randint(0, 10, (10000,), generator=gen).to(dev)
    torch.manual_seed(0)
    model = ResNet18().to(dev)
    layers = ["layer1", "layer2", "layer3", "layer4", "fc"]
    g = compare.group("monitor: ResNet-18-like, 10000-image CIFAR-shaped probe, one record (GPU)")
    rec = InfoPlaneRecorder(model, layers, (x, y), estimators=ESTIMATORS, batch_size=500)
    rec.record(0)  # reductions resolved, kernels warmed
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    epochs = iter(range(1, 10**6))

    def one() -> None:
        rec.record(next(epochs))
        torch.cuda.synchronize()

    compare("ibfast", one, rounds=5)
    extra = torch.cuda.max_memory_allocated(dev) - base
    assert rec.last_matrices is not None and all(t.is_cuda for t in rec.last_matrices)  # never left
    compare.check("peak extra GPU memory per record", f"{extra / 2**20:.0f} MiB",
                  "< 2 GiB (N d of layer1 alone: 2.6 GiB)", extra < 2 * 2**30)
    t = rec.timings
    capture_ms = 1e3 * (t.forward_s + t.reduce_s) / t.records
    compare.note(f"per record (mean): probe forward + reductions {capture_ms:.0f} ms, "
                 f"estimation {1e3 * t.estimate_s / t.records:.0f} ms")
    df = rec.results.reset_index()
    assert set(df["d_used"]) == {64, 128, 256, 512, 10} and np.isfinite(df["i_xt"]).all()
    assert g.timings["ibfast"].median > 0
