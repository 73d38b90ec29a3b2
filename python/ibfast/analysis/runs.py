"""Per-run measures of compression: one row per run (settings x seed) x estimator x layer.

Inputs are ibfast's tidy results table (``Experiment.run()``, ``read_results``): any columns that
are not measurements name the run, so tables of different settings are never mixed.

For a run's I(X;T) curve over its n recorded epochs:
- ``peak``: the largest I(X;T), ``peak_epoch`` its (first) epoch; ``final``: I(X;T) at the last
  recorded epoch; ``compression`` C = peak - final (bits), ``compression_rel`` = C / peak.
- ``delta_i_ty``: I(T;Y) at the last epoch minus I(T;Y) at the peak epoch (> 0: the layer gained
  label information while it compressed, the information-bottleneck picture).
- ``noise_sd``: the standard deviation of I(X;T) over the last k recorded epochs,
  k = max(3, min(10, n // 4)); ``noise_floor`` = (sqrt(2 ln n) + 3) * noise_sd. C is always >= 0,
  even for pure noise, because the peak is the largest of n values: for n independent values the
  expected excess of the largest over the mean is about sqrt(2 ln n) standard deviations, and 3
  more cover the final value's own noise and the estimate of the sd from a few epochs. On curves of
  pure noise this calls fewer than 5% of runs compressing for n >= 20 (tested).
  ``compressing`` = C > noise_floor.
- Generalisation at the last recorded epoch: ``final_{train,test}_{acc,loss}``, ``gen_gap`` =
  train accuracy - test accuracy, and ``overfit`` = final test loss - its minimum over the
  recorded epochs (0 when the test loss never rose again).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..results import run_keys

METRICS = ("train_acc", "test_acc", "train_loss", "test_loss")


def noise_window(n_epochs: int) -> int:
    """How many of the last recorded epochs estimate the within-run noise."""
    return max(3, min(10, n_epochs // 4))


def noise_multiplier(n_epochs: int) -> float:
    """The noise floor in units of the late-epoch sd, for a curve of ``n_epochs`` points."""
    return math.sqrt(2.0 * math.log(max(n_epochs, 2))) + 3.0


def _one_curve(g: pd.DataFrame) -> dict[str, float]:
    g = g.sort_values("epoch")
    i_xt = g["i_xt"].to_numpy(dtype=float)
    n = i_xt.size
    at_peak = int(np.argmax(i_xt))
    peak, final = float(i_xt[at_peak]), float(i_xt[-1])
    k = min(n, noise_window(n))
    noise_sd = float(np.std(i_xt[-k:], ddof=1)) if k > 1 else float("nan")
    floor = noise_multiplier(n) * noise_sd
    i_ty = g["i_ty"].to_numpy(dtype=float)
    test_loss = g["test_loss"].to_numpy(dtype=float)
    last = g.iloc[-1]
    return {
        "n_epochs": n,
        "peak": peak,
        "peak_epoch": int(g["epoch"].iloc[at_peak]),
        "final": final,
        "compression": peak - final,
        "compression_rel": (peak - final) / peak if peak > 0 else 0.0,
        "i_ty_at_peak": float(i_ty[at_peak]),
        "i_ty_final": float(i_ty[-1]),
        "delta_i_ty": float(i_ty[-1] - i_ty[at_peak]),
        "noise_sd": noise_sd,
        "noise_floor": floor,
        "compressing": bool(peak - final > floor) if not math.isnan(floor) else False,
        **{f"final_{m}": float(last[m]) for m in METRICS},
        "gen_gap": float(last["train_acc"] - last["test_acc"]),
        "overfit": float(test_loss[-1] - np.min(test_loss)),
    }


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run x estimator x layer with the measures above (see the module docstring)."""
    if df.empty:
        raise ValueError("the results table is empty")
    missing = {"seed", "epoch", "i_xt", "i_ty", *METRICS} - set(df.columns)
    if missing:
        raise ValueError(f"the results table lacks the columns {sorted(missing)}")
    keys = [*run_keys(df), "seed"]
    rows = [{**dict(zip(keys, key, strict=True)), **_one_curve(g)}
            for key, g in df.groupby(keys, dropna=False, sort=True)]
    return pd.DataFrame(rows)


def mean_curve_compression(df: pd.DataFrame) -> pd.DataFrame:
    """C of the seed-mean curve (what the papers' figures show), per settings x estimator x layer:
    I(X;T) is averaged over seeds at each epoch, then peak - final of that curve."""
    keys = run_keys(df)
    curve = df.groupby([*keys, "epoch"], dropna=False, sort=True)["i_xt"].mean()
    by_layer = curve.groupby(level=keys, dropna=False, sort=True)
    out = pd.DataFrame({"mean_curve_peak": by_layer.max(), "mean_curve_final": by_layer.last()})
    out["mean_curve_compression"] = out["mean_curve_peak"] - out["mean_curve_final"]
    out["n_seeds"] = df.groupby(keys, dropna=False, sort=True)["seed"].nunique()
    return out.reset_index()
