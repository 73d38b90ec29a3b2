"""Publication figures: files written (PNG + SVG), the plotted numbers, fits, layouts and errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
scipy_stats = pytest.importorskip("scipy.stats")

import matplotlib.pyplot as plt  # noqa: E402

from ibfast import plots  # noqa: E402

ACTIVATIONS = ("tanh", "relu")
L2S = (0.0, 0.015)
SEEDS = (0, 1, 2)
EPOCHS = tuple(range(10))  # epoch 0 included: the untrained network
LAYERS = (1, 2, 3)  # 3 is the softmax output
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _settings(activation: str, l2: float, hidden: str = "4-3") -> dict[str, object]:
    return {
        "data": "twelve_bit", "data_source": "generator(seed=0)", "hidden": hidden,
        "activation": activation, "l2": l2, "lr": 4e-4, "batch_size": 256, "epochs": 10,
        "train_fraction": 0.8, "split": "ordered", "split_seed": 0, "protocol": "authors",
        "init_gain": "authors", "batch_order": "fixed", "batch_seed": 0, "record_timing": "before",
        "l2_on_activation_params": False,
    }


def tidy(seeds=SEEDS, estimators=("ebab", "kde_upper"), hidden: str = "4-3",
         params: str | None = None) -> pd.DataFrame:
    """2 activations x 2 L2 x seeds x 10 epochs x 3 layers, values known in closed form."""
    rows = []
    for e_i, est in enumerate(estimators):
        for a_i, act in enumerate(ACTIVATIONS):
            for l_i, l2 in enumerate(L2S):
                for seed in seeds:
                    for epoch in EPOCHS:
                        for layer in LAYERS:
                            i_xt = 10.0 - layer + 0.3 * np.log1p(epoch) + 0.1 * seed * (layer + a_i) + l_i
                            i_ty = 0.9 * (1 - np.exp(-0.3 * epoch)) / layer + 0.02 * seed ** 2 + 0.05 * a_i
                            rows.append({
                                **_settings(act, l2, hidden),
                                "seed": seed, "epoch": epoch, "layer": layer, "width": (4, 3, 2)[layer - 1],
                                "is_output": layer == 3, "estimator": est,
                                "estimator_params": params or json.dumps({"n_bins": 30}),
                                "i_xt": i_xt + 100.0 * e_i, "i_ty": i_ty + 100.0 * e_i, "h_t": i_xt,
                                "train_loss": 1.0 / (1 + epoch), "train_acc": 0.5 + 0.04 * epoch,
                                "test_loss": 1.2 / (1 + epoch), "test_acc": 0.5 + 0.03 * epoch,
                            })
    return pd.DataFrame(rows)


def comp_table(seeds=SEEDS, estimators=("ebab", "kde_upper"), hidden: str = "4-3") -> pd.DataFrame:
    """The per-run compression table: one row per settings x estimator x layer x seed."""
    rng = np.random.default_rng(7)
    rows = []
    for est in estimators:
        for a_i, act in enumerate(ACTIVATIONS):
            for l_i, l2 in enumerate(L2S):
                for seed in seeds:
                    acc = round(0.80 + 0.05 * a_i - 0.03 * l_i + 0.01 * seed, 2)
                    for layer in LAYERS:
                        compression = 2.0 - 0.4 * layer + 1.5 * (1 - a_i) - l_i + rng.normal(0.0, 0.3)
                        rows.append({
                            **_settings(act, l2, hidden), "estimator": est,
                            "estimator_params": json.dumps({"n_bins": 30}), "layer": layer,
                            "is_output": layer == 3, "seed": seed, "peak": 9.0, "peak_epoch": 3,
                            "final": 9.0 - compression, "compression": compression,
                            "compression_rel": compression / 9.0, "noise_floor": 0.05,
                            "compressing": compression > 0.05, "final_test_acc": acc,
                            "final_test_loss": 1.0 - acc, "final_train_acc": acc + 0.05, "gen_gap": 0.05,
                        })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return tidy()


@pytest.fixture(scope="module")
def comp() -> pd.DataFrame:
    return comp_table()


def _check_files(paths, stem) -> None:
    assert paths == [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC
    svg = paths[1].read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert plt.get_fignums() == []  # nothing left open in pyplot


def _titled(fig, start: str):
    """The visible axes whose title starts with ``start``."""
    return [ax for ax in fig.axes if ax.get_title().startswith(start) and ax.get_visible()]


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_plane_data_is_the_seed_mean_sd_min_max(df):
    plane_data = plots.plane_data(df, "ebab")
    keys = ["activation", "l2", "layer", "epoch"]
    sub = df[df["estimator"] == "ebab"]
    want = sub.groupby(keys)[["i_xt", "i_ty"]].agg(["mean", "std", "min", "max"]).sort_index()
    got = plane_data.set_index(keys).sort_index()
    assert len(got) == 2 * 2 * 3 * 10
    for col in ("i_xt", "i_ty"):
        for stat, name in (("mean", "mean"), ("std", "sd"), ("min", "min"), ("max", "max")):
            np.testing.assert_allclose(got[f"{col}_{name}"], want[(col, stat)], rtol=1e-12)
    assert (got["n_seeds"] == 3).all()
    assert got["i_xt_mean"].max() < 50  # nothing of the other estimator (+100 bits) mixed in
    assert {"hidden", "estimator_params", "width", "is_output"} <= set(plane_data.columns)


def test_fit_lines_equal_scipy(comp):
    # ties in the accuracies (rounded) check Spearman's average ranks
    fits = plots.fit_lines(comp, "ebab")
    assert list(fits["layer"]) == list(LAYERS) and (fits["note"] == "").all()
    sub = comp[comp["estimator"] == "ebab"]
    for _, fit in fits.iterrows():
        g = sub[sub["layer"] == fit["layer"]]
        x, y = g["final_test_acc"].to_numpy(), g["compression"].to_numpy()
        assert len(np.unique(x)) < len(x)  # there are ties
        lr = scipy_stats.linregress(x, y)
        assert fit["n"] == len(x) == 12
        assert fit["slope"] == pytest.approx(lr.slope, rel=1e-10)
        assert fit["intercept"] == pytest.approx(lr.intercept, rel=1e-10)
        assert fit["pearson_r"] == pytest.approx(scipy_stats.pearsonr(x, y)[0], rel=1e-10)
        assert fit["spearman_rho"] == pytest.approx(scipy_stats.spearmanr(x, y)[0], rel=1e-10)
    assert {"slope", "intercept", "pearson_r", "spearman_rho", "n", "note", "hidden"} <= set(fits.columns)


def test_fit_lines_say_why_there_is_no_line(comp):
    c = comp[comp["estimator"] == "ebab"].copy()
    c = c[~((c["layer"] == 1) & (c["seed"] > 0))]
    c = c[~((c["layer"] == 1) & (c["activation"] == "relu"))]  # layer 1: 2 points
    c.loc[c["layer"] == 2, "final_test_acc"] = 0.9  # layer 2: constant accuracy
    c.loc[c["layer"] == 3, "compression"] = 0.5  # layer 3: constant compression
    fits = plots.fit_lines(c, "ebab").set_index("layer")
    assert fits.loc[1, "n"] == 2 and "fewer than 3" in fits.loc[1, "note"]
    assert "constant final test accuracy" == fits.loc[2, "note"]
    assert "constant compression" == fits.loc[3, "note"]
    assert fits[["slope", "intercept", "pearson_r", "spearman_rho"]].isna().all().all()
    fig = plots._accuracy_figure(c, "ebab")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 3 and all("no fit" in t for t in titles)
    assert all(len(ax.get_lines()) == 1 for ax in fig.axes if ax.get_title())  # only the 0 reference


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def test_information_plane_files_and_plotted_means(df, tmp_path):
    paths = plots.information_plane(df, "ebab", tmp_path / "plane.png")  # write_outputs' call
    _check_files(paths, tmp_path / "plane")
    fig = plots._plane_figure(df, "ebab")
    data = plots.plane_data(df, "ebab")
    for act in ACTIVATIONS:
        for l2 in L2S:
            (ax,) = _titled(fig, f"{act}, L2 = {l2:g}\n")
            title = ax.get_title()
            assert "ebab" in title and "n = 3 seeds" in title
            lines = {ln.get_label(): ln for ln in ax.get_lines()}
            assert set(lines) == {"layer 1", "layer 2", "layer 3 (out)"}
            for layer in LAYERS:
                want = data[(data["activation"] == act) & (data["l2"] == l2) & (data["layer"] == layer)]
                line = lines[f"layer {layer}" + (" (out)" if layer == 3 else "")]
                np.testing.assert_allclose(line.get_xdata(), want["i_xt_mean"])
                np.testing.assert_allclose(line.get_ydata(), want["i_ty_mean"])
            bars = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
            assert len(bars) == 2 * 3  # +-1 sd bars in I(X;T) and I(T;Y) per layer
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 4
    assert len({ax.get_xlim() for ax in axes}) == 1 and len({ax.get_ylim() for ax in axes}) == 1  # shared
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    assert fig.axes[-1].get_yscale() == "log"  # the epoch colour scale


def test_information_vs_epoch_files_and_plotted_means(df, tmp_path):
    paths = plots.information_vs_epoch(df, "kde_upper", tmp_path / "sub" / "epochs.png")
    _check_files(paths, tmp_path / "sub" / "epochs")
    fig = plots._epoch_figure(df, "kde_upper")
    data = plots.plane_data(df, "kde_upper")
    top = [ax for ax in fig.axes if ax.get_title()]
    assert len(top) == 4 and len(fig.axes) == 8  # 2 rows x (2 activations x 2 L2)
    (ax,) = _titled(fig, "relu, L2 = 0.015\n")
    assert ax.get_xscale() == "log"
    col = fig.axes.index(ax)
    bottom = fig.axes[col + 4]
    want = data[(data["activation"] == "relu") & (data["l2"] == 0.015) & (data["layer"] == 2)]
    (top_line,) = [ln for ln in ax.get_lines() if ln.get_label() == "layer 2"]
    (bottom_line,) = [ln for ln in bottom.get_lines() if ln.get_label() == "layer 2"]
    np.testing.assert_allclose(top_line.get_xdata(), np.arange(10) + 1)  # epoch 0 drawn at 1
    np.testing.assert_allclose(top_line.get_ydata(), want["i_xt_mean"])
    np.testing.assert_allclose(bottom_line.get_ydata(), want["i_ty_mean"])
    assert "epoch + 1" in bottom.get_xlabel()


def test_compression_by_activation_points_and_boxes(comp, tmp_path):
    paths = plots.compression_by_activation(comp, "ebab", tmp_path / "box.png")
    _check_files(paths, tmp_path / "box")
    fig = plots._compression_figure(comp, "ebab")
    sub = comp[comp["estimator"] == "ebab"]
    for act in ACTIVATIONS:
        (ax,) = _titled(fig, act)
        points = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
        np.testing.assert_allclose(np.sort(points), np.sort(sub.loc[sub["activation"] == act, "compression"]))
        assert len(ax.patches) == len(LAYERS) * len(L2S)  # a box per layer and L2 value
        centres = sorted({round(float(np.mean(p.get_path().vertices[:, 0])), 6) for p in ax.patches})
        assert len(centres) == 6  # L2 off and on side by side, not on top of each other
        assert any(np.allclose(ln.get_ydata(), 0.0) for ln in ax.get_lines())  # the 0 reference
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3 (out)"]
    assert len({ax.get_ylim() for ax in fig.axes if ax.get_title()}) == 1  # shared y


def test_compression_vs_accuracy_lines_and_titles(comp, tmp_path):
    paths = plots.compression_vs_accuracy(comp, "ebab", tmp_path / "acc.png")
    _check_files(paths, tmp_path / "acc")
    fig = plots._accuracy_figure(comp, "ebab")
    fits = plots.fit_lines(comp, "ebab").set_index("layer")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 3
    for layer, ax in zip(LAYERS, axes, strict=True):
        title = ax.get_title()
        assert title.startswith(f"layer {layer}") and f"r = {fits.loc[layer, 'pearson_r']:.2f}" in title
        assert f"rho = {fits.loc[layer, 'spearman_rho']:.2f}" in title and "n = 12" in title
        fit_line = ax.get_lines()[0]
        x, y = fit_line.get_xdata(), fit_line.get_ydata()
        np.testing.assert_allclose(y, fits.loc[layer, "intercept"] + fits.loc[layer, "slope"] * x)
        assert sum(len(c.get_offsets()) for c in ax.collections) == 12  # a point per run
        colours = {tuple(np.round(c.get_facecolor()[0], 3)) for c in ax.collections}
        assert len(colours) == 2  # coloured by activation


def test_one_seed_works_everywhere(tmp_path):
    df1, comp1 = tidy(seeds=(5,)), comp_table(seeds=(5,))
    data = plots.plane_data(df1, "ebab")
    assert (data["n_seeds"] == 1).all() and data["i_xt_sd"].isna().all()
    np.testing.assert_allclose(data["i_xt_mean"], data["i_xt_min"])
    fig = plots._plane_figure(df1, "ebab")
    assert "n = 1 seed\n" in fig.axes[0].get_title() + "\n"
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert not any(type(c).__name__ == "LineCollection" for ax in panels for c in ax.collections)
    written = [
        *plots.information_plane(df1, "ebab", tmp_path / "a.svg"),
        *plots.information_vs_epoch(df1, "ebab", tmp_path / "b.svg"),
        *plots.compression_by_activation(comp1, "ebab", tmp_path / "c.svg"),
        *plots.compression_vs_accuracy(comp1, "ebab", tmp_path / "d.svg"),
    ]
    assert len(written) == 4 and all(p.stat().st_size > 1000 for p in written)
    fits = plots.fit_lines(comp1, "ebab")  # 4 runs per layer: fitted
    assert (fits["n"] == 4).all() and (fits["note"] == "").all()


def test_uncrossed_activation_and_l2_share_one_row(df):
    # as in a batch of (tanh, L2 0, 1 seed) and (relu, L2 0.015, 3 seeds): two panels, none blank
    part = df[((df["activation"] == "tanh") & (df["l2"] == 0.0) & (df["seed"] == 0))
              | ((df["activation"] == "relu") & (df["l2"] == 0.015))]
    fig = plots._plane_figure(part, "ebab")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["relu, L2 = 0.015\nebab, n = 3 seeds", "tanh, L2 = 0\nebab, n = 1 seed"]
    assert all(ax.axison for ax in fig.axes)


def test_other_varying_settings_get_their_own_panels(tmp_path):
    two = pd.concat([tidy(estimators=("ebab",)), tidy(estimators=("ebab",), hidden="6-3")], ignore_index=True)
    two.loc[two["hidden"] == "6-3", ["i_xt", "i_ty"]] += 20.0
    data = plots.plane_data(two, "ebab")
    assert len(data) == 2 * 2 * 2 * 3 * 10  # never averaged across hidden sizes
    assert set(data["n_seeds"]) == {3}
    fig = plots._plane_figure(two, "ebab")
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 8 and sum("hidden=6-3" in ax.get_title() for ax in titled) == 4
    # two parameter strings of one estimator: separate, too
    params = pd.concat([tidy(estimators=("ebab",)), tidy(estimators=("ebab",), params='{"n_bins": 10}')])
    assert len(plots.plane_data(params, "ebab")) == 2 * 120
    fig = plots._epoch_figure(params, "ebab")
    assert sum("estimator_params=" in ax.get_title() for ax in fig.axes) == 8
    comps = pd.concat([comp_table(), comp_table(hidden="6-3")], ignore_index=True)
    fits = plots.fit_lines(comps, "ebab")
    assert len(fits) == 6 and set(fits["hidden"]) == {"4-3", "6-3"} and (fits["n"] == 12).all()
    fig = plots._compression_figure(comps, "ebab")
    assert sum("hidden=6-3" in ax.get_title() for ax in fig.axes) == 2
    assert len(plots.compression_vs_accuracy(comps, "ebab", tmp_path / "v.svg")) == 1
    one = tidy(seeds=(0,), estimators=("ebab",))
    many = pd.concat([one.assign(hidden=f"{h}-3") for h in range(plots.MAX_VARIANTS + 1)])
    with pytest.raises(ValueError, match="filter the table"):
        plots.information_plane(many, "ebab", tmp_path / "many.png")


def test_file_convention(df, tmp_path):
    df = df[(df["activation"] == "tanh") & (df["l2"] == 0.0) & (df["layer"] == 1)]  # small: fast
    assert plots.information_plane(df, "ebab", tmp_path / "only.svg") == [tmp_path / "only.svg"]
    assert not (tmp_path / "only.png").exists()
    got = plots.information_vs_epoch(df, "ebab", tmp_path / "stem", formats=("png", "pdf"))
    assert got == [tmp_path / "stem.png", tmp_path / "stem.pdf"]
    assert got[1].read_bytes()[:4] == b"%PDF"
    got = plots.information_vs_epoch(df, "ebab", str(tmp_path / "x.png"), formats=["svg"])
    assert got == [tmp_path / "x.svg"] and not (tmp_path / "x.png").exists()
    # a dot in a name that is not a format is kept
    got = plots.information_vs_epoch(df, "ebab", tmp_path / "l2_0.015", formats=("png",), dpi=40)
    assert got == [tmp_path / "l2_0.015.png"]


def test_errors(df, comp, tmp_path):
    with pytest.raises(ValueError, match=r"no rows for estimator 'nope'.*\['ebab', 'kde_upper'\]"):
        plots.information_plane(df, "nope", tmp_path / "p.png")
    for fn in (plots.compression_by_activation, plots.compression_vs_accuracy):
        with pytest.raises(ValueError, match=r"estimator 'nope'.*compression table.*'ebab'"):
            fn(comp, "nope", tmp_path / "p.png")
    with pytest.raises(ValueError, match="results table is empty"):
        plots.information_vs_epoch(df.iloc[:0], "ebab", tmp_path / "p.png")
    with pytest.raises(ValueError, match="compression table is empty"):
        plots.fit_lines(comp.iloc[:0], "ebab")
    with pytest.raises(ValueError, match=r"lacks the columns \['final_test_acc'\]"):
        plots.compression_vs_accuracy(comp.drop(columns="final_test_acc"), "ebab", tmp_path / "p.png")
    with pytest.raises(ValueError, match="duplicates"):
        plots.plane_data(pd.concat([df, df.iloc[:1]]), "ebab")
    with pytest.raises(ValueError, match="duplicates"):
        plots.compression_by_activation(pd.concat([comp, comp.iloc[:1]]), "ebab", tmp_path / "p.png")
    with pytest.raises(ValueError, match="cannot tell the format"):
        plots.information_plane(df, "ebab", tmp_path / "noext")
    with pytest.raises(ValueError, match="unknown figure format 'xyz'"):
        plots.information_plane(df, "ebab", tmp_path / "p.png", formats=("xyz",))
    with pytest.raises(TypeError, match="formats"):
        plots.information_plane(df, "ebab", tmp_path / "p.png", formats="png")
    with pytest.raises(TypeError, match="DataFrame"):
        plots.plane_data(df.to_dict(), "ebab")
    assert list(tmp_path.iterdir()) == []  # nothing written by a failed call


def test_saturated_runs_are_hollow_and_out_of_the_box(comp):
    c = comp[comp["estimator"] == "ebab"].copy()
    c["saturated"] = (c["layer"] == 1) & (c["seed"] == 0)
    fig = plots._compression_figure(c, "ebab")
    for act in ACTIVATIONS:
        (ax,) = _titled(fig, act)
        hollow = [col for col in ax.collections if len(col.get_offsets()) and col.get_facecolors().size == 0]
        got = np.sort(np.concatenate([col.get_offsets()[:, 1] for col in hollow]))
        want = np.sort(c.loc[(c["activation"] == act) & c["saturated"], "compression"])
        np.testing.assert_allclose(got, want)
        assert len(ax.patches) == len(LAYERS) * len(L2S)  # boxes of the 2 measured seeds remain


def _wide_comp(n_activations: int = 6, n_layers: int = 6) -> pd.DataFrame:
    """The compression table with six activations and six layers (the grid's shape)."""
    base = comp_table(estimators=("ebab",))
    base = base[(base["layer"] == 1) & (base["activation"] == ACTIVATIONS[0])]
    parts = []
    for a in range(n_activations):
        for layer in range(1, n_layers + 1):
            part = base.copy()
            part["activation"] = f"{base['activation'].iloc[0]}{a}"
            part["layer"] = layer
            part["is_output"] = layer == n_layers
            part["compression"] = part["compression"] + 0.1 * layer
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_wide_figures_wrap_into_a_grid():
    comp6 = _wide_comp()
    for make in (plots._compression_figure, plots._accuracy_figure):
        fig = make(comp6, "ebab")
        w, h = fig.get_size_inches()
        drawn = [ax for ax in fig.axes if ax.axison and ax.get_title()]
        assert len(drawn) == 6  # six activations / six layers, none lost
        assert w / h < 3, (make.__name__, w, h)  # a row of six was 9.9 (compression) and 6.8 (accuracy)
        columns = {round(ax.get_position().x0, 3) for ax in drawn}
        assert len(columns) <= 3
        plt.close(fig)
    # a narrow table keeps its single row
    fig = plots._accuracy_figure(comp_table(), "ebab")
    assert len({round(ax.get_position().y0, 3) for ax in fig.axes if ax.axison}) == 1
    plt.close(fig)


def test_layer_labels_at_one_point_are_stacked(df):
    # layers 1 and 2 both saturated: they end at the same point of the plane
    one = df[(df["estimator"] == "ebab") & (df["activation"] == "tanh") & (df["l2"] == 0.0)].copy()
    last = one["epoch"] == one["epoch"].max()
    one.loc[last & (one["layer"] < 3), ["i_xt", "i_ty"]] = (12.0, 1.0)
    fig = plots._plane_figure(one, "ebab")
    ax = next(a for a in fig.axes if a.texts)
    labels = {t.get_text(): t for t in ax.texts}
    one_xy, two_xy = labels["1"].xy, labels["2"].xy
    assert one_xy == pytest.approx(two_xy)  # the same point
    assert labels["1"].xyann != labels["2"].xyann  # but not the same place for the text
    assert abs(labels["2"].xyann[1] - labels["1"].xyann[1]) >= 8
    assert labels["3 (out)"].xyann == (4, 3)  # a label alone stays where it was
    plt.close(fig)
