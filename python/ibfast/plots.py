"""Publication figures for the information plane and for compression.

Four figures, each for one estimator, and the two tables that the figures draw (so that what is
plotted can be checked, and reused):

* :func:`information_plane` — I(T;Y) against I(X;T): one panel per activation (columns) and L2
  value (rows; when not every activation has every L2 value, rows of at most four (activation,
  L2) panels), one line per layer through the mean over seeds at each recorded epoch, points
  coloured by epoch (log colour scale, one colorbar), +-1 sd bars across seeds in I(X;T) and
  I(T;Y) at up to 10 epochs spread along each line, shared axes.
* :func:`information_vs_epoch` — I(X;T) (top row) and I(T;Y) (bottom row) against epoch + 1 on
  a log axis, one column per activation and L2 value, the mean over seeds per layer with a
  +-1 sd band.
* :func:`compression_by_activation` — the compression (bits) of every run: one panel per
  activation, a box per layer and L2 value (L2 values side by side, in their own colours) over
  the measured seeds, each seed a jittered point over its box (hollow when ``saturated``: at the
  estimator's ceiling, unmeasurable), a dashed line at 0.
* :func:`compression_vs_accuracy` — one panel per layer: compression against final test
  accuracy, a point per run coloured by activation (marker by L2 value when there are several),
  the least-squares line, Pearson r and Spearman rho in the title.

:func:`plane_data` is the mean/sd table the first two draw; :func:`fit_lines` the fits of the
fourth.

Inputs. ``df`` is the tidy results table (:mod:`ibfast.results`, one row per run settings, seed,
epoch, layer and estimator). ``comp`` is the per-run compression table (one row per run
settings, estimator, layer and seed, with ``compression`` and ``final_test_acc``); every column
of it that is not one of :data:`COMPRESSION_VALUES` or ``layer``, ``is_output``, ``width``,
``seed`` is taken as a setting. Any number of seeds (one included), activations, L2 values,
layers and estimators.

Settings are never averaged together. Rows are grouped by every setting column (those of
:func:`ibfast.results.run_keys`), the estimator's parameters included. When the selected rows
hold several values of a setting other than ``activation`` and ``l2`` (two ``hidden`` sizes, two
``estimator_params`` for one estimator, two learning rates, ...), every combination of those
values gets its own panels (its own rows of panels; its own columns in
:func:`information_vs_epoch`), titled with the values (``hidden=10-7-5``); more than
:data:`MAX_VARIANTS` combinations raise ``ValueError`` asking the caller to filter the table.

Files. ``path`` names the figure file. Without ``formats``: a path ending in ``.png`` writes the
PNG and an SVG beside it (same folder and stem, ``.svg``); any other suffix matplotlib writes
(``.svg``, ``.pdf``, ...) writes that file alone. ``formats=("png", "pdf")`` writes one file per
format from the path's stem (its suffix, if it is a format, replaced). Every function returns the
list of paths written, in that order. Figures are built with :class:`matplotlib.figure.Figure`
directly (never registered with pyplot, so nothing stays open) and written with the Agg
renderer; no display is needed.

Errors (``ValueError``, naming the problem): an empty table, missing columns, an estimator that
is not in the table (the message lists the estimators there), duplicate rows for one
(settings, layer, seed[, epoch]), too many setting combinations, a path without a format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .analysis.fits import line_fit
from .analysis.stats import RUN_MEASURES
from .columns import LAYER_COLUMNS
from .results import run_keys

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "COMPRESSION_VALUES",
    "MAX_VARIANTS",
    "compression_by_activation",
    "compression_vs_accuracy",
    "fit_lines",
    "information_plane",
    "information_vs_epoch",
    "plane_data",
]

# The per-run measurements of the compression table; its other columns (but layer, is_output,
# width and seed) are settings.
COMPRESSION_VALUES = tuple(sorted(RUN_MEASURES))  # the per-run measures of ibfast.analysis.per_run
# More combinations of the other settings than this is almost surely a table that needs filtering.
MAX_VARIANTS = 12

_PANEL_KEYS = ("activation", "l2")
_LAYER_COLUMNS = LAYER_COLUMNS  # per-layer descriptors: never panel settings (ibfast.columns)
_TIDY_REQUIRED = ("estimator", "activation", "l2", "seed", "epoch", "layer", "i_xt", "i_ty")
_COMP_REQUIRED = ("estimator", "activation", "l2", "seed", "layer", "compression", "final_test_acc")
_L2_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown", "tab:olive")
_L2_MARKERS = ("o", "^", "s", "D", "v", "P")
_BAND_ALPHA = 0.18
_SPREAD_MARKS = 10  # epochs per layer that show the seed spread in the information plane
_MAX_COLUMNS = 4  # information-plane panels per row when activations and L2 values do not cross
_WRAP_COLUMNS = 3  # compression and accuracy panels per row: wrapped into a grid beyond that
_MAX_ASPECT = 4.0  # width / height at most this where fewer columns allow it (a single row of 3: 3.6)
_LABEL_STEP = 9  # points between stacked layer labels on the plane
_NEAR_X, _NEAR_Y = 0.35, 0.06  # bits: last points this close share a label position (8 pt font)
_Share = bool | Literal["none", "all", "row", "col"]


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def plane_data(df: pd.DataFrame, estimator: str) -> pd.DataFrame:
    """The table :func:`information_plane` and :func:`information_vs_epoch` draw.

    One row per (setting columns, layer, epoch) for ``estimator``, the setting columns being every
    column of :func:`ibfast.results.run_keys` (activation, l2, estimator, estimator_params, hidden,
    ...), then ``layer`` (and ``width``, ``is_output`` when present), ``epoch``, ``n_seeds`` and,
    for ``i_xt`` and ``i_ty``, the mean over seeds, the sample sd (``ddof=1``; NaN with one
    seed) and the min and max: ``i_xt_mean, i_xt_sd, i_xt_min, i_xt_max, i_ty_mean, ...``.
    Sorted by the grouping columns.
    """
    sub = _select(df, estimator, _TIDY_REQUIRED, "results")
    keys = [*_tidy_settings(sub), *[c for c in _LAYER_COLUMNS if c in sub.columns], "epoch"]
    _check_unique(sub, [*keys, "seed"], "(settings, layer, epoch, seed)")
    grouped = sub.groupby(keys, dropna=False, sort=True)
    stats: dict[str, tuple[str, str]] = {"n_seeds": ("seed", "nunique")}
    for col in ("i_xt", "i_ty"):
        for stat in ("mean", "sd", "min", "max"):
            stats[f"{col}_{stat}"] = (col, "std" if stat == "sd" else stat)
    return grouped.agg(**stats).reset_index()


def fit_lines(comp: pd.DataFrame, estimator: str) -> pd.DataFrame:
    """The least-squares lines of :func:`compression_vs_accuracy`: compression (y) against final
    test accuracy (x), all runs of a layer together (every activation and L2 value, each seed a
    point), separately for every combination of the other settings.

    One row per (settings other than activation and l2, layer) with ``n`` (the points with both
    values present), ``slope``, ``intercept`` (compression at accuracy 0), ``pearson_r``,
    ``spearman_rho`` (ties averaged), all from :func:`ibfast.analysis.fits.line_fit` (scipy),
    and ``note``: ``""`` when fitted,
    else why not (fewer than 3 points, or constant accuracy or compression), and then NaN
    numbers.
    """
    sub = _select(comp, estimator, _COMP_REQUIRED, "compression")
    settings = _comp_settings(sub)
    _check_unique(sub, [*settings, "layer", "seed"], "(settings, layer, seed)")
    keys = [*[c for c in settings if c not in _PANEL_KEYS], "layer"]
    rows: list[dict[str, Any]] = []
    for key, g in sub.groupby(keys, dropna=False, sort=True):
        row = dict(zip(keys, key, strict=True))
        fit = line_fit(g["final_test_acc"].to_numpy(float), g["compression"].to_numpy(float))
        # the notes name this figure's axes
        fit["note"] = {"constant x": "constant final test accuracy",
                       "constant y": "constant compression"}.get(fit["note"], fit["note"])
        row.update(fit)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def information_plane(
    df: pd.DataFrame, estimator: str, path: str | Path, *,
    formats: Sequence[str] | None = None, dpi: int = 150,
) -> list[Path]:
    """I(T;Y) against I(X;T) for ``estimator``: a panel per activation (columns) and L2 value
    (rows; see the module docstring for uncrossed activations and L2 values and for other
    settings that vary, which get their own rows), a line
    per layer through the mean over seeds (:func:`plane_data`), points coloured by epoch + 1 on a
    log scale with one colorbar, +-1 sd bars across seeds at a few epochs, layer numbers at the last epoch,
    shared axes. Writes ``path`` (``.png``: also the ``.svg``) and returns the written paths."""
    targets = _targets(path, formats)
    return _save(_plane_figure(df, estimator), targets, dpi)


def information_vs_epoch(
    df: pd.DataFrame, estimator: str, path: str | Path, *,
    formats: Sequence[str] | None = None, dpi: int = 150,
) -> list[Path]:
    """I(X;T) (top row) and I(T;Y) (bottom row) against epoch + 1 (log axis, so that epoch 0,
    the untrained network, is drawn at 1) for ``estimator``: a column per activation and L2
    value (and combination of other varying settings), a line per layer through the mean over
    seeds with a +-1 sd band (:func:`plane_data`). Writes ``path`` (``.png``: also the ``.svg``)
    and returns the written paths."""
    targets = _targets(path, formats)
    return _save(_epoch_figure(df, estimator), targets, dpi)


def compression_by_activation(
    comp: pd.DataFrame, estimator: str, path: str | Path, *,
    formats: Sequence[str] | None = None, dpi: int = 150,
) -> list[Path]:
    """The compression (bits) of every run for ``estimator``: a panel per activation (a row of
    panels per combination of other varying settings), a box per layer and L2 value (L2 values
    side by side in their own colours when there are several), each seed a jittered point over
    its box, a dashed reference line at 0, shared y axis. Writes ``path`` (``.png``: also the
    ``.svg``) and returns the written paths."""
    targets = _targets(path, formats)
    return _save(_compression_figure(comp, estimator), targets, dpi)


def compression_vs_accuracy(
    comp: pd.DataFrame, estimator: str, path: str | Path, *,
    formats: Sequence[str] | None = None, dpi: int = 150,
) -> list[Path]:
    """Compression against final test accuracy for ``estimator``: a panel per layer (a row of
    panels per combination of other varying settings), a point per run (seed) coloured by
    activation, marker by L2 value when there are several, and the least-squares line with
    Pearson r, Spearman rho and n in the title (:func:`fit_lines`); a panel with fewer than 3
    points or constant values says so in its title instead of drawing a line. Writes ``path``
    (``.png``: also the ``.svg``) and returns the written paths."""
    targets = _targets(path, formats)
    return _save(_accuracy_figure(comp, estimator), targets, dpi)


def _plane_figure(df: pd.DataFrame, estimator: str) -> Figure:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    data = plane_data(df, estimator)
    # a row of panels per L2 value (columns: activations) when every activation has every L2
    # value, else rows of the (activation, L2) pairs there are; per variant of other settings
    rows: list[list[tuple[str, Any, Any, pd.DataFrame]]] = []
    for label, frame in _variants(data, _tidy_settings(data)):
        pairs = sorted(frame.groupby(["activation", "l2"]).groups)
        activations, l2s = sorted(frame["activation"].unique()), sorted(frame["l2"].unique())
        if len(pairs) == len(activations) * len(l2s):
            groups = [[p for p in pairs if p[1] == l2] for l2 in l2s]
        else:
            per_row = -(-len(pairs) // -(-len(pairs) // _MAX_COLUMNS))  # even rows, <= _MAX_COLUMNS
            groups = [pairs[i:i + per_row] for i in range(0, len(pairs), per_row)]
        for group in groups:
            rows.append([(label, a, l2, frame[(frame["activation"] == a) & (frame["l2"] == l2)])
                         for a, l2 in group])
    ncols = max(len(row) for row in rows)
    fig, axes = _grid(len(rows), ncols, 4.3, 3.9, sharex=True, sharey=True, extra_width=1.0)
    norm = LogNorm(vmin=1, vmax=max(2.0, float(data["epoch"].max()) + 1))
    cmap = "viridis"
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            if c >= len(row):
                ax.set_axis_off()
                continue
            label, activation, l2, panel = row[c]
            ends: list[tuple[float, float]] = []  # the labelled last points of this panel
            for layer, g in panel.groupby("layer", sort=True):
                g = g.sort_values("epoch")
                colour = _layer_colour(int(layer))
                x, y = g["i_xt_mean"].to_numpy(), g["i_ty_mean"].to_numpy()
                sx, sy = g["i_xt_sd"].fillna(0.0).to_numpy(), g["i_ty_sd"].fillna(0.0).to_numpy()
                if (sx > 0).any() or (sy > 0).any():
                    # +-1 sd crosses at a few epochs spread along the curve: a band at every point
                    # piles up into an opaque blob that hides the trajectories
                    at = np.unique(np.linspace(0, x.size - 1, min(x.size, _SPREAD_MARKS)).round().astype(int))
                    ax.errorbar(x[at], y[at], xerr=sx[at], yerr=sy[at], fmt="none", ecolor=colour,
                                elinewidth=0.9, alpha=0.55, capsize=0, zorder=1)
                ax.plot(x, y, color=colour, lw=1.0, zorder=2, label=_layer_label(g))
                ax.scatter(x, y, c=g["epoch"].to_numpy() + 1, cmap=cmap, norm=norm, s=10,
                           edgecolors="none", zorder=3)
                # layers ending at (nearly) one point (e.g. all saturated at (log2 N, H(Y))) get
                # their labels stacked, else they print over each other
                stack = _near(ends, x[-1], y[-1])
                ends.append((float(x[-1]), float(y[-1])))
                ax.annotate(_layer_tag(g), (x[-1], y[-1]), xytext=(4, 3 + _LABEL_STEP * stack),
                            textcoords="offset points", color=colour, fontsize=8, fontweight="bold", zorder=4)
            ax.set_title(_join(f"{activation}, L2 = {l2:g}", f"{estimator}, {_seeds(panel)}", label),
                         fontsize=9)
            ax.grid(alpha=0.3)
    _outer_labels(axes, "I(X;T) [bits]", "I(T;Y) [bits]")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=[ax for row_axes in axes for ax in row_axes],
                 label="epoch + 1 (log scale)", shrink=min(1.0, 0.4 + 0.3 * len(rows)), aspect=25)
    fig.suptitle(f"Information plane ({estimator}): mean over seeds, bars +-1 sd over seeds; "
                 "numbers mark each layer's last epoch", fontsize=10)
    return fig


def _epoch_figure(df: pd.DataFrame, estimator: str) -> Figure:
    data = plane_data(df, estimator)
    columns = [(label, activation, l2, frame[(frame["activation"] == activation) & (frame["l2"] == l2)])
               for label, frame in _variants(data, _tidy_settings(data))
               for activation, l2 in sorted(frame.groupby(list(_PANEL_KEYS)).groups)]
    fig, axes = _grid(2, len(columns), 4.0, 3.2, sharex=True, sharey="row", extra_width=1.4)
    measures = (("i_xt", "I(X;T) [bits]"), ("i_ty", "I(T;Y) [bits]"))
    handles: dict[str, Any] = {}
    for c, (label, activation, l2, panel) in enumerate(columns):
        for r, (col, name) in enumerate(measures):
            ax = axes[r][c]
            for _, g in panel.groupby("layer", sort=True):
                g = g.sort_values("epoch")
                colour = _layer_colour(int(g["layer"].iloc[0]))
                x = g["epoch"].to_numpy() + 1
                mean, sd = g[f"{col}_mean"].to_numpy(), g[f"{col}_sd"].fillna(0.0).to_numpy()
                (line,) = ax.plot(x, mean, color=colour, lw=1.2, label=_layer_label(g))
                if (sd > 0).any():
                    ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=_BAND_ALPHA, lw=0)
                handles.setdefault(_layer_label(g), line)
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
            ax.set_ylabel(name)
            if r == 0:
                ax.set_title(_join(f"{activation}, L2 = {l2:g}", f"{estimator}, {_seeds(panel)}", label),
                             fontsize=9)
            else:
                ax.set_xlabel("epoch + 1 (log scale)")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=8,
               title="mean over seeds\nband +-1 sd", title_fontsize=8)
    return fig


def _compression_figure(comp: pd.DataFrame, estimator: str) -> Figure:
    from matplotlib.patches import Patch

    sub = _select(comp, estimator, _COMP_REQUIRED, "compression")
    settings = _comp_settings(sub)
    _check_unique(sub, [*settings, "layer", "seed"], "(settings, layer, seed)")
    variants = _variants(sub, settings)
    activations = sorted(sub["activation"].unique())
    l2s = sorted(sub["l2"].unique())
    colours = {l2: _L2_COLOURS[i % len(_L2_COLOURS)] for i, l2 in enumerate(l2s)}
    step = 0.8 / len(l2s)
    rng = np.random.default_rng(0)  # the same jitter every time
    n_layers = max(int(frame["layer"].nunique()) for _, frame in variants)
    width, height, extra = max(3.2, 0.75 * n_layers * len(l2s) + 1.2), 3.6, 1.2
    # the activations of each variant wrapped into rows (a row of six was 4770 x 540 px)
    ncols = _wrap_columns(len(activations), len(variants), width, height, extra)
    rows = [(label, frame, activations[i:i + ncols]) for label, frame in variants
            for i in range(0, len(activations), ncols)]
    fig, axes = _grid(len(rows), ncols, width, height, sharex=False, sharey=True, extra_width=extra)
    for r, (label, frame, row_activations) in enumerate(rows):
        layers = sorted(frame["layer"].unique())
        for c in range(ncols):
            ax = axes[r][c]
            activation = row_activations[c] if c < len(row_activations) else None
            panel = frame[frame["activation"] == activation]
            if panel.empty:
                ax.set_axis_off()
                continue
            for j, l2 in enumerate(l2s):
                offset = (j - (len(l2s) - 1) / 2) * step
                for i, layer in enumerate(layers):
                    cell = panel[(panel["l2"] == l2) & (panel["layer"] == layer)]
                    cell = cell[cell["compression"].notna()]
                    # saturated runs (at the estimator's ceiling: unmeasurable) are drawn hollow
                    # and left out of the box, as the claims leave them out of every test
                    sat = cell["saturated"].astype(bool).to_numpy() if "saturated" in cell else np.zeros(
                        len(cell), bool)
                    values = cell["compression"].astype(float).to_numpy()
                    if values.size == 0:
                        continue
                    if (~sat).any():
                        box = ax.boxplot([values[~sat]], positions=[i + offset], widths=0.85 * step,
                                         patch_artist=True, showfliers=False, manage_ticks=False)
                        for patch in box["boxes"]:
                            patch.set(facecolor=colours[l2], alpha=0.25, edgecolor=colours[l2])
                        for part in ("medians", "whiskers", "caps"):
                            for artist in box[part]:
                                artist.set_color(colours[l2])
                    x = i + offset + rng.uniform(-0.3, 0.3, values.size) * step
                    ax.scatter(x[~sat], values[~sat], color=colours[l2], s=14, zorder=3,
                               edgecolors="white", linewidths=0.4)
                    if sat.any():
                        ax.scatter(x[sat], values[sat], facecolors="none", edgecolors=colours[l2], s=14,
                                   zorder=3, linewidths=0.8)
            ax.axhline(0.0, color="0.3", lw=0.8, ls="--", zorder=0)
            ax.set_xticks(range(len(layers)), [_tag(int(lay), _is_output(frame, lay)) for lay in layers])
            ax.set_xlim(-0.6, len(layers) - 0.4)
            ax.set_xlabel("layer")
            ax.set_ylabel("compression [bits]")
            ax.set_title(_join(str(activation), f"{estimator}, {_seeds(panel)}", label), fontsize=9)
            ax.grid(alpha=0.3, axis="y")
    fig.legend([Patch(facecolor=colours[l2], alpha=0.5, edgecolor=colours[l2]) for l2 in l2s],
               [f"L2 = {l2:g}" for l2 in l2s], loc="outside right upper", fontsize=8,
               title="box: measured seeds\npoint: one seed\nhollow: saturated", title_fontsize=8)
    return fig


def _accuracy_figure(comp: pd.DataFrame, estimator: str) -> Figure:
    from matplotlib.lines import Line2D

    sub = _select(comp, estimator, _COMP_REQUIRED, "compression")
    settings = _comp_settings(sub)
    fits = fit_lines(comp, estimator)
    variants = _variants(sub, settings)
    varying = _varying(sub, settings)
    activations = sorted(sub["activation"].unique())
    act_colours = {a: f"C{i % 10}" for i, a in enumerate(activations)}
    l2s = sorted(sub["l2"].unique())
    markers = {l2: _L2_MARKERS[i % len(_L2_MARKERS)] for i, l2 in enumerate(l2s)}
    n_layers = max(int(frame["layer"].nunique()) for _, frame in variants)
    # each variant's layers wrapped into rows (a row of six was 3270 x 480 px)
    n_cols = _wrap_columns(n_layers, len(variants), 3.4, 3.2, 1.4)
    rows = []
    for label, frame in variants:
        layers = sorted(frame["layer"].unique())
        rows += [(label, frame, layers[i:i + n_cols]) for i in range(0, len(layers), n_cols)]
    fig, axes = _grid(len(rows), n_cols, 3.4, 3.2, sharex=True, sharey=False, extra_width=1.4)
    for r, (label, frame, layers) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            if c >= len(layers):
                ax.set_axis_off()
                continue
            layer = layers[c]
            panel = frame[frame["layer"] == layer]
            for (activation, l2), g in panel.groupby(list(_PANEL_KEYS), sort=True):
                ax.scatter(g["final_test_acc"], g["compression"], color=act_colours[activation],
                           marker=markers[l2], s=18, zorder=3, edgecolors="white", linewidths=0.4)
            match = fits["layer"] == layer
            for col in varying:
                match &= _same(fits[col], panel[col].iloc[0])
            fit = fits[match].iloc[0]
            head = f"layer {_tag(int(layer), _is_output(frame, layer))}"
            if fit["note"]:
                text = f"{head}: {fit['note']}, no fit"
            else:
                xs = np.linspace(panel["final_test_acc"].min(), panel["final_test_acc"].max(), 2)
                ax.plot(xs, fit["intercept"] + fit["slope"] * xs, color="0.2", lw=1.0, zorder=2)
                text = (f"{head}: r = {fit['pearson_r']:.2f}, rho = {fit['spearman_rho']:.2f}, "
                        f"n = {int(fit['n'])}")
            ax.set_title(_join(text, label), fontsize=8)
            ax.axhline(0.0, color="0.6", lw=0.6, ls="--", zorder=0)
            ax.set_xlabel("final test accuracy")
            ax.set_ylabel("compression [bits]")
            ax.grid(alpha=0.3)
    handles: list[Any] = [Line2D([], [], ls="", marker="o", color=act_colours[a], label=a)
                          for a in activations]
    if len(l2s) > 1:
        handles += [Line2D([], [], ls="", marker=markers[l2], color="0.4", label=f"L2 = {l2:g}")
                    for l2 in l2s]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    fig.suptitle(f"Compression vs final test accuracy ({estimator}): a point per run, least-squares line",
                 fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _select(table: pd.DataFrame, estimator: str, required: Sequence[str], what: str) -> pd.DataFrame:
    """The rows of ``table`` for ``estimator``, after checking the table."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"the {what} table must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(f"the {what} table lacks the columns {missing}")
    if table.empty:
        raise ValueError(f"the {what} table is empty")
    sub = table[table["estimator"] == estimator]
    if sub.empty:
        have = sorted(map(str, table["estimator"].unique()))
        raise ValueError(f"no rows for estimator {estimator!r} in the {what} table; it has {have}")
    return sub


def _tidy_settings(df: pd.DataFrame) -> list[str]:
    """The setting columns of a tidy (or plane_data) table: run keys but the per-layer ones."""
    derived = {"n_seeds", *(f"{c}_{s}" for c in ("i_xt", "i_ty") for s in ("mean", "sd", "min", "max"))}
    return [c for c in run_keys(df) if c not in _LAYER_COLUMNS and c not in derived]


def _comp_settings(comp: pd.DataFrame) -> list[str]:
    skip = {*COMPRESSION_VALUES, *_LAYER_COLUMNS, "seed"}
    return [c for c in comp.columns if c not in skip]


def _check_unique(frame: pd.DataFrame, keys: list[str], what: str) -> None:
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} rows share one {what}: the table holds duplicates "
                         "(concatenated twice?); drop them before plotting")


def _varying(frame: pd.DataFrame, settings: Sequence[str]) -> list[str]:
    """The settings, activation, l2 and estimator aside, with more than one value in ``frame``."""
    return [c for c in settings if c not in (*_PANEL_KEYS, "estimator")
            and frame[c].nunique(dropna=False) > 1]


def _variants(frame: pd.DataFrame, settings: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """``frame`` split by every combination of the varying settings, with a label for each
    (``""`` when nothing varies)."""
    varying = _varying(frame, settings)
    if not varying:
        return [("", frame)]
    groups = [(key, g) for key, g in frame.groupby(varying, dropna=False, sort=True)]
    if len(groups) > MAX_VARIANTS:
        raise ValueError(f"the rows hold {len(groups)} combinations of the settings {varying} "
                         f"(more than {MAX_VARIANTS}); filter the table to the runs to compare")
    return [(", ".join(f"{c}={_fmt(v)}" for c, v in zip(varying, key, strict=True)), g) for key, g in groups]


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _same(column: pd.Series, value: Any) -> pd.Series:
    if pd.isna(value):
        return column.isna()
    return column == value


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _seeds(frame: pd.DataFrame) -> str:
    if "n_seeds" in frame.columns:
        lo, hi = int(frame["n_seeds"].min()), int(frame["n_seeds"].max())
    else:
        lo = hi = int(frame["seed"].nunique())
    n = f"{lo}" if lo == hi else f"{lo}-{hi}"
    return f"n = {n} seed{'' if hi == 1 else 's'}"


def _is_output(frame: pd.DataFrame, layer: Any) -> bool:
    if "is_output" not in frame.columns:
        return False
    return bool(frame.loc[frame["layer"] == layer, "is_output"].astype(bool).any())


def _tag(layer: int, output: bool) -> str:
    return f"{layer} (out)" if output else str(layer)


def _layer_tag(g: pd.DataFrame) -> str:
    return _tag(int(g["layer"].iloc[0]), _is_output(g, g["layer"].iloc[0]))


def _layer_label(g: pd.DataFrame) -> str:
    return f"layer {_layer_tag(g)}"


def _layer_colour(layer: int) -> str:
    return f"C{(layer - 1) % 10}"


def _outer_labels(axes: list[list[Axes]], xlabel: str, ylabel: str) -> None:
    """Axis labels on the lowest drawn panel of each column and the leftmost of each row."""
    for column in zip(*axes, strict=True):
        drawn = [ax for ax in column if ax.axison]
        if drawn:
            drawn[-1].set_xlabel(xlabel)
            drawn[-1].xaxis.set_tick_params(labelbottom=True)
    for row in axes:
        drawn = [ax for ax in row if ax.axison]
        if drawn:
            drawn[0].set_ylabel(ylabel)


def _wrap_columns(n_panels: int, n_variants: int, width: float, height: float, extra: float) -> int:
    """Panels per row for ``n_panels`` panels of each of ``n_variants`` variants: at most
    _WRAP_COLUMNS, and fewer while the figure would be wider than _MAX_ASPECT times its height."""
    ncols = max(1, min(_WRAP_COLUMNS, n_panels))
    while ncols > 1:
        nrows = n_variants * -(-n_panels // ncols)
        if (width * ncols + extra) / (height * nrows) <= _MAX_ASPECT:
            break
        ncols -= 1
    return ncols


def _near(points: list[tuple[float, float]], x: float, y: float) -> int:
    """How many of ``points`` lie within label distance of (x, y) (bits): the stacking slot."""
    return sum(1 for px, py in points if abs(px - x) < _NEAR_X and abs(py - y) < _NEAR_Y)


def _grid(
    nrows: int, ncols: int, width: float, height: float, *, sharex: _Share, sharey: _Share,
    extra_width: float = 0.0,
) -> tuple[Figure, list[list[Axes]]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols + extra_width, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey)
    return fig, [list(row) for row in axes]


def _targets(path: str | Path, formats: Sequence[str] | None) -> list[tuple[Path, str]]:
    """The files to write: see the module docstring. Checked before any figure is drawn."""
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    out = Path(path)
    suffix = out.suffix.lower().lstrip(".")
    if formats is None:
        if suffix not in supported:
            raise ValueError(f"cannot tell the format of {str(path)!r}: end it in .png (writes .png and "
                             f".svg) or another of {sorted(supported)}, or pass formats")
        formats = ("png", "svg") if suffix == "png" else (suffix,)
    elif isinstance(formats, str):
        raise TypeError("formats must be a sequence of format names, e.g. ('png', 'svg'), not a str")
    stem = out.with_suffix("") if suffix in supported else out
    targets = []
    for fmt in formats:
        f = fmt.lower().lstrip(".")
        if f not in supported:
            raise ValueError(f"unknown figure format {fmt!r}; matplotlib writes {sorted(supported)}")
        targets.append((stem.with_name(f"{stem.name}.{f}"), f))
    if not targets:
        raise ValueError("formats is empty: name at least one format")
    return targets


def _save(fig: Figure, targets: list[tuple[Path, str]], dpi: int) -> list[Path]:
    written = []
    try:
        for target, fmt in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(target, format=fmt, dpi=dpi)
            written.append(target)
    finally:
        fig.clear()  # the Figure was never registered with pyplot: clearing frees its artists now
    return written
