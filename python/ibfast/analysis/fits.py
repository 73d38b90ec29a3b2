"""Least-squares lines and correlations of two measures across runs, from scipy.stats: the
numbers the figures print (``ibfast.plots.fit_lines``) are the analysis' numbers, not a second
implementation of them."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def line_fit(x: Any, y: Any) -> dict[str, Any]:
    """The least-squares line of ``y`` on ``x`` (``scipy.stats.linregress``), Pearson r and
    Spearman rho (``pearsonr``, ``spearmanr``: ties get average ranks) of the pairs where both are
    present. Returns ``n``, ``slope``, ``intercept``, ``pearson_r``, ``spearman_rho`` and
    ``note``: ``""`` when fitted, else why not (fewer than 3 points, a constant x or y), and then
    NaN numbers."""
    xv, yv = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = ~(np.isnan(xv) | np.isnan(yv))
    xv, yv = xv[ok], yv[ok]
    n = int(xv.size)
    nan = float("nan")
    out: dict[str, Any] = {"n": n, "slope": nan, "intercept": nan, "pearson_r": nan,
                           "spearman_rho": nan, "note": ""}
    if n < 3:
        out["note"] = f"fewer than 3 points (n = {n})"
    elif np.ptp(xv) == 0:
        out["note"] = "constant x"
    elif np.ptp(yv) == 0:
        out["note"] = "constant y"
    else:
        lr = stats.linregress(xv, yv)
        out.update(slope=float(lr.slope), intercept=float(lr.intercept),
                   pearson_r=float(stats.pearsonr(xv, yv).statistic),
                   spearman_rho=float(stats.spearmanr(xv, yv).statistic))
    return out
