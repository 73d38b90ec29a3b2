"""Functional entry points to the compiled kernels: validate once, then dispatch by device.

Everything here takes numpy arrays or torch tensors. CPU input (numpy, CPU tensors) runs on
``ibfast._core`` and returns numpy arrays; a CUDA tensor runs on ``ibfast._cuda`` on its own
device and current stream, without a host copy of the activations, and returns tensors on that
device. ``device="cuda"`` moves CPU input to the GPU; ``device="cpu"`` copies a CUDA tensor to
the host. Entropies come in bits unless ``units="nats"``; ``kde_log_sum_exp`` returns natural logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._arrays import (
    as_activations,
    as_codes,
    as_cuda_activations,
    as_cuda_codes,
    as_cuda_group_ids,
    as_group_ids,
    finite_real,
    is_cuda_tensor,
    positive_finite,
    positive_int,
)
from ._backend import cuda_stream, require_cuda, resolve_device
from ._units import check_units, from_nats

# Width binning writes int32 codes: floor(t / w) must stay inside that range.
_INT32_LIMIT = 2.0**31 - 1
# float32 holds -alpha * D; beyond this the exponent of the diagonal term (D = 0) would be 0 * inf.
_MAX_ALPHA = 1e30

Array = Any  # a validated np.ndarray (CPU) or a contiguous CUDA tensor


class RowEntropy(NamedTuple):
    """Plug-in entropy of the distinct rows, and conditional on each grouping passed."""

    h: float
    h_given: tuple[float, ...]
    n_distinct: int


# ---- intake ------------------------------------------------------------------------------------
def intake(T: Any, device: str = "auto", name: str = "T") -> Array:
    """T validated for its device: a C-contiguous float32 numpy array or CUDA tensor."""
    if resolve_device(T, device) == "cpu":
        if is_cuda_tensor(T):
            T = T.detach().cpu()
        return as_activations(T, name)
    if not is_cuda_tensor(T):
        import torch

        T = torch.from_numpy(as_activations(T, name)).cuda()
    return as_cuda_activations(T, name)


def group_ids_like(y: Any, x: Array, name: str = "labels") -> tuple[Array, int]:
    """Group ids 0..G-1 (int32) on x's device, and G."""
    if is_cuda_tensor(x):
        return as_cuda_group_ids(y, x.shape[0], x.device, name)
    host = y.detach().cpu() if is_cuda_tensor(y) else y
    return as_group_ids(host, x.shape[0], name)


def sorted_edges(edges: Any, name: str = "edges") -> np.ndarray:
    e = np.ascontiguousarray(np.asarray(edges, dtype=np.float64).reshape(-1))
    if e.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(e).all():
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(np.diff(e) < 0):
        raise ValueError(f"{name} must be sorted ascending")
    return e


def layer_min_max(x: Array) -> tuple[float, float]:
    if is_cuda_tensor(x):
        lo, hi = x.aminmax()
        return float(lo), float(hi)
    return float(x.min()), float(x.max())


def resolve_lower(x: Array, lower: float | str | None) -> float | None:
    """EBAB's ``lower``: "auto" is 0 for a layer with no negative values, else None."""
    if isinstance(lower, str):
        if lower != "auto":
            raise ValueError(f"lower must be 'auto', None or a number, got {lower!r}")
        return 0.0 if layer_min_max(x)[0] >= 0.0 else None
    if lower is None:
        return None
    return finite_real(lower, "lower", "'auto', None or a number")


def _cuda_call(fn: Any, *args: Any) -> Any:
    """Call a CUDA kernel; if its scratch allocation fails because torch's caching allocator holds
    the memory, hand torch's cached blocks back to the driver and try once more."""
    try:
        return fn(*args)
    except RuntimeError as err:
        if "out of memory" not in str(err):
            raise
        import torch

        torch.cuda.empty_cache()
        return fn(*args)


# ---- dispatch on validated input ------------------------------------------------------------------
def edge_codes(x: Array, edges: np.ndarray) -> Array:
    """Codes of a validated layer for sorted float64 edges."""
    if not is_cuda_tensor(x):
        return np.asarray(_core.bin_by_edges(x, edges))
    import torch

    cuda = require_cuda()
    if edges.size > cuda.max_edges:
        raise ValueError(f"the CUDA kernels take at most {cuda.max_edges} edges, got {edges.size}")
    codes = torch.empty(x.shape, dtype=torch.int32, device=x.device)
    with torch.cuda.device(x.device):
        _cuda_call(cuda.bin_by_edges, x.data_ptr(), x.numel(), edges, codes.data_ptr(), cuda_stream(x))
    return codes


def width_codes(x: Array, width: float) -> Array:
    """``floor(x / width)`` of a validated layer, refusing codes beyond int32."""
    lo, hi = layer_min_max(x)
    top = max(abs(lo), abs(hi))
    if top / width >= _INT32_LIMIT:
        raise ValueError(
            f"width {width} is too small for values up to {top}: bin codes would overflow int32"
        )
    if not is_cuda_tensor(x):
        return np.asarray(_core.bin_by_width(x, width))
    import torch

    cuda = require_cuda()
    codes = torch.empty(x.shape, dtype=torch.int32, device=x.device)
    with torch.cuda.device(x.device):
        _cuda_call(cuda.bin_by_width, x.data_ptr(), x.numel(), width, codes.data_ptr(), cuda_stream(x))
    return codes


def ebab_edges_of(x: Array, n_bins: int, lower: float | None) -> np.ndarray:
    """EBAB edges (host float64) of a validated layer, ``lower`` already resolved."""
    if not is_cuda_tensor(x):
        return np.asarray(_core.ebab_edges(x, n_bins, lower))
    import torch

    cuda = require_cuda()
    with torch.cuda.device(x.device):
        return np.asarray(_cuda_call(cuda.ebab_edges, x.data_ptr(), x.numel(), n_bins, lower, cuda_stream(x)))


def row_entropy_nats(
    codes: Array, groupings: Sequence[Array], sizes: Sequence[int]
) -> tuple[float, list[float], int]:
    """H(rows) and H(rows | g) per grouping in nats, and the distinct-row count."""
    if not is_cuda_tensor(codes):
        h, h_given, k = _core.row_entropy(codes, list(groupings), list(sizes))
        return float(h), list(h_given), int(k)
    import torch

    cuda = require_cuda()
    n, d = codes.shape
    with torch.cuda.device(codes.device):
        h, h_given, k = _cuda_call(cuda.row_entropy, codes.data_ptr(), n, d,
                                   [g.data_ptr() for g in groupings], list(sizes), cuda_stream(codes))
    return float(h), list(h_given), int(k)


def check_alpha(alpha: float) -> float:
    a = positive_finite(alpha, "alpha")
    if a > _MAX_ALPHA:
        raise ValueError(f"alpha = {a:g} is too large for float32 arithmetic (noise variance too small)")
    return a


def kde_lse_many(
    xs: Sequence[Array], alphas: Sequence[float], gids: Sequence[Array | None]
) -> list[tuple[Array, Array | None]]:
    """Per-row log-sum-exps of validated layers (all on the CPU or all on one CUDA device);
    on CUDA in one batched call, so that small layers fill the GPU together."""
    if not xs or not is_cuda_tensor(xs[0]):
        out = []
        for x, a, g in zip(xs, alphas, gids, strict=True):
            lse_all, lse_within = _core.kde_log_sum_exp(x, a, g)
            out.append((np.asarray(lse_all), None if lse_within is None else np.asarray(lse_within)))
        return out
    import torch

    cuda = require_cuda()
    device = xs[0].device
    if any(not is_cuda_tensor(x) or x.device != device for x in xs):
        raise ValueError(f"all activation matrices of one batched call must be on {device}")
    results: list[tuple[Array, Array | None]] = []
    items = []
    for x, a, g in zip(xs, alphas, gids, strict=True):
        sums = torch.empty(x.shape[0], dtype=torch.float64, device=device)
        sums_within = None if g is None else torch.empty_like(sums)
        items.append((x.data_ptr(), x.shape[0], x.shape[1], float(a), 0 if g is None else g.data_ptr(),
                      sums.data_ptr(), 0 if sums_within is None else sums_within.data_ptr()))
        results.append((sums, sums_within))
    with torch.cuda.device(device):
        _cuda_call(cuda.kde_log_sum_exp, items, cuda_stream(xs[0]))
    return results


# ---- public functions ---------------------------------------------------------------------------
def bin_by_edges(T: Any, edges: Any, device: str = "auto") -> Any:
    """Bin codes of T (N, d): the largest k with ``edges[k] <= t``, and -1 below ``edges[0]``.

    Values above the last edge share the top code ``len(edges) - 1``; values below the first
    edge get the underflow code -1 of their own (never wrapped into the top bin).
    """
    return edge_codes(intake(T, device), sorted_edges(edges))


def bin_by_width(T: Any, width: float, device: str = "auto") -> Any:
    """Bin codes ``floor(t / width)`` of T (N, d) (Saxe et al.'s binning)."""
    return width_codes(intake(T, device), positive_finite(width, "width"))


def ebab_edges(
    T: Any, n_bins: int = 30, lower: float | str | None = "auto", device: str = "auto"
) -> np.ndarray:
    """EBAB edges (Chelombiev et al. 2019) of all values of a layer, as a host float64 array.

    u = sorted distinct values of T (those above ``lower`` when it is set), U = len(u);
    edges = [lower] + [u[k*U//n_bins] for k in range(n_bins)] + [u[-1]]. Each bin holds the
    same number of distinct values, so saturated values don't swallow the bins.
    """
    x = intake(T, device)
    return ebab_edges_of(x, positive_int(n_bins, "n_bins"), resolve_lower(x, lower))


def sorted_distinct(T: Any) -> np.ndarray:
    """The sorted distinct values of T (float32; -0.0 and 0.0 are one value). CPU only."""
    return np.asarray(_core.sorted_distinct(intake(T, "cpu")))


def distinct_row_entropy(codes: Any, *groupings: Any, units: str = "bits") -> RowEntropy:
    """Exact plug-in entropy of an integer matrix's distinct rows, and H(rows | g) per grouping.

    Rows are grouped by a hash that is verified by comparing the rows themselves, so different
    rows are never merged. Each grouping (labels, input ids) is a 1-D sequence of N values.
    A CUDA int tensor is computed on its device.
    """
    u = check_units(units)
    if is_cuda_tensor(codes):
        require_cuda()
        c = as_cuda_codes(codes)
    else:
        c = as_codes(codes)
    ids, sizes = [], []
    for k, g in enumerate(groupings):
        gid, n_groups = group_ids_like(g, c, name=f"groupings[{k}]")
        ids.append(gid)
        sizes.append(n_groups)
    h, h_given, n_distinct = row_entropy_nats(c, ids, sizes)
    return RowEntropy(from_nats(h, u), tuple(from_nats(v, u) for v in h_given), n_distinct)


def kde_log_sum_exp(T: Any, alpha: float, groups: Any = None, device: str = "auto") -> tuple[Any, Any]:
    """Per row i: ln sum_j exp(-alpha ||t_i - t_j||^2) over all rows j (i included).

    With ``groups``, also the same sum over the rows j of i's group. Streams over tiles: memory
    O(N d), never an N x N matrix. Returns float64 arrays (tensors on CUDA) of natural logs >= 0.
    """
    x = intake(T, device)
    g = None if groups is None else group_ids_like(groups, x, name="groups")[0]
    return kde_lse_many([x], [check_alpha(alpha)], [g])[0]


def kde_log_sum_exp_many(
    Ts: Sequence[Any], alpha: float | Sequence[float], groups: Any = None, device: str = "auto"
) -> list[tuple[Any, Any]]:
    """``kde_log_sum_exp`` of many matrices in one call (e.g. every layer of every seed of an
    epoch). On CUDA they run in one batched launch. ``alpha`` is one value or one per matrix;
    ``groups`` (e.g. the labels) is shared by all matrices, which then have the same N."""
    if len(Ts) == 0:
        return []
    xs = [intake(T, device, name=f"Ts[{k}]") for k, T in enumerate(Ts)]
    alphas = [check_alpha(a) for a in (alpha if isinstance(alpha, Sequence) else [alpha] * len(xs))]
    if len(alphas) != len(xs):
        raise ValueError(f"got {len(alphas)} alphas for {len(xs)} matrices")
    gids = [None if groups is None else group_ids_like(groups, x, name="groups")[0] for x in xs]
    return kde_lse_many(xs, alphas, gids)
