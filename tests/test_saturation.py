"""The saturation flag: MIResult.saturated, the results' saturated column (a flag, not a run key)
and the warnings of ibfast run / reproduce."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ibfast
from ibfast import _units
from ibfast.analysis.keys import Keys
from ibfast.cli import main
from ibfast.columns import run_keys
from ibfast.estimators import MIResult, estimate_together
from ibfast.results import read_results, saturation_warnings

N = 1024


def _layers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 12))
    relu = 20.0 * np.maximum(x @ rng.standard_normal((12, 10)), 0.0) / math.sqrt(12)  # scale ~20
    spread = np.tanh(x @ rng.standard_normal((12, 3)) / math.sqrt(12))  # 3 tanh units
    return relu, spread


def test_the_margin_is_set_once():
    from ibfast import monitor

    assert _units.SATURATION_MARGIN_BITS == 0.05
    assert monitor.SATURATION_MARGIN_BITS is _units.SATURATION_MARGIN_BITS
    assert Keys().saturation_margin == _units.SATURATION_MARGIN_BITS


@pytest.mark.parametrize("units", ["bits", "nats"])
def test_kde_flags_a_wide_relu_layer_not_a_spread_one(units):
    relu, spread = _layers()
    est = ibfast.KDE(units=units)  # the 12-bit noise 1e-3
    r = est(relu)
    assert r.saturated is True
    s = est(spread)
    ceiling = math.log2(N) if units == "bits" else math.log(N)
    assert s.i_xt < ceiling - 0.05 * (1 if units == "bits" else math.log(2))  # the layer really is below
    assert s.saturated is False
    # the same flags through many and estimate_together, whichever the path
    assert [x.saturated for x in est.many([relu, spread])] == [True, False]
    together = estimate_together([est, ibfast.KDE(bound="lower", units=units)], [relu, spread])
    assert [[x.saturated for x in rs] for rs in together] == [[True, False], [True, False]]


def test_the_ceiling_is_the_distinct_inputs_when_input_ids_are_given():
    rng = np.random.default_rng(1)
    T = np.repeat(20.0 * rng.standard_normal((N // 2, 10)), 2, axis=0)  # every input twice
    ids = np.arange(N) // 2
    for est in (ibfast.KDE(), ibfast.EBAB()):
        r = est(T, input_ids=ids)
        assert r.i_xt == pytest.approx(math.log2(N // 2), abs=0.05)
        assert r.saturated is True  # at log2(N/2), the ceiling of N/2 distinct inputs
        assert est(T).saturated is False  # 1 bit under log2 N without the ids


def test_mi_result_default_and_margin_edges():
    ceiling = math.log2(4096)
    at_margin = MIResult("x", "bits", 4096, ceiling - 0.05, 0.0, 0.0)
    below = MIResult("x", "bits", 4096, ceiling - 0.0501, 0.0, 0.0)
    assert at_margin.saturated is True and below.saturated is False
    assert MIResult("x", "bits", 4096, 1.0, 0.0, 0.0, saturated=True).saturated is True  # given wins
    assert "saturated" in at_margin.as_dict()


def _table(saturated_epochs: int, n_epochs: int = 4) -> pd.DataFrame:
    rows = []
    for seed in range(2):
        for epoch in range(n_epochs):
            for layer in (1, 2):
                rows.append(dict(
                    activation="relu", l2=0.0, estimator="kde_upper", estimator_params="{}",
                    seed=seed, epoch=epoch, layer=layer, width=3, is_output=layer == 2, i_xt=1.0,
                    i_ty=0.5, h_t=1.0, train_loss=0.0, train_acc=0.0, test_loss=0.0, test_acc=0.0,
                    saturated=layer == 1 and seed == 0 and epoch < saturated_epochs,
                ))
    return pd.DataFrame(rows)


def test_saturated_is_not_a_run_key():
    df = _table(3)
    assert "saturated" not in run_keys(df)
    # it varies by epoch: grouping by the run keys keeps one group per run and layer
    assert df.groupby([*run_keys(df), "seed"]).ngroups == 4


def test_warnings_name_estimator_layer_and_share():
    lines = saturation_warnings(_table(3))
    assert len(lines) == 1  # once per estimator and layer
    assert "kde_upper, layer 1" in lines[0] and "75%" in lines[0] and "1 of 2 runs" in lines[0]
    assert "noise" in lines[0] and "reduce" in lines[0]  # what to do
    assert saturation_warnings(_table(2)) == []  # half the epochs is not most
    assert saturation_warnings(_table(3).drop(columns="saturated")) == []  # an older folder


def test_experiment_rows_carry_the_flag_and_the_cli_warns(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", "--activation", "relu", "--seeds", "1", "--epochs", "2", "--hidden", "10",
               "--estimators", "kde_upper", "--record-points", "2", "--out", str(out), "--no-progress",
               "--no-plots"])
    assert rc == 0
    df = read_results(out)
    assert df["saturated"].dtype == bool
    # a 10-unit ReLU layer at the 12-bit noise tells the 4096 inputs apart; the 2-unit softmax does not
    flags = df.groupby("layer")["saturated"].all()
    assert flags[1] and not df.loc[df["layer"] == 2, "saturated"].any()
    for _, row in df.iterrows():  # each row's flag is the estimate's own
        assert row["saturated"] == (row["i_xt"] >= 12 - 0.05)
    err = capsys.readouterr().err
    assert "warning: kde_upper, layer 1: I(X;T) saturated" in err and "100%" in err
    assert "layer 2" not in err
