"""The paper's four claims (Chelombiev, Houghton & O'Donnell, ICLR 2019), each with one
pre-declared primary test that respects how the runs are paired, on the per-run table
(``per_run``). Per-cell results are descriptive: effect sizes with intervals.

Runs are paired by seed: the same seed gives the same initial draws across activations and L2,
so tests block or pair by seed, and bootstraps resample seeds (all of a seed's runs together).
Every claim is analysed per *analysis group*: an estimator with its parameters and any other
setting that varies in the table (``analysis_groups``); groups are never pooled.

1. Compression, also without saturating activations, differing between activations. Hidden
   layers only (the output layer is reported separately). (a) Per non-saturating activation and
   hidden layer, without L2: one-sided Wilcoxon signed-rank over seeds of C - floor, Holm across
   the cells; supported when some cell rejects ("supported in k of m cells"). (b) Per hidden
   layer: Friedman across activations blocked by seed (Wilcoxon for two), Kendall's W, Holm
   across layers.
2. Compression varies a lot between initialisations. The between-seed sd of C (the seed variance
   minus the within-run measurement variance), pooled over the hidden-layer cells, with a
   bootstrap interval over seeds; supported when it is above ``large_sd`` (one-sided bootstrap).
3. L2 increases compression and prevents overfitting. Paired by seed: one Wilcoxon signed-rank
   test over all (activation, seed) pairs of the mean hidden-layer C difference (L2 minus none),
   and one of the overfitting difference (final test loss minus its minimum); per activation with
   Holm, the generalisation gap as a secondary analysis.
4. Only the last layer's compression correlates positively with generalisation. The softmax
   output against final test accuracy; Spearman within each activation x L2 stratum, combined by
   Fisher z weighted by n - 3; "only": its combined correlation larger than each other layer's
   (bootstrap over seeds, Holm across layers). The last hidden layer, test loss and gap secondary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..columns import LAYER_COLUMNS
from .keys import KEYS, Keys
from .stats import (
    CONTRADICTED,
    NOT_SHOWN,
    SUPPORTED,
    UNDECIDED,
    UNMEASURABLE,
    bootstrap_ci,
    combine,
    decide,
    group_keys,
    holm,
    mde_correlation,
    mde_location,
    min_p_signed_rank,
    signed_rank,
)

CLAIMS = {
    1: "networks compress with adaptive estimators, also without saturating activations, "
    "and the amount differs between activation functions",
    2: "compression varies a lot between initialisations",
    3: "L2 regularisation increases compression and prevents overfitting",
    4: "only the compression of the last layer correlates positively with generalisation",
}
SATURATING = ("tanh", "sigmoid", "softsign")
# Estimators that are not adaptive: the papers Chelombiev et al. answer. Their verdicts are
# reported, labelled as baselines.
BASELINES = ("fixed_range", "bin_width", "kde_upper", "kde_lower")
_LAYER = LAYER_COLUMNS  # layer, width, is_output and the monitor's per-layer descriptors
_CELL = ("activation", "l2", *_LAYER)


# ---- analysis groups --------------------------------------------------------------------------------
def _params(value: Any) -> dict[str, Any]:
    try:
        out = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def analysis_groups(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The per-run table split by estimator, its parameters and every other setting but
    activation, L2 and the layer: (label, rows). The label is the estimator's name, followed in
    brackets by what tells its group apart from the others (``adaptive_kde_upper[power=2]``)."""
    names = group_keys(runs, without=_CELL)
    groups = [
        (dict(zip(names, k if isinstance(k, tuple) else (k,), strict=True)), g)
        for k, g in runs.groupby(names, dropna=False, sort=True)
    ]
    out = []
    for settings, g in groups:
        same_name = [s for s, _ in groups if s.get("estimator") == settings.get("estimator")]
        tags: list[str] = []
        if len(same_name) > 1:
            mine = _params(settings.get("estimator_params"))
            for key, value in sorted(mine.items()):
                if any(_params(s.get("estimator_params")).get(key) != value for s in same_name):
                    tags.append(f"{key}={value}")
            for col in names:
                if col not in ("estimator", "estimator_params") and any(
                    str(s[col]) != str(settings[col]) for s in same_name
                ):
                    tags.append(f"{col}={settings[col]}")
        label = str(settings.get("estimator", "?")) + (f"[{', '.join(tags)}]" if tags else "")
        out.append((label, g))
    return out


def _hidden(g: pd.DataFrame) -> pd.Series:
    """True for hidden layers: not the output (``is_output``, else the highest layer number)."""
    if "is_output" in g.columns:
        return ~g["is_output"].astype(bool)
    return g["layer"] != g["layer"].max()


def _output_layer(g: pd.DataFrame) -> int:
    if "is_output" in g.columns and g["is_output"].astype(bool).any():
        return int(g.loc[g["is_output"].astype(bool), "layer"].max())
    return int(g["layer"].max())


def _matrix(
    g: pd.DataFrame, index: Sequence[str], value: str, seeds: Sequence[Any] | None = None
) -> pd.DataFrame:
    """``value`` as rows ``index`` x columns seed, NaN where a seed is missing or saturated."""
    v = g[value].astype(float).where(~g["saturated"].astype(bool)) if "saturated" in g else g[value]
    m = g.assign(_v=v).pivot_table(
        index=list(index), columns="seed", values="_v", aggfunc="first", dropna=False
    )
    return m.reindex(columns=seeds) if seeds is not None else m


def _row(claim: int, part: str, role: str, label: str, g: pd.DataFrame, **values: Any) -> dict[str, Any]:
    first = g.iloc[0]
    base = {
        "claim": claim,
        "part": part,
        "role": role,
        "estimator_label": label,
        "estimator": first.get("estimator"),
        "estimator_params": first.get("estimator_params"),
        "baseline": str(first.get("estimator")) in BASELINES,
    }
    out = {
        **base,
        "activation": None,
        "l2": np.nan,
        "layer": np.nan,
        "test": "",
        "n": 0,
        "statistic": np.nan,
        "p_value": np.nan,
        "p_opposite": np.nan,
        "p_adjusted": np.nan,
        "p_opposite_adjusted": np.nan,
        "effect": np.nan,
        "effect_name": "",
        "ci_low": np.nan,
        "ci_high": np.nan,
        "mde": np.nan,
        "verdict": "",
        "cells": "",
        "note": "",
    }
    out.update(values)
    return out


# ---- claim 1 ----------------------------------------------------------------------------------------
def claim1_cells(d: np.ndarray, alpha: float = KEYS.alpha) -> dict[str, np.ndarray]:
    """Claim 1(a) on an array ``d`` (..., cells, seeds) of C - floor (NaN: saturated or missing):
    one-sided signed-rank p both ways per cell, Holm across the cells, and whether the family can
    reach alpha at all. Vectorised over the leading axes."""
    p_up, p_down, n = signed_rank(d)
    m = np.sum(n > 0, axis=-1, keepdims=True)
    return {
        "p": p_up,
        "p_opposite": p_down,
        "n_nonzero": n,
        "p_adjusted": holm(np.where(n > 0, p_up, np.nan)),
        "p_opposite_adjusted": holm(np.where(n > 0, p_down, np.nan)),
        "reachable": np.any(min_p_signed_rank(n) * m < alpha, axis=-1),
    }


def claim1_differences(c: np.ndarray) -> dict[str, np.ndarray]:
    """Claim 1(b) on an array ``c`` (..., layers, activations, seeds) without NaN: Friedman across
    activations blocked by seed (two activations: two-sided signed-rank), Kendall's W, Holm
    across the layers."""
    k, n = c.shape[-2], c.shape[-1]
    if k >= 3:
        res = stats.friedmanchisquare(*[c[..., a, :] for a in range(k)], axis=-1)
        stat, p = np.asarray(res.statistic, float), np.asarray(res.pvalue, float)
        w = stat / (n * (k - 1))
    else:
        up, down, _ = signed_rank(c[..., 0, :] - c[..., 1, :])
        p = np.minimum(1.0, 2 * np.minimum(up, down))
        stat, w = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    p = np.where(np.isnan(p), 1.0, p)  # no variation at all: nothing to reject
    return {"statistic": stat, "p": p, "kendall_w": w, "p_adjusted": holm(p)}


def claim1(runs: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for label, g in analysis_groups(runs):
        base_l2 = g["l2"].min()
        plain = g[g["l2"] == base_l2]
        seeds = sorted(plain["seed"].unique())
        hidden = plain[_hidden(plain)]
        family = hidden[~hidden["activation"].isin(SATURATING)]
        # (a) per non-saturating activation x hidden layer, Holm across the cells
        d = _matrix(
            family.assign(_d=family["compression"] - family["noise_floor"]),
            ["activation", "layer"],
            "_d",
            seeds,
        )
        c = _matrix(family, ["activation", "layer"], "compression", seeds)
        measurable = d.notna().sum(axis=1) > 0
        d, c = d[measurable], c[measurable]
        if len(d):
            a = claim1_cells(d.to_numpy())
            m = len(d)
            for i, (act, layer) in enumerate(d.index):
                row = d.iloc[i].dropna().to_numpy()
                v = decide(
                    a["p_adjusted"][i],
                    np.nan,
                    bool(min_p_signed_rank(a["n_nonzero"][i]) * m < keys.alpha),
                    keys.alpha,
                )
                lo, hi = bootstrap_ci(c.iloc[i].to_numpy(), keys=keys)
                rows.append(
                    _row(
                        1,
                        "compression above the floor",
                        "cell",
                        label,
                        g,
                        activation=act,
                        l2=base_l2,
                        layer=layer,
                        test="wilcoxon signed-rank, C - floor > 0 (Holm over cells)",
                        n=row.size,
                        statistic=float(np.median(row)),
                        p_value=a["p"][i],
                        p_opposite=a["p_opposite"][i],
                        p_adjusted=a["p_adjusted"][i],
                        p_opposite_adjusted=a["p_opposite_adjusted"][i],
                        effect=float(np.nanmean(c.iloc[i])),
                        effect_name="mean C (bits)",
                        ci_low=lo,
                        ci_high=hi,
                        mde=mde_location(
                            float(np.std(row, ddof=1)) if row.size > 1 else np.nan,
                            row.size,
                            keys.alpha / m,
                            keys.power,
                        ),
                        verdict=v,
                        cells=f"{int((d.iloc[i].dropna() > 0).sum())} of {row.size} seeds",
                    )
                )
            k = int(np.sum(a["p_adjusted"] < keys.alpha))
            if k:
                verdict = SUPPORTED
            elif not bool(a["reachable"]):
                verdict = UNDECIDED
            elif np.all(a["p_opposite_adjusted"] < keys.alpha):
                verdict = CONTRADICTED
            else:
                verdict = NOT_SHOWN
            best = int(np.nanargmin(a["p_adjusted"]))
            rows.append(
                _row(
                    1,
                    "compression above the floor",
                    "primary",
                    label,
                    g,
                    l2=base_l2,
                    test="wilcoxon signed-rank over seeds of C - floor, per non-saturating "
                    "activation x hidden layer, Holm over cells",
                    n=len(seeds),
                    p_value=a["p"][best],
                    p_adjusted=a["p_adjusted"][best],
                    effect=float(np.nanmean(c.to_numpy())),
                    effect_name="mean hidden-layer C (bits)",
                    mde=float(np.nanmin([r["mde"] for r in rows[-m:]])),
                    verdict=verdict,
                    cells=f"supported in {k} of {m} cells",
                    activation=", ".join(sorted({str(x) for x in d.index.get_level_values(0)})),
                )
            )
        else:
            n_sat = int(family["saturated"].sum()) if len(family) else 0
            rows.append(
                _row(
                    1,
                    "compression above the floor",
                    "primary",
                    label,
                    g,
                    l2=base_l2,
                    verdict=UNMEASURABLE if n_sat else UNDECIDED,
                    note=f"{n_sat} saturated runs, no measurable non-saturating hidden layer",
                )
            )
        # descriptive: saturating activations and the output layer, the same test, own Holm family
        others = pd.concat([hidden[hidden["activation"].isin(SATURATING)], plain[~_hidden(plain)]])
        if len(others):
            od = _matrix(
                others.assign(_d=others["compression"] - others["noise_floor"]),
                ["activation", "layer"],
                "_d",
                seeds,
            ).dropna(how="all")
            if len(od):
                oa = claim1_cells(od.to_numpy())
                for i, (act, layer) in enumerate(od.index):
                    out = layer == _output_layer(plain)
                    rows.append(
                        _row(
                            1,
                            "compression above the floor",
                            "output layer" if out else "saturating",
                            label,
                            g,
                            activation=act,
                            l2=base_l2,
                            layer=layer,
                            test="wilcoxon signed-rank, C - floor > 0 (Holm within these)",
                            n=int(od.iloc[i].notna().sum()),
                            p_value=oa["p"][i],
                            p_adjusted=oa["p_adjusted"][i],
                            effect=float(np.nanmedian(od.iloc[i] + 0)),
                            effect_name="median C - floor",
                            cells=f"{int((od.iloc[i] > 0).sum())} of {int(od.iloc[i].notna().sum())} seeds",
                        )
                    )
        # (b) differences between activations, blocked by seed, per hidden layer
        rows += _claim1b(label, g, hidden, seeds, base_l2, keys)
    return pd.DataFrame(rows)


def _claim1b(
    label: str, g: pd.DataFrame, hidden: pd.DataFrame, seeds: list[Any], l2: float, keys: Keys
) -> list[dict[str, Any]]:
    """Per hidden layer: the seeds with every activation measured are the blocks; a layer with
    fewer than two such seeds is left out (unmeasurable when saturated). Holm across the layers."""
    acts = sorted(hidden["activation"].unique())
    part = "compression differs between activations"
    if len(acts) < 2:
        return [
            _row(1, part, "primary", label, g, l2=l2, verdict=UNDECIDED, note="fewer than two activations")
        ]
    k = len(acts)
    test = "friedman across activations, blocked by seed" if k >= 3 else "wilcoxon signed-rank, two-sided"
    tested: list[tuple[Any, np.ndarray]] = []
    left_out: list[tuple[Any, np.ndarray]] = []
    for layer in sorted(hidden["layer"].unique()):
        m = _matrix(hidden[hidden["layer"] == layer], ["activation"], "compression", seeds).reindex(acts)
        block = m.to_numpy()[:, ~np.isnan(m.to_numpy()).any(axis=0)]
        (tested if block.shape[1] >= 2 else left_out).append((layer, block))
    if not tested:
        return [
            _row(
                1,
                part,
                "primary",
                label,
                g,
                l2=l2,
                verdict=UNMEASURABLE,
                note="no hidden layer with two seeds measured under every activation (saturated)",
            )
        ]
    results = [claim1_differences(block[None]) for _, block in tested]
    p_raw = np.array([float(r["p"][0]) for r in results])
    p_adj = holm(p_raw)
    best_p = [
        stats.chi2.sf(b.shape[1] * (k - 1), k - 1) if k >= 3 else 2 * 0.5 ** b.shape[1] for _, b in tested
    ]
    reachable = min(best_p) * len(tested) < keys.alpha
    rows = [
        _row(
            1,
            part,
            "cell",
            label,
            g,
            l2=l2,
            layer=layer,
            activation=", ".join(acts),
            test=test + " (Holm over layers)",
            n=block.shape[1],
            statistic=float(r["statistic"][0]),
            p_value=float(r["p"][0]),
            p_adjusted=float(pa),
            effect=float(r["kendall_w"][0]),
            effect_name="Kendall's W",
            verdict=decide(float(pa), np.nan, reachable, keys.alpha),
        )
        for (layer, block), r, pa in zip(tested, results, p_adj, strict=True)
    ]
    rows += [
        _row(
            1,
            part,
            "cell",
            label,
            g,
            l2=l2,
            layer=layer,
            activation=", ".join(acts),
            verdict=UNMEASURABLE,
            note="saturated: fewer than two seeds measured under every activation",
        )
        for layer, _ in left_out
    ]
    hits = int(np.sum(p_adj < keys.alpha))
    best = int(np.argmin(p_adj))
    rows.append(
        _row(
            1,
            part,
            "primary",
            label,
            g,
            l2=l2,
            activation=", ".join(acts),
            test=test + " per hidden layer, Holm over layers",
            n=tested[best][1].shape[1],
            statistic=float(results[best]["statistic"][0]),
            p_value=float(p_raw[best]),
            p_adjusted=float(p_adj[best]),
            effect=float(results[best]["kendall_w"][0]),
            effect_name="Kendall's W (most different layer)",
            verdict=SUPPORTED if hits else (NOT_SHOWN if reachable else UNDECIDED),
            cells=f"supported in {hits} of {len(tested)} layers"
            + (f"; {len(left_out)} saturated layers left out" if left_out else ""),
        )
    )
    return rows


# ---- claim 2 ----------------------------------------------------------------------------------------
def between_seed_sd(c: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The between-seed sd of C pooled over cells, from arrays (..., cells, seeds) (NaN: left out):
    sqrt(max(0, mean over cells of (var over seeds of C - mean of the within-run variance)))."""
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            v = np.nanvar(c, axis=-1, ddof=1) - np.nanmean(within, axis=-1)
            return np.sqrt(np.maximum(0.0, np.nanmean(v, axis=-1)))


def claim2_spread(c: np.ndarray, within: np.ndarray, keys: Keys = KEYS) -> dict[str, np.ndarray]:
    """Claim 2 on arrays (..., cells, seeds): the pooled between-seed sd, its bootstrap 95%
    interval over seeds (all cells of a seed resampled together), and one-sided bootstrap p-values
    that it is above / below ``keys.large_sd``. Vectorised over the leading axes."""
    s = c.shape[-1]
    rng = np.random.default_rng(keys.boot_seed)
    idx = rng.integers(0, s, size=(keys.n_boot, s))
    cb = np.moveaxis(c[..., idx], -3, -2)  # (..., B, cells, seeds)
    wb = np.moveaxis(within[..., idx], -3, -2)
    boot = between_seed_sd(cb, wb)
    est = between_seed_sd(c, within)
    b = keys.n_boot
    return {
        "estimate": est,
        "ci_low": np.percentile(boot, 2.5, axis=-1),
        "ci_high": np.percentile(boot, 97.5, axis=-1),
        "p": (1 + np.sum(boot <= keys.large_sd, axis=-1)) / (b + 1),
        "p_opposite": (1 + np.sum(boot >= keys.large_sd, axis=-1)) / (b + 1),
    }


def _within_var(g: pd.DataFrame) -> pd.Series:
    """The measurement variance of one run's C: the noise of the peak and of the final mean
    (k points), noise_sd^2 (1 + 1/k)."""
    from .runs import noise_window

    k = g["n_epochs"].map(lambda n: noise_window(int(n)))
    return g["noise_sd"] ** 2 * (1 + 1 / k)


def claim2(runs: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for label, g in analysis_groups(runs):
        seeds = sorted(g["seed"].unique())
        hidden = g[_hidden(g)].assign(_w=lambda x: _within_var(x))
        c = _matrix(hidden, ["activation", "l2", "layer"], "compression", seeds)
        w = _matrix(hidden, ["activation", "l2", "layer"], "_w", seeds)
        keep = c.notna().sum(axis=1) >= 2
        c, w = c[keep], w[keep]
        for i, (act, l2, layer) in enumerate(c.index):
            v = c.iloc[i].dropna().to_numpy()
            sd_lo, sd_hi = bootstrap_ci(v, lambda x, axis=-1: np.std(x, ddof=1, axis=axis), keys)
            iqr_lo, iqr_hi = bootstrap_ci(v, lambda x, axis=-1: stats.iqr(x, axis=axis), keys)
            mean = float(v.mean())
            total = float(np.var(v, ddof=1))
            share = max(0.0, total - float(np.nanmean(w.iloc[i]))) / total if total > 0 else np.nan
            rows.append(
                _row(
                    2,
                    "spread between seeds",
                    "cell",
                    label,
                    g,
                    activation=act,
                    l2=l2,
                    layer=layer,
                    test="between-seed sd of C (bootstrap over seeds)",
                    n=v.size,
                    effect=float(np.std(v, ddof=1)),
                    effect_name="sd of C (bits)",
                    ci_low=sd_lo,
                    ci_high=sd_hi,
                    iqr=float(stats.iqr(v)),
                    iqr_low=iqr_lo,
                    iqr_high=iqr_hi,
                    cv=float(np.std(v, ddof=1) / abs(mean)) if mean != 0 else np.nan,
                    share_between=share,
                    mean_compression=mean,
                )
            )
        n_sat = int(hidden["saturated"].sum())
        if not len(c):
            rows.append(
                _row(
                    2,
                    "spread between seeds",
                    "primary",
                    label,
                    g,
                    verdict=UNMEASURABLE if n_sat else UNDECIDED,
                    note=f"{n_sat} saturated runs; no hidden-layer cell with 2 measured seeds",
                )
            )
            continue
        r = claim2_spread(c.to_numpy(), w.to_numpy(), keys)
        verdict = decide(float(r["p"]), float(r["p_opposite"]), len(seeds) >= 3, keys.alpha)
        rows.append(
            _row(
                2,
                "spread between seeds",
                "primary",
                label,
                g,
                test=f"between-seed sd of C pooled over hidden-layer cells > {keys.large_sd} bit "
                "(bootstrap over seeds)",
                n=len(seeds),
                effect=float(r["estimate"]),
                effect_name="between-seed sd of C (bits)",
                ci_low=float(r["ci_low"]),
                ci_high=float(r["ci_high"]),
                p_value=float(r["p"]),
                p_adjusted=float(r["p"]),
                p_opposite=float(r["p_opposite"]),
                p_opposite_adjusted=float(r["p_opposite"]),
                verdict=verdict,
                cells=f"{len(c)} cells",
                note=f"{n_sat} saturated runs left out" if n_sat else "",
            )
        )
    return pd.DataFrame(rows)


# ---- claim 3 ----------------------------------------------------------------------------------------
def _pairs(g: pd.DataFrame, value: str, hidden_only: bool) -> pd.DataFrame:
    """Per (activation, L2 > 0, seed): ``value`` with L2 minus without (same seed, same other
    settings); for layer measures the mean over the hidden layers measured in both."""
    rows = g[_hidden(g)] if hidden_only else g[g["layer"] == g["layer"].min()]
    rows = rows[~rows["saturated"].astype(bool)] if hidden_only else rows
    off = rows[rows["l2"] == 0].set_index(["activation", "layer", "seed"])[value]
    out = []
    for l2, on in rows[rows["l2"] > 0].groupby("l2", sort=True):
        d = on.set_index(["activation", "layer", "seed"])[value] - off
        d = d.dropna().groupby(level=["activation", "seed"]).mean()
        out.append(d.rename("d").reset_index().assign(l2=l2))
    return (
        pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["activation", "seed", "d", "l2"])
    )


def _paired_rows(
    label: str, g: pd.DataFrame, part: str, pairs: pd.DataFrame, sign: float, keys: Keys, what: str, role: str
) -> list[dict[str, Any]]:
    """One primary (or secondary) paired test over all pairs, and one row per activation (Holm)."""
    d = pairs["d"].to_numpy(float) * sign  # sign: +1 when the claim is "increases", -1 "lowers"
    if d.size == 0:
        return [
            _row(
                3,
                part,
                role,
                label,
                g,
                verdict=UNDECIDED,
                note="no runs with and without L2 on the same seeds",
            )
        ]
    up, down, nz = signed_rank(d)
    lo, hi = bootstrap_ci(pairs["d"].to_numpy(float), keys=keys)
    mean = float(pairs["d"].mean())
    out = [
        _row(
            3,
            part,
            role,
            label,
            g,
            test=f"wilcoxon signed-rank over (activation, seed) pairs: {what}",
            n=int(d.size),
            p_value=float(up),
            p_adjusted=float(up),
            p_opposite=float(down),
            p_opposite_adjusted=float(down),
            effect=mean,
            effect_name=what,
            ci_low=lo,
            ci_high=hi,
            mde=mde_location(
                float(np.std(d, ddof=1)) if d.size > 1 else np.nan, d.size, keys.alpha, keys.power
            ),
            verdict=decide(float(up), float(down), bool(min_p_signed_rank(nz) < keys.alpha), keys.alpha),
        )
    ]
    acts = sorted(pairs["activation"].unique())
    per = [pairs[pairs["activation"] == a]["d"].to_numpy(float) for a in acts]
    ps = [signed_rank(x * sign) for x in per]
    adj_up, adj_down = holm([float(p[0]) for p in ps]), holm([float(p[1]) for p in ps])
    for a, x, p, pu, pd_ in zip(acts, per, ps, adj_up, adj_down, strict=True):
        lo, hi = bootstrap_ci(x, keys=keys)
        out.append(
            _row(
                3,
                part,
                "cell",
                label,
                g,
                activation=a,
                test="wilcoxon signed-rank (Holm over activations)",
                n=int(x.size),
                p_value=float(p[0]),
                p_opposite=float(p[1]),
                p_adjusted=float(pu),
                p_opposite_adjusted=float(pd_),
                effect=float(x.mean()),
                effect_name=what,
                ci_low=lo,
                ci_high=hi,
                verdict=decide(
                    float(pu), float(pd_), bool(min_p_signed_rank(p[2]) * len(acts) < keys.alpha), keys.alpha
                ),
            )
        )
    return out


def claim3(runs: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    if "l2" not in runs.columns or not (runs["l2"] == 0).any() or not (runs["l2"] > 0).any():
        return pd.DataFrame()
    rows: list[dict[str, Any]] = []
    for label, g in analysis_groups(runs):
        rows += _paired_rows(
            label,
            g,
            "L2 increases compression",
            _pairs(g, "compression", True),
            1.0,
            keys,
            "mean hidden-layer C with L2 minus without (bits)",
            "primary",
        )
        rows += _paired_rows(
            label,
            g,
            "L2 lowers overfitting",
            _pairs(g, "overfit", False),
            -1.0,
            keys,
            "overfitting (final test loss minus its minimum) with L2 minus without",
            "primary",
        )
        rows += _paired_rows(
            label,
            g,
            "L2 lowers the generalisation gap",
            _pairs(g, "gen_gap", False),
            -1.0,
            keys,
            "train minus test accuracy with L2 minus without",
            "secondary",
        )
    return pd.DataFrame(rows)


# ---- claim 4 ----------------------------------------------------------------------------------------
def fisher_combine(x: np.ndarray, y: np.ndarray, spearman: bool = True) -> dict[str, np.ndarray]:
    """Correlation within strata, combined: arrays x, y (..., strata, seeds) of values already
    rank-transformed within each stratum for Spearman (NaN: left out). Pearson r per stratum,
    Fisher z weighted by n - 3 (strata of 3 points or fewer get no weight). Returns the combined
    z, its se (sqrt(1.06 / sum w) for Spearman, sqrt(1 / sum w) for Pearson), r = tanh z, and the
    total weight. Vectorised over the leading axes."""
    ok = ~(np.isnan(x) | np.isnan(y))
    n = ok.sum(axis=-1)
    xs, ys = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = xs.sum(-1, keepdims=True) / n[..., None], ys.sum(-1, keepdims=True) / n[..., None]
        dx, dy = np.where(ok, x - mx, 0.0), np.where(ok, y - my, 0.0)
        r = (dx * dy).sum(-1) / np.sqrt((dx * dx).sum(-1) * (dy * dy).sum(-1))
    w = np.where((n > 3) & np.isfinite(r), n - 3, 0).astype(float)
    z = np.arctanh(np.clip(np.nan_to_num(r), -0.999999, 0.999999))
    total = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = (w * z).sum(-1) / total
        se = np.sqrt((1.06 if spearman else 1.0) / total)
    return {"z": zbar, "se": se, "r": np.tanh(zbar), "weight": total}


def _ranked(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays NaN where either is, then ranked within each stratum (last axis)."""
    both = np.isnan(a) | np.isnan(b)
    a, b = np.where(both, np.nan, a), np.where(both, np.nan, b)
    return (stats.rankdata(a, axis=-1, nan_policy="omit"), stats.rankdata(b, axis=-1, nan_policy="omit"))


def claim4_only(x: np.ndarray, y: np.ndarray, last: int, keys: Keys = KEYS) -> dict[str, Any]:
    """Claim 4's primary test on x (layers, strata, seeds) of C (NaN: saturated or missing) and y
    (strata, seeds) of generalisation: the ``last`` layer's combined correlation is positive
    (one-sided Fisher z), and larger than each other layer's (bootstrap over seeds, the same
    resampled seeds in every stratum, one-sided, Holm across the other layers)."""
    spearman = keys.correlation == "spearman"
    pairs = [(_ranked(x[i], y) if spearman else (x[i], y)) for i in range(x.shape[0])]
    xr = np.stack([p[0] for p in pairs])
    yr = np.stack([p[1] for p in pairs])
    comb = fisher_combine(xr, yr, spearman)
    z, se = comb["z"][last], comb["se"][last]
    p = float(stats.norm.sf(z / se)) if comb["weight"][last] > 0 else float("nan")
    p_opp = float(stats.norm.cdf(z / se)) if comb["weight"][last] > 0 else float("nan")
    others = [i for i in range(x.shape[0]) if i != last and comb["weight"][i] > 0]
    rng = np.random.default_rng(keys.boot_seed)
    s = x.shape[-1]
    idx = rng.integers(0, s, size=(keys.n_boot, s))
    boot = fisher_combine(np.moveaxis(xr[..., idx], -3, -2), np.moveaxis(yr[..., idx], -3, -2), spearman)
    diffs, p_more = [], []
    for j in others:
        delta = boot["r"][last] - boot["r"][j]  # (B,)
        delta = delta[np.isfinite(delta)]
        p_more.append((1 + np.sum(delta <= 0)) / (delta.size + 1))
        lo, hi = np.percentile(delta, [2.5, 97.5]) if delta.size else (np.nan, np.nan)
        diffs.append((float(comb["r"][last] - comb["r"][j]), float(lo), float(hi)))
    return {
        "r": comb["r"],
        "z": comb["z"],
        "se": comb["se"],
        "weight": comb["weight"],
        "p": p,
        "p_opposite": p_opp,
        "others": others,
        "p_more": np.array(p_more),
        "p_more_adjusted": holm(p_more) if p_more else np.array([]),
        "differences": diffs,
    }


def claim4(runs: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for label, g in analysis_groups(runs):
        seeds = sorted(g["seed"].unique())
        layers = sorted(g["layer"].unique())
        out_layer = _output_layer(g)
        hidden_layers = [lay for lay in layers if lay != out_layer]
        strata = sorted({(a, l2) for a, l2 in zip(g["activation"], g["l2"], strict=True)})
        x = np.stack(
            [
                np.stack(
                    [
                        _matrix(
                            g[(g["activation"] == a) & (g["l2"] == l2) & (g["layer"] == lay)],
                            ["layer"],
                            "compression",
                            seeds,
                        )
                        .reindex([lay])
                        .to_numpy()[0]
                        for a, l2 in strata
                    ]
                )
                for lay in layers
            ]
        )
        for measure, sign, role in (
            ("final_test_acc", 1.0, "primary"),
            ("final_test_loss", -1.0, "secondary"),
            ("gen_gap", -1.0, "secondary"),
        ):
            first = g[g["layer"] == layers[0]]
            y = (
                np.stack(
                    [
                        first[(first["activation"] == a) & (first["l2"] == l2)]
                        .set_index("seed")[measure]
                        .reindex(seeds)
                        .to_numpy(float)
                        for a, l2 in strata
                    ]
                )
                * sign
            )
            candidates = [("softmax output", out_layer)]
            if hidden_layers:
                candidates.append(("last hidden layer", hidden_layers[-1]))
            for name, lay in candidates:
                this_role = role if name == "softmax output" else "secondary"
                rows += _claim4_rows(
                    label,
                    g,
                    x,
                    y,
                    layers,
                    layers.index(lay),
                    name,
                    measure,
                    sign,
                    this_role,
                    len(strata),
                    keys,
                )
    return pd.DataFrame(rows)


def _claim4_rows(
    label: str,
    g: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    layers: list[Any],
    last: int,
    name: str,
    measure: str,
    sign: float,
    role: str,
    n_strata: int,
    keys: Keys,
) -> list[dict[str, Any]]:
    part = f"only the {name} correlates with {measure}"
    if np.isnan(x[last]).all():
        return [
            _row(
                4,
                part,
                role,
                label,
                g,
                layer=layers[last],
                verdict=UNMEASURABLE,
                note="the layer is saturated in every run",
            )
        ]
    r = claim4_only(x, y, last, keys)
    weight = float(r["weight"][last])
    if weight <= 0:
        return [
            _row(
                4,
                part,
                role,
                label,
                g,
                layer=layers[last],
                verdict=UNDECIDED,
                note="no stratum with more than 3 measured seeds",
            )
        ]
    z, se = float(r["z"][last]), float(r["se"][last])
    positive = decide(r["p"], r["p_opposite"], True, keys.alpha)
    all_more = bool(len(r["others"])) and bool(np.all(r["p_more_adjusted"] < keys.alpha))
    verdict = (
        SUPPORTED
        if positive == SUPPORTED and all_more
        else (CONTRADICTED if positive == CONTRADICTED else NOT_SHOWN)
    )
    sense = "" if sign > 0 else " (sign flipped: lower is better)"
    rows = [
        _row(
            4,
            part,
            role,
            label,
            g,
            layer=layers[last],
            test=f"{keys.correlation} within activation x L2 strata, Fisher z weighted by n - 3; larger "
            "than every other layer (bootstrap over seeds, Holm)",
            n=int(weight + 3 * n_strata),
            statistic=z / se,
            p_value=r["p"],
            p_adjusted=r["p"],
            p_opposite=r["p_opposite"],
            p_opposite_adjusted=r["p_opposite"],
            effect=float(r["r"][last]),
            effect_name=f"combined correlation of C with {measure}{sense}",
            ci_low=float(np.tanh(z - 1.96 * se)),
            ci_high=float(np.tanh(z + 1.96 * se)),
            mde=mde_correlation(weight, keys.alpha, keys.power, keys.correlation == "spearman"),
            verdict=verdict,
            cells=f"larger than {int(np.sum(r['p_more_adjusted'] < keys.alpha))} of "
            f"{len(r['others'])} other layers",
        )
    ]
    for j, p, pa, (diff, lo, hi) in zip(
        r["others"], r["p_more"], r["p_more_adjusted"], r["differences"], strict=True
    ):
        rows.append(
            _row(
                4,
                part,
                "cell",
                label,
                g,
                layer=layers[j],
                test="bootstrap over seeds: r(last) - r(this)",
                n=int(r["weight"][j]),
                p_value=float(p),
                p_adjusted=float(pa),
                effect=diff,
                effect_name="r(last) - r(this layer)",
                ci_low=lo,
                ci_high=hi,
                statistic=float(r["r"][j]),
                verdict=decide(float(pa), np.nan, True, keys.alpha),
            )
        )
    return rows


def all_claims(runs: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    """Every test of the four claims in one tidy table (``role``: primary, secondary, cell, ...)."""
    parts = [f(runs, keys) for f in (claim1, claim2, claim3, claim4)]
    return pd.concat([p for p in parts if len(p)], ignore_index=True)


# ---- one verdict per claim ------------------------------------------------------------------------
def _num(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{float(v):.{digits}g}"


def sentence(row: dict[str, Any]) -> str:
    """The primary result in one sentence: effect [interval], n, p, verdict."""
    if row["verdict"] in (UNMEASURABLE,) or not row.get("effect_name"):
        return f"{row['part']}: {row['verdict']}" + (f" ({row['note']})" if row.get("note") else "")
    ci = f" [{_num(row['ci_low'])}, {_num(row['ci_high'])}]" if np.isfinite(row.get("ci_low", np.nan)) else ""
    extra = f", {row['cells']}" if row.get("cells") else ""
    mde = (
        f"; smallest detectable {_num(row['mde'])}"
        if row["verdict"] == NOT_SHOWN and np.isfinite(row.get("mde", np.nan))
        else ""
    )
    unit = {1: "seeds", 2: "seeds", 3: "pairs", 4: "runs"}.get(int(row["claim"]), "")
    return (
        f"{row['part']}: {row['effect_name']} {_num(row['effect'])}{ci}, n = {row['n']} {unit}, "
        f"p = {_num(row['p_adjusted'], 3)}{extra}{mde} -> {row['verdict']}"
    )


def _part(row: dict[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, float | np.floating):
            return None if not math.isfinite(float(v)) else float(v)
        if isinstance(v, np.integer | np.bool_):
            return v.item()
        return v

    keep = (
        "part",
        "test",
        "n",
        "statistic",
        "p_value",
        "p_adjusted",
        "p_opposite_adjusted",
        "effect",
        "effect_name",
        "ci_low",
        "ci_high",
        "mde",
        "verdict",
        "cells",
        "note",
        "layer",
    )
    out = {k: clean(row.get(k)) for k in keep}
    out["sentence"] = sentence(row)
    return out


def headline(tests: pd.DataFrame, runs: pd.DataFrame, keys: Keys = KEYS) -> dict[str, Any]:
    """One verdict per claim and analysis group (claims.json): the primary parts combined, each
    part with its effect, interval, n, p and a sentence; the data source, every estimator's
    parameters, which are baselines, and the keys."""
    run_cols = [c for c in group_keys(runs) if c not in ("estimator", "estimator_params", *_LAYER)]
    n_runs = int(runs.drop_duplicates([*run_cols, "seed"]).shape[0])
    sources = sorted({str(v) for c in ("data", "data_source") if c in runs.columns for v in runs[c].unique()})
    out: dict[str, Any] = {
        "alpha": keys.alpha,
        "n_runs": n_runs,
        "data_source": sources,
        "keys": keys.as_dict(),
        "verdict_words": [SUPPORTED, NOT_SHOWN, CONTRADICTED, UNDECIDED, UNMEASURABLE],
        "estimator_info": {},
        "estimators": {},
    }
    n_saturated = {label: int(g["saturated"].sum()) for label, g in analysis_groups(runs)}
    for label, g in analysis_groups(runs):
        first = g.iloc[0]
        out["estimator_info"][label] = {
            "estimator": str(first["estimator"]),
            "params": _params(first.get("estimator_params")),
            "baseline": str(first["estimator"]) in BASELINES,
            "saturated_runs": n_saturated[label],
            "saturated_cells": sorted(
                {
                    f"{a}, L2 {l2:g}, layer {lay}"
                    for a, l2, lay in zip(
                        g.loc[g["saturated"], "activation"],
                        g.loc[g["saturated"], "l2"],
                        g.loc[g["saturated"], "layer"],
                        strict=True,
                    )
                }
            ),
        }
        t = tests[tests["estimator_label"] == label] if len(tests) else tests
        per: dict[str, Any] = {}
        for n in (1, 2, 3, 4):
            prim = t[(t["claim"] == n) & (t["role"] == "primary")] if len(t) else t
            parts = [_part(r) for r in prim.to_dict("records")]
            if n == 4:
                parts = [
                    p
                    for p, r in zip(parts, prim.to_dict("records"), strict=True)
                    if "softmax output" in r["part"] and "final_test_acc" in r["part"]
                ]
            verdict = combine([p["verdict"] for p in parts]) if parts else UNDECIDED
            per[str(n)] = {
                "claim": CLAIMS[n],
                "verdict": verdict,
                "parts": parts,
                "sentence": "; ".join(p["sentence"] for p in parts) or "no test: no runs for it",
                "baseline": out["estimator_info"][label]["baseline"],
            }
        out["estimators"][label] = per
    out["claim3_agreement"] = _agreement(out)
    return out


def _agreement(h: dict[str, Any]) -> dict[str, Any]:
    """Claim 3 under the adaptive estimators: which agree, and whether a power-1 adaptive KDE
    result (confounded with activity scale: L2 shrinks activity, and a smaller scale alone lowers
    a power-1 estimate) is reproduced by power 2."""
    adaptive = {
        lab: c["3"]["verdict"]
        for lab, c in h["estimators"].items()
        if not h["estimator_info"][lab]["baseline"]
    }
    notes = []
    for lab, v in adaptive.items():
        info = h["estimator_info"][lab]
        if info["params"].get("power") != 1:
            continue
        # the same estimator but for its power, whatever it is registered as (adaptive_kde_upper
        # with adaptive_kde_power = 2, or adaptive_kde2_upper beside it in one run)
        same = {k: v for k, v in info["params"].items() if k != "power"}
        twins = [
            o
            for o in adaptive
            if h["estimator_info"][o]["params"].get("power") == 2
            and {k: v for k, v in h["estimator_info"][o]["params"].items() if k != "power"} == same
        ]
        if not twins:
            notes.append(f"{lab}: power 1 only, power 2 not run; a claim-3 result may be scale-confounded")
        elif v == SUPPORTED and all(adaptive[o] != SUPPORTED for o in twins):
            notes.append(f"{lab}: supported with power 1 but not with power 2: scale-confounded")
    verdicts = sorted(set(adaptive.values()))
    return {"verdicts": adaptive, "agree": len(verdicts) <= 1, "notes": notes}
