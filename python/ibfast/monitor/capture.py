"""Taking a model's layer outputs on a fixed probe: which modules, which samples, and the one
``no_grad`` pass in eval mode with forward hooks that exist only for its duration.

Nothing here runs on an epoch that is not recorded, and the training step never sees a hook: the
hooks are registered just before the probe pass and removed right after it (also on an error),
so a ``torch.compile``d or CUDA-graph-captured training step is left as it was.
"""

from __future__ import annotations

import difflib
import math
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .reduce import Reduction, as_rows

_WRAPPER_PREFIXES = ("_orig_mod.", "module.")


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module to hook and run: a ``torch.compile``d module's ``_orig_mod`` (its compiled
    graph then never sees our hooks), a (Distributed)DataParallel's ``module``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seen = 0
    while seen < 8:
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, torch.nn.Module):
            model = inner
        elif isinstance(model, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
            model = model.module
        else:
            break
        seen += 1
    return model


def resolve_layers(
    model: torch.nn.Module, layers: str | Sequence[str] | Mapping[str, str]
) -> list[tuple[str, str]]:
    """(path, short name) per requested layer, in the order given; ValueError for a path that is
    not a module of ``model`` (naming the nearest paths) or for repeated paths or names."""
    if isinstance(layers, str):
        pairs = [(layers, layers)]
    elif isinstance(layers, Mapping):
        pairs = list(layers.items())
    elif isinstance(layers, Iterable):
        pairs = [(p, p) for p in layers]
    else:
        raise TypeError(f"layers must be module paths (a list, or a dict path -> short name), "
                        f"got {type(layers).__name__}")
    if not pairs:
        raise ValueError("layers is empty: name at least one module path (see "
                         "ibfast.monitor.recordable_layers(model, example_input))")
    modules = dict(model.named_modules())
    out: list[tuple[str, str]] = []
    for path, name in pairs:
        if not isinstance(path, str) or not isinstance(name, str):
            raise TypeError(f"layer paths and names must be str, got {path!r} -> {name!r}")
        found = path
        for prefix in _WRAPPER_PREFIXES:  # paths copied from a compiled or DDP model's names
            if found not in modules and found.startswith(prefix):
                found = found[len(prefix):]
        if found not in modules:
            near = difflib.get_close_matches(path, [m for m in modules if m], n=5, cutoff=0.3)
            hint = f"; nearest: {', '.join(near)}" if near else ""
            raise ValueError(f"layer {path!r} is not a module of {type(model).__name__}{hint} "
                             "(paths as model.named_modules() gives them)")
        out.append((found, name if name != path else found))
    paths = [p for p, _ in out]
    names = [n for _, n in out]
    for what, values in (("layer paths", paths), ("layer names", names)):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise ValueError(f"{what} repeat: {dup}")
    return out


# -- the probe --------------------------------------------------------------------------------


class Probe:
    """The fixed samples every record runs: (inputs, labels) tensors split into batches of
    ``batch_size`` (None: one batch), or a DataLoader that does not shuffle."""

    def __init__(self, probe: Any, batch_size: int | None) -> None:
        self.loader: torch.utils.data.DataLoader[Any] | None = None
        self.x: torch.Tensor | None = None
        self.labels: np.ndarray | None = None  # known up front for tensors, after a pass otherwise
        self.batch_size = batch_size
        self._on: dict[torch.device, torch.Tensor] = {}
        if isinstance(probe, torch.utils.data.DataLoader):
            batches: Any = probe.batch_sampler
            sampler = getattr(batches, "sampler", probe.sampler)
            if not isinstance(sampler, torch.utils.data.SequentialSampler):
                raise ValueError(f"the probe DataLoader draws samples with {type(sampler).__name__}: "
                                 "build it with shuffle=False so every record sees the same samples")
            self.loader = probe
            return
        if not isinstance(probe, (tuple, list)) or len(probe) != 2:
            raise TypeError("probe must be (inputs, labels) or a DataLoader without shuffling, got "
                            f"{type(probe).__name__}")
        x, y = probe
        self.x = x if isinstance(x, torch.Tensor) else _as_tensor(x, "probe inputs")
        self.labels = check_labels(y, self.x.shape[0] if self.x.dim() else -1)

    @property
    def n(self) -> int | None:
        if self.x is not None:
            return int(self.x.shape[0])
        return None if self.labels is None else int(self.labels.shape[0])

    def batches(self, device: torch.device) -> Iterator[tuple[Any, Any]]:
        """(inputs on ``device``, labels as given) per batch."""
        if self.loader is not None:
            for b, batch in enumerate(self.loader):
                if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                    raise TypeError(f"probe batch {b} is a {type(batch).__name__}; the probe DataLoader "
                                    "must yield (inputs, labels)")
                x, y = batch
                yield _move(x, device), y
            return
        assert self.x is not None
        if device not in self._on:  # the probe moves to the model's device once, not every record
            self._on = {device: self.x.to(device)}
        x = self._on[device]
        step = self.batch_size or x.shape[0]
        for a in range(0, x.shape[0], step):
            yield x[a:a + step], None


def _as_tensor(x: Any, what: str) -> torch.Tensor:
    try:
        return torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be a tensor or an array, got {type(x).__name__}") from e


def _move(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (tuple, list)):
        return type(x)(_move(v, device) for v in x)
    return x


def check_labels(y: Any, n: int) -> np.ndarray:
    """Integer class labels, one per probe input; TypeError / ValueError naming the mismatch."""
    arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    numeric = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == bool or not numeric:
        raise TypeError(f"probe labels must be integer class ids, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise TypeError("probe labels must be integer class ids, got non-integral floats "
                            "(one-hot or soft labels? pass the class index per sample)")
    if arr.ndim != 1:
        raise ValueError(f"probe labels must be one class id per sample, shape (N,), got {arr.shape} "
                         "(one-hot? pass labels.argmax(1))")
    if arr.shape[0] != n:
        raise ValueError(f"the probe has {n} inputs but {arr.shape[0]} labels")
    return arr.astype(np.int64)


# -- the pass ---------------------------------------------------------------------------------


class Sink:
    """One layer's reduced rows, batch by batch; a PCA not yet fitted holds its first ``fit_rows``
    rows, fits on them, then reduces them and everything after."""

    def __init__(self, reduction: Reduction) -> None:
        self.reduction = reduction
        self.parts: list[torch.Tensor] = []
        self._held: list[torch.Tensor] = []
        self._held_rows = 0
        self.reduce_s = 0.0
        self.shape: tuple[int, ...] | None = None

    def add(self, out: torch.Tensor) -> None:
        t0 = time.perf_counter()
        if self.shape is None:
            self.shape = tuple(out.shape[1:])
        elif tuple(out.shape[1:]) != self.shape:
            raise ValueError(f"the output shape changed within the probe: {self.shape} then "
                             f"{tuple(out.shape[1:])}")
        if self.reduction.needs_fit:
            # a copy (the layer's output may be changed in place later in the forward pass)
            self._held.append(as_rows(out).clone())
            self._held_rows += out.shape[0]
            if self._held_rows >= getattr(self.reduction, "fit_rows", 0):
                self._fit()
        else:
            self.parts.append(self.reduction(out.detach()))
        self.reduce_s += time.perf_counter() - t0

    def _fit(self) -> None:
        held = torch.cat(self._held)
        self._held, self._held_rows = [], 0
        fit_rows = getattr(self.reduction, "fit_rows", held.shape[0])
        self.reduction.fit(held[:fit_rows], held.shape[0])
        self.parts.append(self.reduction(held))

    def finish(self) -> torch.Tensor:
        if self._held:
            t0 = time.perf_counter()
            self._fit()
            self.reduce_s += time.perf_counter() - t0
        if not self.parts:
            raise RuntimeError("no rows were captured")
        return self.parts[0] if len(self.parts) == 1 else torch.cat(self.parts)


@dataclass
class PassResult:
    outputs: list[torch.Tensor]   # per layer (N, d_used) float32 on the layer's device
    shapes: list[tuple[int, ...]]  # per layer, the per-sample output shape
    labels: np.ndarray
    is_output: list[bool]
    forward_s: float
    reduce_s: float


class _Tracker:
    """Per-batch call counts and the last output of each hooked module."""

    def __init__(self, n: int) -> None:
        self.calls = [0] * n
        self.last: list[Callable[[], Any] | None] = [None] * n


def _mode_guard(model: torch.nn.Module) -> list[tuple[torch.nn.Module, bool]]:
    return [(m, m.training) for m in model.modules()]


def _restore(modes: list[tuple[torch.nn.Module, bool]]) -> None:
    for m, training in modes:  # each module's own flag: a user may keep some in eval on purpose
        m.training = training


def _enclosing(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else "(the model itself)"


def probe_pass(
    model: torch.nn.Module, layers: list[tuple[str, str]], probe: Probe,
    sinks: list[Sink], device: torch.device,
) -> PassResult:
    """One no_grad eval-mode pass over the probe with hooks on ``layers``, each output reduced by
    its sink inside the hook; the hooks are removed and every module's mode restored after."""
    modules = dict(model.named_modules())
    tracker = _Tracker(len(layers))

    def make_hook(i: int, path: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
            tracker.calls[i] += 1
            if tracker.calls[i] > 1:
                raise ValueError(
                    f"layer {path!r} ({type(module).__name__}) runs more than once in one forward "
                    "pass (a module reused at several depths), so it has no single output T to "
                    f"record: hook the enclosing block ({_enclosing(path)!r}) or a module used once, "
                    "or give each use its own module")
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layer {path!r} ({type(module).__name__}) returns a {type(output).__name__}, not "
                    "a tensor: record a submodule whose output is a tensor (see "
                    "ibfast.monitor.recordable_layers)")
            if output.dim() < 1:
                raise TypeError(f"layer {path!r} returns a 0-d tensor; it needs a batch axis")
            sinks[i].add(output.detach())
            tracker.last[i] = weakref.ref(output)

        return hook

    modes = _mode_guard(model)
    handles = []
    labels: list[np.ndarray] = []
    is_output = [False] * len(layers)
    t0 = time.perf_counter()
    reduce_before = sum(s.reduce_s for s in sinks)
    try:
        model.eval()
        for i, (path, _) in enumerate(layers):
            handles.append(modules[path].register_forward_hook(make_hook(i, path)))
        with torch.no_grad():
            for x, y in probe.batches(device):
                tracker.calls = [0] * len(layers)
                out = model(*x) if isinstance(x, tuple) else model(x)
                missing = [layers[i][0] for i, c in enumerate(tracker.calls) if c == 0]
                if missing:
                    raise ValueError(f"layers {missing} did not run in the model's forward pass on the "
                                     "probe; record modules the forward pass calls")
                if isinstance(out, torch.Tensor):
                    is_output = [ref is not None and ref() is out for ref in tracker.last]
                if y is not None:
                    labels.append(check_labels(y, _batch_len(x)))
                tracker.last = [None] * len(layers)
        outputs = [s.finish() for s in sinks]
    finally:
        for h in handles:
            h.remove()
        _restore(modes)
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # the timings below are the work's, not its launch
    elapsed = time.perf_counter() - t0
    reduce_s = sum(s.reduce_s for s in sinks) - reduce_before
    n = outputs[0].shape[0]
    if probe.labels is not None:
        y_all = probe.labels
    elif labels:
        y_all = np.concatenate(labels)
    else:  # the shapes-only pass on a few rows: no estimate is made from it
        y_all = np.zeros(n, dtype=np.int64)
    if y_all.shape[0] != n:
        raise ValueError(f"the probe has {n} inputs but {y_all.shape[0]} labels")
    shapes = [s.shape or () for s in sinks]
    return PassResult(outputs, shapes, y_all, is_output, max(elapsed - reduce_s, 0.0), reduce_s)


def _batch_len(x: Any) -> int:
    first = x[0] if isinstance(x, (tuple, list)) else x
    return int(first.shape[0])


# -- listing the recordable layers --------------------------------------------------------------


@dataclass(frozen=True)
class LayerInfo:
    """One module as one forward pass on an example input saw it."""

    path: str
    kind: str                  # the module's class name
    shape: tuple[int, ...]     # per-sample output shape (empty when not a tensor)
    d: int                     # units per sample: prod(shape)
    calls: int                 # times it ran in the pass
    recordable: bool
    why_not: str = ""

    def __str__(self) -> str:
        mark = "" if self.recordable else f"  (not recordable: {self.why_not})"
        return f"{self.path or '(model)'}  {self.kind}  {self.shape}  d={self.d}{mark}"


def recordable_layers(
    model: torch.nn.Module, example_input: Any, *, include_containers: bool = True,
) -> list[LayerInfo]:
    """Every module that ran on ``example_input`` (a batch, e.g. ``x[:2]``), in the order its output
    was produced (a block after its children), with its output shape and whether it can be
    recorded (a tensor output, one call per pass). One no_grad eval-mode pass; hooks removed and
    modes restored after. ``include_containers=False`` leaves out modules with children."""
    model = unwrap(model)
    order: list[str] = []
    info: dict[str, dict[str, Any]] = {}
    handles = []

    def make_hook(path: str) -> Callable[..., None]:
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
            entry = info.setdefault(path, {"calls": 0, "shape": (), "tensor": True})
            entry["calls"] += 1
            if entry["calls"] == 1:
                order.append(path)
            if isinstance(output, torch.Tensor) and output.dim() >= 1:
                entry["shape"] = tuple(output.shape[1:])
            else:
                entry["tensor"] = False
                entry["type"] = type(output).__name__

        return hook

    modes = _mode_guard(model)
    device = _device_of(model)
    kinds = {}
    try:
        model.eval()
        for path, m in model.named_modules():
            if include_containers or not any(True for _ in m.children()):
                kinds[path] = type(m).__name__
                handles.append(m.register_forward_hook(make_hook(path)))
        with torch.no_grad():
            x = _move(example_input, device)
            model(*x) if isinstance(x, tuple) else model(x)
    finally:
        for h in handles:
            h.remove()
        _restore(modes)
    out = []
    for path in order:
        e = info[path]
        why = ""
        if not e["tensor"]:
            why = f"returns a {e.get('type', 'non-tensor')}"
        elif e["calls"] > 1:
            why = f"runs {e['calls']} times per forward pass; record its enclosing block"
        out.append(LayerInfo(path, kinds[path], e["shape"], math.prod(e["shape"]) if e["tensor"] else 0,
                             e["calls"], not why, why))
    return out


def _device_of(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")
