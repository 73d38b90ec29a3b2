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
from typing import Any, Literal, NamedTuple

import numpy as np

from .._dispatch import Array, check_alpha, kde_lse_many, layer_min_max
from .._params import integer, one_of, positive_finite
from .base import Estimator, Groups
from .result import MIResult

Bound = Literal["upper", "lower"]
BOUNDS = ("upper", "lower")


def _mean(a: Any) -> float:
    return float(a.mean())  # numpy or torch (one device-to-host scalar)


def _within_term(gid: Any, lse_within: Any) -> float:
    """sum_c p(c) (ln n_c - mean_{i in c} lse_within_i) = (1/N) sum_i (ln n_c(i) - lse_within_i)."""
    if isinstance(gid, np.ndarray):
        counts = np.bincount(gid)
        return float(np.mean(np.log(counts[gid]) - lse_within))
    import torch

    class_sizes = torch.bincount(gid.long()).to(torch.float64)
    return float((torch.log(class_sizes[gid.long()]) - lse_within).mean())


class KDEQuantities(NamedTuple):
    """One layer's KDE quantities in nats (the label terms are None without labels)."""

    i_xt: float
    h_t: float
    h_t_given_x: float
    i_ty: float | None
    h_t_given_y: float | None


def kde_quantities(
    n: int, d: int, noise_variance: float, lse_all: Any, lse_within: Any, gid: Any
) -> KDEQuantities:
    """The KDE quantities in nats from the per-row log-sum-exps of one layer."""
    h_noise = 0.5 * d * math.log(2.0 * math.pi * math.e * noise_variance)
    # Each lse_i lies in [0, ln N]; the clamp only removes float rounding at the ends.
    i_xt = min(max(math.log(n) - _mean(lse_all), 0.0), math.log(n))
    if lse_within is None:
        return KDEQuantities(i_xt, h_noise + i_xt, h_noise, None, None)
    i_within = _within_term(gid, lse_within)
    return KDEQuantities(i_xt, h_noise + i_xt, h_noise, i_xt - i_within, h_noise + i_within)


class KDEBase(Estimator):
    """The KDE bounds for some rule that gives each layer its noise variance (``noise_variance_for``).

    ``name`` is the family and the bound, e.g. ``kde_upper``. ``many`` computes every layer's
    pairwise sums in one kernel call (one batched launch on CUDA). ``input_ids`` are checked but
    change nothing: H(T|X) is the noise entropy whether or not inputs repeat.
    """

    family = "kde"

    def __init__(self, bound: str, units: str) -> None:
        super().__init__(units)
        self.bound: Bound = one_of(bound, "bound", BOUNDS)  # type: ignore[assignment]
        self.name = f"{self.family}_{self.bound}"

    def noise_variance_for(self, x: Array) -> float:
        """The noise variance s2 this estimator uses for a validated layer."""
        raise NotImplementedError

    def _estimate(self, xs: list[Array], groups: list[Groups]) -> list[MIResult]:
        s2s = [self.noise_variance_for(x) for x in xs]
        factor = 2.0 if self.bound == "upper" else 8.0
        gids = [g.labels for g in groups]
        lses = kde_lse_many(xs, [check_alpha(1.0 / (factor * s2)) for s2 in s2s], gids)
        results = []
        for x, gid, s2, (lse_all, lse_within) in zip(xs, gids, s2s, lses, strict=True):
            q = kde_quantities(x.shape[0], x.shape[1], s2, lse_all, lse_within, gid)
            results.append(self._result(
                x.shape[0], i_xt=q.i_xt, h_t=q.h_t, h_t_given_x=q.h_t_given_x, i_ty=q.i_ty,
                h_t_given_y=q.h_t_given_y, details={"noise_variance": s2, "bound": self.bound},
            ))
        return results


class KDE(KDEBase):
    """KDE bounds with fixed noise (Saxe et al. 2018): s2 = 1e-3 (12-bit task), 1e-1 (MNIST).

    ``bound="upper"`` uses the KL pairwise bound, ``"lower"`` the Bhattacharyya one.
    """

    family = "kde"

    def __init__(self, noise_variance: float = 1e-3, bound: str = "upper", units: str = "bits"):
        super().__init__(bound, units)
        self.noise_variance = positive_finite(noise_variance, "noise_variance")

    def params(self) -> dict[str, Any]:
        return {"noise_variance": self.noise_variance, "bound": self.bound, "units": self.units}

    def noise_variance_for(self, x: Array) -> float:
        return self.noise_variance


def check_power(power: Any, name: str = "power") -> int:
    """AdaptiveKDE's power: 1 (s2 = scale * max|T|) or 2 (s2 = (scale * max|T|)^2)."""
    p = integer(power, name)
    if p not in (1, 2):
        raise ValueError(f"{name} must be 1 (s2 = scale * max|T|) or 2 (s2 = (scale * max|T|)^2), got {p}")
    return p


class AdaptiveKDE(KDEBase):
    """KDE bounds with adaptive noise (Chelombiev et al. 2019): the noise variance follows the
    layer's largest activity max|T| at each call.

    The paper says the variance is "proportional to the maximum activity". Two readings:
    ``power=1`` (default, the paper's wording): s2 = scale * max|T|. Not scale invariant:
    multiplying T by a scales every squared distance by a^2 but the noise variance by a, so
    growing activity alone raises I(X;T). ``power=2``: s2 = (scale * max|T|)^2, the noise standard
    deviation proportional to max|T|; multiplying T by any a > 0 leaves every estimate unchanged.
    The paper's constant is not public: ``scale = 1e-3`` gives a layer whose largest activity is
    1 (saturated tanh) exactly Saxe et al.'s 12-bit noise s2 = 1e-3 with power 1 (with power 2
    that layer gets s2 = 1e-6; pick ``scale`` to suit). A layer that is exactly zero everywhere
    (all units dead) has I = 0 at any noise; it is evaluated as if max|T| were 1.
    """

    family = "adaptive_kde"

    def __init__(self, scale: float = 1e-3, bound: str = "upper", units: str = "bits", power: int = 1):
        super().__init__(bound, units)
        self.scale = positive_finite(scale, "scale")
        self.power = check_power(power)

    def params(self) -> dict[str, Any]:
        return {"scale": self.scale, "power": self.power, "bound": self.bound, "units": self.units}

    def noise_variance_for(self, x: Array) -> float:
        lo, hi = layer_min_max(x)
        top = max(abs(lo), abs(hi))
        top = top if top > 0 else 1.0
        return self.scale * top if self.power == 1 else (self.scale * top) ** 2
