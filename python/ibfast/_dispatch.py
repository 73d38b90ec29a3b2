"""Internal: validated layers -> the compiled kernels, on the CPU (``_core``) or on CUDA (``_cuda``).

Everything here takes input that ``intake`` has validated. CUDA launches go through one function,
``on_gpu``, which holds the whole protocol: the module check, the tensor's device as the current
one, its current stream, and one retry after an out-of-memory error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from . import _core
from ._arrays import as_activations, as_group_ids, is_cuda_tensor
from ._backend import cuda_stream, require_cuda, resolve_device
from ._params import check_lower

# Width binning writes int32 codes: floor(t / w) must stay inside that range.
_INT32_LIMIT = 2.0**31 - 1

Array = Any  # a validated np.ndarray (CPU) or a contiguous CUDA tensor


def intake(T: Any, device: str = "auto", name: str = "T") -> Array:
    """T validated for its device: a C-contiguous float32 numpy array or CUDA tensor."""
    if resolve_device(T, device) == "cpu":
        return as_activations(T.detach().cpu() if is_cuda_tensor(T) else T, name)
    if not is_cuda_tensor(T):
        import torch

        T = torch.from_numpy(as_activations(T, name)).cuda()
    return as_activations(T, name)


def group_ids_like(y: Any, x: Array, name: str = "labels") -> tuple[Array, int]:
    """Group ids 0..G-1 (int32) on x's device, and G."""
    return as_group_ids(y, x.shape[0], name, x.device if is_cuda_tensor(x) else None)


def on_gpu(like: Any, kernel: str, *args: Any) -> Any:
    """``ibfast._cuda.<kernel>(*args, stream)`` on ``like``'s device and current stream.

    Kernel scratch comes from CUDA's stream-ordered pool; when that allocation fails because
    torch's caching allocator holds the memory, torch's cached blocks go back to the driver and
    the kernel runs once more. The CUDA module raises ``OutOfMemoryError``, a MemoryError.
    """
    import torch

    fn = getattr(require_cuda(), kernel)
    with torch.cuda.device(like.device):
        stream = cuda_stream(like)
        try:
            return fn(*args, stream)
        except MemoryError:
            torch.cuda.empty_cache()
            return fn(*args, stream)


def layer_min_max(x: Array) -> tuple[float, float]:
    """The least and greatest value of a validated layer (one parallel pass on the CPU)."""
    if is_cuda_tensor(x):
        lo, hi = x.aminmax()
        return float(lo), float(hi)
    lo, hi = _core.min_max(x)
    return float(lo), float(hi)


def resolve_lower(x: Array, lower: float | str | None) -> float | None:
    """EBAB's ``lower`` for a layer: "auto" is 0 for a layer with no negative values, else None."""
    checked = check_lower(lower)
    if checked == "auto":
        return 0.0 if layer_min_max(x)[0] >= 0.0 else None
    return None if checked is None else float(checked)


# ---- kernels on validated input ---------------------------------------------------------------
def edge_codes(x: Array, edges: np.ndarray) -> Array:
    """Codes of a validated layer for sorted float64 edges."""
    if not is_cuda_tensor(x):
        return np.asarray(_core.bin_by_edges(x, edges))
    import torch

    check_cuda_edges(edges)
    codes = torch.empty(x.shape, dtype=torch.int32, device=x.device)
    on_gpu(x, "bin_by_edges", x.data_ptr(), x.numel(), edges, codes.data_ptr())
    return codes


def check_width_range(x: Array, width: float) -> None:
    """Refuse a width whose codes ``floor(x / width)`` would leave the int32 range."""
    lo, hi = layer_min_max(x)
    top = max(abs(lo), abs(hi))
    if top / width >= _INT32_LIMIT:
        raise ValueError(
            f"width {width} is too small for values up to {top}: bin codes would overflow int32"
        )


def check_cuda_edges(edges: np.ndarray) -> None:
    """The CUDA kernels take at most ``_cuda.max_edges`` edges (a kernel argument)."""
    max_edges = require_cuda().max_edges
    if edges.size > max_edges:
        raise ValueError(f"the CUDA kernels take at most {max_edges} edges, got {edges.size}")


def width_codes(x: Array, width: float) -> Array:
    """``floor(x / width)`` of a validated layer, refusing codes beyond int32."""
    check_width_range(x, width)
    if not is_cuda_tensor(x):
        return np.asarray(_core.bin_by_width(x, width))
    import torch

    codes = torch.empty(x.shape, dtype=torch.int32, device=x.device)
    on_gpu(x, "bin_by_width", x.data_ptr(), x.numel(), width, codes.data_ptr())
    return codes


def ebab_edges_of(x: Array, n_bins: int, lower: float | None) -> np.ndarray:
    """EBAB edges (host float64) of a validated layer, ``lower`` already resolved."""
    if not is_cuda_tensor(x):
        return np.asarray(_core.ebab_edges(x, n_bins, lower))
    return np.asarray(on_gpu(x, "ebab_edges", x.data_ptr(), x.numel(), n_bins, lower))


def row_entropy_nats(
    codes: Array, groupings: Sequence[Array], sizes: Sequence[int]
) -> tuple[float, list[float], int]:
    """H(rows) and H(rows | g) per grouping in nats, and the distinct-row count."""
    if not is_cuda_tensor(codes):
        h, h_given, k = _core.row_entropy(codes, list(groupings), list(sizes))
    else:
        n, d = codes.shape
        h, h_given, k = on_gpu(codes, "row_entropy", codes.data_ptr(), n, d,
                               [g.data_ptr() for g in groupings], list(sizes))
    return float(h), list(h_given), int(k)


def binned_row_entropy_nats(
    x: Array,
    edges: np.ndarray | None = None,
    width: float | None = None,
    groupings: Sequence[Array] = (),
    sizes: Sequence[int] = (),
    *,
    hash_bits: int = 64,
) -> tuple[float, list[float], int]:
    """``row_entropy_nats`` of the bin codes of a validated layer, by sorted float64 ``edges``
    (as ``edge_codes``) or by a positive ``width`` (as ``width_codes``, with its int32 range
    check), in one pass over the activations: the N x d code matrix is never built. Bit for bit
    the numbers of ``row_entropy_nats(edge_codes(x, edges), ...)``. ``hash_bits`` < 64 truncates
    the row hashes, for tests that force hash collisions through the verification."""
    if (edges is None) == (width is None):
        raise ValueError("give either edges or width")
    if width is not None:
        check_width_range(x, width)
    if not is_cuda_tensor(x):
        h, h_given, k = _core.binned_row_entropy(x, edges, width, list(groupings), list(sizes), hash_bits)
    else:
        if edges is not None:
            check_cuda_edges(edges)
        n, d = x.shape
        h, h_given, k = on_gpu(x, "binned_row_entropy", x.data_ptr(), n, d, edges, width,
                               [g.data_ptr() for g in groupings], list(sizes), hash_bits)
    return float(h), list(h_given), int(k)


LSE = tuple[Array, Array | None]  # (lse_all, lse_within or None) of one layer and alpha


@overload
def kde_lse_many(
    xs: Sequence[Array], alphas: Sequence[float], gids: Sequence[Array | None]
) -> list[LSE]: ...
@overload
def kde_lse_many(
    xs: Sequence[Array], alphas: Sequence[Sequence[float]], gids: Sequence[Array | None]
) -> list[list[LSE]]: ...
def kde_lse_many(
    xs: Sequence[Array], alphas: Sequence[float] | Sequence[Sequence[float]], gids: Sequence[Array | None]
) -> list[LSE] | list[list[LSE]]:
    """Per-row log-sum-exps of validated layers (all on the CPU or all on one CUDA device);
    on CUDA in one batched call, so that small layers fill the GPU together.

    ``alphas[k]`` is layer k's alpha, giving one ``(lse_all, lse_within)`` pair, or a sequence of
    alphas, giving a list of pairs (one per alpha) from one distance computation: every pair is
    bit for bit what that alpha alone gives on the CPU (on CUDA up to the order of the atomic
    float64 additions, ~1e-16).
    """
    per_layer: list[list[float]] = []
    multi: list[bool] = []
    for a in alphas:
        if isinstance(a, (Sequence, np.ndarray)):
            per_layer.append([float(v) for v in a])
            multi.append(True)
        else:
            per_layer.append([float(a)])
            multi.append(False)
    out = _kde_lse_alphas(xs, per_layer, gids)
    result: list[Any] = [o if m else o[0] for m, o in zip(multi, out, strict=True)]
    return result


def _kde_lse_alphas(
    xs: Sequence[Array], alphas: Sequence[list[float]], gids: Sequence[Array | None]
) -> list[list[LSE]]:
    """``kde_lse_many`` with a list of alphas for every layer."""
    if len(alphas) != len(xs) or len(gids) != len(xs):
        raise ValueError(f"got {len(xs)} matrices, {len(alphas)} alpha entries and {len(gids)} groupings")
    if not xs or not is_cuda_tensor(xs[0]):
        if any(is_cuda_tensor(x) for x in xs):
            raise ValueError("all activation matrices of one batched call must be on the same device")
        # One call for every matrix: their tile jobs share the threads (kde_log_sum_exp_many).
        batch = _core.kde_log_sum_exp_many(list(xs), [list(a) for a in alphas], list(gids))
        return [[(np.asarray(la), None if lw is None else np.asarray(lw)) for la, lw in pairs]
                for pairs in batch]
    import torch

    device = xs[0].device
    if any(not is_cuda_tensor(x) or x.device != device for x in xs):
        raise ValueError(f"all activation matrices of one batched call must be on {device}")
    results: list[list[LSE]] = []
    items = []
    for x, a, g in zip(xs, alphas, gids, strict=True):
        alls = [torch.empty(x.shape[0], dtype=torch.float64, device=device) for _ in a]
        withins = [] if g is None else [torch.empty_like(t) for t in alls]
        items.append((x.data_ptr(), x.shape[0], x.shape[1], a,
                      0 if g is None else g.data_ptr(), [t.data_ptr() for t in alls],
                      [t.data_ptr() for t in withins]))
        results.append([(t, withins[k] if withins else None) for k, t in enumerate(alls)])
    on_gpu(xs[0], "kde_log_sum_exp", items)
    return results
