"""The paper's four claims (Chelombiev, Houghton & O'Donnell, ICLR 2019) as statistical tests
on the per-run table (``per_run``), each row a test with its n, statistic, p-value and verdict.

1. With adaptive estimators networks compress, also without saturating activations, and the
   amount differs between activation functions.
2. Compression varies a lot between initialisations.
3. L2 regularisation increases compression and prevents overfitting.
4. Only the compression of the last layer correlates positively with generalisation.

Every test runs within one group of settings (data, network, protocol, estimator and its
parameters, ...): rows of different settings are never pooled except where a claim varies them
(activation for claims 1 and 4, L2 for claim 3).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .stats import ALPHA, FAILS, HOLDS, INCONCLUSIVE, MIN_N, group_keys, holm, verdict

CLAIMS = {
    1: "networks compress with adaptive estimators, also without saturating activations, "
       "and the amount differs between activation functions",
    2: "compression varies a lot between initialisations",
    3: "L2 regularisation increases compression and prevents overfitting",
    4: "only the compression of the last layer correlates positively with generalisation",
}
SATURATING = ("tanh", "sigmoid", "softsign")
CORRELATES = (("final_test_acc", 1.0), ("final_test_loss", -1.0), ("gen_gap", -1.0))


def _row(claim: int, part: str, keys: dict[str, Any], test: str, n: int, statistic: float, p: float,
         effect: float, direction_ok: bool, testable: bool, min_p: float = 0.0,
         **extra: Any) -> dict[str, Any]:
    """One test. ``min_p``: the smallest p-value the test can give with these n (exact tests)."""
    return {"claim": claim, "part": part, **keys, "test": test, "n": int(n),
            "statistic": float(statistic), "p_value": float(p), "effect_size": float(effect),
            "direction_ok": bool(direction_ok), "testable": bool(testable), "min_p": float(min_p), **extra}


def _finish(rows: list[dict[str, Any]], family: list[str]) -> pd.DataFrame:
    """Holm-adjust within each family of tests, then give every row its verdict. A test whose
    smallest possible p-value, times the number of tests in its family, cannot reach alpha is
    not testable there (e.g. 5 seeds give a one-sided signed-rank p of 1/32 at best: significant
    alone, never after Holm over 36 cells): its verdict is inconclusive, not "does not hold"."""
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["p_adjusted"] = np.nan
    for _, idx in df.groupby([c for c in family if c in df.columns], dropna=False).groups.items():
        df.loc[idx, "p_adjusted"] = holm(df.loc[idx, "p_value"].to_numpy())
        m = int(df.loc[idx, "p_value"].notna().sum())
        df.loc[idx, "testable"] = df.loc[idx, "testable"] & (df.loc[idx, "min_p"] * m < ALPHA)
    df["verdict"] = [verdict(p, d, t) for p, d, t in
                     zip(df["p_adjusted"], df["direction_ok"], df["testable"], strict=True)]
    return df


def _signed_rank(diff: np.ndarray, alternative: str) -> tuple[float, float, float]:
    """Wilcoxon signed-rank: statistic, p-value and the matched-pairs rank-biserial correlation."""
    d = diff[~np.isnan(diff)]
    if d.size == 0 or not np.any(d != 0):
        return 0.0, 1.0, 0.0  # no difference at all: nothing to reject
    res = stats.wilcoxon(d, alternative=alternative)
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    r = float((ranks[nz > 0].sum() - ranks[nz < 0].sum()) / ranks.sum())
    return float(res.statistic), float(res.pvalue), r


def _plain(keys: list[str], key: Any) -> dict[str, Any]:
    return dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))


# ---- claim 1 ---------------------------------------------------------------------------------------
def claim1(runs: pd.DataFrame) -> pd.DataFrame:
    """(a) per activation, L2, estimator and layer: is C above the noise floor? (one-sided
    signed-rank test of C - floor over seeds; Holm within each estimator);
    (b) per L2, estimator and layer: does C differ between activations? (Kruskal-Wallis, Holm
    within each estimator), with pairwise two-sided Mann-Whitney tests (Holm within the layer)."""
    rows: list[dict[str, Any]] = []
    keys = group_keys(runs)
    for key, g in runs.groupby(keys, dropna=False, sort=True):
        diff = (g["compression"] - g["noise_floor"]).to_numpy(float)
        stat, p, r = _signed_rank(diff, "greater")
        rows.append(_row(1, "compression above the noise floor", _plain(keys, key), "wilcoxon signed-rank",
                         len(g), stat, p, r, float(np.nanmedian(diff)) > 0, len(g) >= MIN_N["wilcoxon"],
                         min_p=0.5 ** len(g),
                         mean_compression=float(g["compression"].mean()),
                         fraction_compressing=float(g["compressing"].mean())))
    part_a = _finish(rows, ["claim", "part", "estimator", "estimator_params"])

    rows, pair_rows = [], []
    across = group_keys(runs, without=["activation"])
    for key, g in runs.groupby(across, dropna=False, sort=True):
        samples = {a: s["compression"].to_numpy(float) for a, s in g.groupby("activation", sort=True)}
        usable = {a: v for a, v in samples.items() if v.size >= 2}
        keyd = _plain(across, key)
        if len(usable) >= 2 and np.ptp(np.concatenate(list(usable.values()))) > 0:
            h, p = stats.kruskal(*usable.values())
        else:
            h, p = float("nan"), float("nan")
        n = sum(v.size for v in usable.values())
        eta = (h - len(usable) + 1) / (n - len(usable)) if n > len(usable) and not math.isnan(h) else np.nan
        smallest = min((v.size for v in usable.values()), default=0)
        rows.append(_row(1, "compression differs between activations", keyd, "kruskal-wallis", n, h, p,
                         eta, True, len(usable) >= 2 and smallest >= MIN_N["kruskal"],
                         activation=", ".join(sorted(usable))))
        for a, b in itertools.combinations(sorted(usable), 2):
            x, y = usable[a], usable[b]
            if np.ptp(np.concatenate([x, y])) > 0:
                u, pu = stats.mannwhitneyu(x, y, alternative="two-sided")
            else:
                u, pu = float(x.size * y.size) / 2, 1.0
            pair_rows.append(_row(1, "pairwise difference between activations", keyd, "mann-whitney u",
                                  x.size + y.size, u, pu, 2 * u / (x.size * y.size) - 1, True,
                                  min(x.size, y.size) >= MIN_N["mannwhitneyu"],
                                  min_p=2.0 / math.comb(x.size + y.size, x.size), activation=f"{a} vs {b}"))
    part_b = _finish(rows, ["claim", "part", "estimator", "estimator_params"])
    pairs = _finish(pair_rows, ["claim", "part", *across])
    return pd.concat([part_a, part_b, pairs], ignore_index=True)


# ---- claim 2 ---------------------------------------------------------------------------------------
def claim2(runs: pd.DataFrame) -> pd.DataFrame:
    """Per activation, L2, estimator and layer: the spread of C over seeds against the within-run
    noise. C = peak - final is a difference of two noisy readings, so with no real difference
    between seeds var(C) would be about 2 noise_sd^2: F = var_seeds(C) / (2 mean(noise_sd^2)) with
    (n - 1, sum of (k - 1)) degrees of freedom, k the epochs each noise sd came from (one-sided;
    Holm within each estimator)."""
    from .runs import noise_window

    rows = []
    keys = group_keys(runs)
    for key, g in runs.groupby(keys, dropna=False, sort=True):
        c = g["compression"].to_numpy(float)
        within = 2.0 * float(np.nanmean(g["noise_sd"].to_numpy(float) ** 2))
        df2 = float(sum(noise_window(int(n)) - 1 for n in g["n_epochs"]))
        between = float(np.var(c, ddof=1)) if c.size > 1 else float("nan")
        if c.size > 1 and within > 0:
            f = between / within
            p = float(stats.f.sf(f, c.size - 1, df2))
        elif c.size > 1 and between > 0:  # no within-run noise at all (exact binning): any spread is real
            f, p = float("inf"), 0.0
        else:
            f, p = float("nan"), float("nan")
        q25, q75 = np.percentile(c, [25, 75])
        rows.append(_row(2, "compression varies between seeds", _plain(keys, key), "variance ratio (F)",
                         c.size, f, p, float(np.std(c, ddof=1)) if c.size > 1 else np.nan, True,
                         c.size >= MIN_N["f"], sd=float(np.std(c, ddof=1)) if c.size > 1 else np.nan,
                         iqr=float(q75 - q25), fraction_compressing=float(g["compressing"].mean()),
                         mean_compression=float(c.mean())))
    return _finish(rows, ["claim", "part", "estimator", "estimator_params"])


# ---- claim 3 ---------------------------------------------------------------------------------------
def claim3(runs: pd.DataFrame) -> pd.DataFrame:
    """With and without L2, paired by seed (same seeds, same initialisation): one-sided signed-rank
    tests that L2 increases C (per activation, estimator and layer), and that it lowers overfitting
    (final test loss minus its minimum) and the train-test accuracy gap (per activation)."""
    if "l2" not in runs.columns or not (runs["l2"] == 0).any() or not (runs["l2"] > 0).any():
        return pd.DataFrame()
    rows = []
    keys = group_keys(runs, without=["l2"])
    off = runs[runs["l2"] == 0].set_index([*keys, "seed"])
    for l2, on in runs[runs["l2"] > 0].groupby("l2", sort=True):
        paired = on.set_index([*keys, "seed"]).merge(off, left_index=True, right_index=True,
                                                     suffixes=("", "_off"), how="inner")
        for key, g in paired.groupby(level=keys, dropna=False, sort=True):
            keyd = {**_plain(keys, key), "l2": l2}
            stat, p, r = _signed_rank((g["compression"] - g["compression_off"]).to_numpy(float), "greater")
            rows.append(_row(3, "L2 increases compression", keyd, "wilcoxon signed-rank (paired)", len(g),
                             stat, p, r, r > 0, len(g) >= MIN_N["wilcoxon"], min_p=0.5 ** len(g),
                             mean_difference=float((g["compression"] - g["compression_off"]).mean())))
        # overfitting is a property of the run, not of a layer or an estimator: one layer's rows
        per_run = paired.reset_index()
        run_keys = [k for k in keys if k not in ("estimator", "estimator_params", "layer", "width",
                                                 "is_output")]
        per_run = per_run.drop_duplicates([*run_keys, "seed"])
        for key, g in per_run.groupby(run_keys, dropna=False, sort=True):
            keyd = {**_plain(run_keys, key), "l2": l2}
            for measure in ("overfit", "gen_gap"):
                d = (g[measure] - g[f"{measure}_off"]).to_numpy(float)
                stat, p, r = _signed_rank(d, "less")
                rows.append(_row(3, f"L2 lowers {measure}", keyd, "wilcoxon signed-rank (paired)", len(g),
                                 stat, p, r, r < 0, len(g) >= MIN_N["wilcoxon"], min_p=0.5 ** len(g),
                                 mean_difference=float(d.mean())))
    return _finish(rows, ["claim", "part", "estimator", "estimator_params"])


# ---- claim 4 ---------------------------------------------------------------------------------------
def claim4(runs: pd.DataFrame) -> pd.DataFrame:
    """Per estimator and layer: Spearman and Pearson correlation across runs between C and final
    test accuracy, test loss and generalisation gap, pooled over activations and L2 and within each
    activation; Holm within each estimator, measure, coefficient and pool (across layers).
    "direction_ok" means compression goes with better generalisation (higher accuracy, lower
    loss, smaller gap)."""
    rows = []
    pooled_keys = group_keys(runs, without=["activation", "l2"])
    for pool, pool_keys in (("pooled", pooled_keys), ("within activation", [*pooled_keys, "activation"])):
        for key, g in runs.groupby(pool_keys, dropna=False, sort=True):
            keyd = _plain(pool_keys, key)
            for measure, sign in CORRELATES:
                x, y = g["compression"].to_numpy(float), g[measure].to_numpy(float)
                for test, fn in (("spearman", stats.spearmanr), ("pearson", stats.pearsonr)):
                    if x.size >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
                        res = fn(x, y)
                        r, p = float(res.statistic), float(res.pvalue)
                    else:
                        r, p = float("nan"), float("nan")
                    rows.append(_row(4, f"compression vs {measure}", keyd, test, x.size, r, p, r,
                                     (r * sign) > 0 if not math.isnan(r) else False, x.size >= MIN_N[test],
                                     pool=pool, measure=measure))
    return _finish(rows, ["claim", "estimator", "estimator_params", "measure", "test", "pool", "activation"])


def all_claims(runs: pd.DataFrame) -> pd.DataFrame:
    """Every test of the four claims in one tidy table."""
    df = pd.concat([claim1(runs), claim2(runs), claim3(runs), claim4(runs)], ignore_index=True)
    if "layer" in df.columns:  # run-level tests (claim 3's overfitting) have no layer
        df["layer"] = df["layer"].astype("Int64")
    return df


# ---- one verdict per claim ------------------------------------------------------------------------
def _combine(parts: list[dict[str, Any]]) -> str:
    verdicts = [p["verdict"] for p in parts]
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    if any(v == FAILS for v in verdicts):
        return FAILS
    return INCONCLUSIVE


def _part(test: str, n: int, statistic: float, p: float, v: str, detail: str) -> dict[str, Any]:
    return {"test": test, "n": int(n), "statistic": None if math.isnan(statistic) else float(statistic),
            "p_value": None if math.isnan(p) else float(p), "verdict": v, "detail": detail}


def _any_holds(rows: pd.DataFrame) -> tuple[str, float]:
    """HOLDS if any row holds, FAILS if some row was testable, else INCONCLUSIVE; and the smallest p."""
    p = float(rows["p_adjusted"].min()) if len(rows) and rows["p_adjusted"].notna().any() else float("nan")
    if (rows["verdict"] == HOLDS).any():
        return HOLDS, p
    return (FAILS if rows["testable"].any() else INCONCLUSIVE), p


def headline(tests: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """One verdict per claim and estimator, from the tests of ``all_claims``: what claims.json holds."""
    out: dict[str, Any] = {}
    n_runs = int(runs.drop_duplicates([c for c in group_keys(runs) if c not in (
        "estimator", "estimator_params", "layer", "width", "is_output")] + ["seed"]).shape[0])
    for estimator in sorted(runs["estimator"].unique()):
        t = tests[tests["estimator"] == estimator]
        c: dict[str, Any] = {}
        # 1: some non-saturating activation has a layer that compresses, and the amount differs
        a = t[(t["claim"] == 1) & (t["part"] == "compression above the noise floor")]
        plain = a[~a["activation"].isin(SATURATING) & (a["l2"] == 0)] if "l2" in a else a
        v1, p1 = _any_holds(plain)
        b = t[(t["claim"] == 1) & (t["part"] == "compression differs between activations")]
        v2, p2 = _any_holds(b)
        parts = [_part("wilcoxon signed-rank, C > noise floor (Holm)", len(plain),
                       float((plain["verdict"] == HOLDS).sum()), p1, v1,
                       "statistic: cells (non-saturating activation x layer, no L2) that compress"),
                 _part("kruskal-wallis across activations (Holm)", len(b),
                       float((b["verdict"] == HOLDS).sum()), p2, v2,
                       "statistic: layers whose compression differs between activations")]
        c["1"] = {"claim": CLAIMS[1], "verdict": _combine(parts), "parts": parts}
        # 2: seeds spread beyond within-run noise in most testable cells
        f = t[(t["claim"] == 2) & t["testable"]]
        share = float((f["verdict"] == HOLDS).mean()) if len(f) else float("nan")
        v = INCONCLUSIVE if not len(f) else (HOLDS if share >= 0.5 else FAILS)
        parts = [_part("variance ratio seeds / within-run noise (Holm)", len(f), share,
                       float(f["p_adjusted"].median()) if len(f) else float("nan"), v,
                       "statistic: share of cells where seeds differ beyond noise; p: median adjusted p")]
        c["2"] = {"claim": CLAIMS[2], "verdict": v, "parts": parts}
        # 3: L2 increases compression somewhere and lowers overfitting
        l2c = t[(t["claim"] == 3) & (t["part"] == "L2 increases compression")]
        l2o = tests[(tests["claim"] == 3) & (tests["part"] == "L2 lowers overfit")]
        if len(l2c):
            v1, p1 = _any_holds(l2c)
            v2, p2 = _any_holds(l2o)
            parts = [_part("paired wilcoxon, C with L2 > without (Holm)", len(l2c),
                           float((l2c["verdict"] == HOLDS).sum()), p1, v1,
                           "statistic: activation x layer cells where L2 increases compression"),
                     _part("paired wilcoxon, overfitting with L2 < without (Holm)", len(l2o),
                           float((l2o["verdict"] == HOLDS).sum()), p2, v2,
                           "statistic: activations where L2 lowers final test loss minus its minimum")]
        else:
            parts = [_part("paired wilcoxon", 0, float("nan"), float("nan"), INCONCLUSIVE,
                           "no runs with and without L2 on the same seeds")]
        c["3"] = {"claim": CLAIMS[3], "verdict": _combine(parts), "parts": parts}
        # 4: only the last layer's compression correlates positively with test accuracy (pooled)
        r = t[(t["claim"] == 4) & (t["pool"] == "pooled") & (t["measure"] == "final_test_acc")
              & (t["test"] == "spearman")]
        parts = []
        if len(r):
            layers = sorted(int(v) for v in r["layer"].unique())
            last_hidden = layers[-2] if len(layers) > 1 else layers[-1]
            for name, last in (("softmax output", layers[-1]), ("last hidden layer", last_hidden)):
                mine, others = r[r["layer"] == last], r[r["layer"] != last]
                positive_elsewhere = bool((others["verdict"] == HOLDS).any())
                v = mine["verdict"].iloc[0]
                if v == HOLDS and positive_elsewhere:
                    v = FAILS
                parts.append(_part(f"spearman, C vs final test accuracy across runs ({name} = layer {last})",
                                   int(mine["n"].iloc[0]), float(mine["statistic"].iloc[0]),
                                   float(mine["p_adjusted"].iloc[0]), v,
                                   "holds when this layer correlates positively (Holm across layers) "
                                   "and no other layer does"))
        # the paper's "last layer" may mean either: the claim holds when it holds for one of them
        v4 = INCONCLUSIVE if not parts else (
            HOLDS if any(p["verdict"] == HOLDS for p in parts) else _combine(parts))
        c["4"] = {"claim": CLAIMS[4], "verdict": v4, "parts": parts}
        out[str(estimator)] = c
    return {"alpha": ALPHA, "n_runs": n_runs, "estimators": out}
