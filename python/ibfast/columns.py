"""The columns of the tidy results table: which are measurements, which name a run and layer."""

from __future__ import annotations

import pandas as pd

# The per-row measurements; every other column (but seed and epoch) names the run and layer.
MEASUREMENTS = ("i_xt", "i_ty", "h_t", "train_loss", "train_acc", "test_loss", "test_acc")


def run_keys(df: pd.DataFrame) -> list[str]:
    """The columns that say which run and layer a row belongs to, seed and epoch aside: every
    column that is not a measurement (configuration, estimator and its parameters, layer)."""
    return [c for c in df.columns if c not in MEASUREMENTS and c not in ("seed", "epoch")]
