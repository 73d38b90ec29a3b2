"""The KDE family: Kolchinsky & Tracey pairwise-distance bounds on the entropy of T + N(0, s2 I).

With D_ij = ||t_i - t_j||^2 over all pairs (i = j included), in nats:
  H_upper(T) = (d/2) ln(2 pi e s2) - (1/N) sum_i ln((1/N) sum_j exp(-D_ij / (2 s2)))
  H_lower(T) = the same with 8 s2 in place of 2 s2 (Bhattacharyya distance)
  H(T|X)     = (d/2) ln(2 pi e s2)          (the noise, for a deterministic network)
so I(X;T) = ln N - (1/N) sum_i lse_i <= ln N, and I(T;Y) = H(T) - sum_c p(c) H(T | Y=c) with each
class term on that class's rows only, from the same bound (as Saxe et al. did).

Several estimators at once. The two bounds differ only in alpha (1 / (2 s2) or 1 / (8 s2)) over
the same distances, so one pass over the pairs gives both:

    estimate_together(estimators, Ts, labels=None, *, input_ids=None, device="auto")
        -> [est.many(Ts, labels, ...) for est in estimators]

(from ``ibfast.estimators.base``, also ``ibfast.estimate_together``) computes all KDE estimators
in one batched kernel call (every distinct alpha they ask for on a layer, bounds and noise rules
alike; each sweep over the pairs serves two alphas), everything else (binning estimators, ...) as
before, e.g. a recorded epoch:

    ebab, upper, lower = estimate_together([EBAB(), KDE(), KDE(bound="lower")], layers, labels)

The results are bit for bit those of the separate calls on the CPU: each alpha's sums are added
in the same order as a single-alpha pass (csrc/cpu/kde.cpp). On CUDA, where the float64 row sums
are added atomically in no fixed order, they agree to ~1e-16 relative, as two runs of one call do.
(``estimate_bounds(upper, lower, ...)``, which took exactly one upper and one lower bound of one
noise rule, is deprecated: ``estimate_together([upper, lower], ...)``.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from .._dispatch import Array, kde_lse_many, layer_min_max
from .._params import check_alpha, one_of, positive_finite
from .._params import check_power as check_power  # its former home: experiment configs import it here
from ._deprecated import RENAMED, deprecated_attribute
from .base import Estimator, Groups, estimate_together
from .base import many_together as many_together  # deprecated, importable from here as before
from .result import MIResult

Bound = Literal["upper", "lower"]
BOUNDS = ("upper", "lower")
# alpha = 1 / (factor * s2): the KL (upper) and the Bhattacharyya (lower) pairwise bound
_FACTOR = {"upper": 2.0, "lower": 8.0}

__all__ = ["KDE", "AdaptiveKDE", "KDEEstimator", "estimate_together", "kde_quantities"]


def _mean(a: Any) -> float:
    return float(a.mean())  # numpy or torch (one device-to-host scalar)


def _within_term(gid: Any, lse_within: Any) -> float:
    """sum_c p(c) (ln n_c - mean_{i in c} lse_within_i) = (1/N) sum_i (ln n_c(i) - lse_within_i)."""
    if isinstance(gid, np.ndarray):
        log_counts = np.log(np.bincount(gid))  # the log of each class size once, then per row
        return float(np.mean(log_counts[gid] - lse_within))
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


class KDEEstimator(Estimator):
    """The KDE bounds for some rule that gives each layer its noise variance (``noise_variance_for``):
    subclass it for a noise rule of your own (``KDE`` and ``AdaptiveKDE`` are two).

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
        return self._estimate_together([self], xs, groups)[0]

    def _noise_rule(self) -> Hashable | None:
        """The noise rule: the class and every parameter but the bound and the units (estimators
        with equal rules give each layer the same s2). None for a subclass that overrides
        ``_estimate``: its own computation is what counts."""
        if type(self)._estimate is not KDEEstimator._estimate:
            return None
        rule = tuple(sorted((k, v) for k, v in self.params().items() if k not in ("bound", "units")))
        return ("kde", type(self), rule)

    def _fusion_key(self) -> Hashable | None:
        """Every KDE estimator with a noise rule (see ``_noise_rule``) joins one fused computation,
        whatever its rule and bound: one batched kernel call for all their alphas. A class with an
        ``_estimate_together`` of its own is fused with its own kind only, through its method."""
        if self._noise_rule() is None:
            return None
        if type(self)._estimate_together is not KDEEstimator._estimate_together:
            return ("kde", type(self))
        return ("kde",)

    def _estimate_together(
        self, members: list[Estimator], xs: list[Array], groups: list[Groups]
    ) -> list[list[MIResult]]:
        """Every member's results from one batched kernel call, with each distinct alpha among
        the members once per layer: the bounds of one noise rule and different rules (fixed and
        adaptive noise, say) alike. The kernel shares each distance between up to two alphas per
        sweep over the pairs (more alphas take more sweeps)."""
        kdes = [m for m in members if isinstance(m, KDEEstimator)]
        if len(kdes) != len(members):
            raise ValueError("only KDE estimators can be computed together here")
        # per member and layer: its s2 (once per noise rule: AdaptiveKDE reads each layer's range)
        # and alpha; per layer: the distinct alphas, in order
        rules = [m._noise_rule() or id(m) for m in kdes]  # no rule: its own computation
        by_rule: dict[Hashable, list[float]] = {}
        for m, rule in zip(kdes, rules, strict=True):
            if rule not in by_rule:
                by_rule[rule] = [m.noise_variance_for(x) for x in xs]
        s2s = [by_rule[rule] for rule in rules]
        member_alphas = [[check_alpha(1.0 / (_FACTOR[m.bound] * s2)) for s2 in per_layer]
                         for m, per_layer in zip(kdes, s2s, strict=True)]
        alphas = [list(dict.fromkeys(a[k] for a in member_alphas)) for k in range(len(xs))]
        gids = [g.labels for g in groups]
        lses = kde_lse_many(xs, alphas, gids)
        out = []
        for m, m_s2s, m_alphas in zip(kdes, s2s, member_alphas, strict=True):
            results = []
            for k, (x, gid) in enumerate(zip(xs, gids, strict=True)):
                lse_all, lse_within = lses[k][alphas[k].index(m_alphas[k])]
                q = kde_quantities(x.shape[0], x.shape[1], m_s2s[k], lse_all, lse_within, gid)
                results.append(m._result(
                    x.shape[0], i_xt=q.i_xt, h_t=q.h_t, h_t_given_x=q.h_t_given_x, i_ty=q.i_ty,
                    h_t_given_y=q.h_t_given_y, details={"noise_variance": m_s2s[k], "bound": m.bound},
                ))
            out.append(results)
        return out


class KDE(KDEEstimator):
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


class AdaptiveKDE(KDEEstimator):
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


def estimate_bounds(
    upper: KDEEstimator, lower: KDEEstimator, Ts: Sequence[Any], labels: Any = None, *,
    input_ids: Any = None, device: str = "auto",
) -> tuple[list[MIResult], list[MIResult]]:
    """Deprecated: ``estimate_together([upper, lower], Ts, labels, ...)``, which takes any
    estimators. This name goes in the next release.

    ``(upper.many(Ts, labels, ...), lower.many(Ts, labels, ...))`` from one pass over the pairs
    of each layer. ``upper`` must have ``bound="upper"``, ``lower`` ``bound="lower"``, and both the
    same noise rule: the same class with the same parameters except the bound (``units`` may
    differ). A subclass that overrides ``_estimate`` computes its own way and is refused.
    """
    warnings.warn("ibfast.estimate_bounds is deprecated; use ibfast.estimate_together([upper, lower], ...)",
                  DeprecationWarning, stacklevel=2)
    for name, est, bound in (("upper", upper, "upper"), ("lower", lower, "lower")):
        if not isinstance(est, KDEEstimator):
            raise TypeError(f"{name} must be a KDE estimator (KDE, AdaptiveKDE, ...), got {est!r}")
        if est.bound != bound:
            raise ValueError(f"{name} must have bound={bound!r}, got {est!r}")
    rule = upper._noise_rule()
    if rule is None or rule != lower._noise_rule():
        raise ValueError(
            f"upper and lower must use the same noise rule (class and parameters except the bound "
            f"and units; no _estimate of their own): {upper!r} vs {lower!r}"
        )
    up, low = estimate_together([upper, lower], Ts, labels, input_ids=input_ids, device=device)
    return up, low


def __getattr__(name: str) -> Any:
    """``KDEBase``, the deprecated name of ``KDEEstimator`` (goes in the next release)."""
    return deprecated_attribute(__name__, name, {"KDEBase": RENAMED["KDEBase"]})
