"""Packed training: configurations that differ only in activation, L2 and seeds train as one
stacked model, and each gives the numbers of its own run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.experiment.run import pack_key  # noqa: E402


def _cfg(activation, l2, seeds, **kw):
    base = dict(epochs=6, hidden=(8, 5, 3), record_epochs=(0, 3, 5), estimators=("kde_upper",),
                batch_size=512, activation=activation, l2=l2, seeds=seeds)
    base.update(kw)
    return ExperimentConfig(**base)


MEMBERS = [("tanh", 0.0, (0, 1)), ("relu", 0.015, (0, 2)), ("prelu", 0.0, (3,)), ("abs", 0.015, (1,))]


@pytest.mark.parametrize("batch_order", ["fixed", "per_seed"])
def test_packed_configurations_equal_their_separate_runs(batch_order):
    configs = [_cfg(a, p, s, batch_order=batch_order) for a, p, s in MEMBERS]
    packed = Experiment(configs)
    tables = packed.run_members()
    assert packed.model is not None and packed.model.n_seeds == 6
    for m, (config, table) in enumerate(zip(configs, tables, strict=True)):
        alone = Experiment(config)
        ref = alone.run()
        assert set(table["activation"]) == {config.activation} and set(table["l2"]) == {config.l2}
        assert len(table) == len(ref)
        # batched matmuls sum in another order than smaller ones: float rounding only
        np.testing.assert_allclose(table["train_loss"], ref["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(table["i_xt"], ref["i_xt"], rtol=1e-4)
        np.testing.assert_allclose(table["test_acc"], ref["test_acc"], atol=1e-3)
        slots = [k for k, (member, _) in enumerate(packed.slots) if member == m]
        pairs = [*zip(packed.model.weights, alone.model.weights, strict=True),
                 *zip(packed.model.biases, alone.model.biases, strict=True)]
        if config.activation == "prelu":  # the packed model holds slopes for every seed
            pairs += [(p, a) for p, a in zip(packed.model.act_params, alone.model.act_params, strict=True)]
        for wp, wa in pairs:
            torch.testing.assert_close(wp[slots].detach(), wa.detach(), rtol=1e-5, atol=1e-6)


def test_packed_init_uses_each_activations_gain():
    packed = Experiment([_cfg("tanh", 0.0, (0,)), _cfg("relu", 0.0, (0,))]).make_model()
    # the same seed draws the same numbers; relu's gain is 2, tanh's 1, the output layer too
    for w in packed.weights:
        torch.testing.assert_close(w[1].detach(), 2.0 * w[0].detach())


def test_one_l2_per_seed():
    packed = Experiment([_cfg("tanh", 0.0, (0,)), _cfg("tanh", 0.015, (0,))])
    l2 = packed._l2(torch.device("cpu"))
    assert isinstance(l2, torch.Tensor) and l2.tolist() == pytest.approx([0.0, 0.015])
    tables = packed.run_members()
    assert tables[0]["train_loss"].iloc[-1] != tables[1]["train_loss"].iloc[-1]  # L2 acted on one only
    same = Experiment([_cfg("tanh", 0.015, (0,)), _cfg("relu", 0.015, (1,))])
    assert same._l2(torch.device("cpu")) == 0.015  # one strength: the plain path


def test_only_packable_configurations_pack():
    with pytest.raises(ValueError, match="differ only in activation, l2, seeds; these differ: hidden, lr"):
        Experiment([_cfg("tanh", 0.0, (0,)), _cfg("relu", 0.0, (0,), hidden=(4,), lr=1e-3)])
    assert pack_key(_cfg("tanh", 0.0, (0,))) == pack_key(_cfg("swish", 0.015, (4, 5)))
    with pytest.raises(ValueError, match="at least one configuration"):
        Experiment([])
