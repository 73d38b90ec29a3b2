"""Functional entry points to the compiled kernels: validate once, then call ``_core``.

Everything here takes numpy arrays or CPU torch tensors and returns numpy arrays or floats.
Entropies come in bits unless ``units="nats"``; ``kde_log_sum_exp`` returns natural logs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._arrays import as_activations, as_codes, as_group_ids, positive_finite, positive_int
from ._units import check_units, from_nats

# Width binning writes int32 codes: floor(t / w) must stay inside that range.
_INT32_LIMIT = 2.0**31 - 1
# float32 holds -alpha * D; beyond this the exponent of the diagonal term (D = 0) would be 0 * inf.
_MAX_ALPHA = 1e30


class RowEntropy(NamedTuple):
    """Plug-in entropy of the distinct rows, and conditional on each grouping passed."""

    h: float
    h_given: tuple[float, ...]
    n_distinct: int


def sorted_edges(edges: Any, name: str = "edges") -> np.ndarray:
    e = np.ascontiguousarray(np.asarray(edges, dtype=np.float64).reshape(-1))
    if e.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(e).all():
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(np.diff(e) < 0):
        raise ValueError(f"{name} must be sorted ascending")
    return e


def bin_by_edges(T: Any, edges: Any) -> np.ndarray:
    """Bin codes of T (N, d): the largest k with ``edges[k] <= t``, and -1 below ``edges[0]``.

    Values above the last edge share the top code ``len(edges) - 1``; values below the first
    edge get the underflow code -1 of their own (never wrapped into the top bin).
    """
    x = as_activations(T)
    return np.asarray(_core.bin_by_edges(x, sorted_edges(edges)))


def bin_by_width(T: Any, width: float) -> np.ndarray:
    """Bin codes ``floor(t / width)`` of T (N, d) (Saxe et al.'s binning)."""
    return width_codes(as_activations(T), positive_finite(width, "width"))


def width_codes(x: np.ndarray, width: float) -> np.ndarray:
    """``floor(x / width)`` of a validated float32 matrix, refusing codes beyond int32."""
    top = float(np.abs(x).max())
    if top / width >= _INT32_LIMIT:
        raise ValueError(
            f"width {width} is too small for values up to {top}: bin codes would overflow int32"
        )
    return np.asarray(_core.bin_by_width(x, width))


def resolve_lower(x: np.ndarray, lower: float | str | None) -> float | None:
    """EBAB's ``lower``: "auto" is 0 for a layer with no negative values, else None."""
    if isinstance(lower, str):
        if lower != "auto":
            raise ValueError(f"lower must be 'auto', None or a number, got {lower!r}")
        return 0.0 if float(x.min()) >= 0.0 else None
    if lower is None:
        return None
    if isinstance(lower, bool) or not isinstance(lower, (int, float, np.integer, np.floating)):
        raise TypeError(f"lower must be 'auto', None or a number, got {type(lower).__name__}")
    if not np.isfinite(lower):
        raise ValueError(f"lower must be finite, got {lower!r}")
    return float(lower)


def ebab_edges(T: Any, n_bins: int = 30, lower: float | str | None = "auto") -> np.ndarray:
    """EBAB edges (Chelombiev et al. 2019) of all values of a layer.

    u = sorted distinct values of T (those above ``lower`` when it is set), U = len(u);
    edges = [lower] + [u[k*U//n_bins] for k in range(n_bins)] + [u[-1]]. Each bin holds the
    same number of distinct values, so saturated values don't swallow the bins.
    """
    x = as_activations(T)
    return np.asarray(_core.ebab_edges(x, positive_int(n_bins, "n_bins"), resolve_lower(x, lower)))


def sorted_distinct(T: Any) -> np.ndarray:
    """The sorted distinct values of T (float32; -0.0 and 0.0 are one value)."""
    return np.asarray(_core.sorted_distinct(as_activations(T)))


def distinct_row_entropy(codes: Any, *groupings: Any, units: str = "bits") -> RowEntropy:
    """Exact plug-in entropy of an integer matrix's distinct rows, and H(rows | g) per grouping.

    Rows are grouped by a hash that is verified by comparing the rows themselves, so different
    rows are never merged. Each grouping (labels, input ids) is a 1-D sequence of N values.
    """
    u = check_units(units)
    c = as_codes(codes)
    ids, sizes = [], []
    for k, g in enumerate(groupings):
        gid, n_groups = as_group_ids(g, c.shape[0], name=f"groupings[{k}]")
        ids.append(gid)
        sizes.append(n_groups)
    h, h_given, n_distinct = _core.row_entropy(c, ids, sizes)
    return RowEntropy(from_nats(h, u), tuple(from_nats(v, u) for v in h_given), int(n_distinct))


def check_alpha(alpha: float) -> float:
    a = positive_finite(alpha, "alpha")
    if a > _MAX_ALPHA:
        raise ValueError(
            f"alpha = {a:g} is too large for float32 arithmetic (noise variance too small)"
        )
    return a


def kde_log_sum_exp(
    T: Any, alpha: float, groups: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per row i: ln sum_j exp(-alpha ||t_i - t_j||^2) over all rows j (i included).

    With ``groups``, also the same sum over the rows j of i's group. Streams over tiles: memory
    O(N d), never an N x N matrix. Returns float64 arrays of natural logs, each >= 0.
    """
    x = as_activations(T)
    a = check_alpha(alpha)
    g = None if groups is None else as_group_ids(groups, x.shape[0], name="groups")[0]
    lse_all, lse_within = _core.kde_log_sum_exp(x, a, g)
    return np.asarray(lse_all), None if lse_within is None else np.asarray(lse_within)
