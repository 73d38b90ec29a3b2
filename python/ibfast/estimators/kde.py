"""The KDE family: Kolchinsky & Tracey pairwise-distance bounds on the entropy of T + N(0, s2 I).

With D_ij = ||t_i - t_j||^2 over all pairs (i = j included), in nats:
  H_upper(T) = (d/2) ln(2 pi e s2) - (1/N) sum_i ln((1/N) sum_j exp(-D_ij / (2 s2)))
  H_lower(T) = the same with 8 s2 in place of 2 s2 (Bhattacharyya distance)
  H(T|X)     = (d/2) ln(2 pi e s2)          (the noise, for a deterministic network)
so I(X;T) = ln N - (1/N) sum_i lse_i <= ln N, and I(T;Y) = H(T) - sum_c p(c) H(T | Y=c) with each
class term on that class's rows only, from the same bound (as Saxe et al. did).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .. import _core
from .._arrays import as_activations, as_group_ids, positive_finite
from .._units import Units, check_units, from_nats
from ..kernels import check_alpha
from .result import MIResult

Bound = Literal["upper", "lower"]


def _check_bound(bound: str) -> Bound:
    if bound not in ("upper", "lower"):
        raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")
    return bound  # type: ignore[return-value]


def kde_mi_nats(
    x: np.ndarray, group_ids: np.ndarray | None, noise_variance: float, bound: Bound
) -> dict[str, float | None]:
    """The KDE quantities in nats for a validated float32 matrix and optional int32 group ids."""
    n, d = x.shape
    alpha = check_alpha(1.0 / ((2.0 if bound == "upper" else 8.0) * noise_variance))
    lse_all, lse_within = _core.kde_log_sum_exp(x, alpha, group_ids)
    h_noise = 0.5 * d * math.log(2.0 * math.pi * math.e * noise_variance)
    # Each lse_i lies in [0, ln N]; the clamp only removes float rounding at the ends.
    i_xt = min(max(math.log(n) - float(np.mean(lse_all)), 0.0), math.log(n))
    out: dict[str, float | None] = {
        "i_xt": i_xt, "h_t": h_noise + i_xt, "h_t_given_x": h_noise,
        "i_ty": None, "h_t_given_y": None,
    }
    if group_ids is not None:
        counts = np.bincount(group_ids)
        # sum_c p(c) (ln n_c - mean_{i in c} lse_within_i) = (1/N) sum_i (ln n_c(i) - lse_within_i)
        i_within = float(np.mean(np.log(counts[group_ids]) - np.asarray(lse_within)))
        out["h_t_given_y"] = h_noise + i_within
        out["i_ty"] = i_xt - i_within
    return out


class KDEBase:
    name = "kde"

    def __init__(self, bound: str, units: str) -> None:
        self.bound: Bound = _check_bound(bound)
        self.units: Units = check_units(units)

    def noise_variance_for(self, x: np.ndarray) -> float:
        raise NotImplementedError

    def __call__(self, T: Any, labels: Any = None, *, input_ids: Any = None) -> MIResult:
        """Estimate for T (N, d). ``input_ids`` is checked but changes nothing: H(T|X) is the
        noise entropy whether or not inputs repeat."""
        x = as_activations(T)
        n = x.shape[0]
        gid = None if labels is None else as_group_ids(labels, n, name="labels")[0]
        if input_ids is not None:
            as_group_ids(input_ids, n, name="input_ids")
        s2 = self.noise_variance_for(x)
        q = kde_mi_nats(x, gid, s2, self.bound)
        u = self.units

        def conv(v: float | None) -> float | None:
            return None if v is None else from_nats(v, u)

        return MIResult(
            estimator=f"{self.name}_{self.bound}", units=u, n_samples=n,
            i_xt=from_nats(q["i_xt"] or 0.0, u), h_t=from_nats(q["h_t"] or 0.0, u),
            h_t_given_x=from_nats(q["h_t_given_x"] or 0.0, u),
            i_ty=conv(q["i_ty"]), h_t_given_y=conv(q["h_t_given_y"]),
            details={"noise_variance": s2, "bound": self.bound},
        )


class KDE(KDEBase):
    """KDE bounds with fixed noise (Saxe et al. 2018): s2 = 1e-3 (12-bit task), 1e-1 (MNIST).

    ``bound="upper"`` uses the KL pairwise bound, ``"lower"`` the Bhattacharyya one.
    """

    name = "kde"

    def __init__(self, noise_variance: float = 1e-3, bound: str = "upper", units: str = "bits"):
        super().__init__(bound, units)
        self.noise_variance = positive_finite(noise_variance, "noise_variance")

    def noise_variance_for(self, x: np.ndarray) -> float:
        return self.noise_variance


class AdaptiveKDE(KDEBase):
    """KDE bounds with adaptive noise (Chelombiev et al. 2019): s2 = scale * max|T| per call.

    The paper's constant is not public. The default ``scale = 1e-3`` gives a layer whose largest
    activity is 1 (a saturated tanh layer) exactly Saxe et al.'s 12-bit noise, 1e-3, while a layer
    whose activity grows (ReLU) gets proportionally wider noise, so that scaling the activity up
    cannot by itself create information. A layer that is exactly zero everywhere (all units dead)
    has I = 0 at any noise; it is evaluated with s2 = scale to keep the entropies finite.
    """

    name = "adaptive_kde"

    def __init__(self, scale: float = 1e-3, bound: str = "upper", units: str = "bits"):
        super().__init__(bound, units)
        self.scale = positive_finite(scale, "scale")

    def noise_variance_for(self, x: np.ndarray) -> float:
        top = float(np.abs(x).max())
        return self.scale * (top if top > 0 else 1.0)
