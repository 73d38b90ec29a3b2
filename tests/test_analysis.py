"""ibfast.analysis on constructed tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
stats = pytest.importorskip("scipy.stats")
from ibfast import analysis  # noqa: E402
from ibfast.analysis.stats import FAILS, HOLDS, INCONCLUSIVE  # noqa: E402

EPOCHS = np.arange(60)


def _table(curves, metrics=None, estimator="ebab"):
    """Tidy rows from {(activation, l2, seed, layer): i_xt curve}; metrics per (activation, l2, seed)."""
    rows = []
    for (activation, l2, seed, layer), curve in curves.items():
        m = (metrics or {}).get((activation, l2, seed), {})
        for e, v in zip(EPOCHS[:len(curve)], curve, strict=True):
            rows.append({"activation": activation, "l2": l2, "estimator": estimator, "estimator_params": "{}",
                         "layer": layer, "is_output": layer == 3, "seed": seed, "epoch": int(e),
                         "i_xt": float(v), "i_ty": float(m.get("i_ty", 0.5)),
                         "train_acc": m.get("train_acc", 0.9), "test_acc": m.get("test_acc", 0.8),
                         "train_loss": m.get("train_loss", 0.3),
                         "test_loss": float(m.get("test_loss_curve", np.full(len(curve), 0.5))[e])})
    return pd.DataFrame(rows)


def _compressing_curve(peak=10.0, final=8.0, peak_at=20, flat=15):
    up = np.linspace(2.0, peak, peak_at + 1)
    down = np.linspace(peak, final, len(EPOCHS) - peak_at - flat)[1:]
    return np.concatenate([up, down, np.full(flat, final)])


# ---- per run -------------------------------------------------------------------------------------


def test_a_layer_that_compresses_by_exactly_2_bits():
    runs = analysis.per_run(_table({("tanh", 0.0, 0, 1): _compressing_curve()}))
    r = runs.iloc[0]
    assert (r["peak"], r["final"], r["compression"]) == (10.0, 8.0, 2.0)
    assert r["peak_epoch"] == 20 and r["compression_rel"] == pytest.approx(0.2)
    assert r["noise_sd"] == 0.0 and r["noise_floor"] == 0.0 and bool(r["compressing"])
    assert r["n_epochs"] == 60


def test_a_rising_layer_does_not_compress():
    runs = analysis.per_run(_table({("relu", 0.0, 0, 1): np.linspace(1, 9, 60)}))
    assert runs["compression"].item() == 0.0 and not runs["compressing"].item()


def test_noise_only_curves_are_not_called_compressing():
    rng = np.random.default_rng(1)
    curves = {("tanh", 0.0, s, 1): 5.0 + 0.1 * rng.standard_normal(60) for s in range(200)}
    runs = analysis.per_run(_table(curves))
    assert (runs["compression"] > 0).mean() > 0.9  # peak - final is positive for noise too ...
    assert runs["compressing"].mean() < 0.05       # ... but it does not clear the floor
    # the floor is the documented multiple of the late-epoch sd
    k = analysis.noise_window(60)
    first = curves["tanh", 0.0, 0, 1]
    assert runs.iloc[0]["noise_sd"] == pytest.approx(np.std(first[-k:], ddof=1))
    assert runs.iloc[0]["noise_floor"] == pytest.approx((math.sqrt(2 * math.log(60)) + 3) * np.std(first[-k:],
                                                                                                    ddof=1))
    tests = analysis.claim1(runs)
    cell = tests[tests["part"] == "compression above the noise floor"]
    assert cell["verdict"].item() == FAILS


def test_generalisation_measures_and_delta_i_ty():
    loss = np.concatenate([np.linspace(1.0, 0.2, 30), np.linspace(0.2, 0.5, 30)])
    df = _table({("tanh", 0.0, 0, 1): _compressing_curve()},
                {("tanh", 0.0, 0): {"train_acc": 0.95, "test_acc": 0.85, "test_loss_curve": loss}})
    df.loc[df["epoch"] >= 20, "i_ty"] = 0.9  # I(T;Y) at the peak epoch (20) and after
    df.loc[df["epoch"] >= 40, "i_ty"] = 0.95
    r = analysis.per_run(df).iloc[0]
    assert r["gen_gap"] == pytest.approx(0.10)
    assert r["overfit"] == pytest.approx(0.5 - 0.2)
    assert r["final_test_loss"] == pytest.approx(0.5)
    assert r["i_ty_at_peak"] == 0.9 and r["delta_i_ty"] == pytest.approx(0.05)


def test_mean_curve_compression_is_of_the_seed_mean():
    a, b = _compressing_curve(10, 8), _compressing_curve(12, 6, peak_at=10)
    out = analysis.mean_curve_compression(_table({("tanh", 0.0, 0, 1): a, ("tanh", 0.0, 1, 1): b}))
    mean = (a + b) / 2
    assert out["mean_curve_compression"].item() == pytest.approx(mean.max() - mean[-1])
    assert out["n_seeds"].item() == 2


# ---- across seeds ---------------------------------------------------------------------------------


def test_across_seeds_statistics():
    comp = [1.0, 2.0, 3.0, 4.0, 10.0]
    curves = {("tanh", 0.0, s, 1): _compressing_curve(10, 10 - c) for s, c in enumerate(comp)}
    runs = analysis.per_run(_table(curves))
    agg = analysis.across_seeds(runs).iloc[0]
    assert agg["n"] == 5 and agg["mean"] == pytest.approx(4.0) and agg["median"] == pytest.approx(3.0)
    assert agg["sd"] == pytest.approx(np.std(comp, ddof=1))
    assert agg["iqr"] == pytest.approx(np.percentile(comp, 75) - np.percentile(comp, 25))
    assert agg["ci_low"] < 4.0 < agg["ci_high"] and agg["ci_low"] >= 1.0 and agg["ci_high"] <= 10.0
    assert agg["fraction_compressing"] == 1.0


def test_holm_by_hand():
    np.testing.assert_allclose(analysis.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(analysis.holm([np.nan, 0.2])[0]) and analysis.holm([np.nan, 0.2])[1] == 0.2


# ---- claim 1 -------------------------------------------------------------------------------------


def test_claim1_compressing_seeds_and_activations_that_differ():
    rng = np.random.default_rng(3)
    curves = {}
    for s in range(8):
        curves["relu", 0.0, s, 1] = _compressing_curve(10, 10 - (1.0 + 0.1 * rng.random()))
        curves["tanh", 0.0, s, 1] = _compressing_curve(10, 10 - (3.0 + 0.1 * rng.random()))
    runs = analysis.per_run(_table(curves))
    t = analysis.claim1(runs)
    above = t[t["part"] == "compression above the noise floor"]
    assert (above["verdict"] == HOLDS).all() and (above["n"] == 8).all()
    # the exact one-sided signed-rank p for 8 positive differences is 1/256, Holm over 2 cells
    assert above["p_value"].to_numpy() == pytest.approx([1 / 256, 1 / 256])
    assert above["p_adjusted"].to_numpy() == pytest.approx([2 / 256, 2 / 256])
    kw = t[t["part"] == "compression differs between activations"].iloc[0]
    c = {a: runs[runs["activation"] == a]["compression"] for a in ("relu", "tanh")}
    h, p = stats.kruskal(c["relu"], c["tanh"])
    assert kw["statistic"] == pytest.approx(h) and kw["p_value"] == pytest.approx(p)
    assert kw["verdict"] == HOLDS
    pair = t[t["part"] == "pairwise difference between activations"].iloc[0]
    assert pair["activation"] == "relu vs tanh" and pair["effect_size"] == pytest.approx(-1.0)


def test_too_few_seeds_are_inconclusive():
    curves = {("relu", 0.0, s, 1): _compressing_curve(10, 8) for s in range(3)}
    t = analysis.claim1(analysis.per_run(_table(curves)))
    assert t[t["part"] == "compression above the noise floor"]["verdict"].item() == INCONCLUSIVE


# ---- claim 2 -------------------------------------------------------------------------------------


def test_claim2_spread_between_seeds_against_within_run_noise():
    rng = np.random.default_rng(5)
    curves = {}
    for s in range(6):
        spread = _compressing_curve(10, 10 - (0.5 + s))  # C from 0.5 to 5.5 bits
        curves["relu", 0.0, s, 1] = spread + 0.01 * rng.standard_normal(60)
        curves["tanh", 0.0, s, 1] = _compressing_curve(10, 8) + 0.01 * rng.standard_normal(60)
    runs = analysis.per_run(_table(curves))
    t = analysis.claim2(runs).set_index("activation")
    assert t.loc["relu", "verdict"] == HOLDS and t.loc["tanh", "verdict"] == FAILS
    c = runs[runs["activation"] == "relu"]
    f = np.var(c["compression"], ddof=1) / (2 * np.mean(c["noise_sd"] ** 2))
    assert t.loc["relu", "statistic"] == pytest.approx(f)
    df2 = 6 * (analysis.noise_window(60) - 1)
    assert t.loc["relu", "p_value"] == pytest.approx(stats.f.sf(f, 5, df2))


# ---- claim 3 -------------------------------------------------------------------------------------


def test_claim3_paired_wilcoxon_matches_scipy():
    diffs = np.array([0.5, 1.0, -0.2, 0.8, 1.5, 0.3, 0.9])
    curves, metrics = {}, {}
    for s, d in enumerate(diffs):
        curves["tanh", 0.0, s, 1] = _compressing_curve(10, 8)
        curves["tanh", 0.015, s, 1] = _compressing_curve(10, 8 - d)
        loss_off = np.concatenate([np.linspace(1, 0.2, 30), np.linspace(0.2, 0.6, 30)])
        loss_on = np.concatenate([np.linspace(1, 0.25, 30), np.full(30, 0.25)])
        metrics["tanh", 0.0, s] = {"test_loss_curve": loss_off, "train_acc": 1.0, "test_acc": 0.8}
        metrics["tanh", 0.015, s] = {"test_loss_curve": loss_on, "train_acc": 0.95, "test_acc": 0.85}
    runs = analysis.per_run(_table(curves, metrics))
    t = analysis.claim3(runs)
    comp = t[t["part"] == "L2 increases compression"].iloc[0]
    ref = stats.wilcoxon(diffs, alternative="greater")
    assert comp["statistic"] == pytest.approx(ref.statistic) and comp["p_value"] == pytest.approx(ref.pvalue)
    ranks = stats.rankdata(np.abs(diffs))
    rank_biserial = (ranks[diffs > 0].sum() - ranks[diffs < 0].sum()) / ranks.sum()
    assert comp["effect_size"] == pytest.approx(rank_biserial)
    assert comp["verdict"] == HOLDS and comp["n"] == 7
    over = t[t["part"] == "L2 lowers overfit"].iloc[0]
    assert over["verdict"] == HOLDS and over["mean_difference"] == pytest.approx(0.0 - 0.4)
    gap = t[t["part"] == "L2 lowers gen_gap"].iloc[0]
    assert gap["verdict"] == HOLDS and gap["mean_difference"] == pytest.approx(-0.1)
    # no L2 runs: no claim-3 tests
    assert analysis.claim3(runs[runs["l2"] == 0]).empty


# ---- claim 4 -------------------------------------------------------------------------------------


def test_claim4_a_perfect_correlation_in_the_last_layer_only():
    rng = np.random.default_rng(8)
    curves, metrics = {}, {}
    accs = np.linspace(0.7, 0.95, 10)
    for s, acc in enumerate(accs):
        for layer in (1, 2, 3):
            c = 10 * acc - 6 if layer == 3 else rng.uniform(0.5, 2.0)  # layer 3: C = 10 acc - 6
            curves["relu", 0.0, s, layer] = _compressing_curve(10, 10 - c)
        metrics["relu", 0.0, s] = {"test_acc": acc, "train_acc": 1.0}
    runs = analysis.per_run(_table(curves, metrics))
    t = analysis.claim4(runs)
    acc = t[(t["measure"] == "final_test_acc") & (t["pool"] == "pooled")].set_index(["layer", "test"])
    assert acc.loc[(3, "spearman"), "statistic"] == pytest.approx(1.0)
    assert acc.loc[(3, "pearson"), "statistic"] == pytest.approx(1.0)
    assert acc.loc[(3, "spearman"), "verdict"] == HOLDS
    assert acc.loc[(1, "spearman"), "verdict"] != HOLDS and acc.loc[(2, "spearman"), "verdict"] != HOLDS
    x = runs[runs["layer"] == 1]
    assert acc.loc[(1, "spearman"), "p_value"] == pytest.approx(
        stats.spearmanr(x["compression"], x["final_test_acc"]).pvalue)
    pooled = t[t["pool"] == "pooled"]
    gap = pooled[(pooled["measure"] == "gen_gap") & (pooled["layer"] == 3) & (pooled["test"] == "pearson")]
    assert gap["statistic"].item() == pytest.approx(-1.0) and gap["verdict"].item() == HOLDS
    h = analysis.headline(analysis.all_claims(runs), runs)
    four = h["estimators"]["ebab"]["4"]
    assert four["verdict"] == HOLDS
    assert four["parts"][0]["statistic"] == pytest.approx(1.0)


def test_headline_shape():
    curves = {("relu", 0.0, s, 1): _compressing_curve(10, 8 - 0.1 * s) for s in range(6)}
    runs = analysis.per_run(_table(curves))
    h = analysis.headline(analysis.all_claims(runs), runs)
    assert h["alpha"] == 0.05 and h["n_runs"] == 6
    claims = h["estimators"]["ebab"]
    assert sorted(claims) == ["1", "2", "3", "4"]
    assert claims["1"]["parts"][0]["verdict"] == HOLDS  # relu compresses by ~2 bits in every seed
    assert claims["3"]["verdict"] == INCONCLUSIVE  # no L2 runs
    for c in claims.values():
        assert c["verdict"] in (HOLDS, FAILS, INCONCLUSIVE)
        assert all({"test", "n", "statistic", "p_value", "verdict"} <= set(p) for p in c["parts"])


def test_a_test_that_cannot_reach_alpha_after_holm_is_inconclusive():
    # 5 seeds: the one-sided signed-rank p is 1/32 at best. Alone that is significant ...
    one = {("relu", 0.0, s, 1): _compressing_curve(10, 8 - 0.1 * s) for s in range(5)}
    t = analysis.claim1(analysis.per_run(_table(one)))
    assert t[t["part"] == "compression above the noise floor"]["verdict"].item() == HOLDS
    # ... but never after Holm over 4 cells (4/32 > 0.05): inconclusive, not "does not hold"
    four = {("relu", 0.0, s, layer): _compressing_curve(10, 8 - 0.1 * s)
            for s in range(5) for layer in (1, 2, 3)}
    four.update({("tanh", 0.0, s, 1): _compressing_curve(10, 8 - 0.1 * s) for s in range(5)})
    t = analysis.claim1(analysis.per_run(_table(four)))
    cells = t[t["part"] == "compression above the noise floor"]
    assert len(cells) == 4 and (cells["verdict"] == INCONCLUSIVE).all()
    assert (cells["p_value"] == 1 / 32).all()
