"""The binning family: discretise a layer, then plug-in entropies of the distinct rows.

I(X;T) = H(T) - H(T|X), where H(T|X) = 0 for distinct inputs of a deterministic network and is
computed from ``input_ids`` where inputs repeat; I(T;Y) = H(T) - sum_c p(c) H(T | Y=c).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, NamedTuple

import numpy as np

from .._dispatch import (
    Array,
    binned_row_entropy_nats,
    ebab_edges_of,
    edge_codes,
    intake,
    layer_min_max,
    resolve_lower,
    row_entropy_nats,
    width_codes,
)
from .._params import check_lower, finite_real, positive_finite, positive_int, sorted_edges
from ._deprecated import RENAMED, deprecated_attribute
from .base import Estimator, Groups
from .result import MIResult


class Bins(NamedTuple):
    """How the fused kernel bins a layer: sorted float64 ``edges`` or a ``width`` (one is None)."""

    edges: np.ndarray | None = None
    width: float | None = None


class BinningEstimator(Estimator):
    """Discretise T into integer codes (``_codes``), then plug-in entropies of the distinct rows.

    A CUDA tensor T is binned and counted on its GPU (``device="auto"`` follows the input).
    ``details`` of a result hold ``n_distinct`` and, for edge binning, ``n_edges``.

    Subclasses that bin by edges or by a width also give ``_bins``: then an estimate bins, hashes
    and counts in one pass over T (``binned_row_entropy_nats``) without building the code matrix,
    with exactly the numbers of the two passes ``_codes`` + ``row_entropy_nats``. A subclass with
    only ``_codes`` is estimated by those two passes (as is one whose ``_bins`` returns None: a
    subclass that changes ``_codes`` of an estimator with ``_bins`` must change both).
    """

    @abstractmethod
    def _codes(self, x: Array) -> tuple[Array, dict[str, Any]]:
        """Bin codes of a validated float32 matrix (numpy or CUDA), and details worth reporting."""

    def _bins(self, x: Array) -> tuple[Bins, dict[str, Any]] | None:
        """The edges or width ``_codes`` bins x by, and the same details; None: use ``_codes``."""
        return None

    def codes(self, T: Any, device: str = "auto") -> Any:
        """The int32 bin codes of T (N, d) that the entropies are computed on."""
        return self._codes(intake(T, device))[0]

    def _estimate(self, xs: list[Array], groups: list[Groups]) -> list[MIResult]:
        return [self._estimate_one(x, g) for x, g in zip(xs, groups, strict=True)]

    def _estimate_one(self, x: Array, g: Groups) -> MIResult:
        groupings = [(ids, size) for ids, size in ((g.labels, g.n_labels), (g.input_ids, g.n_inputs))
                     if ids is not None]
        ids, sizes = [i for i, _ in groupings], [s for _, s in groupings]
        bins = self._bins(x)
        if bins is None:
            codes, details = self._codes(x)
            h, h_given, n_distinct = row_entropy_nats(codes, ids, sizes)
        else:
            spec, details = bins
            h, h_given, n_distinct = binned_row_entropy_nats(x, spec.edges, spec.width, ids, sizes)
        given = iter(h_given)
        h_given_y = next(given) if g.labels is not None else None
        h_given_x = next(given) if g.input_ids is not None else 0.0
        details["n_distinct"] = int(n_distinct)
        return self._result(
            x.shape[0], i_xt=h - h_given_x, h_t=h, h_t_given_x=h_given_x,
            i_ty=None if h_given_y is None else h - h_given_y, h_t_given_y=h_given_y, details=details,
        )


class EdgeBinningEstimator(BinningEstimator):
    """Binning by sorted edges: a value takes the largest edge <= it, -1 below the first.

    Subclass it for edges of your own: write ``_edges`` (a validated layer in, sorted float64
    edges out) and ``params``; the codes, the one-pass entropies and ``details["n_edges"]`` follow.
    """

    @abstractmethod
    def _edges(self, x: Array) -> np.ndarray:
        """The float64 edges for a validated layer."""

    def edges(self, T: Any, device: str = "auto") -> np.ndarray:
        """The bin edges this estimator uses for T."""
        return self._edges(intake(T, device))

    def _codes(self, x: Array) -> tuple[Array, dict[str, Any]]:
        edges = self._edges(x)
        return edge_codes(x, edges), {"n_edges": int(edges.size)}

    def _bins(self, x: Array) -> tuple[Bins, dict[str, Any]] | None:
        edges = self._edges(x)
        return Bins(edges=edges), {"n_edges": int(edges.size)}


class FixedRange(EdgeBinningEstimator):
    """Fixed-range binning (Shwartz-Ziv & Tishby 2017): edges = linspace(lo, hi, n_bins).

    Defaults B = 30 over [-1, 1], the tanh range. Values above ``hi`` share the top bin; values
    below ``lo`` get an underflow bin of their own (the original code wrapped them into the top
    bin). With unbounded activations (ReLU) everything >= hi lands in one bin, which manufactures
    compression: prefer EBAB or AdaptiveRange there.
    """

    name = "fixed_range"

    def __init__(self, n_bins: int = 30, lo: float = -1.0, hi: float = 1.0, units: str = "bits"):
        super().__init__(units)
        self.n_bins = positive_int(n_bins, "n_bins")
        self.lo, self.hi = finite_real(lo, "lo"), finite_real(hi, "hi")
        if not self.lo < self.hi:
            raise ValueError(f"lo must be below hi, got lo={lo}, hi={hi}")
        self._fixed_edges = sorted_edges(np.linspace(self.lo, self.hi, self.n_bins))

    def params(self) -> dict[str, Any]:
        return {"n_bins": self.n_bins, "lo": self.lo, "hi": self.hi, "units": self.units}

    def _edges(self, x: Array) -> np.ndarray:
        return self._fixed_edges


class AdaptiveRange(EdgeBinningEstimator):
    """Adaptive-range binning: edges = linspace(min, max, n_bins) of the layer at that epoch."""

    name = "adaptive_range"

    def __init__(self, n_bins: int = 30, units: str = "bits"):
        super().__init__(units)
        self.n_bins = positive_int(n_bins, "n_bins")

    def params(self) -> dict[str, Any]:
        return {"n_bins": self.n_bins, "units": self.units}

    def _edges(self, x: Array) -> np.ndarray:
        return np.linspace(*layer_min_max(x), self.n_bins)


class EBAB(EdgeBinningEstimator):
    """Entropy-based adaptive binning (Chelombiev, Houghton & O'Donnell 2019).

    Per layer and call, all N*d values are pooled; u = their sorted distinct values above
    ``lower``, U = len(u); edges = [lower, u[k*U//B] for k < B, u[U-1]]. Each bin holds the same
    number of distinct values, so saturated values (ReLU zeros, tanh at +-1) get bins of their
    own instead of swallowing the range. ``lower="auto"`` is 0 for a layer with no negative
    values and None otherwise, reproducing the authors' 0 for ReLU/softplus; pass
    ``lower=-1.000001`` for their tanh/ELU setting. Values below ``lower`` (swish's negatives)
    get the underflow bin, never wrapped.
    """

    name = "ebab"

    def __init__(self, n_bins: int = 30, lower: float | str | None = "auto", units: str = "bits"):
        super().__init__(units)
        self.n_bins = positive_int(n_bins, "n_bins")
        self.lower = check_lower(lower)

    def params(self) -> dict[str, Any]:
        return {"n_bins": self.n_bins, "lower": self.lower, "units": self.units}

    def _edges(self, x: Array) -> np.ndarray:
        return ebab_edges_of(x, self.n_bins, resolve_lower(x, self.lower))


class FixedWidth(BinningEstimator):
    """Fixed bin width (Saxe et al. 2018): code = floor(t / width).

    ``width`` = 0.07 for the 12-bit task, 0.5 for MNIST. (Formerly ``BinWidth``, registered as
    "bin_width": a name that read like the configs' ``bin_width`` key, which is its width.)
    """

    name = "fixed_width"

    def __init__(self, width: float = 0.07, units: str = "bits"):
        super().__init__(units)
        self.width = positive_finite(width, "width")

    def params(self) -> dict[str, Any]:
        return {"width": self.width, "units": self.units}

    def _codes(self, x: Array) -> tuple[Array, dict[str, Any]]:
        return width_codes(x, self.width), {}

    def _bins(self, x: Array) -> tuple[Bins, dict[str, Any]] | None:
        return Bins(width=self.width), {}


def __getattr__(name: str) -> Any:
    """``BinWidth``, the deprecated name of ``FixedWidth`` (goes in the next release)."""
    return deprecated_attribute(__name__, name, {"BinWidth": RENAMED["BinWidth"]})
