"""Reductions of a layer's output T (N samples x d units) to f(T) (N x d_used), applied inside the
forward hook on the layer's device, one probe batch at a time, so that the full N x d matrix is
never held (PCA's fit aside, which holds its ``fit_rows`` rows once).

Why reduce at all. A convolutional layer has d = 10^4..10^5 units. Its N probe rows are then all
distinct: binning gives H(T) = log2 N and a fixed-noise KDE ln N whatever the network does, and the
plane says nothing. Every reduction f below is a function of T, so by the data-processing
inequality the estimate is of I(X; f(T)) <= I(X; T) (and I(f(T); Y) <= I(T; Y)): a lower bound on
the layer's information, exact for ``flatten``. The results rows say which f (``reduce``) and its
width (``d_used``) next to the layer's own width (``d_raw``).

* ``flatten``: T as it is, (N, d). Exact; for wide layers it saturates (see ``saturated``).
* ``gap``: global average pooling: the mean over every axis after the channel axis (axis 1),
  (N, C). For a conv layer (N, C, H, W) this is what a CNN's pooled head sees; a 2-D output is
  left as it is.
* ``project``: a fixed random Gaussian projection to k dimensions, R (d, k) with entries
  N(0, 1/k) drawn from ``seed`` on the CPU (so the same R on every device), the same every epoch.
  It keeps pairwise distances to a factor 1 +- O(1/sqrt(k)) (Johnson-Lindenstrauss), which is what
  the KDE estimators look at.
* ``pca``: the top k principal directions, fitted once on the first ``fit_rows`` probe rows of the
  first recorded epoch and kept for every later epoch (refitting would make epochs incomparable).
  Exact eigendecomposition of the covariance for d <= 4096, a seeded randomized SVD above. The
  fit holds its fit_rows x d rows (float32) once, at the first record: 512 MiB for 2048 rows of a
  65536-unit layer; lower ``fit_rows`` (``PCA(k, fit_rows=...)``) for wide layers on a small GPU.

``auto`` (the default) picks per layer from its output's shape: ``gap`` for outputs with spatial
axes (conv layers), ``flatten`` for 2-D outputs up to 1024 units, ``project`` to 64 above.
"""

from __future__ import annotations

import copy
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch

from .._params import integer, positive_int

#: 2-D layers up to this width are flattened by ``auto``; wider ones projected to ``AUTO_K``.
AUTO_FLAT_MAX = 1024
AUTO_K = 64
_EXACT_PCA_MAX_D = 4096  # eigh of a d x d covariance below this; randomized SVD above


def as_rows(t: torch.Tensor) -> torch.Tensor:
    """(B, ...) as (B, d) float32: a view where it can be (the caller copies or reduces)."""
    return t.reshape(t.shape[0], -1).float()


class Reduction(ABC):
    """f: one probe batch of a layer's output (B, ...) -> (B, d_used) float32, a new tensor (never a
    view of the layer's output: an in-place op after the layer would change it)."""

    #: the kind, as ``reduce`` strings start: "flatten", "gap", "project", "pca"
    kind: str = ""

    @abstractmethod
    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """f of one batch."""

    @abstractmethod
    def describe(self) -> str:
        """The ``reduce`` column: the kind and its parameters."""

    def d_used(self, shape: tuple[int, ...]) -> int:
        """The width of f(T) for a layer output of per-sample ``shape``."""
        return self(torch.zeros((1, *shape))).shape[1]

    @property
    def needs_fit(self) -> bool:
        """True while the reduction must see rows before it can reduce (PCA before its fit)."""
        return False

    def fit(self, rows: torch.Tensor, n_total: int) -> None:  # noqa: B027 (a no-op by default)
        """Fit on (m, d) float32 rows (only called while ``needs_fit``)."""

    def state_dict(self) -> dict[str, Any]:
        """What ``reduction_from_state`` needs to rebuild it, fitted state included (CPU tensors)."""
        return {"kind": self.kind}

    def __repr__(self) -> str:
        return self.describe()


class Flatten(Reduction):
    kind = "flatten"

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], -1).to(torch.float32, copy=True)

    def describe(self) -> str:
        return "flatten"

    def d_used(self, shape: tuple[int, ...]) -> int:
        return math.prod(shape)


class GlobalAvgPool(Reduction):
    kind = "gap"

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() <= 2:
            return t.reshape(t.shape[0], -1).to(torch.float32, copy=True)
        # the mean in float32 (an AMP layer's float16 sum over 1024 positions would lose digits)
        return t.float().mean(dim=tuple(range(2, t.dim())))

    def describe(self) -> str:
        return "gap"

    def d_used(self, shape: tuple[int, ...]) -> int:
        return shape[0] if len(shape) >= 2 else math.prod(shape)


class RandomProjection(Reduction):
    """T (flattened) @ R, R (d, k) ~ N(0, 1/k) from ``seed``: fixed across epochs and devices."""

    kind = "project"

    def __init__(self, k: int = AUTO_K, seed: int = 0) -> None:
        self.k = positive_int(k, "k")
        self.seed = integer(seed, "seed")
        self._cpu: torch.Tensor | None = None
        self._on: dict[torch.device, torch.Tensor] = {}

    def matrix(self, d: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """R for d inputs on ``device`` (drawn once on the CPU from ``seed``, then copied)."""
        if self._cpu is None or self._cpu.shape[0] != d:
            # its own generator: the user's global RNG state (their training) is never touched
            gen = torch.Generator().manual_seed(self.seed)
            self._cpu = torch.randn((d, self.k), generator=gen) / math.sqrt(self.k)
            self._on = {}
        dev = torch.device(device)
        if dev not in self._on:
            self._on[dev] = self._cpu.to(dev)
        return self._on[dev]

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        rows = as_rows(t)
        return rows @ self.matrix(rows.shape[1], rows.device)

    def describe(self) -> str:
        return f"project(k={self.k},seed={self.seed})"

    def d_used(self, shape: tuple[int, ...]) -> int:
        return self.k

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "k": self.k, "seed": self.seed}


class PCA(Reduction):
    """Projection on the top k principal directions of the first recorded epoch, kept after."""

    kind = "pca"

    def __init__(self, k: int = 16, fit_rows: int = 2048, seed: int = 0) -> None:
        self.k = positive_int(k, "k")
        self.fit_rows = positive_int(fit_rows, "fit_rows")
        self.seed = integer(seed, "seed")
        self.mean: torch.Tensor | None = None        # (d,)
        self.components: torch.Tensor | None = None  # (d, k_used)
        self._on: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def needs_fit(self) -> bool:
        return self.components is None

    def fit(self, rows: torch.Tensor, n_total: int) -> None:
        m, d = rows.shape
        k = min(self.k, d, m)
        if d <= _EXACT_PCA_MAX_D:  # float64 covariance: at most 4096^2 doubles
            x = rows.double()
            mean = x.mean(dim=0)
            xc = x - mean
            _, vecs = torch.linalg.eigh(xc.T @ xc)  # ascending eigenvalues
            comps = vecs[:, -k:].flip(1)
        else:  # randomized SVD (Halko et al.) in float32 (the rows are fit_rows x d already),
            # from its own seeded generator, 4 power iterations
            mean = rows.mean(dim=0)
            xc = rows - mean
            gen = torch.Generator().manual_seed(self.seed)
            omega = torch.randn((d, min(d, k + 10)), generator=gen).to(xc.device)
            q, _ = torch.linalg.qr(xc @ omega)
            for _ in range(4):
                q, _ = torch.linalg.qr(xc @ (xc.T @ q))
            _, _, vh = torch.linalg.svd(q.T @ xc, full_matrices=False)
            comps = vh[:k].T
        # a fixed sign per direction (largest |entry| positive): the same data give the same f
        idx = comps.abs().argmax(dim=0)
        signs = torch.sign(comps[idx, torch.arange(comps.shape[1], device=comps.device)])
        signs[signs == 0] = 1.0
        self.mean = mean.float().cpu()
        self.components = (comps * signs).float().cpu()
        self._on = {}

    def _params(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.mean is not None and self.components is not None
        if device not in self._on:
            self._on[device] = (self.mean.to(device), self.components.to(device))
        return self._on[device]

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        if self.components is None:
            raise RuntimeError("PCA reduction used before its fit")
        rows = as_rows(t)
        mean, comps = self._params(rows.device)
        return (rows - mean) @ comps

    def describe(self) -> str:
        return f"pca(k={self.k},fit_rows={self.fit_rows})"

    def d_used(self, shape: tuple[int, ...]) -> int:
        if self.components is not None:
            return int(self.components.shape[1])
        return min(self.k, math.prod(shape))

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "k": self.k, "fit_rows": self.fit_rows, "seed": self.seed,
                "mean": self.mean, "components": self.components}


ReduceSpec = str | Reduction
_SPEC = re.compile(r"^(auto|flatten|gap|project|pca)(?::(\d+))?$")
REDUCE_NAMES = ("auto", "flatten", "gap", "project[:k]", "pca[:k]")


def check_spec(spec: Any, what: str = "reduce") -> ReduceSpec:
    """A reduction spec: a Reduction, or one of "auto", "flatten", "gap", "project[:k]", "pca[:k]"."""
    if isinstance(spec, Reduction):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"{what} must be a str or an ibfast.monitor Reduction, got {type(spec).__name__}")
    m = _SPEC.match(spec)
    if m is None or (m.group(2) is not None and m.group(1) not in ("project", "pca")):
        raise ValueError(f"{what} {spec!r} is not a reduction; choose from {', '.join(REDUCE_NAMES)}")
    if m.group(2) is not None and int(m.group(2)) < 1:
        raise ValueError(f"{what} {spec!r}: k must be >= 1")
    return spec


def resolve(spec: ReduceSpec, shape: tuple[int, ...]) -> Reduction:
    """The reduction for a layer whose per-sample output shape is ``shape`` (a fresh object per
    layer: a PCA fitted on one layer is never reused on another)."""
    if isinstance(spec, Reduction):
        return copy.deepcopy(spec)
    m = _SPEC.match(spec)
    assert m is not None  # check_spec ran
    kind, k = m.group(1), m.group(2)
    if kind == "auto":
        if len(shape) >= 2:
            return GlobalAvgPool()
        return Flatten() if math.prod(shape) <= AUTO_FLAT_MAX else RandomProjection(AUTO_K)
    if kind == "flatten":
        return Flatten()
    if kind == "gap":
        return GlobalAvgPool()
    if kind == "project":
        return RandomProjection(int(k) if k else AUTO_K)
    return PCA(int(k) if k else 16)


def reduction_from_state(state: Mapping[str, Any]) -> Reduction:
    """The reduction ``Reduction.state_dict()`` describes (fitted PCA included)."""
    kind = state.get("kind")
    if kind == "flatten":
        return Flatten()
    if kind == "gap":
        return GlobalAvgPool()
    if kind == "project":
        return RandomProjection(int(state["k"]), int(state["seed"]))
    if kind == "pca":
        p = PCA(int(state["k"]), int(state["fit_rows"]), int(state["seed"]))
        if state.get("components") is not None:
            p.mean = torch.as_tensor(state["mean"]).float().cpu()
            p.components = torch.as_tensor(state["components"]).float().cpu()
        return p
    raise ValueError(f"unknown reduction state {kind!r}")
