"""One experiment: train S seeds of one network as a batched model, and at every recorded epoch
estimate I(X;T) and I(T;Y) of every layer on all samples, online (no activation dumps).

Estimation runs in a worker thread while training goes on: the C++ kernels release the GIL, so on
a CPU the two overlap, training on ``torch_threads`` threads and the kernels on the rest.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._backend import require_cuda
from ..data import Dataset, split_indices
from ..estimators import Estimator, estimate_together
from ..models import SeedBatchedMLP
from ..models.optim import FlatAdam
from .batches import BatchOrder
from .checkpoint import Checkpoint
from .config import ExperimentConfig
from .from_config import build_estimators, effective_split, load_dataset, repeated_input_ids, run_columns
from .graphed import GraphedEpoch
from .train import cross_entropy, train_one_epoch

ProgressFn = Callable[[int, int], None]
_MAX_PENDING = 8  # recorded epochs waiting for the estimation thread before training waits


@dataclass
class RunTimings:
    train_s: float = 0.0
    record_s: float = 0.0
    estimate_wait_s: float = 0.0
    steps: int = 0


# Packed configurations may differ in these keys only: one model trains them all, an activation
# per block of seeds and an L2 strength per seed.
PACKABLE_KEYS = ("activation", "l2", "seeds")


def pack_key(config: ExperimentConfig) -> tuple[tuple[str, str], ...]:
    """Configurations with equal keys can train as one packed model (``Experiment([...])``)."""
    return tuple((k, repr(v)) for k, v in sorted(config.to_dict().items()) if k not in PACKABLE_KEYS)


class Experiment:
    """``Experiment(config).run()`` trains and estimates, returning the tidy results table.

    ``Experiment([config, ...])`` packs several configurations that differ only in activation, L2
    and seeds (e.g. a grid's activations x L2 values) into one stacked model: each configuration's
    seeds get its activation and L2 strength, and each seed's numbers are those of its own run
    (to float rounding of the batched matmuls, as for seeds). ``run_members()`` splits the table
    back per configuration.

    On a CUDA device, each epoch's optimiser steps replay from one CUDA graph (``GraphedEpoch``;
    ``cuda_graphs=False`` trains eagerly; ``used_cuda_graphs`` says which ran): the same numbers to
    float rounding, without a launch per kernel. Should the capture fail, training goes on eagerly
    with a warning.
    """

    def __init__(self, config: ExperimentConfig | Sequence[ExperimentConfig],
                 dataset: Dataset | None = None, *, cuda_graphs: bool = True) -> None:
        members = [config] if isinstance(config, ExperimentConfig) else list(config)
        if not members:
            raise ValueError("an experiment needs at least one configuration")
        first = set(pack_key(members[0]))
        differing = sorted({k for m in members[1:] for k, v in pack_key(m) if (k, v) not in first})
        if differing:
            raise ValueError(f"packed configurations may differ only in {', '.join(PACKABLE_KEYS)}; "
                             f"these differ: {', '.join(differing)}")
        if not isinstance(cuda_graphs, bool):
            raise TypeError(f"cuda_graphs must be a bool, got {type(cuda_graphs).__name__}")
        self.cuda_graphs = cuda_graphs
        self.used_cuda_graphs = False
        self.members = members
        # seed slots of the model: (configuration index, seed) in configuration order
        self.slots = [(i, seed) for i, m in enumerate(members) for seed in m.seeds]
        config = members[0]
        self.config = config
        self.protocol = config.protocol_items()
        self.dataset = dataset if dataset is not None else load_dataset(config)
        if self.dataset.n_inputs < 1 or self.dataset.n_classes < 2:
            raise ValueError(f"data {self.dataset.name!r} needs >= 2 classes and >= 1 input")
        if torch.device(config.device).type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(f"device {config.device!r} was asked for, but torch sees no CUDA device")
            require_cuda()  # fail now, not at the first recorded epoch
        self.estimators: dict[str, Estimator] = build_estimators(config)
        self.split = effective_split(config, self.dataset)
        self.run_columns = [run_columns(m, self.dataset, self.split) for m in members]
        self.input_ids = repeated_input_ids(self.dataset.x)
        self.train_idx, self.test_idx = split_indices(
            self.dataset.n_samples, config.train_fraction, self.split, config.split_seed, self.dataset.y
        )
        if config.batch_size > self.train_idx.size:
            raise ValueError(
                f"batch_size {config.batch_size} exceeds the {self.train_idx.size} training samples"
            )
        self.record = config.recorded_epochs()
        self.timings = RunTimings()
        self.model: SeedBatchedMLP | None = None  # the trained model, after run()
        self.resumed_from = 0  # the epoch the last run continued from (a checkpoint's), else 0

    @property
    def seeds(self) -> list[int]:
        """The model's seeds, slot by slot (a packed model may hold one seed id several times)."""
        return [seed for _, seed in self.slots]

    def make_model(self) -> SeedBatchedMLP:
        c = self.config
        activation: str | list[str] = (c.activation if len(self.members) == 1 else
                                       [self.members[i].activation for i, _ in self.slots])
        return SeedBatchedMLP(self.dataset.n_inputs, c.hidden, self.dataset.n_classes,
                              activation, self.seeds, device=c.device, init_gain=self.protocol.init_gain,
                              l2_on_activation_params=c.l2_on_activation_params)

    def _l2(self, device: torch.device) -> float | torch.Tensor:
        """One strength (the single-configuration path, as before) or one per seed slot."""
        strengths = [self.members[i].l2 for i, _ in self.slots]
        if len(set(strengths)) == 1:
            return strengths[0]
        return torch.tensor(strengths, dtype=torch.float32, device=device)

    def run(self, progress: ProgressFn | None = None, *, checkpoint: Checkpoint | None = None) -> Any:
        """Train and estimate; returns a pandas DataFrame, one row per seed, epoch, layer, estimator.
        With ``checkpoint``, the run continues from its saved state if there is one, and saves its
        state as it goes (``ibfast.experiment.checkpoint``); the rows are those of a run never
        interrupted. ``resumed_from`` then says the epoch it continued from (0: from the start)."""
        return self._run(progress, checkpoint).drop(columns="_member")

    def run_members(self, progress: ProgressFn | None = None, *,
                    checkpoint: Checkpoint | None = None) -> list[Any]:
        """``run`` split per configuration: one table per member, in order."""
        df = self._run(progress, checkpoint)
        return [df[df["_member"] == i].drop(columns="_member").reset_index(drop=True)
                for i in range(len(self.members))]

    def record_now(self, epoch: int = 0) -> Any:
        """Record every layer of the model now and estimate it, as a recorded epoch does, and
        return that epoch's rows (labelled ``epoch``). The model is the trained one after
        ``run()``, else a freshly initialised one. Timing one call gives the cost of a recorded
        epoch (``ibfast reproduce``'s projection)."""

        if self.model is None:
            self.model = self.make_model()
        device = torch.device(self.config.device)
        x_all = torch.from_numpy(self.dataset.x).to(device)
        y_all = torch.from_numpy(self.dataset.y).to(device)
        layers, metrics = self._record(self.model, x_all, y_all)
        rows = self._estimate(epoch, layers, metrics)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return pd.DataFrame(rows).drop(columns="_member")

    def _run(self, progress: ProgressFn | None, checkpoint: Checkpoint | None) -> Any:

        threads_before = torch.get_num_threads()
        if self.config.torch_threads > 0:
            torch.set_num_threads(self.config.torch_threads)
        try:
            rows = self._train_and_record(progress, checkpoint)
        finally:
            torch.set_num_threads(threads_before)
        return pd.DataFrame(rows)

    # -- training ------------------------------------------------------------------------------
    def _train_and_record(self, progress: ProgressFn | None,
                          checkpoint: Checkpoint | None) -> list[dict[str, Any]]:
        c = self.config
        device = torch.device(c.device)
        model = self.model = self.make_model()
        optimiser = FlatAdam(model.flat, list(model.parameters()), lr=c.lr)
        x_all = torch.from_numpy(self.dataset.x).to(device)
        y_all = torch.from_numpy(self.dataset.y).to(device)
        train_idx = torch.from_numpy(self.train_idx).to(device)
        x_train, y_train = x_all[train_idx], y_all[train_idx]
        batches = BatchOrder(self.protocol.batch_order, self.seeds, x_train.shape[0], c.batch_seed)
        l2 = self._l2(device)
        on_gpu = device.type == "cuda"
        record = set(self.record.tolist())
        before = self.protocol.record_timing == "before"
        rows: list[dict[str, Any]] = []
        start = 0
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:  # the parameters and moments in place, the batch order, the rows
            flat, m, v, grad, t = saved["optimiser"]
            optimiser.restore((flat.to(device), m.to(device), v.to(device), grad.to(device), int(t)))
            batches.set_state(saved["batches"])
            start, rows = int(saved["epoch"]), list(saved["rows"])
        self.resumed_from = start

        graphed = self._graphed_epoch(model, optimiser, x_train, y_train, l2) if on_gpu else None
        pending: list[Future[list[dict[str, Any]]]] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            for epoch in range(start, c.epochs):
                if before and epoch in record:  # the network as it enters epoch e (0: untrained)
                    self._record_epoch(epoch, model, x_all, y_all, pool, pending, rows, on_gpu)
                t0 = time.perf_counter()
                if graphed is not None:
                    self.timings.steps += graphed.run_epoch(batches.next_epoch())
                else:
                    self.timings.steps += train_one_epoch(
                        model, optimiser, x_train, y_train, batches.next_epoch(), c.batch_size, l2
                    )
                self.timings.train_s += time.perf_counter() - t0
                if not before and epoch in record:  # the network after epoch e's updates
                    self._record_epoch(epoch, model, x_all, y_all, pool, pending, rows, on_gpu)
                if checkpoint is not None and epoch + 1 < c.epochs and checkpoint.due(epoch + 1):
                    for fut in pending:  # the rows of every epoch so far belong in the checkpoint
                        rows.extend(fut.result())
                    pending.clear()
                    # the rows as they are: pickle shares their key strings, and a DataFrame of them
                    # came out larger (str columns) or 10% smaller (categoricals): not worth a step
                    checkpoint.save({"epoch": epoch + 1, "optimiser": optimiser.snapshot(),
                                     "batches": batches.state(), "rows": rows})
                if progress is not None:
                    progress(epoch + 1, c.epochs)
            t2 = time.perf_counter()
            for fut in pending:
                rows.extend(fut.result())
            self.timings.estimate_wait_s += time.perf_counter() - t2
        return rows

    def _graphed_epoch(self, model: SeedBatchedMLP, optimiser: FlatAdam, x_train: torch.Tensor,
                       y_train: torch.Tensor, l2: float | torch.Tensor) -> GraphedEpoch | None:
        """The epoch as a CUDA graph, or None (not asked for, or the capture failed: eager then)."""
        self.used_cuda_graphs = False
        if not self.cuda_graphs:
            return None
        try:
            graphed = GraphedEpoch(model, optimiser, x_train, y_train, self.config.batch_size, l2)
        except Exception as e:  # a speed-up only: the model and optimiser are restored and eager
            # training gives the numbers (tests/test_cuda.py asserts the graph was used)
            cause = f"{e}; {e.__context__}" if e.__context__ is not None else str(e)  # capture_end hides it
            warnings.warn(f"CUDA graph capture failed ({cause}); training eagerly", RuntimeWarning,
                          stacklevel=3)
            return None
        self.used_cuda_graphs = True
        return graphed

    def _record_epoch(
        self, epoch: int, model: SeedBatchedMLP, x_all: torch.Tensor, y_all: torch.Tensor,
        pool: ThreadPoolExecutor, pending: list[Future[list[dict[str, Any]]]],
        rows: list[dict[str, Any]], on_gpu: bool,
    ) -> None:
        """Take every layer's activity now and estimate it (in the worker thread on a CPU)."""
        t1 = time.perf_counter()
        layers, metrics = self._record(model, x_all, y_all)
        t2 = time.perf_counter()
        self.timings.record_s += t2 - t1
        if on_gpu:  # the GPU computes asynchronously already; no thread needed
            rows.extend(self._estimate(epoch, layers, metrics))
        else:
            pending.append(pool.submit(self._estimate, epoch, layers, metrics))
            while len(pending) > _MAX_PENDING:
                rows.extend(pending.pop(0).result())
        self.timings.estimate_wait_s += time.perf_counter() - t2

    @torch.no_grad()
    def _record(
        self, model: SeedBatchedMLP, x_all: torch.Tensor, y_all: torch.Tensor
    ) -> tuple[list[Any], dict[str, np.ndarray]]:
        """Every layer on all samples (host copies for the CPU kernels, device tensors on a GPU),
        and per-seed metrics."""
        hidden, logits = model.forward_all(x_all)
        layers = [*hidden, torch.softmax(logits, dim=-1)]
        losses = cross_entropy(logits.transpose(1, 2), y_all.expand(model.n_seeds, -1))
        correct = (logits.argmax(dim=-1) == y_all[None, :]).float()
        metrics = {}
        for part, idx in (("train", self.train_idx), ("test", self.test_idx)):
            sel = torch.from_numpy(idx).to(x_all.device)
            metrics[f"{part}_loss"] = losses[:, sel].mean(dim=1).cpu().numpy()
            metrics[f"{part}_acc"] = correct[:, sel].mean(dim=1).cpu().numpy()
        if x_all.is_cuda:  # stays on the GPU: estimated there, batched over seeds and layers
            return [t.detach().contiguous() for t in layers], metrics
        # C-contiguous host copies: the estimators then take each seed's (N, width) slice as is
        return [t.detach().cpu().contiguous().numpy() for t in layers], metrics

    # -- estimation (worker thread) ---------------------------------------------------------------
    def _estimate(
        self, epoch: int, layers: list[Any], metrics: dict[str, np.ndarray]
    ) -> list[dict[str, Any]]:
        labels = self.dataset.y
        seeds_layers = [(s, k) for s in range(len(self.slots)) for k in range(len(layers))]
        matrices = [layers[k][s] for s, k in seeds_layers]
        rows = []
        # every estimator over every seed and layer in one call: shared intake and labels, KDE
        # bounds and noise rules in one batched kernel call, one batched launch on a GPU
        names = list(self.estimators)
        together = estimate_together(list(self.estimators.values()), matrices, labels,
                                     input_ids=self.input_ids)
        for name, results in zip(names, together, strict=True):
            params = self.estimators[name].param_string()
            for (s, k), r in zip(seeds_layers, results, strict=True):
                member, seed = self.slots[s]
                rows.append({
                    "_member": member, **self.run_columns[member],
                    "seed": seed, "epoch": epoch, "layer": k + 1, "width": layers[k].shape[2],
                    "is_output": k == len(layers) - 1, "estimator": name, "estimator_params": params,
                    "i_xt": r.i_xt, "i_ty": r.i_ty, "h_t": r.h_t, "saturated": bool(r.saturated),
                    "train_loss": float(metrics["train_loss"][s]),
                    "train_acc": float(metrics["train_acc"][s]),
                    "test_loss": float(metrics["test_loss"][s]),
                    "test_acc": float(metrics["test_acc"][s]),
                })
        return rows
