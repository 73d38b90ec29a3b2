"""``InfoPlaneRecorder``: the information plane of a user's own PyTorch model, epoch by epoch.

    rec = InfoPlaneRecorder(model, ["conv1", "conv2", "fc1", "fc2"], (x_probe, y_probe), epochs=50)
    for epoch in range(50):
        train_one_epoch(...)
        rec.step(epoch)              # records on the scheduled epochs only; else returns at once
    rec.results                      # the tidy table ibfast.plots and ibfast.analysis read

See docs/your-model.md.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import torch

from .._backend import cuda_available
from .._params import integer, positive_int
from ..estimators import Estimator, make_estimator
from ..estimators.registry import EstimatorSettings
from ..experiment.schedule import log_spaced_epochs
from .capture import PassResult, Probe, Sink, _device_of, check_labels, probe_pass, resolve_layers, unwrap
from .reduce import ReduceSpec, Reduction, check_spec, reduction_from_state, resolve

try:  # the deprecated name stays until every caller moved (see ibfast.estimators)
    from ..estimators import estimate_together as _together  # type: ignore[attr-defined]
except ImportError:
    from ..estimators import many_together as _together


#: The monitor's own columns of ``results``: per-layer descriptors (the module's name, the
#: reduction, the widths before and after it; ``ibfast.columns.LAYER_COLUMNS`` like ``width``)
#: and the ``saturated`` flag (``ibfast.columns.FLAGS``). Plain columns: neither splits a run.
DESCRIPTORS = ("layer_name", "reduce", "d_raw", "d_used", "saturated")
_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")
# the columns every row has after the setting columns (the experiment layer's, where they apply)
_ROW_COLUMNS = ("n_samples", "seed", "epoch", "layer", "width", "is_output", "estimator", "estimator_params",
                "i_xt", "i_ty", "h_t", *_METRICS)
_STATE_FORMAT = 1
_MAX_PENDING = 4  # recorded epochs waiting for the estimation thread before the caller waits


@dataclass
class Timings:
    """Seconds spent, summed over the recorded epochs (the probe pass split into the forward
    computation and the reductions inside the hooks; estimation in the worker when background)."""

    records: int = 0
    forward_s: float = 0.0
    reduce_s: float = 0.0
    estimate_s: float = 0.0
    wait_s: float = 0.0


def _estimators(spec: Any) -> dict[str, Estimator]:
    """Names (the registry's, with the literature's non-12-bit defaults), Estimator objects, or a
    mapping name -> Estimator: the ``estimator`` column's names and their estimators."""
    if isinstance(spec, (str, Estimator)):
        spec = [spec]
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        # data "other": EstimatorSettings' literature defaults for data other than the 12-bit task
        settings = EstimatorSettings.for_data("other")
        items = []
        for e in spec:
            if isinstance(e, str):
                items.append((e, make_estimator(e, settings)))
            else:
                items.append((getattr(e, "name", type(e).__name__), e))
    out: dict[str, Estimator] = {}
    for name, est in items:
        if not isinstance(est, Estimator):
            raise TypeError(f"estimator {name!r} is a {type(est).__name__}, not an ibfast.Estimator")
        if name in out:
            raise ValueError(f"estimator name {name!r} repeats: give them distinct names with a dict")
        out[name] = est
    if not out:
        raise ValueError("estimators is empty")
    return out


def _schedule(
    epochs: int | Sequence[int] | None, every: int | None, points: int
) -> tuple[set[int] | None, int]:
    """The epochs to record (None: every ``every``-th) and ``every``."""
    if epochs is not None and every is not None:
        raise ValueError("give epochs (a total, for a log-spaced schedule, or a list) or every, not both")
    if epochs is None:
        return None, positive_int(every if every is not None else 1, "every")
    if isinstance(epochs, (int, np.integer)) and not isinstance(epochs, bool):
        return {int(e) for e in log_spaced_epochs(int(epochs), points)}, 0
    if isinstance(epochs, (str, bytes)) or not isinstance(epochs, Sequence | np.ndarray):
        raise TypeError(f"epochs must be an int (the total, log-spaced schedule) or a list of epochs, "
                        f"got {type(epochs).__name__}")
    chosen = {integer(e, "an epoch in epochs", 0) for e in epochs}
    if not chosen:
        raise ValueError("epochs is an empty list")
    return chosen, 0


def _plain(v: Any) -> Any:
    """A checkpoint-safe value (torch.load(weights_only=True) takes plain Python, not numpy)."""
    if isinstance(v, np.generic):
        return v.item()
    return v


class InfoPlaneRecorder:
    """Records I(X;T) and I(T;Y) of chosen layers of ``model`` on a fixed probe, epoch by epoch.

    model: any ``torch.nn.Module`` (a ``torch.compile``d one: its ``_orig_mod`` is hooked and run).
    layers: ``named_modules()`` paths, or a dict path -> short name; ``recordable_layers(model,
        x[:2])`` lists them in execution order. The ``layer`` column numbers them 1.. in this order.
    probe: ``(inputs, labels)`` (tensors or arrays, labels one class id per input), or a DataLoader
        without shuffling that yields ``(inputs, labels)``. Every record runs exactly these samples.
    estimators: registry names (``ibfast.estimator_names()``), Estimator objects, or a dict name ->
        Estimator. Default: EBAB and the adaptive KDE upper bound, as the experiments use.
    reduce: "auto" (default), "flatten", "gap", "project[:k]", "pca[:k]", a Reduction, or a dict
        layer -> one of those (layers missing from it get "auto"). See ``ibfast.monitor.reduce``.
    epochs / every / points: the schedule ``step`` follows: ``epochs=E`` (an int) records the
        log-spaced epochs of an E-epoch run (``log_spaced_epochs(E, points)``, the papers' 274 for
        8000), ``epochs=[...]`` those epochs, ``every=k`` epochs 0, k, 2k, ...; none: every epoch.
    input_ids: ids of the distinct inputs when probe inputs repeat (as the experiments pass), or
        "auto" to compute them from the probe inputs (tensor probes); None: all inputs distinct.
    device: where estimation runs: "auto" (on the activations' device: a CUDA model's activations
        never leave the GPU), "cpu" or "cuda".
    batch_size: probe rows per forward pass (tensor probes; None: the whole probe at once).
    background: on the CPU, estimate in a worker thread while training goes on (rows keep the
        order of the records; ``results`` waits for them).
    settings: extra setting columns for every row (``activation`` and ``l2`` name the plots'
        panels: pass your activation and weight decay; ``activation`` defaults to the most used
        activation module in the model, ``l2`` to 0.0, ``data`` to "probe", ``model`` to the class).
    seed: the ``seed`` column (your run's seed).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        layers: str | Sequence[str] | Mapping[str, str],
        probe: Any,
        *,
        estimators: Any = ("ebab", "adaptive_kde_upper"),
        reduce: ReduceSpec | Mapping[str, ReduceSpec] = "auto",
        epochs: int | Sequence[int] | None = None,
        every: int | None = None,
        points: int = 400,
        input_ids: Any = None,
        device: str = "auto",
        batch_size: int | None = 512,
        background: bool = False,
        settings: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.model = unwrap(model)
        self.layers = resolve_layers(self.model, layers)
        self.probe = Probe(probe, None if batch_size is None else positive_int(batch_size, "batch_size"))
        self.estimators = _estimators(estimators)
        self._reduce_specs = self._reduce_specs_for(reduce)
        self._schedule, self._every = _schedule(epochs, every, positive_int(points, "points"))
        if not isinstance(device, str) or not (device in ("auto", "cpu") or device.startswith("cuda")):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}")
        self.device = device
        self.input_ids = self._input_ids(input_ids)
        if not isinstance(background, bool):
            raise TypeError(f"background must be a bool, got {type(background).__name__}")
        self.background = background
        self.seed = integer(seed, "seed")
        self.settings = self._settings(settings)
        self.reductions: list[Reduction | None] = [None] * len(self.layers)
        self.timings = Timings()
        self._rows: list[dict[str, Any]] = []
        self._pending: list[Future[list[dict[str, Any]]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._recorded: list[int] = []
        self._done: set[int] = set()  # the same epochs, for step's lookup
        self._loader_labels: np.ndarray | None = None
        self._warned_cpu = False
        #: the matrices of the last record as the estimators got them (N x d_used each: float32
        #: arrays on the CPU, CUDA tensors on a GPU), for a look at what was estimated
        self.last_matrices: list[Any] | None = None

    # -- configuration -----------------------------------------------------------------------
    def _reduce_specs_for(self, reduce: Any) -> list[ReduceSpec]:
        if isinstance(reduce, Mapping):
            by_key: dict[str, ReduceSpec] = {}
            known = {p for p, _ in self.layers} | {n for _, n in self.layers}
            for key, spec in reduce.items():
                if key not in known:
                    raise ValueError(f"reduce names layer {key!r}, which is not among the recorded "
                                     f"layers {[n for _, n in self.layers]}")
                by_key[key] = check_spec(spec, f"reduce[{key!r}]")
            return [by_key.get(n, by_key.get(p, "auto")) for p, n in self.layers]
        spec = check_spec(reduce)
        return [spec] * len(self.layers)

    def _input_ids(self, input_ids: Any) -> np.ndarray | None:
        n = self.probe.n
        if input_ids is None:
            return None
        if isinstance(input_ids, str):
            if input_ids != "auto":
                raise ValueError(f"input_ids must be None, 'auto' or one id per probe input, "
                                 f"got {input_ids!r}")
            if self.probe.x is None:
                raise ValueError("input_ids='auto' needs a tensor probe; pass the ids for a DataLoader")
            flat = self.probe.x.reshape(self.probe.x.shape[0], -1).detach().cpu().numpy()
            _, ids = np.unique(flat, axis=0, return_inverse=True)
            ids = ids.reshape(-1)
            # as the experiments do: ids only when some input repeats (else None: all distinct)
            return ids.astype(np.int64) if int(ids.max()) + 1 < flat.shape[0] else None
        return check_labels(input_ids, n if n is not None else len(input_ids))

    def _settings(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        base: dict[str, Any] = {"data": "probe", "model": type(self.model).__name__,
                                "activation": _main_activation(self.model), "l2": 0.0}
        reserved = {*_ROW_COLUMNS, *DESCRIPTORS}
        for key, value in (settings or {}).items():
            if key in reserved:
                raise ValueError(f"settings may not set {key!r}: the recorder fills that column")
            base[key] = _plain(value)
        return base

    # -- the schedule --------------------------------------------------------------------------
    def scheduled(self, epoch: int) -> bool:
        """Whether ``step(epoch)`` records."""
        if self._schedule is not None:
            return epoch in self._schedule
        return epoch % self._every == 0

    @property
    def recorded_epochs(self) -> list[int]:
        return list(self._recorded)

    def step(self, epoch: int, **metrics: float) -> bool:
        """Record if ``epoch`` is scheduled and not recorded yet (a resumed run repeats nothing);
        returns whether it recorded. On other epochs this is a set lookup and nothing else.
        ``metrics``: any of train_loss, train_acc, test_loss, test_acc for the rows."""
        if not self.scheduled(epoch) or epoch in self._done:
            return False
        self.record(epoch, **metrics)
        return True

    def record(self, epoch: int, **metrics: float) -> None:
        """Record now, as ``epoch``: one no_grad eval-mode pass over the probe, then estimation."""
        epoch = integer(epoch, "epoch", 0)
        if epoch in self._done:
            raise ValueError(f"epoch {epoch} is already recorded")
        unknown = sorted(set(metrics) - set(_METRICS))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; the table has {list(_METRICS)}")
        values = {m: float(metrics[m]) if metrics.get(m) is not None else math.nan for m in _METRICS}
        device = _device_of(self.model)
        if any(r is None for r in self.reductions):
            self._resolve(device)
        sinks = [Sink(r) for r in self.reductions if r is not None]
        p = probe_pass(self.model, self.layers, self.probe, sinks, device)
        self._check_loader_labels(p)
        self.timings.records += 1
        self.timings.forward_s += p.forward_s
        self.timings.reduce_s += p.reduce_s
        outputs = [self._for_estimation(t) for t in p.outputs]
        self.last_matrices = outputs
        job = (epoch, p, outputs, values)
        on_cpu = all(not isinstance(t, torch.Tensor) or not t.is_cuda for t in outputs)
        if self.background and on_cpu:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ibfast-monitor")
            self._pending.append(self._pool.submit(self._estimate, *job))
            self._mark(epoch)  # an error of this estimate surfaces at the next flush
            t0 = time.perf_counter()
            while len(self._pending) > _MAX_PENDING:
                self._rows.extend(self._pending.pop(0).result())
            self.timings.wait_s += time.perf_counter() - t0
        else:
            self._rows.extend(self._estimate(*job))
            self._mark(epoch)

    def _mark(self, epoch: int) -> None:
        self._recorded.append(epoch)
        self._done.add(epoch)

    def _resolve(self, device: torch.device) -> None:
        """Each layer's reduction, from its output's shape on the probe's first two rows (what
        "auto" chooses by). The capture's checks (a module that runs twice, a non-tensor output)
        apply to this pass too, so a bad layer fails here, before any estimate."""
        sinks = [Sink(_Pending()) for _ in self.layers]
        probe_pass(self.model, self.layers, _FirstRows(self.probe, 2), sinks, device)
        for i, sink in enumerate(sinks):
            if self.reductions[i] is None:
                assert sink.shape is not None
                self.reductions[i] = resolve(self._reduce_specs[i], sink.shape)

    def _check_loader_labels(self, p: PassResult) -> None:
        if self.probe.loader is None:
            return
        if self._loader_labels is None:
            self._loader_labels = p.labels
        elif not np.array_equal(self._loader_labels, p.labels):
            raise ValueError("the probe DataLoader gave other labels than at the first record: it must "
                             "yield the same samples in the same order every time")

    def _for_estimation(self, t: torch.Tensor) -> Any:
        """Where estimation runs: CUDA activations stay on the GPU (when ibfast has CUDA), CPU ones
        become C-contiguous float32 arrays (what the experiment layer hands the kernels)."""
        want_cuda = self.device.startswith("cuda") or (self.device == "auto" and t.is_cuda)
        if want_cuda:
            if cuda_available():
                return (t if self.device == "auto" else t.to(self.device)).contiguous()
            if not self._warned_cpu:
                warnings.warn("ibfast was built without CUDA (or sees no GPU): estimating on the CPU",
                              RuntimeWarning, stacklevel=3)
                self._warned_cpu = True
        return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)

    # -- estimation --------------------------------------------------------------------------
    def _estimate(self, epoch: int, p: PassResult, outputs: list[Any],
                  metrics: dict[str, float]) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        names = list(self.estimators)
        together = _together(list(self.estimators.values()), outputs, p.labels, input_ids=self.input_ids)
        n = p.labels.shape[0]
        rows = []
        for name, results in zip(names, together, strict=True):
            est = self.estimators[name]
            params = est.param_string()
            for k, r in enumerate(results):
                reduction = self.reductions[k]
                assert reduction is not None
                rows.append({
                    **self.settings, "n_samples": n, "seed": self.seed, "epoch": epoch, "layer": k + 1,
                    "width": int(outputs[k].shape[1]), "is_output": p.is_output[k],
                    "estimator": name, "estimator_params": params,
                    "i_xt": float(r.i_xt), "i_ty": math.nan if r.i_ty is None else float(r.i_ty),
                    "h_t": float(r.h_t), **metrics,
                    "layer_name": self.layers[k][1], "reduce": reduction.describe(),
                    "d_raw": int(math.prod(p.shapes[k])), "d_used": int(outputs[k].shape[1]),
                    # I(X;T) within SATURATION_MARGIN_BITS of log(distinct probe inputs)
                    "saturated": bool(r.saturated),
                })
        self.timings.estimate_s += time.perf_counter() - t0
        return rows

    def flush(self) -> None:
        """Wait for the background estimates, appending their rows in record order."""
        t0 = time.perf_counter()
        while self._pending:
            self._rows.extend(self._pending.pop(0).result())
        self.timings.wait_s += time.perf_counter() - t0

    @property
    def results(self) -> Any:
        """The tidy table: one row per epoch, layer and estimator, the columns of the experiment
        layer's table where they apply (``layer`` 1.. in the order of ``layers``, ``width`` = the
        estimated width; losses and accuracies as passed to ``step``, else NaN), the setting
        columns, and the descriptors ``layer_name``, ``reduce``, ``d_raw``, ``d_used`` (layer
        columns, ``ibfast.columns.LAYER_COLUMNS``, as ``width`` and ``is_output``: they never split
        a figure's panels or a run) and ``saturated`` (a flag, ``ibfast.columns.FLAGS``: it varies
        by epoch, so ``run_keys`` leaves it out). ``results.query("saturated")`` selects on it."""
        import pandas as pd

        self.flush()
        if not self._rows:
            return pd.DataFrame(columns=[*self.settings, *_ROW_COLUMNS, *DESCRIPTORS])
        return pd.DataFrame(self._rows)

    # -- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The records and the fitted reductions, in plain Python and CPU tensors (what
        ``torch.save`` and Lightning checkpoints load with ``weights_only=True``)."""
        self.flush()
        return {
            "format": _STATE_FORMAT,
            "layers": [list(p) for p in self.layers],
            "recorded": list(self._recorded),
            "rows": [{k: _plain(v) for k, v in row.items()} for row in self._rows],
            "reductions": [None if r is None else r.state_dict() for r in self.reductions],
            "loader_labels": None if self._loader_labels is None else torch.from_numpy(self._loader_labels),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()``: its rows come first, its fitted PCAs are kept, and
        ``step`` skips the epochs it recorded."""
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"recorder state of format {state.get('format')!r}; this version reads "
                             f"{_STATE_FORMAT}")
        layers = [tuple(p) for p in state["layers"]]
        if layers != [tuple(p) for p in self.layers]:
            raise ValueError(f"the state records the layers {layers}, this recorder {self.layers}")
        self.flush()
        self._rows = [dict(r) for r in state["rows"]]
        self._recorded = [int(e) for e in state["recorded"]]
        self._done = set(self._recorded)
        reductions: list[Reduction | None] = []
        for i, r in enumerate(state["reductions"]):
            if r is None:
                reductions.append(None)
            elif r.get("kind") in ("flatten", "gap", "project", "pca"):
                reductions.append(reduction_from_state(r))
            else:  # a user's own Reduction: rebuilt from the spec at the next record
                reductions.append(self.reductions[i])
        self.reductions = reductions
        labels = state.get("loader_labels")
        self._loader_labels = None if labels is None else torch.as_tensor(labels).numpy()

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        """Finish the background estimates and stop the worker thread."""
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> InfoPlaneRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(n for _, n in self.layers)
        return (f"InfoPlaneRecorder({type(self.model).__name__}, layers=[{names}], "
                f"estimators={list(self.estimators)}, recorded={len(self._recorded)} epochs)")


class _Pending(Reduction):
    """The stand-in reduction of the shapes-only pass (keeps nothing)."""

    kind = "pending"

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return t.new_zeros((t.shape[0], 0), dtype=torch.float32)

    def describe(self) -> str:
        return "pending"


class _FirstRows(Probe):
    """The first ``n`` rows of a probe's first batch, labels unchecked (for the shapes pass)."""

    def __init__(self, probe: Probe, n: int) -> None:
        self._src = probe
        self._rows = n
        self.labels = None
        self.loader = None
        self.x = None

    def batches(self, device: torch.device) -> Iterator[tuple[Any, Any]]:
        for x, _ in self._src.batches(device):
            yield (tuple(v[: self._rows] for v in x) if isinstance(x, tuple) else x[: self._rows]), None
            return


_ACTIVATIONS = {
    torch.nn.ReLU: "relu", torch.nn.Tanh: "tanh", torch.nn.GELU: "gelu", torch.nn.SiLU: "swish",
    torch.nn.ELU: "elu", torch.nn.Sigmoid: "sigmoid", torch.nn.LeakyReLU: "leaky_relu",
    torch.nn.PReLU: "prelu", torch.nn.Softplus: "softplus", torch.nn.ReLU6: "relu6",
    torch.nn.Hardswish: "hardswish", torch.nn.Mish: "mish", torch.nn.Softsign: "softsign",
}


def _main_activation(model: torch.nn.Module) -> str:
    """The most used activation module's name (ibfast's names where they exist), else "unknown"
    (a functional activation, F.relu in forward, leaves no module to see)."""
    counts: dict[str, int] = {}
    for m in model.modules():
        name = _ACTIVATIONS.get(type(m))
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else "unknown"
