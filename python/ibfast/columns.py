"""The columns of the tidy results table: which are measurements, which name a run and layer."""

from __future__ import annotations

import pandas as pd

# The per-row measurements; every other column (but seed, epoch and the flags) names the run and layer.
MEASUREMENTS = ("i_xt", "i_ty", "h_t", "train_loss", "train_acc", "test_loss", "test_acc")

# Per-row flags derived from a measurement: they vary by epoch, so they are neither a setting nor
# part of a run's name (``saturated``: I(X;T) within SATURATION_MARGIN_BITS of log2 N).
FLAGS = ("saturated",)

# The columns that describe a layer rather than a run: constant within a layer, they never split a
# figure's panels or a run into settings. ``layer_name``, ``reduce``, ``d_raw`` and ``d_used`` are
# the monitor's (ibfast.monitor): the module's name, the reduction and the widths before and after it.
LAYER_COLUMNS = ("layer", "width", "is_output", "layer_name", "reduce", "d_raw", "d_used")


def run_keys(df: pd.DataFrame) -> list[str]:
    """The columns that say which run and layer a row belongs to, seed and epoch aside: every
    column that is not a measurement or a flag (configuration, estimator and its parameters, layer)."""
    return [c for c in df.columns if c not in MEASUREMENTS and c not in FLAGS and c not in ("seed", "epoch")]
