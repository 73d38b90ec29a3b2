"""Verdict words, multiple-comparison correction, paired tests, intervals and the smallest effect
a test could detect.

Verdicts at ``alpha`` (a key, 0.05), for a claim's pre-declared primary test:

- ``supported``: the test rejects in the claimed direction;
- ``not shown``: it does not (the report gives p and the smallest effect it could have detected);
  a non-significant test has not shown the claim false;
- ``contradicted``: the test is significant in the opposite direction;
- ``undecided``: too few runs for the test to reach alpha at all (e.g. 5 seeds: a one-sided
  signed-rank p is 1/32 at best, never below alpha after Holm over 2 cells);
- ``unmeasurable``: the estimates are saturated (at their ceiling), so the data cannot speak.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .keys import KEYS, Keys

ALPHA = KEYS.alpha
SUPPORTED, NOT_SHOWN, CONTRADICTED, UNDECIDED, UNMEASURABLE = (
    "supported", "not shown", "contradicted", "undecided", "unmeasurable")
VERDICTS = (SUPPORTED, NOT_SHOWN, CONTRADICTED, UNDECIDED, UNMEASURABLE)


def holm(p_values: Any, axis: int = -1) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values along ``axis`` (NaN entries stay NaN and do not count)."""
    p = np.moveaxis(np.asarray(p_values, dtype=float), axis, -1)
    nan = np.isnan(p)
    m = (~nan).sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(nan, np.inf, p), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    factor = m - np.arange(p.shape[-1])
    adjusted = np.minimum(1.0, np.fmax.accumulate(np.where(np.isnan(ranked), -np.inf, ranked * factor),
                                                  axis=-1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted, axis=-1)
    out[nan] = np.nan
    return np.moveaxis(out, -1, axis)


def signed_rank(d: Any, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided Wilcoxon signed-rank p-values of differences ``d`` along ``axis``: (p that they
    are > 0, p that they are < 0, the number of non-zero differences). Zeros are dropped, as scipy
    drops them; NaN entries are left out; no non-zero difference gives p = 1 both ways."""
    x = np.moveaxis(np.asarray(d, dtype=float), axis, -1)
    nonzero = (~np.isnan(x) & (x != 0)).sum(axis=-1)
    p_up, p_down = np.ones(x.shape[:-1]), np.ones(x.shape[:-1])
    ok = nonzero > 0
    if ok.any():
        sub = x[ok]
        policy = "omit" if np.isnan(sub).any() else "propagate"
        p_up[ok] = stats.wilcoxon(sub, alternative="greater", axis=-1, nan_policy=policy).pvalue
        p_down[ok] = stats.wilcoxon(sub, alternative="less", axis=-1, nan_policy=policy).pvalue
    return p_up, p_down, nonzero


def min_p_signed_rank(n_nonzero: Any) -> np.ndarray:
    """The smallest one-sided signed-rank p-value with n non-zero differences: 0.5^n."""
    return np.asarray(0.5 ** np.asarray(n_nonzero, dtype=float))


def decide(p: float, p_opposite: float, reachable: bool, alpha: float = ALPHA) -> str:
    """The verdict of one (adjusted) primary test: see the module docstring."""
    if not reachable:
        return UNDECIDED
    if p is not None and not np.isnan(p) and p < alpha:
        return SUPPORTED
    if p_opposite is not None and not np.isnan(p_opposite) and p_opposite < alpha:
        return CONTRADICTED
    return NOT_SHOWN


def combine(verdicts: Sequence[str]) -> str:
    """A claim of several parts: supported when every part is; contradicted when any part is;
    else not shown when any part is; else undecided; else unmeasurable."""
    v = list(verdicts)
    if v and all(x == SUPPORTED for x in v):
        return SUPPORTED
    for word in (CONTRADICTED, NOT_SHOWN, UNDECIDED, UNMEASURABLE):
        if word in v:
            return word
    return UNDECIDED


def mde_location(sd: float, n: int, alpha: float, power: float = KEYS.power) -> float:
    """The smallest mean difference a one-sided signed-rank test at ``alpha`` detects with
    ``power`` among n differences of sd ``sd``: the normal approximation (z_a + z_power) sd /
    sqrt(n), times sqrt(pi / 3) for the signed-rank test's efficiency (3 / pi) on normal data."""
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    z = stats.norm.isf(alpha) + stats.norm.ppf(power)
    return float(z * sd / np.sqrt(n) * np.sqrt(np.pi / 3))


def mde_correlation(weight: float, alpha: float, power: float = KEYS.power, spearman: bool = True) -> float:
    """The smallest correlation a one-sided Fisher-z test at ``alpha`` detects with ``power``,
    given the sum of (n - 3) over the strata."""
    if weight <= 0:
        return float("nan")
    se = np.sqrt((1.06 if spearman else 1.0) / weight)
    return float(np.tanh((stats.norm.isf(alpha) + stats.norm.ppf(power)) * se))


def bootstrap_ci(values: Any, statistic: Any = np.mean, keys: Keys = KEYS,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval (``scipy.stats.bootstrap``, ``keys.n_boot`` resamples, seeded
    by ``keys.boot_seed``): NaN for fewer than 2 values, (s, s) for values with no spread."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    if np.ptp(v) == 0:
        s = float(statistic(v))
        return s, s
    res = stats.bootstrap((v,), statistic, n_resamples=keys.n_boot, confidence_level=level,
                          method="percentile", random_state=np.random.default_rng(keys.boot_seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def describe(values: Any, keys: Keys = KEYS) -> dict[str, float]:
    """n, mean, sd, median, quartiles, IQR and a bootstrap 95% interval of the mean."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    q25, median, q75 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
    low, high = bootstrap_ci(v, keys=keys)
    return {"n": int(v.size), "mean": float(v.mean()) if v.size else np.nan,
            "sd": float(v.std(ddof=1)) if v.size > 1 else np.nan, "median": float(median),
            "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25), "ci_low": low, "ci_high": high}


def across_seeds(runs: pd.DataFrame, value: str = "compression", keys: Keys = KEYS) -> pd.DataFrame:
    """Per settings x estimator x layer: ``describe`` of ``value`` over the seeds that are not
    saturated, the fraction of those that compress, and how many seeds were saturated."""
    names = group_keys(runs)
    rows = []
    for key, g in runs.groupby(names, dropna=False, sort=True):
        ok = g[~g["saturated"].astype(bool)] if "saturated" in g.columns else g
        rows.append({**dict(zip(names, key, strict=True)), **describe(ok[value], keys),
                     "fraction_compressing": float(ok["compressing"].mean()) if len(ok) else np.nan,
                     "n_saturated": int(len(g) - len(ok))})
    return pd.DataFrame(rows)


# The per-run measures (analysis.runs.per_run); every other column but seed names the group.
RUN_MEASURES = frozenset({
    "n_epochs", "peak", "peak_epoch", "final", "compression", "compression_rel", "i_ty_at_peak",
    "i_ty_final", "delta_i_ty", "noise_sd", "noise_floor", "saturated", "compressing", "status",
    "final_train_acc", "final_test_acc", "final_train_loss", "final_test_loss", "gen_gap", "overfit",
})


def group_keys(runs: pd.DataFrame, without: Sequence[str] = ()) -> list[str]:
    """The columns of a per-run table that name a group of seeds (all but the measures and seed)."""
    return [c for c in runs.columns if c not in RUN_MEASURES and c != "seed" and c not in without]
