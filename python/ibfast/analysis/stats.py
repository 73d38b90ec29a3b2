"""Statistics across seeds, multiple-comparison correction and the plain verdicts.

Verdicts at ``alpha`` (0.05): "holds" when the test rejects in the claimed direction, "does not
hold" when a test that could have rejected did not (or rejected the other way), "inconclusive"
when there are too few runs for the test to reach ``alpha`` at all (e.g. fewer than 5 seeds for a
one-sided signed-rank test, whose smallest p-value is 0.5^n) or the data are degenerate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"

# The fewest observations with which each test can reach p < 0.05 at all.
MIN_N = {"wilcoxon": 5, "mannwhitneyu": 4, "kruskal": 3, "spearman": 5, "pearson": 4, "f": 3}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN entries stay NaN and do not count)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def verdict(p: float, direction_ok: bool, testable: bool, alpha: float = ALPHA) -> str:
    if not testable or p is None or np.isnan(p):
        return INCONCLUSIVE
    return HOLDS if (p < alpha and direction_ok) else FAILS


def bootstrap_ci(values: np.ndarray, seed: int = 0, n_resamples: int = 2000) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (NaN for fewer than 2 values or no spread)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or np.ptp(v) == 0:
        m = float(v.mean()) if v.size else float("nan")
        return (m, m) if v.size >= 2 else (float("nan"), float("nan"))
    res = stats.bootstrap((v,), np.mean, n_resamples=n_resamples, confidence_level=0.95,
                          method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def describe(values: Any, seed: int = 0) -> dict[str, float]:
    """n, mean, sd, median, quartiles, IQR and a bootstrap 95% interval of the mean."""
    v = np.asarray(values, dtype=float)
    q25, median, q75 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
    low, high = bootstrap_ci(v, seed)
    return {"n": int(v.size), "mean": float(v.mean()) if v.size else np.nan,
            "sd": float(v.std(ddof=1)) if v.size > 1 else np.nan, "median": float(median),
            "q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25), "ci_low": low, "ci_high": high}


def across_seeds(runs: pd.DataFrame, value: str = "compression", seed: int = 0) -> pd.DataFrame:
    """Per settings x estimator x layer: ``describe`` of ``value`` over seeds, and the fraction of
    seeds whose layer compresses (C above its noise floor)."""
    keys = group_keys(runs)
    rows = []
    for key, g in runs.groupby(keys, dropna=False, sort=True):
        rows.append({**dict(zip(keys, key, strict=True)), **describe(g[value], seed),
                     "fraction_compressing": float(g["compressing"].mean())})
    return pd.DataFrame(rows)


# The per-run measures (analysis.runs.per_run); every other column but seed names the group.
RUN_MEASURES = frozenset({
    "n_epochs", "peak", "peak_epoch", "final", "compression", "compression_rel", "i_ty_at_peak",
    "i_ty_final", "delta_i_ty", "noise_sd", "noise_floor", "compressing", "final_train_acc",
    "final_test_acc", "final_train_loss", "final_test_loss", "gen_gap", "overfit",
})


def group_keys(runs: pd.DataFrame, without: Sequence[str] = ()) -> list[str]:
    """The columns of a per-run table that name a group of seeds (all but the measures and seed)."""
    return [c for c in runs.columns if c not in RUN_MEASURES and c != "seed" and c not in without]
