"""The estimator contract (ibfast.Estimator), the registry, and what results rows say about how
they were estimated."""

from __future__ import annotations

import json
import sys
import textwrap
import warnings

import numpy as np
import pytest
from conftest import ALL_ESTIMATORS, activations

import ibfast
from ibfast import reference
from ibfast.estimators.registry import EstimatorSettings

BUILT_IN = ("fixed_range", "fixed_width", "adaptive_range", "ebab", "kde_upper", "kde_lower",
            "adaptive_kde_upper", "adaptive_kde_lower")


# --------------------------------------------------------------------------------------------
# One contract
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_every_estimator_implements_the_contract(name):
    est = ALL_ESTIMATORS[name]
    assert isinstance(est, ibfast.Estimator)
    params = est.params()
    assert params["units"] == "bits"
    assert all(isinstance(v, (int, float, str)) or v is None for v in params.values())
    assert json.loads(est.param_string()) == params
    # repr names the class and every setting, and evaluates back to an equal estimator
    assert repr(est).startswith(type(est).__name__ + "(")
    rebuilt = eval(repr(est), {type(est).__name__: type(est)})
    assert rebuilt.params() == params


@pytest.mark.parametrize("name", sorted(ALL_ESTIMATORS))
def test_many_equals_calling_one_by_one(name):
    est = ALL_ESTIMATORS[name]
    rng = np.random.default_rng(4)
    Ts = [activations(kind, 300, d, rng) for kind, d in (("tanh_sat", 4), ("relu", 7), ("few", 2))]
    y = rng.integers(0, 3, 300)
    ids = rng.integers(0, 250, 300)
    batched = est.many(Ts, y, input_ids=ids)
    assert batched == [est(T, y, input_ids=ids) for T in Ts]
    assert est.many([], y) == []


def test_estimator_names_of_results():
    T = activations("gauss", 50, 2, np.random.default_rng(0))
    for name in BUILT_IN:
        est = ibfast.make_estimator(name)
        assert est.name == name and est(T).estimator == name


def test_params_name_the_settings():
    assert ibfast.EBAB(12, lower=0.0).params() == {"n_bins": 12, "lower": 0.0, "units": "bits"}
    assert ibfast.FixedRange(5, -2, 2).params() == {"n_bins": 5, "lo": -2.0, "hi": 2.0, "units": "bits"}
    assert ibfast.FixedWidth(0.5, units="nats").params() == {"width": 0.5, "units": "nats"}
    assert ibfast.KDE(0.1, "lower").params() == {"noise_variance": 0.1, "bound": "lower", "units": "bits"}
    assert ibfast.AdaptiveKDE(0.01, power=2).params() == {
        "scale": 0.01, "power": 2, "bound": "upper", "units": "bits"}


# --------------------------------------------------------------------------------------------
# Adaptive KDE: the two readings of "variance proportional to the maximum activity"
# --------------------------------------------------------------------------------------------


def test_adaptive_kde_power_2_is_scale_invariant_and_power_1_is_not():
    rng = np.random.default_rng(2)
    T = activations("tanh_sat", 400, 3, rng)
    y = rng.integers(0, 2, 400)
    p2 = ibfast.AdaptiveKDE(scale=0.05, power=2)
    a, b = p2(T, y), p2(4.0 * T, y)
    assert b.i_xt == pytest.approx(a.i_xt, rel=1e-6)
    assert b.i_ty == pytest.approx(a.i_ty, rel=1e-6, abs=1e-9)
    assert b.details["noise_variance"] == pytest.approx(16.0 * a.details["noise_variance"])
    p1 = ibfast.AdaptiveKDE(scale=0.05, power=1)
    c, d = p1(T, y), p1(4.0 * T, y)
    assert d.details["noise_variance"] == pytest.approx(4.0 * c.details["noise_variance"])
    # 4x the activity against 4x the variance: distances grow 4x faster than the noise, so the
    # points separate and I(X;T) rises (by a lot here)
    assert d.i_xt > c.i_xt + 0.5
    assert d.i_xt == pytest.approx(reference.adaptive_kde(4.0 * T, y, scale=0.05)["i_xt"], rel=1e-5)


def test_adaptive_kde_power_is_checked():
    with pytest.raises(ValueError, match="power must be 1"):
        ibfast.AdaptiveKDE(power=3)
    with pytest.raises(TypeError, match="power must be an int"):
        ibfast.AdaptiveKDE(power=1.0)


# --------------------------------------------------------------------------------------------
# Parameter convention: wrong type -> TypeError, wrong value -> ValueError
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: ibfast.EBAB(n_bins="30"), TypeError),
        (lambda: ibfast.EBAB(n_bins=0), ValueError),
        (lambda: ibfast.EBAB(lower="zero"), ValueError),
        (lambda: ibfast.FixedRange(lo="a"), TypeError),
        (lambda: ibfast.FixedWidth(width=-1.0), ValueError),
        (lambda: ibfast.KDE(noise_variance=None), TypeError),
        (lambda: ibfast.KDE(bound="middle"), ValueError),
        (lambda: ibfast.KDE(bound=1), TypeError),
        (lambda: ibfast.KDE(units="bytes"), ValueError),
        (lambda: ibfast.KDE(units=2), TypeError),
        (lambda: ibfast.set_num_threads(2.0), TypeError),
    ],
)
def test_parameter_errors_follow_one_convention(make, error):
    with pytest.raises(error):
        make()


def test_config_parameter_errors_follow_the_convention():
    pytest.importorskip("torch")
    from ibfast.experiment import ExperimentConfig

    with pytest.raises(TypeError, match="epochs must be an int"):
        ExperimentConfig(epochs="10")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        ExperimentConfig(epochs=0)
    with pytest.raises(TypeError, match="lr must be a real number"):
        ExperimentConfig(lr="fast")
    with pytest.raises(TypeError, match="data must be a str"):
        ExperimentConfig(data=3)
    with pytest.raises(ValueError, match="adaptive_kde_power must be 1"):
        ExperimentConfig(adaptive_kde_power=3)


# --------------------------------------------------------------------------------------------
# One registry, and a user's estimator in it
# --------------------------------------------------------------------------------------------


class SignBinning(ibfast.Estimator):
    """A user's estimator: each unit binned by sign (t > threshold), plug-in entropies of the rows.

    Written against the public API only, as a user would: the contract, and the functional kernel.
    """

    name = "sign_binning"

    def __init__(self, threshold: float = 0.0, units: str = "bits") -> None:
        super().__init__(units)
        self.threshold = float(threshold)

    def params(self):
        return {"threshold": self.threshold, "units": self.units}

    def _estimate(self, xs, groups):
        out = []
        for x, g in zip(xs, groups, strict=True):
            codes = (np.asarray(x) > self.threshold).astype(np.int32)
            groupings = [] if g.labels is None else [g.labels]
            h, h_given, _ = ibfast.kernels.distinct_row_entropy(codes, *groupings, units="nats")
            h_y = h_given[0] if h_given else None
            out.append(self._result(x.shape[0], i_xt=h, h_t=h, h_t_given_x=0.0,
                                    i_ty=None if h_y is None else h - h_y, h_t_given_y=h_y))
        return out


@pytest.fixture
def sign_binning_registered():
    ibfast.register_estimator("sign_binning", lambda s: SignBinning())
    yield
    from ibfast.estimators import registry

    registry._REGISTRY.pop("sign_binning", None)


def test_a_users_estimator_is_one_class_and_one_call(sign_binning_registered):
    assert "sign_binning" in ibfast.estimator_names()
    est = ibfast.make_estimator("sign_binning")
    rng = np.random.default_rng(7)
    T = activations("gauss", 500, 6, rng)
    y = rng.integers(0, 2, 500)
    r = est(T, y)
    ref = reference.binning_mi((T > 0).astype(np.int32), y)
    assert r.i_xt == pytest.approx(ref["i_xt"], abs=1e-9)
    assert r.i_ty == pytest.approx(ref["i_ty"], abs=1e-9)
    assert r.estimator == "sign_binning" and r.units == "bits"
    # the same intake as the built-ins
    with pytest.raises(ValueError, match="NaN"):
        est(np.full((3, 2), np.nan, np.float32))


def test_a_users_estimator_runs_in_an_experiment(sign_binning_registered):
    pytest.importorskip("torch")
    from ibfast.experiment import Experiment, ExperimentConfig

    cfg = ExperimentConfig(epochs=3, seeds=(0,), hidden=(6, 3), record_epochs=(2,),
                           estimators=("sign_binning", "ebab"), record_timing="after")
    exp = Experiment(cfg)
    df = exp.run()
    rows = df[df["estimator"] == "sign_binning"].sort_values("layer")
    assert len(rows) == 3 and set(rows["estimator_params"]) == {'{"threshold": 0.0, "units": "bits"}'}
    import torch

    with torch.no_grad():
        layers = exp.model(torch.from_numpy(exp.dataset.x))
    for k, layer in enumerate(layers):
        ref = reference.binning_mi((layer[0].numpy() > 0).astype(np.int32), exp.dataset.y)
        assert rows["i_xt"].iloc[k] == pytest.approx(ref["i_xt"], abs=1e-9)


def test_unknown_and_bad_registrations():
    with pytest.raises(ValueError, match=r"unknown estimators.*ebab"):
        ibfast.make_estimator("nope")
    with pytest.raises(TypeError, match="callable"):
        ibfast.register_estimator("x", 3)
    with pytest.raises(ValueError, match="letters, digits"):
        ibfast.register_estimator("a b", lambda s: ibfast.EBAB())
    ibfast.register_estimator("not_an_estimator", lambda s: object())
    try:
        with pytest.raises(TypeError, match=r"not an ibfast\.Estimator"):
            ibfast.make_estimator("not_an_estimator")
    finally:
        from ibfast.estimators import registry

        registry._REGISTRY.pop("not_an_estimator")


def test_registry_fills_in_the_literature_defaults_per_data_set():
    s12 = EstimatorSettings.for_data("twelve_bit")
    sm = EstimatorSettings.for_data("mnist")
    assert ibfast.make_estimator("kde_upper", s12).params()["noise_variance"] == 1e-3
    assert ibfast.make_estimator("kde_lower", sm).params()["noise_variance"] == 1e-1
    assert ibfast.make_estimator("fixed_width", s12).params()["width"] == 0.07
    assert ibfast.make_estimator("fixed_width", sm).params()["width"] == 0.5
    own = EstimatorSettings.for_data("mnist", noise_variance=0.2, n_bins=11, adaptive_kde_power=2)
    assert ibfast.make_estimator("kde_upper", own).params()["noise_variance"] == 0.2
    assert ibfast.make_estimator("ebab", own).params()["n_bins"] == 11
    assert ibfast.make_estimator("adaptive_kde_lower", own).params()["power"] == 2



# --------------------------------------------------------------------------------------------
# Renamed names: the old ones work for one release, with a DeprecationWarning naming the new one
# --------------------------------------------------------------------------------------------


def test_the_old_registry_name_bin_width_still_builds_the_fixed_width_estimator():
    from ibfast.estimators import registry

    s = EstimatorSettings.for_data("mnist")
    with pytest.warns(DeprecationWarning, match="'bin_width' is deprecated; use 'fixed_width'"):
        old = ibfast.make_estimator("bin_width", s)
    new = ibfast.make_estimator("fixed_width", s)
    assert type(old) is ibfast.FixedWidth and old.params() == new.params() == {"width": 0.5, "units": "bits"}
    T = activations("tanh_sat", 400, 5, np.random.default_rng(2))
    assert old(T) == new(T)
    # configs are checked by name: the old one passes; only the new one is listed
    registry.check_estimator_names(("bin_width", "ebab"))
    assert "fixed_width" in ibfast.estimator_names() and "bin_width" not in ibfast.estimator_names()


def test_a_config_that_says_bin_width_keeps_that_name():
    # a sweep task's id hashes the config: the name it was written with must stay as it is
    pytest.importorskip("torch")
    from ibfast.experiment import ExperimentConfig

    cfg = ExperimentConfig(estimators=("ebab", "bin_width"))
    assert cfg.estimators == ("ebab", "bin_width")


def test_registering_the_old_name_anew_makes_it_the_users_own():
    from ibfast.estimators import registry

    ibfast.register_estimator("bin_width", lambda s: ibfast.FixedRange(7))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert type(ibfast.make_estimator("bin_width")) is ibfast.FixedRange
    finally:
        registry._REGISTRY.pop("bin_width")
    with pytest.warns(DeprecationWarning):
        assert type(ibfast.make_estimator("bin_width")) is ibfast.FixedWidth


@pytest.mark.parametrize(
    ("module", "old", "new", "replacement"),
    [
        ("ibfast", "BinWidth", "FixedWidth", "ibfast.FixedWidth"),
        ("ibfast", "KDEBase", "KDEEstimator", "ibfast.KDEEstimator"),
        ("ibfast.estimators", "BinWidth", "FixedWidth", "ibfast.FixedWidth"),
        ("ibfast.estimators", "KDEBase", "KDEEstimator", "ibfast.KDEEstimator"),
        ("ibfast.estimators.binning", "BinWidth", "FixedWidth", "ibfast.FixedWidth"),
        ("ibfast.estimators.kde", "KDEBase", "KDEEstimator", "ibfast.KDEEstimator"),
    ],
)
def test_renamed_classes_keep_their_old_names_with_a_warning(module, old, new, replacement):
    import importlib

    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is deprecated; use {replacement}") as w:
        cls = getattr(mod, old)
    assert w[0].filename == __file__  # the warning points at the line that used the old name
    assert cls is getattr(ibfast, new)  # the same class: isinstance and subclassing keep working
    assert old not in mod.__dict__.get("__all__", ())


def test_old_class_names_work_in_user_code():
    with pytest.warns(DeprecationWarning):
        from ibfast import BinWidth, KDEBase
    assert isinstance(ibfast.KDE(), KDEBase)
    r = BinWidth(0.5)(activations("gauss", 50, 2, np.random.default_rng(0)))
    assert r.estimator == "fixed_width"


@pytest.mark.parametrize("name", ["EstimatorSettings", "literature_noise_variance", "literature_bin_width"])
def test_the_registry_plumbing_is_no_longer_exported(name):
    from ibfast.estimators import registry

    assert name not in ibfast.__all__ and name not in ibfast.estimators.__all__
    for mod in (ibfast, ibfast.estimators):
        with pytest.warns(DeprecationWarning, match=rf"use ibfast\.estimators\.registry\.{name}"):
            assert getattr(mod, name) is getattr(registry, name)


def test_what_users_subclass_is_exported():
    for name in ("Estimator", "BinningEstimator", "EdgeBinningEstimator", "KDEEstimator", "FixedWidth",
                 "estimate_together"):
        assert name in ibfast.__all__ and name in ibfast.estimators.__all__
    for name in ("BinWidth", "KDEBase", "many_together", "estimate_bounds"):
        assert name not in ibfast.__all__
    with pytest.raises(AttributeError, match="no attribute 'NoSuchEstimator'"):
        ibfast.NoSuchEstimator  # noqa: B018
    with pytest.raises(AttributeError):
        ibfast.estimators.kde.NoSuchThing  # noqa: B018


class QuantileEdges(ibfast.EdgeBinningEstimator):
    """A user's edge binning: the layer's n_bins quantiles (pooled over units) as edges."""

    name = "quantile_edges"

    def __init__(self, n_bins: int = 8, units: str = "bits") -> None:
        super().__init__(units)
        self.n_bins = n_bins

    def params(self):
        return {"n_bins": self.n_bins, "units": self.units}

    def _edges(self, x):
        return np.unique(np.quantile(np.asarray(x, np.float64), np.linspace(0, 1, self.n_bins)))


def test_a_users_edge_binning_estimator():
    rng = np.random.default_rng(3)
    T = activations("gauss", 600, 4, rng)
    y = rng.integers(0, 3, 600)
    est = QuantileEdges()
    r = est(T, y)
    edges = est.edges(T)
    ref = reference.binning_mi(reference.bin_by_edges(T, edges), y)
    assert r.i_xt == pytest.approx(ref["i_xt"], abs=1e-9)
    assert r.i_ty == pytest.approx(ref["i_ty"], abs=1e-9)
    assert r.details["n_edges"] == edges.size
    # the one-pass path gives the numbers of codes + row entropies
    assert est.codes(T).dtype == np.int32
    two_pass = ibfast.kernels.distinct_row_entropy(est.codes(T), y, units="bits")
    assert (r.h_t, r.h_t - r.i_ty) == (two_pass.h, two_pass.h_given[0])

PLUGIN = textwrap.dedent('''
    import numpy as np
    import ibfast

    class Quadrant(ibfast.Estimator):
        name = "quadrant"

        def params(self):
            return {"units": self.units}

        def _estimate(self, xs, groups):
            out = []
            for x in xs:
                codes = (np.asarray(x) > 0).astype(np.int32)
                h = ibfast.kernels.distinct_row_entropy(codes, units="nats").h
                out.append(self._result(x.shape[0], i_xt=h, h_t=h, h_t_given_x=0.0))
            return out

    ibfast.register_estimator("quadrant", lambda settings: Quadrant())
''')


def test_a_plugin_estimator_by_name_in_the_cli_and_in_toml(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from ibfast.cli import main
    from ibfast.estimators import registry
    from ibfast.results import read_results

    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        out = tmp_path / "cli"
        rc = main(["run", "--plugin", "my_plugin", "--estimators", "quadrant", "ebab", "--epochs", "2",
                   "--hidden", "4", "--record-points", "2", "--out", str(out), "--no-progress", "--no-plots"])
        assert rc == 0
        df = read_results(out)
        assert set(df["estimator"]) == {"quadrant", "ebab"}
        assert (df.loc[df["estimator"] == "quadrant", "i_ty"].isna()).all()
        registry._REGISTRY.pop("quadrant")
        sys.modules.pop("my_plugin")
        (tmp_path / "run.toml").write_text('plugins = ["my_plugin"]\nestimators = ["quadrant"]\n'
                                           'epochs = 2\nhidden = [4]\nrecord_points = 2\n')
        assert main(["run", "--config", "run.toml", "--out", str(tmp_path / "toml"), "--no-progress",
                     "--no-plots"]) == 0
        assert set(read_results(tmp_path / "toml")["estimator"]) == {"quadrant"}
        capsys.readouterr()
        bad = ["run", "--plugin", "no_such_module", "--out", str(tmp_path / "bad"), "--no-progress"]
        assert main(bad) == 2
        assert "no_such_module" in capsys.readouterr().err
    finally:
        registry._REGISTRY.pop("quadrant", None)
        sys.modules.pop("my_plugin", None)


# --------------------------------------------------------------------------------------------
# Every results row says how it was estimated; summaries never mix settings
# --------------------------------------------------------------------------------------------


def test_summary_keeps_configs_that_differ_in_n_bins_or_hidden_apart():
    pytest.importorskip("torch")
    from ibfast.experiment import ExperimentConfig
    from ibfast.results import summary
    from ibfast.sweep import run_all

    base = dict(epochs=3, seeds=(0, 1), record_epochs=(0, 2), estimators=("ebab",), hidden=(6, 3))
    configs = [ExperimentConfig(**base), ExperimentConfig(**{**base, "n_bins": 8}),
               ExperimentConfig(**{**base, "hidden": (5, 3)})]
    df = run_all(configs, plots=False)
    for column in ("data", "data_source", "hidden", "split", "split_seed", "lr", "batch_size", "epochs",
                   "estimator_params"):
        assert df[column].notna().all(), column
    assert set(df["hidden"]) == {"6-3", "5-3"}
    assert {json.loads(p)["n_bins"] for p in df["estimator_params"]} == {30, 8}
    s = summary(df)
    # 3 configurations x 3 layers, each over 2 seeds: nothing averaged across settings
    assert len(s) == 9 and (s["n_seeds"] == 2).all()
    layer1 = s[s["layer"] == 1]
    eight = layer1[layer1["estimator_params"].str.contains('"n_bins": 8')]
    thirty = layer1[layer1["estimator_params"].str.contains('"n_bins": 30') & (layer1["hidden"] == "6-3")]
    assert len(eight) == 1 and len(thirty) == 1
    sub = df[(df["layer"] == 1) & df["estimator_params"].str.contains('"n_bins": 8')]
    assert eight["peak_i_xt"].item() == pytest.approx(sub.groupby("seed")["i_xt"].max().mean())
    # fewer bins keep fewer distinct rows: the two settings really differ
    assert eight["peak_i_xt"].item() < thirty["peak_i_xt"].item()
