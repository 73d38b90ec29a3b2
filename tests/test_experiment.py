"""Experiments: schedule, configs, online estimates, results files, plots and the CLI."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
import ibfast  # noqa: E402
from ibfast.analysis import summary  # noqa: E402
from ibfast.cli import main  # noqa: E402
from ibfast.experiment import Experiment, ExperimentConfig, log_spaced_epochs  # noqa: E402
from ibfast.results import read_configs, read_results, write_atomic  # noqa: E402
from ibfast.sweep import run_all  # noqa: E402


def test_default_schedule_is_the_274_epochs_of_the_papers():
    e = log_spaced_epochs(8000)
    assert e.size == 274 and e[0] == 0 and e[-1] == 7999
    assert np.all(np.diff(e) > 0)
    np.testing.assert_array_equal(e[:10], np.arange(10))
    expected = np.unique(np.logspace(0, np.log2(8000), 400, base=2).astype(int)) - 1
    np.testing.assert_array_equal(e, expected)
    with pytest.raises(ValueError, match="epochs"):
        log_spaced_epochs(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "nope"}, "unknown activation"),
        ({"epochs": 0}, "epochs"),
        ({"hidden": (10, 0, 3)}, "hidden widths"),
        ({"estimators": ("ebab", "mine")}, "unknown estimators"),
        ({"estimators": ()}, "unknown estimators"),
        ({"seeds": ()}, "seeds"),
        ({"seeds": (1, 1)}, "distinct"),
        ({"lr": 0.0}, "lr"),
        ({"l2": -1.0}, "l2"),
        ({"data": "cifar"}, "data must be one of"),
        ({"data": "mnist"}, "data_path"),
        ({"record_epochs": (0, 50), "epochs": 10}, "record_epochs"),
        ({"train_fraction": 1.0}, "train_fraction"),
        ({"noise_variance": -1.0}, "noise_variance"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_configs_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig(**kwargs)


def test_unknown_config_key_and_oversized_batch(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        ExperimentConfig.from_dict({"epochs": 3, "epoch": 3})
    with pytest.raises(ValueError, match="batch_size 5000 exceeds"):
        Experiment(ExperimentConfig(epochs=1, batch_size=5000))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            Experiment(ExperimentConfig(epochs=1, device="cuda"))
    toml = tmp_path / "c.toml"
    toml.write_text('activation = "relu"\nepochs = 7\nhidden = [6, 4]\n')
    c = ExperimentConfig.from_toml(toml)
    assert (c.activation, c.epochs, c.hidden) == ("relu", 7, (6, 4))


def _small(**kw):
    base = dict(epochs=6, seeds=(0, 3), hidden=(8, 5, 3), record_epochs=(0, 2, 5),
                estimators=("ebab", "kde_upper", "bin_width"), batch_size=512)
    base.update(kw)
    return ExperimentConfig(**base)


def test_online_estimates_equal_estimators_on_the_final_activations():
    exp = Experiment(_small(record_timing="after"))  # the last recorded epoch is the trained net
    df = exp.run()
    assert len(df) == 2 * 3 * 4 * 3  # seeds x epochs x layers (3 hidden + output) x estimators
    assert exp.model is not None
    x = torch.from_numpy(exp.dataset.x)
    with torch.no_grad():
        layers = exp.model(x)
    y = exp.dataset.y
    estimators = {"ebab": ibfast.EBAB(), "kde_upper": ibfast.KDE(1e-3), "bin_width": ibfast.FixedWidth(0.07)}
    last = df[df["epoch"] == 5]
    for s, seed in enumerate((0, 3)):
        for k, layer in enumerate(layers):
            for name, est in estimators.items():
                r = est(layer[s].numpy(), y)
                row = last[(last["seed"] == seed) & (last["layer"] == k + 1) & (last["estimator"] == name)]
                assert len(row) == 1
                assert row["i_xt"].item() == pytest.approx(r.i_xt, abs=1e-9)
                assert row["i_ty"].item() == pytest.approx(r.i_ty, abs=1e-9)
    # accuracies are per seed and match the model
    pred = layers[-1].argmax(-1).numpy()
    for s, seed in enumerate((0, 3)):
        acc = (pred[s][exp.train_idx] == y[exp.train_idx]).mean()
        assert last[last["seed"] == seed]["train_acc"].iloc[0] == pytest.approx(acc)


def test_batched_experiment_equals_separate_experiments():
    # Batched matmuls sum in another order than single ones, so activations agree to float
    # rounding only: compared through the continuous KDE (binning can flip a value at an edge).
    both_exp = Experiment(_small(estimators=("kde_upper",)))
    both = both_exp.run()
    for s, seed in enumerate((0, 3)):
        alone_exp = Experiment(_small(seeds=(seed,), estimators=("kde_upper",)))
        alone = alone_exp.run()
        mine = both[both["seed"] == seed].reset_index(drop=True)
        np.testing.assert_allclose(mine["train_loss"], alone["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(mine["i_xt"], alone["i_xt"], rtol=1e-4)
        np.testing.assert_allclose(mine["i_ty"], alone["i_ty"], rtol=1e-4, atol=1e-6)
        for wb, wa in zip(both_exp.model.parameters(), alone_exp.model.parameters(), strict=True):
            torch.testing.assert_close(wb[s], wa[0], rtol=1e-5, atol=1e-6)


def test_results_write_atomically_and_read_back(tmp_path, monkeypatch):
    df = pd.DataFrame({"seed": [0, 1], "epoch": [0, 0], "i_xt": [1.5, 2.5]})
    path = write_atomic(df, tmp_path / "r" / "results.parquet", [{"activation": "tanh"}])
    pd.testing.assert_frame_equal(read_results(tmp_path / "r"), df)
    assert read_configs(path) == [{"activation": "tanh"}]

    import pyarrow.parquet as pq

    def broken(table, fh):
        fh.write(b"PAR1 partial")
        raise KeyboardInterrupt("killed half-way")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(df.assign(i_xt=[9.0, 9.0]), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.parquet"]  # no temp left
    monkeypatch.undo()
    pd.testing.assert_frame_equal(read_results(path), df)  # the old complete file survives
    with pytest.raises(FileNotFoundError):
        read_results(tmp_path / "none")


def test_run_all_writes_table_summary_and_plots(tmp_path):
    configs = [_small(activation="tanh", seeds=(0,)), _small(activation="relu", l2=0.015)]
    df = run_all(configs, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["compression.csv", "figures", "manifest.json", "results.parquet", "runs", "summary.csv"]
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    estimators = sorted(set(df["estimator"]))
    assert len(estimators) == 3
    assert figures == {f"{kind}_{e}.{ext}" for e in estimators for ext in ("png", "svg")
                       for kind in ("infoplane", "information_vs_epoch", "compression",
                                    "compression_vs_accuracy")}
    # one file per configuration, written as each finished: together they are the table
    runs = sorted((tmp_path / "runs").glob("*.parquet"))
    assert len(runs) == 2
    assert sum(len(read_results(p)) for p in runs) == len(df)
    back = read_results(tmp_path)
    assert len(back) == len(df) and set(back["activation"]) == {"tanh", "relu"}
    assert (tmp_path / "figures" / "infoplane_ebab.png").read_bytes()[:4] == b"\x89PNG"
    again = run_all(configs, tmp_path)  # the folder resumes: nothing runs again, the same table
    pd.testing.assert_frame_equal(again, df)
    s = summary(back)
    row = s[(s["activation"] == "relu") & (s["estimator"] == "ebab") & (s["layer"] == 1)]
    sub = back[(back["activation"] == "relu") & (back["estimator"] == "ebab") & (back["layer"] == 1)]
    peak = sub.groupby("seed")["i_xt"].max().mean()
    assert row["peak_i_xt"].item() == pytest.approx(peak)
    assert row["n_seeds"].item() == 2
    assert (s["compression"] >= -1e-12).all()


def test_cli_run_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["run", "--activation", "tanh", "relu", "--seeds", "2", "--epochs", "3",
               "--hidden", "6", "4", "--estimators", "ebab", "--record-points", "3",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "peak_i_xt" in printed and "results.parquet" in printed
    df = read_results(out)
    assert set(df["activation"]) == {"tanh", "relu"} and set(df["seed"]) == {0, 1}
    assert set(df["layer"]) == {1, 2, 3}
    rc = main(["run", "--activation", "nope", "--out", str(tmp_path / "bad"), "--no-progress"])
    assert rc == 2
    assert "unknown activation" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_cli_config_file_with_lists_and_flag_override(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('activation = ["tanh", "softsign"]\nl2 = [0.0, 0.015]\nepochs = 50\n'
                   'hidden = [5, 3]\nestimators = ["ebab"]\nrecord_points = 2\n')
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--epochs", "2", "--out", str(out), "--no-progress",
                 "--no-plots"]) == 0
    df = read_results(out)
    assert set(zip(df["activation"], df["l2"], strict=True)) == {
        ("tanh", 0.0), ("tanh", 0.015), ("softsign", 0.0), ("softsign", 0.015)}
    assert df["epoch"].max() == 1  # the flag's 2 epochs won over the file's 50
    assert len(read_configs(out)) == 4
    assert "infoplane" not in " ".join(p.name for p in out.iterdir())


def test_demo_table_estimates_every_layer():
    from ibfast.demo import demo_table, format_table

    rows = demo_table(0)
    assert len(rows) == 6 * len(ibfast.estimator_names())
    first = [r for layer, r in rows if layer == 1]
    # the first tanh layer of 12 random units keeps all 4096 patterns apart
    assert all(r.i_xt == pytest.approx(12.0, abs=0.01) for r in first)
    assert all(0.0 <= r.i_xt <= 12.0 + 1e-9 and 0.0 <= r.i_ty <= 1.0 + 1e-9 for _, r in rows)
    assert "kde_upper" in format_table(rows)


def test_toml_with_lists_and_errors_at_setup_are_clear(tmp_path, capsys):
    from ibfast.sweep import Grid

    cfg = tmp_path / "grid.toml"
    cfg.write_text('activation = ["tanh", "relu"]\nl2 = [0.0, 0.015]\nepochs = 3\n')
    configs = [t.config for t in Grid.from_toml(cfg).tasks()]
    assert [(c.activation, c.l2) for c in configs] == [("tanh", 0.0), ("tanh", 0.015), ("relu", 0.0),
                                                       ("relu", 0.015)]
    with pytest.raises(ValueError, match="describes a grid"):
        ExperimentConfig.from_toml(cfg)
    bad_plugin = tmp_path / "p.toml"
    bad_plugin.write_text('plugins = ["no_such_plugin_module"]\n')
    with pytest.raises(ValueError, match="no_such_plugin_module"):
        ExperimentConfig.from_toml(bad_plugin)
    with pytest.raises(ValueError, match="no_such_plugin_module"):
        Grid.from_toml(bad_plugin).tasks()
    # a setting only Experiment can check (the batch exceeds the training set) is exit 2, not a traceback
    rc = main(["run", "--batch-size", "5000", "--epochs", "1", "--out", str(tmp_path / "b"), "--no-progress"])
    assert rc == 2 and "batch_size 5000 exceeds" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_atomically_written_files_follow_the_umask(tmp_path, mask):
    from ibfast.results import write_text_atomic

    old = os.umask(mask)
    try:
        write_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
        write_text_atomic(tmp_path / "m.json", "{}")
        (tmp_path / "plain.csv").write_text("x")  # what the CSVs and figures get
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["t.parquet", "m.json", "plain.csv"], 0o666 & ~mask)


def test_version_and_help_show_defaults(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"ibfast {version('ibfast')}"
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default 8000)", "(default 0.0004)", "(default cpu)", "(default 1;",
                  "default 0: this process", "(default results/ibfast-run"):
        assert shown in text, shown
