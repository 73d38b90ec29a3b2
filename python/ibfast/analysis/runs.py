"""Per-run measures of compression: one row per run (settings x seed) x estimator x layer.

Inputs are ibfast's tidy results table (``Experiment.run()``, ``read_results``): any columns that
are not measurements name the run, so tables of different settings are never mixed.

The contrast is pre-specified (keys in :mod:`ibfast.analysis.keys`). For a run's I(X;T) curve,
from ``first_epoch`` on (epoch 0, the untrained network, is excluded by default), n points:

- ``peak``: the largest value, before the final window, of the curve smoothed by a running
  median of ``smooth`` epochs (a single-epoch spike is not a peak), ``peak_epoch`` its epoch;
- ``final``: the mean of the last k = ``noise_window(n)`` points;
- ``compression`` C = peak - final (bits), ``compression_rel`` = C / peak;
- ``noise_sd``: the curve's noise, the largest over ``noise_blocks`` consecutive blocks of the
  robust sd (1.4826 MAD / sqrt 2) of its first differences. First differences remove slow trends
  (a falling curve is not noise); taking the noisiest block makes early noise count, since the
  peak comes from the early epochs; the late window alone is never used (an EBAB plateau has sd 0);
- ``noise_floor`` = max(``min_effect``, ``noise_multiplier(n)`` x noise_sd);
- ``saturated``: the final mean is within ``saturation_margin`` of the ceiling log2 N (N the
  samples: the table's ``n_samples`` or the key); its C cannot show compression: unmeasurable;
- ``compressing`` = C > noise_floor and not saturated; ``status``: "compressing", "not
  compressing" or "saturated".

Generalisation at the last recorded epoch: ``final_{train,test}_{acc,loss}``, ``gen_gap`` = train
accuracy - test accuracy, ``overfit`` = final test loss - its minimum over the recorded epochs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ..results import run_keys
from .keys import KEYS, Keys

METRICS = ("train_acc", "test_acc", "train_loss", "test_loss")
MAD_TO_SD = 1.4826  # sd of a normal distribution per unit of its median absolute deviation


def noise_window(n_epochs: int) -> int:
    """How many of the last points make the final value (their mean)."""
    return max(3, min(10, n_epochs // 4))


def noise_multiplier(n_epochs: int) -> float:
    """The noise floor in units of the curve's noise sd for a curve of ``n_epochs`` points: the
    largest of n values exceeds their mean by about sqrt(2 ln n) sds; 3 more cover the final
    mean's own noise and the estimate of the sd."""
    return math.sqrt(2.0 * math.log(max(n_epochs, 2))) + 3.0


def curve_noise(x: np.ndarray, blocks: int = KEYS.noise_blocks) -> np.ndarray:
    """The noise sd of curves ``x`` (..., n): the largest over ``blocks`` consecutive blocks of
    1.4826 x the median absolute deviation of the first differences (around their block median,
    so a steady trend is not noise), divided by sqrt 2 (a difference has twice the variance)."""
    d = np.diff(np.asarray(x, dtype=float), axis=-1)
    if d.shape[-1] == 0:
        return np.full(d.shape[:-1], np.nan)
    parts = [p for p in np.array_split(d, min(blocks, d.shape[-1]), axis=-1) if p.shape[-1] > 0]
    sds = [
        MAD_TO_SD * np.median(np.abs(p - np.median(p, axis=-1, keepdims=True)), axis=-1) / math.sqrt(2)
        for p in parts
    ]
    return np.max(np.stack(sds, axis=-1), axis=-1)


def contrast(
    i_xt: Any, epochs: Any, keys: Keys = KEYS, n_samples: float | None = None
) -> dict[str, np.ndarray]:
    """The per-run contrast of curves ``i_xt`` (..., epochs) recorded at ``epochs`` (1-D, sorted):
    vectorised over the leading axes. Returns arrays of ``peak``, ``peak_index`` (into ``epochs``),
    ``final``, ``compression``, ``noise_sd``, ``noise_floor``, ``saturated``, ``compressing``."""
    x = np.asarray(i_xt, dtype=float)
    ep = np.asarray(epochs)
    after = np.flatnonzero(ep >= keys.first_epoch)
    xs = x[..., after]
    n = xs.shape[-1]
    if n < 3:
        nan = np.full(x.shape[:-1], np.nan)
        return {
            "peak": nan,
            "peak_index": np.zeros(x.shape[:-1], int),
            "final": nan,
            "compression": nan,
            "noise_sd": nan,
            "noise_floor": nan,
            "saturated": np.zeros(x.shape[:-1], bool),
            "compressing": np.zeros(x.shape[:-1], bool),
        }
    width = max(1, min(keys.smooth, n))
    size = [1] * (xs.ndim - 1) + [width]
    smoothed = ndimage.median_filter(xs, size=size, mode="nearest") if width > 1 else xs
    k = noise_window(n)
    # the peak precedes the final window: a curve still rising at its end then has C < 0
    at = np.argmax(smoothed[..., : max(1, n - k)], axis=-1)
    peak = np.take_along_axis(smoothed, at[..., None], axis=-1)[..., 0]
    final = xs[..., -k:].mean(axis=-1)
    noise = curve_noise(xs, keys.noise_blocks)
    floor = np.maximum(keys.min_effect, noise_multiplier(n) * noise)
    ceiling = math.log2(n_samples or keys.n_samples)
    saturated = final >= ceiling - keys.saturation_margin
    c = peak - final
    return {
        "peak": peak,
        "peak_index": after[at],
        "final": final,
        "compression": c,
        "noise_sd": noise,
        "noise_floor": floor,
        "saturated": saturated,
        "compressing": (c > floor) & ~saturated,
    }


def _one_curve(g: pd.DataFrame, keys: Keys) -> dict[str, Any]:
    g = g.sort_values("epoch")
    i_xt = g["i_xt"].to_numpy(dtype=float)
    n_samples = float(g["n_samples"].iloc[0]) if "n_samples" in g.columns else None
    m = contrast(i_xt, g["epoch"].to_numpy(), keys, n_samples)
    at = int(m["peak_index"])
    peak, final, c = float(m["peak"]), float(m["final"]), float(m["compression"])
    saturated = bool(m["saturated"])
    i_ty = g["i_ty"].to_numpy(dtype=float)
    test_loss = g["test_loss"].to_numpy(dtype=float)
    last = g.iloc[-1]
    k = noise_window(int((g["epoch"] >= keys.first_epoch).sum()))
    return {
        "n_epochs": int(i_xt.size),
        "peak": peak,
        "peak_epoch": int(g["epoch"].iloc[at]),
        "final": final,
        "compression": c,
        "compression_rel": c / peak if peak > 0 else 0.0,
        "i_ty_at_peak": float(i_ty[at]),
        "i_ty_final": float(i_ty[-k:].mean()),
        "delta_i_ty": float(i_ty[-k:].mean() - i_ty[at]),
        "noise_sd": float(m["noise_sd"]),
        "noise_floor": float(m["noise_floor"]),
        "saturated": saturated,
        "compressing": bool(m["compressing"]),
        "status": "saturated" if saturated else ("compressing" if m["compressing"] else "not compressing"),
        **{f"final_{name}": float(last[name]) for name in METRICS},
        "gen_gap": float(last["train_acc"] - last["test_acc"]),
        "overfit": float(test_loss[-1] - np.min(test_loss)),
    }


def per_run(df: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    """One row per run x estimator x layer with the measures above (see the module docstring)."""
    if df.empty:
        raise ValueError("the results table is empty")
    missing = {"seed", "epoch", "i_xt", "i_ty", *METRICS} - set(df.columns)
    if missing:
        raise ValueError(f"the results table lacks the columns {sorted(missing)}")
    names = [*[c for c in run_keys(df) if c != "n_samples"], "seed"]
    rows = [
        {**dict(zip(names, key, strict=True)), **_one_curve(g, keys)}
        for key, g in df.groupby(names, dropna=False, sort=True)
    ]
    return pd.DataFrame(rows)


def mean_curve_compression(df: pd.DataFrame, keys: Keys = KEYS) -> pd.DataFrame:
    """The same contrast on the seed-mean curve (what the papers' figures show), per settings x
    estimator x layer: I(X;T) averaged over seeds at each epoch, then ``contrast`` of that curve."""
    names = [c for c in run_keys(df) if c != "n_samples"]
    curve = df.groupby([*names, "epoch"], dropna=False, sort=True)["i_xt"].mean()
    rows = []
    for key, g in curve.groupby(level=names, dropna=False, sort=True):
        epochs = g.index.get_level_values("epoch").to_numpy()
        m = contrast(g.to_numpy(float), epochs, keys)
        rows.append(
            {
                **dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True)),
                "mean_curve_peak": float(m["peak"]),
                "mean_curve_final": float(m["final"]),
                "mean_curve_compression": float(m["compression"]),
                "mean_curve_saturated": bool(m["saturated"]),
            }
        )
    out = pd.DataFrame(rows)
    out["n_seeds"] = df.groupby(names, dropna=False, sort=True)["seed"].nunique().to_numpy()
    return out
