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
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from .._arrays import positive_finite
from .._units import Units, check_units, from_nats
from ..kernels import Array, check_alpha, group_ids_like, intake, kde_lse_many, layer_min_max
from .result import MIResult

Bound = Literal["upper", "lower"]


def _check_bound(bound: str) -> Bound:
    if bound not in ("upper", "lower"):
        raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")
    return bound  # type: ignore[return-value]


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


class KDEBase:
    """Common call shape: ``estimator(T, labels=None, *, input_ids=None, device="auto")``, and
    ``estimator.many(Ts, labels)`` for many layers at once (one batched launch on CUDA)."""

    name = "kde"

    def __init__(self, bound: str, units: str) -> None:
        self.bound: Bound = _check_bound(bound)
        self.units: Units = check_units(units)

    def noise_variance_for(self, x: Array) -> float:
        raise NotImplementedError

    def __call__(
        self, T: Any, labels: Any = None, *, input_ids: Any = None, device: str = "auto"
    ) -> MIResult:
        """Estimate for T (N, d). ``input_ids`` is checked but changes nothing: H(T|X) is the
        noise entropy whether or not inputs repeat."""
        return self.many([T], labels, input_ids=input_ids, device=device)[0]

    def many(
        self, Ts: Sequence[Any], labels: Any = None, *, input_ids: Any = None, device: str = "auto"
    ) -> list[MIResult]:
        """Estimates for several layers over the same N samples (e.g. every layer and seed of one
        epoch), with one kernel call for all of them."""
        xs = [intake(T, device, name="T" if len(Ts) == 1 else f"Ts[{k}]") for k, T in enumerate(Ts)]
        # Labels are mapped (and input_ids checked) once per distinct N and device, not per layer.
        mapped: dict[tuple[int, str], Any] = {}
        gids = []
        for x in xs:
            key = (x.shape[0], str(getattr(x, "device", "cpu")))
            if key not in mapped:
                mapped[key] = None if labels is None else group_ids_like(labels, x, name="labels")[0]
                if input_ids is not None:
                    group_ids_like(input_ids, x, name="input_ids")
            gids.append(mapped[key])
        s2s = [self.noise_variance_for(x) for x in xs]
        factor = 2.0 if self.bound == "upper" else 8.0
        lses = kde_lse_many(xs, [check_alpha(1.0 / (factor * s2)) for s2 in s2s], gids)
        u = self.units

        def conv(v: float | None) -> float | None:
            return None if v is None else from_nats(v, u)

        results = []
        for x, gid, s2, (lse_all, lse_within) in zip(xs, gids, s2s, lses, strict=True):
            q = kde_quantities(x.shape[0], x.shape[1], s2, lse_all, lse_within, gid)
            results.append(MIResult(
                estimator=f"{self.name}_{self.bound}", units=u, n_samples=x.shape[0],
                i_xt=from_nats(q.i_xt, u), h_t=from_nats(q.h_t, u),
                h_t_given_x=from_nats(q.h_t_given_x, u),
                i_ty=conv(q.i_ty), h_t_given_y=conv(q.h_t_given_y),
                details={"noise_variance": s2, "bound": self.bound},
            ))
        return results


class KDE(KDEBase):
    """KDE bounds with fixed noise (Saxe et al. 2018): s2 = 1e-3 (12-bit task), 1e-1 (MNIST).

    ``bound="upper"`` uses the KL pairwise bound, ``"lower"`` the Bhattacharyya one.
    """

    name = "kde"

    def __init__(self, noise_variance: float = 1e-3, bound: str = "upper", units: str = "bits"):
        super().__init__(bound, units)
        self.noise_variance = positive_finite(noise_variance, "noise_variance")

    def noise_variance_for(self, x: Array) -> float:
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

    def noise_variance_for(self, x: Array) -> float:
        lo, hi = layer_min_max(x)
        top = max(abs(lo), abs(hi))
        return self.scale * (top if top > 0 else 1.0)
