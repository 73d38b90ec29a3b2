"""The functional API: the compiled kernels as plain functions, for numpy arrays and torch tensors.

CPU input (numpy, CPU tensors) runs on ``ibfast._core`` and returns numpy arrays; a CUDA tensor
runs on ``ibfast._cuda`` on its own device and current stream, without a host copy of the
activations, and returns tensors on that device. ``device="cuda"`` moves CPU input to the GPU;
``device="cpu"`` copies a CUDA tensor to the host. Entropies come in bits unless
``units="nats"``; ``kde_log_sum_exp`` returns natural logs. Input is validated once, with the same
rules and messages on every path (``ibfast._arrays``); the dispatch lives in ``ibfast._dispatch``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._arrays import as_codes, is_cuda_tensor
from ._backend import require_cuda
from ._dispatch import (
    ebab_edges_of,
    edge_codes,
    group_ids_like,
    intake,
    kde_lse_many,
    resolve_lower,
    row_entropy_nats,
    width_codes,
)
from ._params import check_alpha, check_alphas, positive_finite, positive_int, sorted_edges
from ._units import check_units, from_nats

__all__ = [
    "RowEntropy",
    "bin_by_edges",
    "bin_by_width",
    "distinct_row_entropy",
    "ebab_edges",
    "kde_log_sum_exp",
    "kde_log_sum_exp_alphas",
    "kde_log_sum_exp_many",
    "sorted_distinct",
]


class RowEntropy(NamedTuple):
    """Plug-in entropy of the distinct rows, and conditional on each grouping passed."""

    h: float
    h_given: tuple[float, ...]
    n_distinct: int


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


def kde_log_sum_exp_alphas(
    T: Any, alphas: Sequence[float], groups: Any = None, device: str = "auto"
) -> list[tuple[Any, Any]]:
    """``[kde_log_sum_exp(T, a, groups) for a in alphas]`` from one pass over the pairs (e.g. the
    upper and the lower KDE bound: alpha = 1 / (2 s2) and 1 / (8 s2)): each alpha's result is bit
    for bit the single-alpha one on the CPU (to ~1e-16 on CUDA, as repeated calls there)."""
    x = intake(T, device)
    g = None if groups is None else group_ids_like(groups, x, name="groups")[0]
    return kde_lse_many([x], [check_alphas(alphas)], [g])[0]


def kde_log_sum_exp_multi(
    T: Any, alphas: Sequence[float], groups: Any = None, device: str = "auto"
) -> list[tuple[Any, Any]]:
    """Deprecated: ``kde_log_sum_exp_alphas`` (the same function; this name goes in the next release)."""
    warnings.warn("ibfast.kernels.kde_log_sum_exp_multi is deprecated; use "
                  "ibfast.kernels.kde_log_sum_exp_alphas", DeprecationWarning, stacklevel=2)
    return kde_log_sum_exp_alphas(T, alphas, groups, device)


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
