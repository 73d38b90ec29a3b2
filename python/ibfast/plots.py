"""Information-plane figures: I(T;Y) against I(X;T) for every layer, coloured by epoch.

Any number of seeds: the lines are the mean over seeds at each recorded epoch.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def information_plane(df: pd.DataFrame, estimator: str, path: str | Path) -> Path:
    """One panel per (activation, L2) for ``estimator``; one line per layer, points by epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    sub = df[df["estimator"] == estimator]
    if sub.empty:
        raise ValueError(f"no rows for estimator {estimator!r}; have {sorted(df['estimator'].unique())}")
    panels = sorted(sub.groupby(["activation", "l2"]).groups)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.2), squeeze=False)
    norm = LogNorm(vmin=1, vmax=max(2, int(sub["epoch"].max()) + 1))
    scatter = None
    for ax, (activation, l2) in zip(axes[0], panels, strict=True):
        panel = sub[(sub["activation"] == activation) & (sub["l2"] == l2)]
        mean = panel.groupby(["layer", "epoch"])[["i_xt", "i_ty"]].mean().reset_index()
        n_seeds = panel["seed"].nunique()
        for layer, g in mean.groupby("layer"):
            ax.plot(g["i_xt"], g["i_ty"], color="0.6", lw=0.6, zorder=1)
            scatter = ax.scatter(g["i_xt"], g["i_ty"], c=g["epoch"] + 1, cmap="viridis", norm=norm,
                                 s=9, zorder=2)
            end = g.iloc[-1]
            ax.annotate(str(layer), (end["i_xt"], end["i_ty"]), fontsize=8, xytext=(3, 3),
                        textcoords="offset points")
        title = f"{activation}" + (f", L2 {l2:g}" if l2 else "")
        ax.set_title(f"{title} ({estimator}, {n_seeds} seed{'s' if n_seeds > 1 else ''})")
        ax.set_xlabel("I(X;T) [bits]")
        ax.set_ylabel("I(T;Y) [bits]")
        ax.grid(alpha=0.3)
    if scatter is not None:
        fig.colorbar(scatter, ax=axes[0].tolist(), label="epoch")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
