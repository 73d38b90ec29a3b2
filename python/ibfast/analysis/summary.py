"""The per-configuration summary of a results table (summary.csv): seed means of the peak and last
I(X;T), the compression between them, the last I(T;Y) and the last accuracies."""

from __future__ import annotations

import pandas as pd

from ..columns import run_keys


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per configuration, estimator (with its parameters) and layer, averaged over seeds: the peak
    I(X;T), its last value, the compression (peak minus last, in the table's units), the last
    I(T;Y), and the last train and test accuracy. Rows that differ in any setting column (data,
    hidden sizes, split, estimator parameters, ...) are never averaged together."""
    keys = run_keys(df)
    by_run = df.groupby([*keys, "seed"], dropna=False, sort=False)
    last = df[df["epoch"] == by_run["epoch"].transform("max")]
    per_seed = by_run.agg(peak_i_xt=("i_xt", "max"))
    per_seed = per_seed.join(last.set_index([*keys, "seed"])[["i_xt", "i_ty", "train_acc", "test_acc"]])
    per_seed["compression"] = per_seed["peak_i_xt"] - per_seed["i_xt"]
    grouped = per_seed.groupby(level=keys, dropna=False)
    out = grouped.mean()
    out["n_seeds"] = grouped.size()
    return out.rename(columns={"i_xt": "last_i_xt", "i_ty": "last_i_ty"}).reset_index()
