"""The information plane of a small CNN on MNIST read from a local folder of idx files (the four
files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, plain or .gz; nothing is downloaded), recorded with
``ibfast.monitor.InfoPlaneRecorder`` from a plain training loop.

    python examples/mnist_idx.py /data/mnist --epochs 20 --out mnist_plane.png

The probe is the first ``--probe-size`` test images (fixed, in order); the conv layers are
reduced to their channel means (global average pooling, the "auto" default for conv outputs).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

import ibfast.plots
from ibfast.data import load_mnist
from ibfast.monitor import InfoPlaneRecorder

ESTIMATORS = ("ebab", "adaptive_kde_upper")
LAYERS = {"act1": "conv1", "act2": "conv2", "act3": "fc1", "fc2": "out"}


class MnistCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)   # 16 x 28 x 28 = 12544 units
        self.act1 = nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # 32 x 14 x 14 = 6272 units
        self.act2 = nn.ReLU(inplace=True)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.act3 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool1(self.act1(self.conv1(x)))
        h = self.pool2(self.act2(self.conv2(h)))
        return self.fc2(self.act3(self.fc1(h.flatten(1))))


def run(folder: str | Path, epochs: int = 20, *, train_size: int = 10000, probe_size: int = 2000,
        out: str | Path = "mnist_plane.png", seed: int = 0, reduce: Any = "auto",
        verbose: bool = True) -> tuple[Any, list[Path]]:
    """Train on the first ``train_size`` training images, record on the first ``probe_size`` test
    images, plot; returns the results table and the written figure paths."""
    torch.manual_seed(seed)
    data = load_mnist(folder)
    n_train = int(data.meta["n_official_train"])
    x = torch.from_numpy(data.x).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(data.y)
    x_train, y_train = x[:min(train_size, n_train)], y[:min(train_size, n_train)]
    x_test, y_test = x[n_train:], y[n_train:]
    probe = (x_test[:probe_size], y_test[:probe_size])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = MnistCNN().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    with InfoPlaneRecorder(model, LAYERS, probe, estimators=ESTIMATORS, reduce=reduce, epochs=epochs,
                           points=40, settings={"data": "mnist"}, seed=seed) as rec:
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(x_train.shape[0], generator=order)
            total, correct, seen = 0.0, 0, 0
            for a in range(0, perm.numel(), 128):
                b = perm[a:a + 128]
                xb, yb = x_train[b].to(device), y_train[b].to(device)
                optimiser.zero_grad()
                logits = model(xb)
                loss = nn.functional.cross_entropy(logits, yb)
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * b.numel()
                correct += int((logits.argmax(1) == yb).sum())
                seen += b.numel()
            if rec.scheduled(epoch):
                model.eval()
                with torch.no_grad():
                    logits = torch.cat([model(x_test[a:a + 1000].to(device))
                                        for a in range(0, x_test.shape[0], 1000)])
                    test_loss = float(nn.functional.cross_entropy(logits, y_test.to(device)))
                    test_acc = float((logits.argmax(1).cpu() == y_test).float().mean())
                rec.step(epoch, train_loss=total / seen, train_acc=correct / seen, test_loss=test_loss,
                         test_acc=test_acc)
                if verbose:
                    print(f"epoch {epoch:4d}  train acc {correct / seen:.3f}  test acc {test_acc:.3f}")
        df = rec.results
    out = Path(out)
    paths: list[Path] = []
    for est in ESTIMATORS:
        paths += ibfast.plots.information_plane(df, est, out.with_name(f"{out.stem}_{est}.png"))
    df.to_csv(out.with_name(f"{out.stem}.csv"), index=False)
    if verbose:
        t = rec.timings
        print(f"{time.perf_counter() - t0:.1f} s; {t.records} records: forward {t.forward_s:.2f} s, "
              f"reductions {t.reduce_s:.2f} s, estimation {t.estimate_s:.2f} s")
        print("wrote", ", ".join(str(p) for p in paths))
    return df, paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the folder holding MNIST's four idx files")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--train-size", type=int, default=10000)
    p.add_argument("--probe-size", type=int, default=2000)
    p.add_argument("--out", default="mnist_plane.png")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reduce", default="auto", help="auto, flatten, gap, project[:k] or pca[:k]")
    args = p.parse_args(argv)
    run(args.folder, args.epochs, train_size=args.train_size, probe_size=args.probe_size, out=args.out,
        seed=args.seed, reduce=args.reduce)


if __name__ == "__main__":
    main()
