"""The claim statistics on constructed tables whose answers are known: every flaw of the old
design (issue 16) as a case, real effects of known size supported and estimated within their
intervals, and the verdict words."""

from __future__ import annotations

import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
stats = pytest.importorskip("scipy.stats")
from ibfast import analysis  # noqa: E402
from ibfast.analysis import Keys  # noqa: E402
from ibfast.analysis.stats import (  # noqa: E402
    CONTRADICTED,
    NOT_SHOWN,
    SUPPORTED,
    UNDECIDED,
    UNMEASURABLE,
    VERDICTS,
)

EPOCHS = np.arange(60)
LAYERS = (1, 2, 3, 4)  # 4 is the softmax output
FAST = Keys(n_boot=500)


def rise_fall(drop, top=8.0, rise_until=15, fall_from=20, fall_until=40):
    """Up from 2 bits to ``top`` by ``rise_until``, flat, down by ``drop`` from ``fall_from`` to
    ``fall_until``, then flat."""
    t = EPOCHS.astype(float)
    up = 2.0 + (top - 2.0) * np.minimum(t / rise_until, 1.0)
    return up - drop * np.clip((t - fall_from) / (fall_until - fall_from), 0.0, 1.0)


def table(
    curve,
    acc=None,
    activations=("relu", "swish"),
    l2s=(0.0,),
    seeds=range(8),
    estimator="ebab",
    params='{"n_bins": 30}',
    noise=0.02,
    rng_seed=0,
    overfit=None,
):
    """Tidy rows: ``curve(activation, l2, seed, layer) -> I(X;T) per epoch``; ``acc(activation,
    l2, seed) -> final test accuracy``; ``overfit(activation, l2, seed) -> test loss rise``."""
    rng = np.random.default_rng(rng_seed)
    frames = []
    for a in activations:
        for l2 in l2s:
            for s in seeds:
                test_acc = acc(a, l2, s) if acc else 0.8
                rise = overfit(a, l2, s) if overfit else 0.0
                loss = np.concatenate([np.linspace(1.0, 0.3, 30), 0.3 + np.linspace(0, rise, 30)])
                for layer in LAYERS:
                    i_xt = np.asarray(curve(a, l2, s, layer), float) + noise * rng.standard_normal(
                        EPOCHS.size
                    )
                    frames.append(
                        pd.DataFrame(
                            {
                                "data": "twelve_bit",
                                "data_source": "generator(seed=0)",
                                "activation": a,
                                "l2": l2,
                                "estimator": estimator,
                                "estimator_params": params,
                                "layer": layer,
                                "is_output": layer == LAYERS[-1],
                                "seed": s,
                                "epoch": EPOCHS,
                                "i_xt": i_xt,
                                "i_ty": 0.5,
                                "train_acc": 0.95,
                                "test_acc": test_acc,
                                "train_loss": 0.2,
                                "test_loss": loss,
                            }
                        )
                    )
    return pd.concat(frames, ignore_index=True)


def primary(tests, claim, part=None, label="ebab"):
    t = tests[(tests["claim"] == claim) & (tests["role"] == "primary") & (tests["estimator_label"] == label)]
    if part is not None:
        t = t[t["part"].str.contains(part)]
    assert len(t) == 1, t
    return t.iloc[0]


# ---- the per-run contrast ------------------------------------------------------------------------


def test_a_known_drop_is_measured_and_compresses():
    runs = analysis.per_run(
        table(lambda a, l2, s, layer: rise_fall(2.0), noise=0.0, activations=("relu",), seeds=[0])
    )
    r = runs[runs["layer"] == 1].iloc[0]
    assert r["peak"] == pytest.approx(8.0) and r["final"] == pytest.approx(6.0)
    assert r["compression"] == pytest.approx(2.0) and r["peak_epoch"] == 15
    assert r["noise_floor"] == pytest.approx(0.1)  # an exact curve: the minimum effect is the floor
    assert r["compressing"] and r["status"] == "compressing" and not r["saturated"]


def test_an_epoch_0_peak_is_not_compression():
    # the untrained network starts high; training drops it at once and then it only rises
    def curve(a, l2, s, layer):
        c = 6.0 + 0.02 * EPOCHS
        c[0] = 10.0
        return c

    runs = analysis.per_run(table(curve, activations=("relu",), seeds=[0]))
    assert (runs["compression"] < 0.15).all() and not runs["compressing"].any()  # noise only
    assert (runs["peak_epoch"] >= 1).all()
    # the key says where the search starts: from epoch 0 the drop would count
    old = analysis.per_run(table(curve, activations=("relu",), seeds=[0]), Keys(first_epoch=0))
    assert old["compressing"].all()


def test_a_single_epoch_spike_is_not_a_peak():
    def curve(a, l2, s, layer):
        c = np.full(EPOCHS.size, 6.0)
        c[20] = 9.0
        return c

    runs = analysis.per_run(table(curve, activations=("relu",), seeds=[0]))
    assert (runs["compression"] < 0.1).all() and not runs["compressing"].any()


def test_flat_saturated_layers_with_a_one_collision_drop():
    # EBAB at its ceiling log2(4096) = 12 bits, one collision at the end: 11.9995
    def curve(a, l2, s, layer):
        c = np.full(EPOCHS.size, 12.0)
        c[-5:] = 11.9995
        return c

    df = table(curve, noise=0.0, seeds=range(6))
    runs = analysis.per_run(df)
    assert runs["saturated"].all() and not runs["compressing"].any() and (runs["status"] == "saturated").all()
    tests = analysis.all_claims(runs, FAST)
    assert primary(tests, 1, "floor")["verdict"] == UNMEASURABLE
    assert primary(tests, 2)["verdict"] == UNMEASURABLE  # no evidence for claim 2
    h = analysis.headline(tests, runs, FAST)
    assert h["estimator_info"]["ebab"]["saturated_runs"] == len(runs)
    # the same drop below the ceiling: measurable, but under the minimum effect
    low = analysis.per_run(table(lambda a, l2, s, layer: curve(a, l2, s, layer) - 4, noise=0.0, seeds=[0]))
    assert not low["saturated"].any() and not low["compressing"].any()


def test_noise_is_from_the_whole_curve_not_the_late_window():
    rng = np.random.default_rng(2)
    early = 6.0 + 0.5 * (EPOCHS < 30) * rng.standard_normal(EPOCHS.size)  # noisy early, flat late
    sd = analysis.curve_noise(early[1:])
    assert sd > 0.3  # the late window alone would say 0
    m = analysis.contrast(early, EPOCHS)
    assert not m["compressing"]


# ---- claim 1 -------------------------------------------------------------------------------------


def test_output_only_compression_does_not_support_claim_1():
    def curve(a, l2, s, layer):
        return rise_fall(3.0 if layer == 4 else 0.0, top=6.0 + layer)

    runs = analysis.per_run(table(curve, seeds=range(10)))
    tests = analysis.claim1(runs, FAST)
    assert primary(tests, 1, "floor")["verdict"] != SUPPORTED
    out = tests[tests["role"] == "output layer"]
    assert len(out) == 2 and (out["p_value"] < 0.01).all()  # the output compresses, reported apart


def test_compression_in_a_non_saturating_hidden_layer_supports_claim_1a():
    def curve(a, l2, s, layer):
        return rise_fall(2.0 if (a, layer) == ("relu", 2) else 0.0, top=6.0 + layer)

    runs = analysis.per_run(table(curve, seeds=range(10)))
    p = primary(analysis.claim1(runs, FAST), 1, "floor")
    assert p["verdict"] == SUPPORTED and p["cells"] == "supported in 1 of 6 cells"
    # 10 seeds, Holm over 6 cells: 6 / 1024
    assert p["p_adjusted"] == pytest.approx(6 / 1024)


def test_claim_1b_friedman_blocked_by_seed_with_kendalls_w():
    def curve(a, l2, s, layer):
        return rise_fall({"relu": 1.0, "swish": 2.0, "tanh": 3.0}[a] + 0.05 * s, top=8.0)

    runs = analysis.per_run(table(curve, activations=("relu", "swish", "tanh"), seeds=range(6)))
    t = analysis.claim1(runs, FAST)
    cells = t[(t["part"] == "compression differs between activations") & (t["role"] == "cell")]
    assert len(cells) == 3  # hidden layers only
    layer1 = runs[(runs["layer"] == 1)].pivot(index="seed", columns="activation", values="compression")
    ref = stats.friedmanchisquare(*[layer1[a] for a in ("relu", "swish", "tanh")])
    row = cells[cells["layer"] == 1].iloc[0]
    assert row["statistic"] == pytest.approx(ref.statistic) and row["p_value"] == pytest.approx(ref.pvalue)
    assert row["effect"] == pytest.approx(ref.statistic / (6 * 2))  # Kendall's W = 1: same order every seed
    assert row["effect"] == pytest.approx(1.0)
    assert primary(t, 1, "differ")["verdict"] == SUPPORTED


def test_too_few_seeds_are_undecided():
    runs = analysis.per_run(table(lambda a, l2, s, layer: rise_fall(2.0), seeds=range(3)))
    assert primary(analysis.claim1(runs, FAST), 1, "floor")["verdict"] == UNDECIDED


# ---- claim 2 -------------------------------------------------------------------------------------


def test_claim2_a_known_between_seed_sd_is_supported_and_estimated():
    drops = 3.0 + np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, -1.2, 1.2, 0.0, 0.7, -0.7])
    sd = float(np.std(drops, ddof=1))

    def curve(a, l2, s, layer):
        return rise_fall(drops[s], top=8.0)

    runs = analysis.per_run(table(curve, seeds=range(12), noise=0.01))
    p = primary(analysis.claim2(runs, FAST), 2)
    assert p["verdict"] == SUPPORTED
    assert p["ci_low"] <= sd <= p["ci_high"] and p["effect"] == pytest.approx(sd, abs=0.05)
    cells = analysis.claim2(runs, FAST)
    cells = cells[cells["role"] == "cell"]
    assert {"iqr", "cv", "share_between", "iqr_low", "iqr_high"} <= set(cells.columns)
    assert (cells["share_between"] > 0.9).all()


def test_claim2_identical_seeds_are_not_a_lot_of_variation():
    runs = analysis.per_run(table(lambda a, l2, s, layer: rise_fall(2.0), seeds=range(12), noise=0.05))
    p = primary(analysis.claim2(runs, FAST), 2)
    assert p["verdict"] == CONTRADICTED and p["ci_high"] < 0.5  # shown smaller than "large"


# ---- claim 3 -------------------------------------------------------------------------------------


def _l2_table(effect, seeds=range(10), overfit_effect=-0.2):
    rng = np.random.default_rng(9)
    base = rng.uniform(1.0, 2.0, (3, 10))

    def curve(a, l2, s, layer):
        i = ("relu", "swish", "tanh").index(a)
        return rise_fall(base[i, s] + (effect + 0.1 * np.sin(s + i) if l2 > 0 else 0.0), top=6.0 + layer)

    def overfit(a, l2, s):
        # with L2: the effect, give or take a little (never exactly 0: zero differences carry no information)
        return 0.3 + 0.01 * s + ((overfit_effect + 0.02 * np.cos(3 * s + len(a))) if l2 > 0 else 0.0)

    return table(curve, activations=("relu", "swish", "tanh"), l2s=(0.0, 0.015), seeds=seeds, overfit=overfit)


def test_claim3_a_known_effect_is_supported_within_its_interval():
    runs = analysis.per_run(_l2_table(1.5))
    t = analysis.claim3(runs, FAST)
    p = primary(t, 3, "compression")
    assert p["verdict"] == SUPPORTED and p["n"] == 30  # (activation, seed) pairs
    assert p["ci_low"] <= 1.5 <= p["ci_high"] and p["effect"] == pytest.approx(1.5, abs=0.1)
    over = primary(t, 3, "overfitting")
    assert over["verdict"] == SUPPORTED and over["ci_low"] <= -0.2 <= over["ci_high"]
    per_act = t[(t["part"] == "L2 increases compression") & (t["role"] == "cell")]
    assert len(per_act) == 3 and (per_act["verdict"] == SUPPORTED).all()
    h = analysis.headline(analysis.all_claims(runs, FAST), runs, FAST)
    assert h["estimators"]["ebab"]["3"]["verdict"] == SUPPORTED
    assert "n = 30 pairs" in h["estimators"]["ebab"]["3"]["sentence"]


def test_claim3_the_opposite_effect_is_contradicted():
    runs = analysis.per_run(_l2_table(-1.0, overfit_effect=0.0))
    t = analysis.claim3(runs, FAST)
    assert primary(t, 3, "compression")["verdict"] == CONTRADICTED
    assert primary(t, 3, "overfitting")["verdict"] == NOT_SHOWN  # no change is not shown, not "false"
    h = analysis.headline(analysis.all_claims(runs, FAST), runs, FAST)
    assert h["estimators"]["ebab"]["3"]["verdict"] == CONTRADICTED


# ---- claim 4 -------------------------------------------------------------------------------------


def _corr_table(last_only: bool, between_only: bool = False):
    rng = np.random.default_rng(11)
    acc = {
        (a, l2, s): 0.7 + 0.2 * rng.random()
        for a in ("relu", "swish")
        for l2 in (0.0, 0.015)
        for s in range(15)
    }
    shift = {"relu": 0.0, "swish": 0.15}

    def accuracy(a, l2, s):
        return acc[a, l2, s] + (shift[a] if between_only else 0.0)

    def curve(a, l2, s, layer):
        if between_only:  # compression differs by activation only, not within a stratum
            drop = 1.0 + 3.0 * shift[a] / 0.15 + 0.3 * rng.random()
        elif last_only and layer != 4:
            drop = 1.0 + rng.random()
        else:
            drop = 1.0 + 10 * (acc[a, l2, s] - 0.7)
        return rise_fall(drop, top=6.0 + layer)

    return table(curve, accuracy, l2s=(0.0, 0.015), seeds=range(15))


def test_claim4_the_last_layer_only_is_supported():
    runs = analysis.per_run(_corr_table(last_only=True))
    t = analysis.claim4(runs, FAST)
    p = primary(t, 4, "softmax output correlates with final_test_acc")
    assert p["verdict"] == SUPPORTED and p["effect"] > 0.9 and p["cells"] == "larger than 3 of 3 other layers"
    # the combined correlation is the Fisher-z mean, weighted by n - 3, of the strata's Spearman rho
    out = runs[runs["layer"] == 4]
    rhos = [
        stats.spearmanr(g["compression"], g["final_test_acc"]).statistic
        for _, g in out.groupby(["activation", "l2"])
    ]
    assert p["effect"] == pytest.approx(
        np.tanh(np.mean(np.arctanh(np.clip(rhos, -0.999999, 0.999999)))), abs=1e-6
    )


def test_claim4_all_layers_correlating_equally_does_not_support_only():
    runs = analysis.per_run(_corr_table(last_only=False))
    p = primary(analysis.claim4(runs, FAST), 4, "softmax output correlates with final_test_acc")
    assert p["effect"] > 0.9 and p["verdict"] == NOT_SHOWN


def test_claim4_a_correlation_between_activations_only_is_not_within_strata():
    runs = analysis.per_run(_corr_table(last_only=True, between_only=True))
    out = runs[runs["layer"] == 4]
    assert stats.spearmanr(out["compression"], out["final_test_acc"]).statistic > 0.5  # pooled: strong
    p = primary(analysis.claim4(runs, FAST), 4, "softmax output correlates with final_test_acc")
    assert p["verdict"] != SUPPORTED and abs(p["effect"]) < 0.4


# ---- claims.json ---------------------------------------------------------------------------------


def test_headline_names_source_parameters_baselines_and_keys():
    f = lambda a, l2, s, layer: rise_fall(1.0 + 0.1 * s)  # noqa: E731
    df = pd.concat(
        [
            table(f, estimator="adaptive_kde_upper", params=json.dumps({"scale": 1e-3, "power": 1})),
            table(f, estimator="adaptive_kde_upper", params=json.dumps({"scale": 1e-3, "power": 2})),
            table(f, estimator="kde_upper", params=json.dumps({"noise_variance": 1e-3})),
        ],
        ignore_index=True,
    )
    runs = analysis.per_run(df)
    h = analysis.headline(analysis.all_claims(runs, FAST), runs, FAST)
    labels = set(h["estimators"])
    assert labels == {"adaptive_kde_upper[power=1]", "adaptive_kde_upper[power=2]", "kde_upper"}
    assert (
        h["estimator_info"]["kde_upper"]["baseline"]
        and not h["estimator_info"]["adaptive_kde_upper[power=2]"]["baseline"]
    )
    assert h["estimator_info"]["adaptive_kde_upper[power=2]"]["params"]["power"] == 2
    assert h["data_source"] == ["generator(seed=0)", "twelve_bit"] and h["keys"]["min_effect"] == 0.1
    assert h["n_runs"] == 2 * 8
    for per in h["estimators"].values():
        for c in per.values():
            assert c["verdict"] in VERDICTS and c["sentence"]
            assert "does not hold" not in json.dumps(c)


def test_a_power_1_result_that_power_2_does_not_reproduce_is_flagged():
    h = {
        "estimators": {
            "k[power=1]": {"3": {"verdict": SUPPORTED}},
            "k[power=2]": {"3": {"verdict": NOT_SHOWN}},
            "ebab": {"3": {"verdict": SUPPORTED}},
        },
        "estimator_info": {
            "k[power=1]": {"estimator": "k", "params": {"power": 1}, "baseline": False},
            "k[power=2]": {"estimator": "k", "params": {"power": 2}, "baseline": False},
            "ebab": {"estimator": "ebab", "params": {}, "baseline": False},
        },
    }
    from ibfast.analysis.claims import _agreement

    a = _agreement(h)
    assert not a["agree"] and any("scale-confounded" in n for n in a["notes"])


# ---- the building blocks ---------------------------------------------------------------------------


def test_signed_rank_counts_only_non_zero_differences():
    from ibfast.analysis.stats import min_p_signed_rank, signed_rank

    d = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])
    up, _, n = signed_rank(d)
    assert n == 3 and min_p_signed_rank(n) == 0.125
    assert up == pytest.approx(stats.wilcoxon(d, alternative="greater").pvalue)
    assert signed_rank(np.zeros(5))[0] == 1.0


def test_vectorised_holm_equals_the_definition():
    p = np.array([[0.01, 0.04, 0.03, 0.005], [0.2, np.nan, 0.01, 0.5]])
    np.testing.assert_allclose(analysis.holm(p)[0], [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(analysis.holm(p)[1], [0.4, np.nan, 0.03, 0.5])


def test_verdict_words_and_combination():
    from ibfast.analysis.stats import combine, decide

    assert decide(0.01, 0.9, True) == SUPPORTED and decide(0.9, 0.01, True) == CONTRADICTED
    assert decide(0.2, 0.8, True) == NOT_SHOWN and decide(0.01, 0.9, False) == UNDECIDED
    assert combine([SUPPORTED, SUPPORTED]) == SUPPORTED and combine([SUPPORTED, NOT_SHOWN]) == NOT_SHOWN
    assert combine([SUPPORTED, CONTRADICTED, NOT_SHOWN]) == CONTRADICTED
    assert combine([UNMEASURABLE]) == UNMEASURABLE


def test_claim1_layers_that_only_rise_contradict_and_a_negative_correlation_contradicts_claim4():
    rng = np.random.default_rng(12)
    acc = {(a, s): 0.7 + 0.2 * rng.random() for a in ("relu", "swish") for s in range(10)}

    def curve(a, l2, s, layer):  # every layer rises to its end; the output falls more the better it does
        if layer == 4:
            return rise_fall(1.0 + 10 * (0.9 - acc[a, s]), top=9.0)
        return 2.0 + 0.03 * layer * EPOCHS  # below the 12-bit ceiling: measurable

    runs = analysis.per_run(table(curve, lambda a, l2, s: acc[a, s], seeds=range(10)))
    tests = analysis.all_claims(runs, FAST)
    assert primary(tests, 1, "floor")["verdict"] == CONTRADICTED
    four = primary(tests, 4, "softmax output correlates with final_test_acc")
    assert four["verdict"] == CONTRADICTED and four["effect"] < -0.9
