"""The paper's training protocol ("authors") next to ibfast's former choices ("ibfast"): one test
per item in which they differ, and the results rows that say which was used."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import VAR_U_MISSING, VAR_U_PATH

torch = pytest.importorskip("torch")
pytest.importorskip("pandas")
import ibfast  # noqa: E402
from ibfast.data import Dataset  # noqa: E402
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.experiment.batches import BatchOrder  # noqa: E402
from ibfast.experiment.config import PROTOCOLS  # noqa: E402

TRUNC_STD = 0.8796256610342398  # std of a standard normal truncated at +-2


def _small(**kw):
    base = dict(epochs=4, seeds=(0, 1), hidden=(6, 4), record_epochs=(0, 3), estimators=("ebab",))
    base.update(kw)
    return ExperimentConfig(**base)


# ---- what each protocol means -----------------------------------------------------------------


def test_protocols_resolve_every_item_and_single_keys_override():
    a = ExperimentConfig()
    assert a.protocol == "authors"
    items = (a.init_gain, a.batch_order, a.shuffle_split, a.record_timing)
    assert items == ("authors", "fixed", False, "before")
    assert a.estimators == ("ebab", "adaptive_kde_upper")
    i = ExperimentConfig(protocol="ibfast")
    items = (i.init_gain, i.batch_order, i.shuffle_split, i.record_timing)
    assert items == ("ibfast", "per_seed", True, "after")
    assert a.protocol_label() == "authors" and i.protocol_label() == "ibfast"
    one = ExperimentConfig(batch_order="shared_shuffle")
    assert one.protocol_items()._replace(batch_order="fixed") == PROTOCOLS["authors"]
    assert one.protocol_label() == "custom"
    # a round trip through a dict (TOML, the results' metadata) keeps every item
    assert ExperimentConfig.from_dict(one.to_dict()) == one


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"protocol": "paper"}, ValueError, "protocol must be one of"),
        ({"batch_order": "random"}, ValueError, "batch_order must be one of"),
        ({"record_timing": "during"}, ValueError, "record_timing must be one of"),
        ({"init_gain": "he"}, ValueError, "init_gain must be one of"),
        ({"shuffle_split": "yes"}, ValueError, "shuffle_split must be True, False or 'stratified'"),
        ({"shuffle_split": 1}, TypeError, "shuffle_split must be a bool or 'stratified'"),
        ({"protocol": 1}, TypeError, "protocol must be a str"),
    ],
)
def test_bad_protocol_keys(kwargs, error, match):
    with pytest.raises(error, match=match):
        ExperimentConfig(**kwargs)


# ---- init: the output layer uses the hidden layers' gain; abs has gain 1 -------------------------


@pytest.mark.parametrize(("activation", "gain"), [("tanh", 1.0), ("abs", 1.0), ("relu", 2.0), ("prelu", 2.0),
                                                  ("swish", 2.0), ("elu", 2.0), ("softplus", 2.0)])
def test_experiment_initialises_every_layer_as_the_authors(activation, gain):
    exp = Experiment(ExperimentConfig(activation=activation, hidden=(400, 400), seeds=(0, 1, 2), epochs=1))
    model = exp.make_model()
    for w in model.weights:  # every layer, the output included
        fan_in = w.shape[2]
        std = float(w.detach().std())
        assert std == pytest.approx(gain / math.sqrt(fan_in) * TRUNC_STD, rel=0.05)
    exp_i = Experiment(ExperimentConfig(activation=activation, hidden=(400, 400), seeds=(0,), epochs=1,
                                        protocol="ibfast"))
    out = exp_i.make_model().weights[-1]
    assert float(out.detach().std()) == pytest.approx(1.0 / math.sqrt(400) * TRUNC_STD, rel=0.1)


# ---- mini-batches ---------------------------------------------------------------------------------


def test_fixed_batches_are_identical_every_epoch_and_across_seeds():
    order = BatchOrder("fixed", [0, 5, 9], 100)
    first, second = order.next_epoch(), order.next_epoch()
    expected = torch.arange(100).expand(3, -1)
    assert torch.equal(first, expected) and torch.equal(second, expected)


def test_per_seed_and_shared_shuffle_orders():
    per_seed = BatchOrder("per_seed", [0, 1], 50)
    e1, e2 = per_seed.next_epoch(), per_seed.next_epoch()
    assert not torch.equal(e1[0], e1[1]) and not torch.equal(e1, e2)
    # seed s always draws from its own generator, whatever seeds train beside it
    alone = BatchOrder("per_seed", [1], 50)
    assert torch.equal(alone.next_epoch()[0], e1[1])
    shared = BatchOrder("shared_shuffle", [0, 1, 2], 50, batch_seed=3)
    s1, s2 = shared.next_epoch(), shared.next_epoch()
    assert torch.equal(s1[0], s1[2]) and not torch.equal(s1, s2)
    for o in (e1, s1):
        assert torch.equal(o.sort(dim=1).values, torch.arange(50).expand(o.shape[0], -1))


def test_fixed_batches_make_seeds_differ_in_their_init_only():
    # Two seeds with the same init (the same seed id twice is refused, so: two experiments) see the
    # same batches: under "authors" their training is identical; under per-seed shuffling it differs.
    runs = {}
    for order in ("fixed", "per_seed"):
        for seed in (0, 7):
            exp = Experiment(_small(seeds=(seed,), batch_order=order, init_gain="authors"))
            model = exp.make_model()
            with torch.no_grad():  # same init for both seeds: the batch order alone decides
                model.flat.copy_(Experiment(_small(seeds=(0,))).make_model().flat)
            exp.make_model = lambda model=model: model  # type: ignore[method-assign]
            exp.run()
            runs[order, seed] = model.flat.detach().clone()
    assert torch.equal(runs["fixed", 0], runs["fixed", 7])
    assert not torch.allclose(runs["per_seed", 0], runs["per_seed", 7])


# ---- the split ---------------------------------------------------------------------------------------


def test_authors_split_is_the_first_80_percent():
    exp = Experiment(_small())
    np.testing.assert_array_equal(exp.train_idx, np.arange(3277))
    np.testing.assert_array_equal(exp.test_idx, np.arange(3277, 4096))
    shuffled = Experiment(_small(protocol="ibfast"))
    assert shuffled.train_idx.size == 3277 and not np.array_equal(shuffled.train_idx, np.arange(3277))


# ---- recording before the updates ------------------------------------------------------------------


def test_recorded_epoch_0_is_the_untrained_network():
    exp = Experiment(_small(record_epochs=(0, 1, 3)))
    df = exp.run()
    untrained = exp.make_model()  # the same seeds give the same initial weights
    x = torch.from_numpy(exp.dataset.x)
    y = exp.dataset.y
    with torch.no_grad():
        layers = untrained(x)
    first = df[df["epoch"] == 0]
    for s, seed in enumerate((0, 1)):
        mine = first[first["seed"] == seed]
        pred = layers[-1][s].argmax(-1).numpy()
        assert mine["test_acc"].iloc[0] == pytest.approx((pred[exp.test_idx] == y[exp.test_idx]).mean())
        assert mine["train_acc"].iloc[0] == pytest.approx((pred[exp.train_idx] == y[exp.train_idx]).mean())
        for k, layer in enumerate(layers):
            r = ibfast.EBAB()(layer[s].numpy(), y)
            assert mine[mine["layer"] == k + 1]["i_xt"].item() == pytest.approx(r.i_xt, abs=1e-9)
    assert exp.timings.steps == 4 * 13  # every epoch still trains: 3277 samples in batches of 256


def test_recording_before_and_after_differ_by_one_epoch():
    before = Experiment(_small(record_epochs=(1, 2), record_timing="before", batch_order="fixed")).run()
    after = Experiment(_small(record_epochs=(0, 1), record_timing="after", batch_order="fixed")).run()
    # "before epoch e+1" is "after epoch e"
    b = before.sort_values(["seed", "layer", "epoch"])["i_xt"].to_numpy()
    a = after.sort_values(["seed", "layer", "epoch"])["i_xt"].to_numpy()
    np.testing.assert_array_equal(a, b)


# ---- what every row says ---------------------------------------------------------------------------


def test_rows_say_which_protocol_and_each_item():
    df = Experiment(_small(batch_order="shared_shuffle")).run()
    row = df.iloc[0]
    assert (row["protocol"], row["init_gain"], row["batch_order"], row["record_timing"], row["split"]) == (
        "custom", "authors", "shared_shuffle", "before", "ordered")
    df = Experiment(_small(protocol="ibfast")).run()
    assert set(df["protocol"]) == {"ibfast"} and set(df["split"]) == {"shuffled"}


def test_input_ids_are_passed_for_data_with_repeated_inputs(monkeypatch):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=(40, 5)).astype(np.float32)
    x = np.concatenate([base, base[:20]])  # 20 inputs appear twice
    y = (x.sum(1) > 2).astype(np.int64)
    data = Dataset("repeats", x, y, 2)
    exp = Experiment(_small(seeds=(0,), batch_size=16, estimators=("fixed_range", "kde_upper")), dataset=data)
    assert exp.input_ids is not None and int(exp.input_ids.max()) + 1 == len(np.unique(x, axis=0))
    assert Experiment(_small()).input_ids is None  # all 4096 12-bit patterns are distinct
    seen = []
    import ibfast.experiment.run as run_module

    real = run_module.estimate_together

    def spy(estimators, Ts, labels=None, *, input_ids=None, **kw):
        seen.extend([input_ids] * len(estimators))
        return real(estimators, Ts, labels, input_ids=input_ids, **kw)

    monkeypatch.setattr(run_module, "estimate_together", spy)
    df = exp.run()
    assert len(seen) == 2 * 2 and all(ids is exp.input_ids for ids in seen)  # 2 epochs x 2 estimators
    with torch.no_grad():
        layers = exp.make_model()(torch.from_numpy(x))
    r = ibfast.FixedRange()(layers[0][0].numpy(), y, input_ids=exp.input_ids)
    row = df[(df["epoch"] == 0) & (df["layer"] == 1) & (df["estimator"] == "fixed_range")]
    assert row["i_xt"].item() == r.i_xt
    assert r.h_t_given_x == pytest.approx(0.0, abs=1e-12)  # a deterministic net: H(T|X) = 0


# ---- PReLU trains in an experiment ------------------------------------------------------------------


def test_prelu_slopes_train_and_l2_leaves_them_alone_unless_asked():
    exp = Experiment(_small(activation="prelu", l2=0.015, epochs=3, record_epochs=(2,)))
    exp.run()
    assert exp.model is not None and len(exp.model.act_params) == 2
    assert any(float(p.detach().abs().max()) > 0 for p in exp.model.act_params)  # moved from 0
    assert not exp.model.l2_on_activation_params
    asked = Experiment(_small(activation="prelu", l2=0.015, l2_on_activation_params=True))
    assert asked.make_model().l2_on_activation_params


# ---- var_u.mat with the faithful protocol -----------------------------------------------------------


@pytest.mark.skipif(not VAR_U_PATH.is_file(), reason=VAR_U_MISSING)
def test_var_u_tanh_run_under_the_authors_protocol():
    cfg = ExperimentConfig(data_path=str(VAR_U_PATH), activation="tanh", seeds=(0, 1), epochs=300,
                           record_points=30)
    df = Experiment(cfg).run()
    assert set(df["protocol"]) == {"authors"} and set(df["split"]) == {"ordered"}
    assert set(df["data_source"]) == {str(VAR_U_PATH)}
    assert df["epoch"].min() == 0 and set(df["estimator"]) == {"ebab", "adaptive_kde_upper"}
    # the untrained first layer keeps all 4096 patterns apart (EBAB): 12 bits
    first = df[(df["epoch"] == 0) & (df["layer"] == 1) & (df["estimator"] == "ebab")]
    assert np.allclose(first["i_xt"], 12.0)
    # the unshuffled split of the sorted file: the test set is mostly y = 1 (P = 0.84)
    data = Experiment(cfg).dataset
    assert data.y[3277:].mean() == pytest.approx(0.84, abs=0.01)
    assert df["i_ty"].between(0, 1 + 1e-9).all()
