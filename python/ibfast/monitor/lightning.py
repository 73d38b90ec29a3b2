"""``InfoPlaneCallback``: the recorder as a PyTorch Lightning callback (``pip install
ibfast[lightning]``).

    cb = InfoPlaneCallback(["net.conv1", "net.fc1"], (x_probe, y_probe), epochs=trainer_epochs)
    Trainer(max_epochs=trainer_epochs, callbacks=[cb]).fit(module)
    cb.results

Records at the end of each scheduled training epoch (after that epoch's validation, so logged
validation metrics are there to put in the rows), on global rank 0 only; its records and fitted
reductions are saved in every checkpoint and restored from it, so a resumed run keeps them and
records none twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .recorder import InfoPlaneRecorder

try:
    import lightning.pytorch as pl
except ImportError:  # the standalone package of older installs
    try:
        import pytorch_lightning as pl  # type: ignore[no-redef]
    except ImportError as err:
        raise ImportError("ibfast.monitor.InfoPlaneCallback needs PyTorch Lightning: "
                          "pip install 'ibfast[lightning]'") from err

#: The table's metric columns and the logged names they are read from (``self.log(...)``).
DEFAULT_METRICS = {"train_loss": "train_loss", "train_acc": "train_acc", "test_loss": "val_loss",
                   "test_acc": "val_acc"}


class InfoPlaneCallback(pl.Callback):
    """Records the information plane of ``layers`` of the LightningModule (paths relative to it,
    e.g. ``"net.conv1"``) on ``probe`` at the scheduled epochs. ``metrics`` maps the table's
    train_loss / train_acc / test_loss / test_acc to the names your module logs (those not logged
    stay NaN). Every other keyword goes to ``InfoPlaneRecorder`` (estimators, reduce, epochs,
    every, input_ids, device, batch_size, background, settings, seed)."""

    def __init__(self, layers: str | Sequence[str] | Mapping[str, str], probe: Any, *,
                 metrics: Mapping[str, str] | None = None, **recorder_kwargs: Any) -> None:
        super().__init__()
        self.layers = layers
        self.probe = probe
        self.metrics = dict(DEFAULT_METRICS if metrics is None else metrics)
        self.recorder_kwargs = recorder_kwargs
        self.recorder: InfoPlaneRecorder | None = None
        self._state: Mapping[str, Any] | None = None  # restored before the recorder exists

    @property
    def state_key(self) -> str:
        # several callbacks (other layers or probes) keep their own states in one checkpoint
        layers = self.layers if isinstance(self.layers, str) else list(self.layers)
        return self._generate_state_key(layers=layers)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.recorder is None:
            self.recorder = InfoPlaneRecorder(pl_module, self.layers, self.probe, **self.recorder_kwargs)
        if self._state is not None:
            self.recorder.load_state_dict(self._state)
            self._state = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or self.recorder is None:
            return
        logged = trainer.callback_metrics
        values = {col: float(logged[name]) for col, name in self.metrics.items() if name in logged}
        self.recorder.step(trainer.current_epoch, **values)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.recorder is not None:
            self.recorder.close()

    def state_dict(self) -> dict[str, Any]:
        if self.recorder is not None:
            return self.recorder.state_dict()
        return dict(self._state or {})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not state_dict:
            return
        if self.recorder is not None:
            self.recorder.load_state_dict(state_dict)
        else:
            self._state = state_dict

    @property
    def results(self) -> Any:
        """The recorder's table (``InfoPlaneRecorder.results``); empty before ``fit``."""
        if self.recorder is None:
            raise RuntimeError("no records yet: the callback records during Trainer.fit")
        return self.recorder.results
