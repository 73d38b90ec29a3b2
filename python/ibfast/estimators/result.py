"""The result of one estimate: a small immutable record of information quantities."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MIResult:
    """Mutual-information estimate for one layer T.

    Attributes are in ``units`` ("bits" by default). ``i_ty`` and ``h_t_given_y`` are None when
    no labels were given. For KDE estimators the entropies are differential entropies of
    T + Gaussian noise (they can be negative); the informations are not.
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

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields (not ``details``) as a plain dict, e.g. for a results table row."""
        d = asdict(self)
        d.pop("details")
        return d
