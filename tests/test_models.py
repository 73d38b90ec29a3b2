"""Networks: activation registry, init, the seed-batched MLP and FlatAdam."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ibfast.experiment.batches import BatchOrder  # noqa: E402
from ibfast.experiment.train import train_one_epoch  # noqa: E402
from ibfast.models import SeedBatchedMLP, activations  # noqa: E402
from ibfast.models.mlp import truncated_normal_  # noqa: E402
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
    # the paper's gain and this package's former one differ for abs only
    assert (activations.get("abs").gain, activations.get("abs").ibfast_gain) == (1.0, 2.0)
    assert (activations.get("relu").gain, activations.get("relu").ibfast_gain) == (2.0, 2.0)
    prelu = activations.get("prelu")
    assert (prelu.gain, prelu.ibfast_gain, prelu.n_params, prelu.init_param) == (2.0, 2.0, 1, 0.0)
    assert activations.INIT_GAIN_RULES == ("authors", "ibfast")


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
    with pytest.raises(ValueError, match="ibfast_gain"):
        activations.register("bad", torch.tanh, 1.0, ibfast_gain=0.0)
    with pytest.raises(ValueError, match="n_params"):
        activations.register("bad", torch.tanh, 1.0, n_params=-1)
    with pytest.raises(ValueError, match="init_param"):
        activations.register("bad", torch.tanh, 1.0, n_params=1, init_param=math.inf)
    assert "bad" not in activations.names()


def test_register_custom_parametric_activation():
    # two parameters per unit, a scale and a shift, both starting at 1: h = a z + c = z + 1
    activations.register("affine_test", lambda z, p: p[..., 0:1] * z + p[..., 1:2], 1.0,
                         n_params=2, init_param=1.0)
    m = SeedBatchedMLP(3, (4, 5), 2, "affine_test", [0, 1])
    assert [tuple(p.shape) for p in m.act_params] == [(2, 4, 2), (2, 5, 2)]
    assert all(float((p.detach() - 1.0).abs().max()) == 0.0 for p in m.act_params)
    assert sum(p.numel() for p in m.parameters()) == m.flat.numel()
    x = torch.randn(6, 3)
    hidden, _ = m.forward_all(x)
    torch.testing.assert_close(hidden[0][1], x @ m.weights[0][1].T + m.biases[0][1].T + 1.0)
    with torch.no_grad():
        m.act_params[0][1, :, 0] = 2.0  # seed 1's scales
        m.act_params[0][1, :, 1] = -3.0  # and shifts
    hidden, _ = m.forward_all(x)
    torch.testing.assert_close(hidden[0][1], 2.0 * (x @ m.weights[0][1].T + m.biases[0][1].T) - 3.0)


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


# std of a normal truncated at 2 sd, relative to the untruncated one
_TRUNC_SD = math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(math.sqrt(2)))
# the authors' code: every layer, the output included, uses the activation's gain
AUTHORS_GAIN = {"tanh": 1.0, "relu": 2.0, "abs": 1.0, "prelu": 2.0, "swish": 2.0, "elu": 2.0,
                "softplus": 2.0}
# ibfast before: the hidden layers' gain (abs 2), output gain 1
IBFAST_GAIN = {**AUTHORS_GAIN, "abs": 2.0}


@pytest.mark.parametrize("rule", ["authors", "ibfast"])
@pytest.mark.parametrize("name", sorted(AUTHORS_GAIN))
def test_init_std_of_every_layer_per_activation_and_rule(name, rule):
    assert _TRUNC_SD == pytest.approx(0.8796, abs=1e-4)
    m = SeedBatchedMLP(400, (400, 400), 300, name, [7], init_gain=rule)
    if rule == "authors":
        gains = [AUTHORS_GAIN[name]] * 3
    else:
        gains = [IBFAST_GAIN[name]] * 2 + [1.0]
    for w, b, g in zip(m.weights, m.biases, gains, strict=True):
        w = w.detach()
        assert w.shape[2] == 400
        std = g / math.sqrt(400)
        assert float(w.std()) == pytest.approx(_TRUNC_SD * std, rel=0.01)
        assert float(w.mean()) == pytest.approx(0.0, abs=0.01 * std)
        assert float(w.abs().max()) <= 2 * std * (1 + 1e-6)
        assert float(b.detach().abs().max()) == 0.0


@pytest.mark.parametrize("name", ["relu", "tanh", "abs", "elu", "prelu"])
def test_ibfast_rule_reproduces_the_former_weights_exactly(name):
    former_gain = {"relu": 2.0, "tanh": 1.0, "abs": 2.0, "elu": 2.0, "prelu": 2.0}[name]
    seeds = [3, 0, 11]
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, name, seeds, init_gain="ibfast")
    # the former draw: per seed its own generator, layers in order, output gain 1
    for s, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        for layer, w in enumerate(m.weights):
            gain = former_gain if layer < len(m.weights) - 1 else 1.0
            expected = truncated_normal_(torch.empty(w.shape[1:]), gain / math.sqrt(w.shape[2]), gen)
            assert torch.equal(w[s].detach(), expected)
    assert all(float(b.detach().abs().max()) == 0.0 for b in m.biases)
    # the rules draw the same numbers: for relu they differ only in the output layer's scale
    if name == "relu":
        a = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, name, seeds, init_gain="authors")
        for wa, wi in zip(list(a.weights)[:-1], list(m.weights)[:-1], strict=True):
            assert torch.equal(wa, wi)
        torch.testing.assert_close(a.weights[-1].detach(), 2.0 * m.weights[-1].detach())


def test_init_gain_rule_is_checked():
    with pytest.raises(ValueError, match=r"init_gain must be one of 'authors', 'ibfast', got 'paper'"):
        SeedBatchedMLP(3, (4,), 2, "relu", [0], init_gain="paper")
    with pytest.raises(TypeError, match="init_gain must be a str"):
        SeedBatchedMLP(3, (4,), 2, "relu", [0], init_gain=None)
    with pytest.raises(TypeError, match="init_gain must be a str"):
        SeedBatchedMLP(3, (4,), 2, "relu", [0], init_gain=1)
    assert SeedBatchedMLP(3, (4,), 2, "relu", [0]).init_gain == "authors"


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


def _train(seeds, epochs=6, activation="relu"):
    torch.manual_seed(123)
    x = torch.rand(64, 12)
    y = (x.sum(1) > 6).long()
    if activation == "prelu":
        x = x - 0.5  # centred inputs: more negative pre-activations, so the slopes learn
    m = SeedBatchedMLP(12, (10, 7, 5, 4, 3), 2, activation, seeds)
    opt = FlatAdam(m.flat, list(m.parameters()), lr=1e-2)
    batches = BatchOrder("per_seed", seeds, x.shape[0])
    for _ in range(epochs):
        assert train_one_epoch(m, opt, x, y, batches.next_epoch(), batch_size=16, l2=0.015) == 4
    return m


def test_batched_seeds_equal_separate_runs():
    batched = _train([0, 1, 2])
    for s, seed in enumerate([0, 1, 2]):
        alone = _train([seed])
        for wb, wa in zip(batched.parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(wb[s], wa[0], rtol=1e-5, atol=1e-6)


def test_prelu_starts_as_relu():
    seeds = [0, 4]
    p = SeedBatchedMLP(12, (10, 7, 5), 3, "prelu", seeds)
    r = SeedBatchedMLP(12, (10, 7, 5), 3, "relu", seeds)
    assert [tuple(a.shape) for a in p.act_params] == [(2, 10, 1), (2, 7, 1), (2, 5, 1)]
    assert len(r.act_params) == 0
    assert all(float(a.detach().abs().max()) == 0.0 for a in p.act_params)
    assert sum(q.numel() for q in p.parameters()) == p.flat.numel()
    x = torch.randn(20, 12)
    for hp, hr in zip(p(x), r(x), strict=True):
        assert torch.equal(hp, hr)
    # and once the slopes move it is no longer ReLU: negative inputs pass scaled by the slope
    with torch.no_grad():
        p.act_params[0].fill_(0.25)
    z = x @ p.weights[0][0].detach().T
    torch.testing.assert_close(p.forward_all(x)[0][0][0].detach(), torch.where(z >= 0, z, 0.25 * z))


def test_prelu_gradient_matches_the_formula():
    # the function itself, with exact zeros: d/dz = 1 if z >= 0 else a; d/da = z if z < 0 else 0
    z = torch.tensor([[[-2.0, -0.5, 0.0, 0.5, 3.0]]], requires_grad=True)
    a = torch.tensor([[[0.3]]], requires_grad=True)
    activations.prelu(z, a).sum().backward()
    torch.testing.assert_close(z.grad, torch.tensor([[[0.3, 0.3, 1.0, 1.0, 1.0]]]))
    torch.testing.assert_close(a.grad, torch.tensor([[[-2.5]]]))
    # on a tiny net (two seeds, one hidden layer of 4), for a weighted sum of the hidden units
    torch.manual_seed(5)
    m = SeedBatchedMLP(3, (4,), 2, "prelu", [0, 1])
    with torch.no_grad():
        m.act_params[0].copy_(torch.tensor([0.1, -0.2, 0.5, 0.9]).view(1, 4, 1).expand(2, 4, 1))
        m.biases[0].normal_()
    x = torch.randn(2, 3, 7, requires_grad=True)  # feature-major (S, n_in, N)
    up = torch.randn(2, 4, 7)
    hidden, _ = m.forward_features(x)
    (hidden[0] * up).sum().backward()
    w, b, a = (t.detach() for t in (m.weights[0], m.biases[0], m.act_params[0]))
    zz = w @ x.detach() + b
    assert bool((zz < 0).any()) and bool((zz > 0).any())
    dz = up * torch.where(zz >= 0, torch.ones_like(zz), a)
    torch.testing.assert_close(x.grad, w.transpose(1, 2) @ dz)
    torch.testing.assert_close(m.act_params[0].grad, (up * torch.where(zz < 0, zz, 0.0)).sum(2, keepdim=True))
    torch.testing.assert_close(m.weights[0].grad, dz @ x.detach().transpose(1, 2))


def test_flat_adam_updates_the_prelu_slopes():
    torch.manual_seed(1)
    m = SeedBatchedMLP(12, (10, 7), 2, "prelu", [0, 1])
    opt = FlatAdam(m.flat, list(m.parameters()), lr=1e-2)
    x, y = torch.randn(2, 12, 32), torch.randint(0, 2, (2, 32))
    _, logits = m.forward_features(x, keep_hidden=False)
    loss = torch.nn.functional.cross_entropy(logits, y, reduction="none").mean(1).sum()
    opt.zero_grad()
    loss.backward()
    grads = [a.grad.clone() for a in m.act_params]
    opt.step()
    moved = 0
    for a, g in zip(m.act_params, grads, strict=True):
        # Adam's first step from 0 is -lr * g / (|g| + eps)
        torch.testing.assert_close(a.detach(), -1e-2 * g / (g.abs() + 1e-8))
        moved += int((a.detach() != 0).sum())
    assert moved >= 0.9 * sum(a.numel() for a in m.act_params)


def test_batched_seeds_equal_separate_runs_with_prelu():
    batched = _train([0, 1, 2], activation="prelu")
    assert len(batched.act_params) == 5
    assert float(batched.act_params[0].detach().abs().max()) > 1e-3  # the slopes did train
    for s, seed in enumerate([0, 1, 2]):
        alone = _train([seed], activation="prelu")
        for wb, wa in zip(batched.parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(wb[s], wa[0], rtol=1e-5, atol=1e-6)


def test_l2_penalty_covers_prelu_slopes_only_when_asked():
    seeds = [0, 1]
    plain = SeedBatchedMLP(3, (4, 5), 2, "prelu", seeds)
    both = SeedBatchedMLP(3, (4, 5), 2, "prelu", seeds, l2_on_activation_params=True)
    for m in (plain, both):
        with torch.no_grad():
            for k, a in enumerate(m.act_params):
                a.copy_(torch.arange(a.numel(), dtype=torch.float32).view(a.shape) * 0.1 + k)
    weights_only = [0.5 * sum(float((w[s].detach() ** 2).sum()) for w in list(plain.weights)[:-1])
                    for s in range(2)]
    slopes = [0.5 * sum(float((a[s].detach() ** 2).sum()) for a in plain.act_params) for s in range(2)]
    assert min(slopes) > 1.0
    np.testing.assert_allclose(plain.l2_penalty().detach().numpy(), weights_only, rtol=1e-6)
    np.testing.assert_allclose(both.l2_penalty().detach().numpy(),
                               np.add(weights_only, slopes), rtol=1e-6)
    # its gradient on a slope is the slope itself
    both.l2_penalty().sum().backward()
    torch.testing.assert_close(both.act_params[1].grad, both.act_params[1].detach())
