"""``ibfast reproduce``: the grid, the report folder end to end, and its numbers recomputed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
from ibfast.cli import main  # noqa: E402
from ibfast.reproduce import PAPER_ACTIVATIONS, GridSpec  # noqa: E402
from ibfast.results import read_results  # noqa: E402


def test_the_paper_grid_and_the_quick_preset():
    full = GridSpec.full()
    assert full.activations == PAPER_ACTIVATIONS and len(PAPER_ACTIVATIONS) == 8
    assert full.l2 == (0.0, 0.015) and full.seeds == 50 and full.epochs == 8000
    configs = full.configs()
    # 8 activations x 2 L2 values, 50 seeds in tasks of 10
    assert len(configs) == 80 and {c.protocol_label() for c in configs} == {"authors"}
    points = {(a, p) for a in PAPER_ACTIVATIONS for p in (0.0, 0.015)}
    assert {(c.activation, c.l2) for c in configs} == points
    abs_l2 = [s for c in configs if (c.activation, c.l2) == ("abs", 0.015) for s in c.seeds]
    assert sorted(abs_l2) == list(range(50))
    assert set(configs[0].estimators) == {"ebab", "adaptive_kde_upper", "adaptive_kde2_upper", "fixed_range",
                                          "kde_upper"}
    quick = GridSpec.quick()
    assert (quick.activations, quick.seeds, quick.epochs) == (("tanh", "relu", "swish"), 5, 1500)
    assert quick.estimators == ("ebab", "adaptive_kde_upper")
    assert GridSpec.quick(seeds=7).seeds == 7


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    rc = main(["reproduce", "--quick", "--epochs", "20", "--record-points", "6",
               "--activation", "tanh", "relu", "--out", str(out), "--no-progress"])
    assert rc == 0
    return out


def test_reproduce_quick_writes_every_file(report):
    for name in ("report.md", "report.html", "results.parquet", "compression.csv", "claims.json",
                 "claims_tests.csv", "across_seeds.csv", "mean_curve_compression.csv"):
        assert (report / name).is_file() and (report / name).stat().st_size > 0, name
    figures = {p.name for p in (report / "figures").iterdir()}
    for est in ("ebab", "adaptive_kde_upper"):
        for stem in (f"infoplane_{est}", f"information_vs_epoch_{est}", f"compression_{est}",
                     f"compression_vs_accuracy_{est}"):
            assert {f"{stem}.png", f"{stem}.svg"} <= figures, stem
    claims = json.loads((report / "claims.json").read_text())
    assert claims["n_runs"] == 2 * 2 * 5  # activations x L2 x seeds
    for per_claim in claims["estimators"].values():
        assert sorted(per_claim) == ["1", "2", "3", "4"]
        for c in per_claim.values():
            assert c["verdict"] in ("supported", "not shown", "contradicted", "undecided", "unmeasurable")
            assert c["sentence"]
            for part in c["parts"]:
                want = {"test", "n", "effect", "ci_low", "ci_high", "p_adjusted", "verdict", "sentence"}
                assert want <= set(part)
    assert claims["data_source"] and "min_effect" in claims["keys"]
    assert set(claims["estimator_info"]) == set(claims["estimators"])
    md = (report / "report.md").read_text()
    assert "Claim 4" in md and "figures/infoplane_ebab.png" in md and "built-in generator" in md
    assert "<table" in (report / "report.html").read_text()


def test_compression_csv_agrees_with_the_results_recomputed_by_hand(report):
    df = read_results(report)
    comp = pd.read_csv(report / "compression.csv")
    assert len(comp) == 2 * 2 * 5 * 6 * 2  # activations x L2 x seeds x layers x estimators
    assert set(df["protocol"]) == {"authors"} and df["epoch"].min() == 0
    rng = np.random.default_rng(0)
    for i in rng.choice(len(comp), 12, replace=False):
        row = comp.iloc[i]
        curve = df[(df["activation"] == row["activation"]) & (df["l2"] == row["l2"])
                   & (df["estimator"] == row["estimator"]) & (df["layer"] == row["layer"])
                   & (df["seed"] == row["seed"])].sort_values("epoch")
        # the documented contrast: from epoch 1, a running median of 3 (ends repeated), the peak
        # before the final window of k = max(3, min(10, n // 4)) points, minus that window's mean
        after = curve[curve["epoch"] >= 1]
        x = after["i_xt"].to_numpy()
        k = max(3, min(10, x.size // 4))
        smooth = np.median(np.lib.stride_tricks.sliding_window_view(np.r_[x[0], x, x[-1]], 3), axis=1)
        at = int(np.argmax(smooth[: x.size - k]))
        assert row["peak"] == pytest.approx(smooth[at], abs=1e-12)
        assert row["peak_epoch"] == after["epoch"].iloc[at]
        assert row["final"] == pytest.approx(x[-k:].mean(), abs=1e-12)
        assert row["compression"] == pytest.approx(smooth[at] - x[-k:].mean(), abs=1e-12)
        assert row["final_test_acc"] == pytest.approx(curve["test_acc"].iloc[-1])


def test_reproduce_refuses_a_bad_grid(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--activation", "nope", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 2
    assert "unknown activation" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_projection_measures_a_trained_pack_and_scales_by_seeds():
    from ibfast.reproduce import project
    from ibfast.sweep import Grid

    fixed = {"epochs": 40, "hidden": [6, 4], "estimators": ["ebab", "kde_upper"], "record_points": 8}
    grid = Grid(fixed=fixed, axes={"activation": ["tanh", "relu"]}, seeds=4, seeds_per_task=2)
    p = project(grid.tasks(), pack_seeds=4, calibration_epochs=20)
    assert p.calibrated_at == 20 and p.probe_seeds == 4 and p.pack_seeds == (4, 4)
    # 8 log-spaced points, one repeated
    assert p.n_recorded == 7 and p.train_s_per_epoch > 0 and p.estimate_s_per_record > 0
    assert p.estimate_total_s == pytest.approx(7 * p.estimate_s_per_record * 2)
    assert p.train_total_s == pytest.approx(40 * p.train_s_per_epoch * 2)
    assert p.total_s == max(p.train_total_s, p.estimate_total_s + p.train_total_s / p.cores)
    four = project(grid.tasks(), pack_seeds=4, workers=4, calibration_epochs=20)
    assert four.pack_seeds == (2, 2, 2, 2)  # every worker gets a pack
    assert "measured on a pack of" in p.describe()
