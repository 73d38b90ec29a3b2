"""ibfast.monitor.InfoPlaneCallback in a real Lightning ``Trainer.fit`` (CPU, tiny), and a run
resumed from its checkpoint that keeps the records made before it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")
from torch import nn  # noqa: E402

from ibfast.data import load_digits  # noqa: E402
from ibfast.monitor import InfoPlaneCallback, InfoPlaneRecorder  # noqa: E402

LAYERS = {"net.1": "hidden", "net.2": "out"}


class Digits(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = nn.functional.cross_entropy(logits, y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    return torch.from_numpy(d.x[:300]), torch.from_numpy(d.y[:300])


def _loaders(data):
    x, y = data
    ds = torch.utils.data.TensorDataset(x[:240], y[:240])
    val = torch.utils.data.TensorDataset(x[240:], y[240:])
    return (torch.utils.data.DataLoader(ds, batch_size=60, shuffle=True),
            torch.utils.data.DataLoader(val, batch_size=60))


def _trainer(tmp_path: Path, epochs: int, callbacks: list) -> pl.Trainer:
    checkpoints = any(isinstance(c, pl.callbacks.ModelCheckpoint) for c in callbacks)
    return pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                      enable_checkpointing=checkpoints,
                      enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                      callbacks=callbacks, num_sanity_val_steps=0, deterministic=True)


def test_callback_records_in_trainer_fit_with_the_logged_metrics(data, tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Digits()
    probe = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data), batch_size=100)
    cb = InfoPlaneCallback(LAYERS, probe, every=2, estimators=("ebab",))
    train, val = _loaders(data)
    _trainer(tmp_path, 5, [cb]).fit(module, train, val)
    df = cb.results
    assert sorted(df["epoch"].unique()) == [0, 2, 4]
    assert set(df["layer_name"]) == {"hidden", "out"} and len(df) == 3 * 2
    assert df[["train_loss", "train_acc", "test_loss", "test_acc"]].notna().all().all()
    assert not module.net[1]._forward_hooks and not module.net[2]._forward_hooks
    # the rows are the recorder's on the final weights: one more record by hand agrees
    rec = InfoPlaneRecorder(module, LAYERS, probe, estimators=("ebab",))
    rec.record(4)
    want = df[df["epoch"] == 4].sort_values("layer")["i_xt"].to_numpy()
    assert np.array_equal(rec.results.sort_values("layer")["i_xt"].to_numpy(), want)


def test_resumed_run_keeps_its_records(data, tmp_path: Path) -> None:
    probe = (data[0], data[1])
    kwargs = {"epochs": [0, 1, 3], "estimators": ("ebab",), "reduce": "pca:4"}
    torch.manual_seed(0)
    train, val = _loaders(data)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    first = InfoPlaneCallback(LAYERS, probe, **kwargs)
    _trainer(tmp_path, 2, [first, ckpt]).fit(Digits(), train, val)
    before = first.results
    assert sorted(before["epoch"].unique()) == [0, 1]
    pca = first.recorder.reductions[0].components.clone()

    resumed = InfoPlaneCallback(LAYERS, probe, **kwargs)
    _trainer(tmp_path, 4, [resumed]).fit(Digits(), train, val, ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    after = resumed.results
    assert sorted(after["epoch"].unique()) == [0, 1, 3]  # epochs 0, 1 from the checkpoint; 3 new
    old = after[after["epoch"] <= 1].reset_index(drop=True)
    assert old.drop(columns=["train_loss", "train_acc", "test_loss", "test_acc"]).equals(
        before.drop(columns=["train_loss", "train_acc", "test_loss", "test_acc"]))
    assert torch.equal(resumed.recorder.reductions[0].components, pca)  # the PCA fitted at epoch 0
