"""ibfast.analysis on constructed tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
stats = pytest.importorskip("scipy.stats")
from ibfast import analysis  # noqa: E402

EPOCHS = np.arange(60)


def _table(curves, metrics=None, estimator="ebab"):
    """Tidy rows from {(activation, l2, seed, layer): i_xt curve}; metrics per (activation, l2, seed)."""
    rows = []
    for (activation, l2, seed, layer), curve in curves.items():
        m = (metrics or {}).get((activation, l2, seed), {})
        for e, v in zip(EPOCHS[: len(curve)], curve, strict=True):
            rows.append(
                {
                    "activation": activation,
                    "l2": l2,
                    "estimator": estimator,
                    "estimator_params": "{}",
                    "layer": layer,
                    "is_output": layer == 3,
                    "seed": seed,
                    "epoch": int(e),
                    "i_xt": float(v),
                    "i_ty": float(m.get("i_ty", 0.5)),
                    "train_acc": m.get("train_acc", 0.9),
                    "test_acc": m.get("test_acc", 0.8),
                    "train_loss": m.get("train_loss", 0.3),
                    "test_loss": float(m.get("test_loss_curve", np.full(len(curve), 0.5))[e]),
                }
            )
    return pd.DataFrame(rows)


def _compressing_curve(peak=10.0, final=8.0, peak_at=20, flat=15, hold=3):
    """Up to ``peak`` at ``peak_at``, held ``hold`` epochs, down to ``final``, flat ``flat`` epochs."""
    up = np.linspace(2.0, peak, peak_at + 1)
    down = np.linspace(peak, final, len(EPOCHS) - peak_at - flat - hold)[1:]
    return np.concatenate([up, np.full(hold, peak), down, np.full(flat, final)])


# ---- per run -------------------------------------------------------------------------------------


def test_a_layer_that_compresses_by_exactly_2_bits():
    runs = analysis.per_run(_table({("tanh", 0.0, 0, 1): _compressing_curve()}))
    r = runs.iloc[0]
    assert (r["peak"], r["final"], r["compression"]) == (10.0, 8.0, 2.0)
    assert 20 <= r["peak_epoch"] <= 22 and r["compression_rel"] == pytest.approx(0.2)
    # an exact curve has no noise, and the floor is the minimum effect
    assert r["noise_sd"] == pytest.approx(0.0, abs=1e-12) and r["noise_floor"] == analysis.KEYS.min_effect
    assert bool(r["compressing"]) and r["status"] == "compressing" and not r["saturated"]
    assert r["n_epochs"] == 60


def test_a_rising_layer_does_not_compress():
    runs = analysis.per_run(_table({("relu", 0.0, 0, 1): np.linspace(1, 9, 60)}))
    # the peak is searched before the final window, so a curve rising to its end has C < 0
    assert runs["compression"].item() < 0 and not runs["compressing"].item()


def test_noise_only_curves_are_not_called_compressing():
    rng = np.random.default_rng(1)
    curves = {("tanh", 0.0, s, 1): 5.0 + 0.1 * rng.standard_normal(60) for s in range(200)}
    runs = analysis.per_run(_table(curves), analysis.Keys(min_effect=0.0))
    assert runs["compressing"].mean() < 0.05  # the floor is earned by the noise term alone
    # the floor is the documented multiple of the curve's noise (first differences, noisiest block)
    first = curves["tanh", 0.0, 0, 1][1:]
    sd = analysis.curve_noise(first)
    d = np.diff(first)
    blocks = np.array_split(d, analysis.KEYS.noise_blocks)
    by_hand = max(1.4826 * np.median(np.abs(b - np.median(b))) / math.sqrt(2) for b in blocks)
    assert sd == pytest.approx(by_hand) and runs.iloc[0]["noise_sd"] == pytest.approx(by_hand)
    assert runs.iloc[0]["noise_floor"] == pytest.approx((math.sqrt(2 * math.log(59)) + 3) * by_hand)
    assert 0.07 < by_hand < 0.15  # close to the true sd 0.1


def test_a_slow_trend_is_not_noise():
    trend = np.linspace(8.0, 4.0, 60)  # falls 4 bits in even steps: no noise at all
    assert analysis.curve_noise(trend) == pytest.approx(0.0, abs=1e-12)


def test_generalisation_measures_and_delta_i_ty():
    loss = np.concatenate([np.linspace(1.0, 0.2, 30), np.linspace(0.2, 0.5, 30)])
    df = _table(
        {("tanh", 0.0, 0, 1): _compressing_curve()},
        {("tanh", 0.0, 0): {"train_acc": 0.95, "test_acc": 0.85, "test_loss_curve": loss}},
    )
    df.loc[df["epoch"] >= 20, "i_ty"] = 0.9  # I(T;Y) at the peak epoch (20) and after
    df.loc[df["epoch"] >= 40, "i_ty"] = 0.95
    r = analysis.per_run(df).iloc[0]
    assert r["gen_gap"] == pytest.approx(0.10)
    assert r["overfit"] == pytest.approx(0.5 - 0.2)
    assert r["final_test_loss"] == pytest.approx(0.5)
    assert r["i_ty_at_peak"] == 0.9 and r["delta_i_ty"] == pytest.approx(0.05)


def test_the_ceiling_comes_from_the_samples():
    flat = np.full(60, 9.99)
    assert analysis.per_run(_table({("relu", 0.0, 0, 1): flat}), analysis.Keys(n_samples=1024))[
        "saturated"
    ].item()
    assert not analysis.per_run(_table({("relu", 0.0, 0, 1): flat}))["saturated"].item()  # 12-bit ceiling
    df = _table({("relu", 0.0, 0, 1): flat}).assign(n_samples=1024)  # a column wins over the key
    assert analysis.per_run(df)["saturated"].item()


def test_mean_curve_compression_is_the_contrast_of_the_seed_mean():
    a, b = _compressing_curve(10, 8), _compressing_curve(12, 6, peak_at=10)
    out = analysis.mean_curve_compression(_table({("tanh", 0.0, 0, 1): a, ("tanh", 0.0, 1, 1): b}))
    mean = (a + b) / 2
    want = analysis.contrast(mean, EPOCHS)["compression"]
    assert out["mean_curve_compression"].item() == pytest.approx(float(want))
    assert out["n_seeds"].item() == 2


# ---- across seeds ---------------------------------------------------------------------------------


def test_across_seeds_statistics():
    comp = [1.0, 2.0, 3.0, 4.0, 10.0]
    curves = {("tanh", 0.0, s, 1): _compressing_curve(11, 11 - c) for s, c in enumerate(comp)}
    runs = analysis.per_run(_table(curves))
    agg = analysis.across_seeds(runs).iloc[0]
    assert agg["n"] == 5 and agg["mean"] == pytest.approx(4.0) and agg["median"] == pytest.approx(3.0)
    assert agg["sd"] == pytest.approx(np.std(comp, ddof=1))
    assert agg["iqr"] == pytest.approx(np.percentile(comp, 75) - np.percentile(comp, 25))
    assert agg["ci_low"] < 4.0 < agg["ci_high"] and agg["ci_low"] >= 1.0 and agg["ci_high"] <= 10.0
    assert agg["fraction_compressing"] == 1.0 and agg["n_saturated"] == 0


def test_holm_by_hand():
    np.testing.assert_allclose(analysis.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(analysis.holm([np.nan, 0.2])[0]) and analysis.holm([np.nan, 0.2])[1] == 0.2
