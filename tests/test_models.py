"""Networks: activation registry, init, the seed-batched MLP and FlatAdam."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ibfast.experiment.run import batch_generators, train_one_epoch  # noqa: E402
from ibfast.models import SeedBatchedMLP, activations  # noqa: E402
from ibfast.models.optim import FlatAdam  # noqa: E402

REQUIRED = ("tanh", "relu", "elu", "softplus", "centred_softplus", "softsign", "leaky_relu",
            "swish", "sigmoid", "abs", "linear")


def test_registry_has_the_literature_activations():
    z = torch.linspace(-3, 3, 13)
    for name in REQUIRED:
        spec = activations.get(name)
        assert spec.fn(z).shape == z.shape
    np.testing.assert_allclose(activations.get("centred_softplus").fn(torch.zeros(1)).numpy(), 0.0,
                               atol=1e-7)
    assert activations.get("relu").gain == 2.0 and activations.get("tanh").gain == 1.0


def test_unknown_activation_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu2'.*tanh"):
        activations.get("gelu2")


def test_register_custom_activation():
    activations.register("cube_test", lambda t: t**3, 1.0)
    m = SeedBatchedMLP(3, (4,), 2, "cube_test", [0])
    x = torch.randn(5, 3)
    hidden, _ = m.forward_all(x)
    expected = (x @ m.weights[0][0].T + m.biases[0][0].T) ** 3
    torch.testing.assert_close(hidden[0][0], expected)
    with pytest.raises(ValueError, match="gain"):
        activations.register("bad", torch.tanh, -1.0)


def test_init_is_truncated_normal_with_gain_over_sqrt_fan_in():
    m = SeedBatchedMLP(400, (300,), 2, "relu", [0, 1])
    w = m.weights[0].detach()
    std = 2.0 / math.sqrt(400)
    assert float(w.abs().max()) <= 2 * std + 1e-7
    # a normal truncated at 2 sd has sd 0.8796 of the untruncated one
    assert float(w.std()) == pytest.approx(0.8796 * std, rel=0.02)
    assert not torch.equal(w[0], w[1])
    assert float(m.biases[0].detach().abs().max()) == 0.0
    again = SeedBatchedMLP(400, (300,), 2, "relu", [1])
    torch.testing.assert_close(again.weights[0][0], w[1])  # seed 1 draws the same alone


def test_parameters_alias_the_flat_buffer():
    m = SeedBatchedMLP(12, (10, 7), 2, "tanh", [0, 1, 2])
    assert sum(p.numel() for p in m.parameters()) == m.flat.numel()
    with torch.no_grad():
        m.flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0.0 for p in m.parameters())


def test_forward_shapes_and_softmax_output():
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, "tanh", [0, 1])
    outs = m(torch.rand(9, 12))
    assert [tuple(o.shape) for o in outs] == [(2, 9, w) for w in (10, 7, 5, 4, 3, 2)]
    torch.testing.assert_close(outs[-1].sum(-1), torch.ones(2, 9))
    with pytest.raises(ValueError, match="x must be"):
        m(torch.rand(9, 11))


def test_l2_penalty_covers_hidden_weights_only():
    m = SeedBatchedMLP(3, (4, 5), 2, "tanh", [0, 1])
    expected = [0.5 * sum(float((w[s].detach() ** 2).sum()) for w in list(m.weights)[:-1]) for s in range(2)]
    np.testing.assert_allclose(m.l2_penalty().detach().numpy(), expected, rtol=1e-6)


def test_flat_adam_equals_torch_adam():
    torch.manual_seed(0)
    m = SeedBatchedMLP(6, (5, 4), 3, "elu", [0, 1])
    ref = [p.detach().clone().requires_grad_(True) for p in m.parameters()]
    ours = FlatAdam(m.flat, list(m.parameters()), lr=1e-2)
    theirs = torch.optim.Adam(ref, lr=1e-2)
    for _ in range(25):
        g = [torch.randn_like(p) for p in ref]
        ours.zero_grad()
        for p, gi in zip(m.parameters(), g, strict=True):
            p.grad += gi
        for p, gi in zip(ref, g, strict=True):
            p.grad = gi.clone()
        ours.step()
        theirs.step()
    for a, b in zip(m.parameters(), ref, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)


def _train(seeds, epochs=6):
    torch.manual_seed(123)
    x = torch.rand(64, 12)
    y = (x.sum(1) > 6).long()
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, "relu", seeds)
    opt = FlatAdam(m.flat, list(m.parameters()), lr=1e-2)
    gens = batch_generators(seeds)
    for _ in range(epochs):
        assert train_one_epoch(m, opt, x, y, gens, batch_size=16, l2=0.015) == 4
    return m


def test_batched_seeds_equal_separate_runs():
    batched = _train([0, 1, 2])
    for s, seed in enumerate([0, 1, 2]):
        alone = _train([seed])
        for wb, wa in zip(batched.parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(wb[s], wa[0], rtol=1e-5, atol=1e-6)
