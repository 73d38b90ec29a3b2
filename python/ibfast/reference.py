"""Plain numpy reference estimators, written straight from the formulas in docs/estimators.md.

Dense and obvious on purpose: this module is the oracle for the tests and the baseline for the
benchmarks. It imports nothing of ibfast (numpy only) and makes no attempt to be fast or to save
memory (``kde_log_sum_exp`` builds the full N x N distance matrix in float64).

All entropies and mutual informations are returned in bits unless ``units="nats"``.

Conventions shared with ibfast:

* Binning maps a value t to the largest k with ``edges[k] <= t`` (compared as float64), values
  below ``edges[0]`` get the underflow code -1 and values above the last edge share the top code.
* Binned entropies are plug-in entropies of the distinct rows of bin codes. ``H(T|X)`` is 0 for
  distinct inputs and is computed from ``input_ids`` when inputs repeat.
  ``I(T;Y) = H(T) - sum_c p(c) H(T | Y=c)``, each class term on that class's rows only.
* KDE: Kolchinsky & Tracey pairwise-distance bounds on the entropy of ``T + N(0, s2 I)`` with
  ``D_ij = ||t_i - t_j||^2`` over all pairs including i = j; alpha = 1/(2 s2) for the upper
  bound, 1/(8 s2) for the lower (Bhattacharyya) bound.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "adaptive_kde",
    "adaptive_range",
    "adaptive_range_edges",
    "bin_by_edges",
    "bin_by_width",
    "binning_mi",
    "conditional_entropy_of_rows",
    "ebab",
    "ebab_edges",
    "entropy_of_rows",
    "fixed_range",
    "fixed_range_edges",
    "fixed_width",
    "kde",
    "kde_log_sum_exp",
    "kde_mi",
]

_LN2 = math.log(2.0)


def _scale(units: str) -> float:
    """Divisor that turns nats into the requested units."""
    if units == "bits":
        return _LN2
    if units == "nats":
        return 1.0
    raise ValueError(f"units must be 'bits' or 'nats', got {units!r}")


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"expected a 1-D or 2-D array, got shape {a.shape}")
    return a


def _group_ids(groups) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids 0..G-1 for a 1-D (or row-wise 2-D) grouping, and the group sizes."""
    g = np.asarray(groups)
    if g.ndim == 1:
        _, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
    else:
        _, inv, counts = np.unique(_as_2d(g), axis=0, return_inverse=True, return_counts=True)
    return inv.reshape(-1), counts


# --------------------------------------------------------------------------------------------
# Binning
# --------------------------------------------------------------------------------------------


def bin_by_edges(T, edges) -> np.ndarray:
    """Bin codes: the largest k with edges[k] <= t, -1 below edges[0], top code above the top.

    Values are compared as float64 against float64 edges.
    """
    T = np.asarray(T)
    edges = np.asarray(edges, dtype=np.float64)
    return np.searchsorted(edges, T.astype(np.float64), side="right") - 1


def bin_by_width(T, width) -> np.ndarray:
    """Bin codes floor(t / width), computed in float64."""
    T = np.asarray(T)
    return np.floor(T.astype(np.float64) / float(width)).astype(np.int64)


def fixed_range_edges(n_bins: int = 30, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Shwartz-Ziv & Tishby edges: linspace(lo, hi, n_bins)."""
    return np.linspace(lo, hi, n_bins, dtype=np.float64)


def adaptive_range_edges(T, n_bins: int = 30) -> np.ndarray:
    """linspace(min(T), max(T), n_bins) of the layer."""
    T = np.asarray(T)
    return np.linspace(float(T.min()), float(T.max()), n_bins, dtype=np.float64)


def ebab_lower(T, lower="auto"):
    """Resolve EBAB's ``lower``: "auto" is 0.0 when T has no negative values, else None."""
    if isinstance(lower, str):
        if lower != "auto":
            raise ValueError(f"lower must be 'auto', None or a number, got {lower!r}")
        T = np.asarray(T)
        return 0.0 if not np.any(T < 0) else None
    if lower is None:
        return None
    return float(lower)


def ebab_edges(T, n_bins: int = 30, lower="auto") -> np.ndarray:
    """EBAB edges (Chelombiev et al. 2019) of all values of T pooled.

    u = the sorted distinct float32 values (restricted to values > lower when lower is given),
    U = len(u); edges = [lower] + [u[k*U//n_bins] for k in range(n_bins)] + [u[U-1]].
    If U == 0 the edges are just [lower].
    """
    x = np.asarray(T, dtype=np.float32).reshape(-1)
    lower = ebab_lower(x, lower)
    u = np.unique(x)  # sorted; -0.0 == 0.0 so they count as one value
    if lower is not None:
        u = u[u.astype(np.float64) > lower]
    U = len(u)
    edges: list[float] = [] if lower is None else [lower]
    if U == 0:
        if lower is None:
            raise ValueError("ebab_edges needs at least one value")
        return np.asarray(edges, dtype=np.float64)
    edges += [float(u[k * U // n_bins]) for k in range(n_bins)]
    edges.append(float(u[U - 1]))
    return np.asarray(edges, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Plug-in entropies of distinct rows
# --------------------------------------------------------------------------------------------


def _entropy_from_counts(counts) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def entropy_of_rows(codes, units: str = "bits") -> float:
    """Plug-in entropy of the distinct rows of ``codes``."""
    codes = _as_2d(codes)
    _, counts = np.unique(codes, axis=0, return_counts=True)
    return _entropy_from_counts(counts) / _scale(units)


def conditional_entropy_of_rows(codes, groups, units: str = "bits") -> float:
    """sum_g p(g) H(rows | g), each group's term computed on that group's rows only.

    With n_g rows in group g, of which c_gr equal the distinct row r,
    H(rows | g) = ln n_g - (1/n_g) sum_r c_gr ln c_gr, weighted by p(g) = n_g / N.
    """
    codes = _as_2d(codes)
    n = codes.shape[0]
    g_ids, g_counts = _group_ids(groups)
    if len(g_ids) != n:
        raise ValueError("groups must have one entry per row")
    _, row_ids = np.unique(codes, axis=0, return_inverse=True)
    pairs = np.stack([g_ids, row_ids.reshape(-1)], axis=1)
    _, pair_counts = np.unique(pairs, axis=0, return_counts=True)
    g_counts = g_counts.astype(np.float64)
    pair_counts = pair_counts.astype(np.float64)
    h = (np.sum(g_counts * np.log(g_counts)) - np.sum(pair_counts * np.log(pair_counts))) / n
    return float(h / _scale(units))


def binning_mi(codes, labels=None, input_ids=None, units: str = "bits") -> dict:
    """I(X;T), I(T;Y) and the entropies from bin codes (N, d)."""
    codes = _as_2d(codes)
    h_t = entropy_of_rows(codes, units=units)
    h_t_given_x = 0.0 if input_ids is None else conditional_entropy_of_rows(codes, input_ids, units)
    if labels is None:
        h_t_given_y = None
        i_ty = None
    else:
        h_t_given_y = conditional_entropy_of_rows(codes, labels, units)
        i_ty = h_t - h_t_given_y
    return {
        "i_xt": h_t - h_t_given_x,
        "i_ty": i_ty,
        "h_t": h_t,
        "h_t_given_y": h_t_given_y,
        "h_t_given_x": h_t_given_x,
    }


# --------------------------------------------------------------------------------------------
# KDE
# --------------------------------------------------------------------------------------------


def _logsumexp_rows(a: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Row-wise ln sum exp(a) (optionally over mask only), max-subtracted for stability."""
    if mask is not None:
        a = np.where(mask, a, -np.inf)
    m = np.max(a, axis=1, keepdims=True)
    return (m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))).reshape(-1)


def pairwise_sq_dists(T) -> np.ndarray:
    """Dense float64 N x N matrix of ||t_i - t_j||^2 from exact differences."""
    T = _as_2d(T).astype(np.float64)
    n, d = T.shape
    D = np.empty((n, n), dtype=np.float64)
    step = max(1, 2_000_000 // max(1, n * d))
    for i in range(0, n, step):
        diff = T[i : i + step, None, :] - T[None, :, :]
        D[i : i + step] = np.einsum("ijk,ijk->ij", diff, diff)
    return D


def kde_log_sum_exp(T, alpha, groups=None):
    """Per row, ln sum_j exp(-alpha D_ij) over all j, and over j in the row's group (nats)."""
    D = pairwise_sq_dists(T)
    a = -float(alpha) * D
    lse_all = _logsumexp_rows(a)
    if groups is None:
        return lse_all, None
    g = np.asarray(groups).reshape(-1)
    same = g[:, None] == g[None, :]
    return lse_all, _logsumexp_rows(a, same)


def _alpha(noise_variance: float, bound: str) -> float:
    if bound == "upper":
        return 1.0 / (2.0 * noise_variance)
    if bound == "lower":
        return 1.0 / (8.0 * noise_variance)
    raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")


def kde_mi(T, labels=None, noise_variance: float = 1e-3, bound: str = "upper",
           units: str = "bits") -> dict:
    """KDE pairwise-distance bounds on I(X;T) and I(T;Y) (Kolchinsky & Tracey, Saxe et al.)."""
    T = _as_2d(T)
    n, d = T.shape
    s2 = float(noise_variance)
    alpha = _alpha(s2, bound)
    h_noise = 0.5 * d * math.log(2.0 * math.pi * math.e * s2)
    lse_all, lse_within = kde_log_sum_exp(T, alpha, labels)
    h_t = h_noise - float(np.mean(lse_all - math.log(n)))
    if labels is None:
        h_t_given_y = None
    else:
        ids, counts = _group_ids(labels)
        h_t_given_y = 0.0
        for c, n_c in enumerate(counts):
            sel = ids == c
            h_c = h_noise - float(np.mean(lse_within[sel] - math.log(n_c)))
            h_t_given_y += float(n_c / n) * h_c
    k = _scale(units)
    return {
        "i_xt": (h_t - h_noise) / k,
        "i_ty": None if h_t_given_y is None else (h_t - h_t_given_y) / k,
        "h_t": h_t / k,
        "h_t_given_y": None if h_t_given_y is None else h_t_given_y / k,
        "h_t_given_x": h_noise / k,
    }


# --------------------------------------------------------------------------------------------
# Estimator-level helpers mirroring the ibfast API
# --------------------------------------------------------------------------------------------


def fixed_range(T, labels=None, input_ids=None, n_bins: int = 30, lo: float = -1.0,
                hi: float = 1.0, units: str = "bits") -> dict:
    """Fixed-range binning (Shwartz-Ziv & Tishby)."""
    codes = bin_by_edges(T, fixed_range_edges(n_bins, lo, hi))
    return binning_mi(codes, labels, input_ids, units)


def fixed_width(T, labels=None, input_ids=None, width: float = 0.07, units: str = "bits") -> dict:
    """Fixed bin width (Saxe et al.): ibfast.FixedWidth."""
    return binning_mi(bin_by_width(T, width), labels, input_ids, units)


def bin_width(T, labels=None, input_ids=None, width: float = 0.07, units: str = "bits") -> dict:
    """Deprecated: ``fixed_width`` (the estimator's former name; goes in the next release)."""
    warnings.warn("ibfast.reference.bin_width is deprecated; use ibfast.reference.fixed_width",
                  DeprecationWarning, stacklevel=2)
    return fixed_width(T, labels, input_ids, width, units)


def adaptive_range(T, labels=None, input_ids=None, n_bins: int = 30,
                   units: str = "bits") -> dict:
    """Adaptive range: edges spanning the layer's min..max."""
    codes = bin_by_edges(T, adaptive_range_edges(T, n_bins))
    return binning_mi(codes, labels, input_ids, units)


def ebab(T, labels=None, input_ids=None, n_bins: int = 30, lower="auto",
         units: str = "bits") -> dict:
    """Entropy-based adaptive binning (Chelombiev et al. 2019)."""
    codes = bin_by_edges(T, ebab_edges(T, n_bins, lower))
    return binning_mi(codes, labels, input_ids, units)


def kde(T, labels=None, noise_variance: float = 1e-3, bound: str = "upper",
        units: str = "bits") -> dict:
    """KDE with fixed noise variance (Saxe et al.)."""
    return kde_mi(T, labels, noise_variance, bound, units)


def adaptive_kde(T, labels=None, scale: float = 1e-3, bound: str = "upper",
                 units: str = "bits", power: int = 1) -> dict:
    """Adaptive KDE (Chelombiev et al.): noise variance = scale * max|T| (power 1) or
    (scale * max|T|)^2 (power 2).

    A layer that is zero everywhere has I = 0 at any noise; it is evaluated as if max|T| were 1
    (as ibfast does) so that the entropies stay finite.
    """
    top = float(np.max(np.abs(np.asarray(T, dtype=np.float64))))
    s2 = (float(scale) * (top if top > 0 else 1.0)) ** power
    return kde_mi(T, labels, s2, bound, units)
