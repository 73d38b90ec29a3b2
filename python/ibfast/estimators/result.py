"""The result of one estimate: a small immutable record of information quantities."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._units import SATURATION_MARGIN_BITS, is_saturated


@dataclass(frozen=True)
class MIResult:
    """Mutual-information estimate for one layer T.

    Attributes are in ``units`` ("bits" by default). ``i_ty`` and ``h_t_given_y`` are None when
    no labels were given. For KDE estimators the entropies are differential entropies of
    T + Gaussian noise (they can be negative); the informations are not.

    ``saturated``: I(X;T) is within ``SATURATION_MARGIN_BITS`` (0.05 bit, in the estimator's
    units) of its ceiling, the log of the number of distinct inputs (N, or the distinct
    ``input_ids`` when given). A saturated estimate says only that the estimator tells (almost)
    every input apart; a drop (compression) cannot show. Try another noise level or bin scale, or
    a reduction of the layer. Left as None, it is computed from ``n_samples``; the estimators set
    it from the distinct inputs.
    """

    estimator: str
    units: str
    n_samples: int
    i_xt: float
    h_t: float
    h_t_given_x: float
    i_ty: float | None = None
    h_t_given_y: float | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    saturated: bool | None = None

    def __post_init__(self) -> None:
        if self.saturated is None:  # frozen: the derived default is set through object
            object.__setattr__(self, "saturated", is_saturated(self.i_xt, self.n_samples, self.units))

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields (not ``details``) as a plain dict, e.g. for a results table row."""
        d = asdict(self)
        d.pop("details")
        return d


__all__ = ["SATURATION_MARGIN_BITS", "MIResult"]
