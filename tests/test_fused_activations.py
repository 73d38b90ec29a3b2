"""The compiled activations of packed models (ibfast.models.fused, csrc/cpu/activations.cpp):
every built-in against torch in float64, their derivatives, torch's conventions at the kinks,
NaN, prelu's slope gradients, whole models against the torch path, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from ibfast import _core  # noqa: E402
from ibfast.models import SeedBatchedMLP, activations, fused  # noqa: E402

# The float64 definitions, independent of the package's registry.
DEFINITIONS = {
    "linear": lambda t: t,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "elu": F.elu,
    "softplus": F.softplus,
    "centred_softplus": lambda t: F.softplus(t) - math.log(2.0),
    "softsign": F.softsign,
    "leaky_relu": F.leaky_relu,
    "swish": F.silu,
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "abs": torch.abs,
}


def _values() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate([
        rng.normal(0.0, 3.0, 20000), rng.normal(0.0, 1e-3, 4000), np.linspace(-100.0, 100.0, 4001),
        [1e-30, -1e-30, 1e-8, -1e-8, 20.0, -20.0, 87.0, -87.0, 88.0, -88.0, 200.0, -200.0],
    ]).astype(np.float32)


def _forward(kind: int, z: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
    zz = np.ascontiguousarray(z, dtype=np.float32).reshape(1, 1, -1)
    h = np.empty_like(zz)
    _core.activations_forward(zz, h, None, np.array([kind], np.int32), params)
    return h.ravel()


def _derivative(kind: int, z: np.ndarray) -> np.ndarray:
    zz = np.ascontiguousarray(z, dtype=np.float32).reshape(1, 1, -1)
    h, derivative = np.empty_like(zz), np.empty_like(zz)
    kinds = np.array([kind], np.int32)
    _core.activations_forward(zz, h, derivative, kinds)
    grad = np.empty_like(zz)
    _core.activations_backward(zz, derivative, np.full_like(zz, 2.0), grad, kinds)
    np.testing.assert_array_equal(grad, 2.0 * derivative)  # the backward pass: one multiply
    return derivative.ravel()


def _exact(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.from_numpy(z.astype(np.float64)).requires_grad_()
    out = DEFINITIONS[name](t)
    out.sum().backward()
    assert t.grad is not None
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_each_activation_and_derivative_match_float64_torch(name):
    z = _values()
    kind = activations.KERNEL_KINDS[name]
    h_ref, d_ref = _exact(name, z)
    # Relative to the float32 spacing of the value, plus its rounding from float32 z: a few ulp,
    # like torch's own float32 kernels. centred_softplus cancels near 0 (softplus ~ ln 2) and tanh'
    # and sigmoid' are 1 - h^2 and h (1 - h) of a rounded h, as in torch: an absolute float32
    # error of the order of the larger term is all that is defined there.
    # Below the normal floats (exp(z) for z < -87) the kernel flushes to 0: an error of at most
    # the smallest normal float, times |z| for swish.
    flush = 2e-38 * np.maximum(1.0, np.abs(z))
    scale = {"centred_softplus": np.maximum(np.abs(h_ref), math.log(2.0))}.get(name, np.abs(h_ref))
    ulp = np.spacing(scale.astype(np.float32))
    np.testing.assert_array_less(np.abs(_forward(kind, z) - h_ref), 4.5 * ulp + flush)
    d_scale = np.maximum(np.abs(d_ref), 1.0 if name in ("tanh", "sigmoid", "swish", "silu") else 0.0)
    d_ulp = np.spacing(d_scale.astype(np.float32))
    np.testing.assert_array_less(np.abs(_derivative(kind, z) - d_ref), 8 * d_ulp + flush)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_derivatives_at_zero_follow_torch_float32(name):
    z = torch.tensor([0.0, -0.0], requires_grad=True)
    DEFINITIONS[name](z).sum().backward()
    assert z.grad is not None
    ours = _derivative(activations.KERNEL_KINDS[name], z.detach().numpy())
    np.testing.assert_array_equal(ours, z.grad.numpy())


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_nan_in_gives_nan_out(name):
    h = _forward(activations.KERNEL_KINDS[name], np.array([np.nan, 1.0, -1.0], np.float32))
    assert np.isnan(h[0]) and np.isfinite(h[1:]).all()


def test_swish_derivative_where_one_minus_sigmoid_would_cancel():
    z = np.linspace(8.0, 25.0, 200001).astype(np.float32)  # 1 - s(z) is tiny there
    _, d_ref = _exact("silu", z)
    err = np.abs(_derivative(activations.KERNEL_KINDS["silu"], z) - d_ref)
    np.testing.assert_array_less(err, 3 * np.spacing(np.float32(1.0)))


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_nan_and_infinities_follow_torch_float32(name):
    """NaN, +-inf in: the values and derivatives of torch's float32 autograd (softsign' at +-inf,
    NaN in torch, is the limit 0 here; NaN derivatives count as equal)."""
    z = torch.tensor([math.nan, math.inf, -math.inf], requires_grad=True)
    h_ref = DEFINITIONS[name](z)
    h_ref.sum().backward()
    assert z.grad is not None
    kind = activations.KERNEL_KINDS[name]
    np.testing.assert_array_equal(_forward(kind, z.detach().numpy()), h_ref.detach().numpy())
    d_ref = z.grad.numpy().copy()
    if name == "softsign":
        d_ref[1:] = 0.0
    np.testing.assert_array_equal(_derivative(kind, z.detach().numpy()), d_ref)


def test_prelu_backward_may_write_over_its_inputs():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(2, 3, 21)).astype(np.float32)
    kinds = np.full(2, activations.KERNEL_KINDS["prelu"], np.int32)
    params = rng.uniform(0.1, 0.3, size=(2, 3, 1)).astype(np.float32)
    h, d = np.empty_like(z), np.empty_like(z)
    _core.activations_forward(z, h, d, kinds, params)
    g = rng.normal(size=z.shape).astype(np.float32)
    apart, apart_slopes = np.empty_like(z), np.zeros_like(params)
    _core.activations_backward(z, d, g, apart, kinds, apart_slopes)
    over_z, slopes = z.copy(), np.zeros_like(params)
    _core.activations_backward(over_z, d, g, over_z, kinds, slopes)  # grad_z is z's buffer
    np.testing.assert_array_equal(over_z, apart)
    np.testing.assert_array_equal(slopes, apart_slopes)
    np.testing.assert_allclose(slopes[..., 0], np.where(z < 0, g * z, 0.0).sum(axis=2), rtol=1e-5)


def test_prelu_values_and_both_gradients_against_torch_where():
    rng = np.random.default_rng(3)
    z = torch.from_numpy(rng.normal(size=(3, 4, 37)).astype(np.float32)).requires_grad_()
    a = torch.from_numpy(rng.normal(0.2, 0.1, size=(3, 4, 1)).astype(np.float32)).requires_grad_()
    g = torch.from_numpy(rng.normal(size=(3, 4, 37)).astype(np.float32))
    kinds = np.full(3, activations.KERNEL_KINDS["prelu"], np.int32)
    h = fused.packed_activation(z, kinds, a)
    h.backward(g)
    z_ref = z.detach().double().requires_grad_()
    a_ref = a.detach().double().requires_grad_()
    ref = activations.prelu(z_ref, a_ref)
    ref.backward(g.double())
    torch.testing.assert_close(h.detach().double(), ref.detach(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(z.grad.double(), z_ref.grad, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(a.grad.double(), a_ref.grad, rtol=1e-5, atol=1e-6)  # a 37-term sum


PACKED = ["tanh", "relu", "elu", "softplus", "centred_softplus", "swish", "abs", "prelu", "sigmoid",
          "softsign", "leaky_relu", "linear"]


def _model(fused_activations: bool) -> SeedBatchedMLP:
    names = [a for a in PACKED for _ in range(2)]
    m = SeedBatchedMLP(5, (6, 4), 3, names, list(range(len(names))), fused_activations=fused_activations)
    with torch.no_grad():  # slopes away from 0, so prelu differs from relu
        for p in m.act_params:
            p.uniform_(0.05, 0.3, generator=torch.Generator().manual_seed(1))
    return m


def test_a_packed_model_gives_the_torch_paths_outputs_and_gradients():
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(50, 5)).astype(np.float32))
    grads, outputs = [], []
    for use in (True, False):
        m = _model(use)
        assert (m._kernel_kinds is not None) == use
        hidden, logits = m.forward_all(x)
        (logits.square().sum() + sum(h.sum() for h in hidden)).backward()
        outputs.append([*hidden, logits])
        grads.append([p.grad.clone() for p in m.parameters()])
    for a, b in zip(*outputs, strict=True):
        torch.testing.assert_close(a, b, rtol=2e-6, atol=2e-6)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_no_grad_computes_no_derivative_and_the_same_values(monkeypatch):
    m = _model(True)
    x = torch.ones(4, 5)
    with torch.no_grad():
        want = m.forward_all(x)[1]
    calls = []
    forward = _core.activations_forward

    def spy(z, h, derivative, *args):
        calls.append(derivative is None)
        return forward(z, h, derivative, *args)

    monkeypatch.setattr(_core, "activations_forward", spy)
    with torch.no_grad():
        got = m.forward_all(x)[1]
    assert calls == [True, True]  # both hidden layers, no derivative under no_grad
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    m.forward_all(x)
    assert calls[2:] == [False, False]


def test_a_double_backward_raises_instead_of_dropping_the_second_derivative():
    z = torch.randn(2, 3, 5, requires_grad=True)
    h = fused.packed_activation(z, np.array([1, 2], np.int32))
    with pytest.raises(RuntimeError, match="no second derivative"):  # create_graph asks for one
        torch.autograd.grad(h.sum(), z, create_graph=True)
    (g,) = torch.autograd.grad(fused.packed_activation(z, np.array([1, 2], np.int32)).sum(), z)
    assert g.grad_fn is None and torch.isfinite(g).all()


def test_which_models_take_the_compiled_pass():
    assert SeedBatchedMLP(3, (4,), 2, ["tanh", "relu"], [0, 1])._kernel_kinds is not None  # packed
    assert SeedBatchedMLP(3, (4,), 2, "prelu", [0])._kernel_kinds is not None  # parameters
    assert SeedBatchedMLP(3, (4,), 2, "tanh", [0, 1])._kernel_kinds is None  # one torch op already
    assert SeedBatchedMLP(3, (4,), 2, ["tanh", "relu"], [0, 1], fused_activations=False)._kernel_kinds is None


def test_an_activation_registered_anew_loses_its_kernel(monkeypatch):
    monkeypatch.setitem(activations._REGISTRY, "tanh", activations._REGISTRY["tanh"])
    activations.register("tanh", lambda t: 2.0 * torch.tanh(t), 1.0)
    assert activations.get("tanh").kernel is None
    m = SeedBatchedMLP(3, (4,), 2, ["tanh", "relu"], [0, 1])
    assert m._kernel_kinds is None  # the user's function runs, not the built-in kernel
    hidden, _ = m.forward_all(torch.ones(2, 3))
    z = torch.baddbmm(m.biases[0][:1], m.weights[0][:1], torch.ones(1, 3, 2))
    torch.testing.assert_close(hidden[0][0], (2.0 * torch.tanh(z[0])).T)


def test_a_cuda_or_float64_layer_keeps_torchs_functions():
    assert not fused.can_fuse(torch.zeros(2, 2, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="CPU float32"):
        fused.packed_activation(torch.zeros(1, 2, 2, dtype=torch.float64), np.array([1], np.int32))


def test_bad_kinds_and_shapes_are_value_errors():
    z = np.zeros((2, 3, 4), np.float32)
    h = np.empty_like(z)
    with pytest.raises(ValueError, match="unknown activation kind 12"):
        _core.activations_forward(z, h, None, np.array([1, 12], np.int32))
    with pytest.raises(ValueError, match="one kind per seed"):
        _core.activations_forward(z, h, None, np.array([1], np.int32))
    with pytest.raises(ValueError, match="prelu needs"):
        _core.activations_forward(z, h, None, np.array([11, 1], np.int32))
    with pytest.raises(ValueError, match="prelu needs"):
        _core.activations_backward(z, h, h, h.copy(), np.array([11, 1], np.int32))
    with pytest.raises(ValueError, match="shape of z"):
        _core.activations_forward(z, np.empty((2, 3, 5), np.float32), None, np.array([1, 1], np.int32))
    with pytest.raises(ValueError, match="derivative must have the shape of z"):
        _core.activations_forward(z, h, np.empty((2, 3, 5), np.float32), np.array([1, 1], np.int32))
    with pytest.raises(ValueError, match=r"params must be \(seeds, width"):
        _core.activations_forward(z, h, None, np.array([11, 1], np.int32), np.zeros((2, 3, 0), np.float32))
    with pytest.raises(TypeError):  # float64 is not silently converted
        _core.activations_forward(z.astype(np.float64), h, None, np.array([1, 1], np.int32))
    with pytest.raises(ValueError, match=r"z must be \(2, width, N\)"):
        fused.packed_activation(torch.zeros(3, 2, 2), np.array([1, 1], np.int32))


# The numbers ibfast/activations.hpp gives each kind: part of the compiled API, never renumbered.
PINNED_KINDS = {
    "linear": 0, "tanh": 1, "relu": 2, "elu": 3, "softplus": 4, "centred_softplus": 5, "softsign": 6,
    "leaky_relu": 7, "silu": 8, "sigmoid": 9, "abs": 10, "prelu": 11,
}


def test_the_activation_kinds_are_read_from_the_compiled_enum():
    kinds = _core.ActivationKind.__members__
    assert {name: int(kind) for name, kind in kinds.items()} == PINNED_KINDS
    for name, value in PINNED_KINDS.items():
        assert kinds[name].value == value and kinds[name].name == name
    # every kind the kernels accept is bound, and only those: one past the last is refused
    z = np.zeros((1, 1, 2), np.float32)
    _core.activations_forward(z, np.empty_like(z), None, np.array([max(PINNED_KINDS.values())], np.int32),
                              np.zeros((1, 1, 1), np.float32))
    with pytest.raises(ValueError, match="unknown activation kind"):
        _core.activations_forward(z, np.empty_like(z), None, np.array([len(kinds)], np.int32))
    # the registry's built-ins take their kind from the enum by name ("swish" is silu's other name)
    assert activations.KERNEL_KINDS == {**PINNED_KINDS, "swish": PINNED_KINDS["silu"]}
    for name, kind in activations.KERNEL_KINDS.items():
        assert activations.get(name).kernel == kind
    assert fused._PRELU == int(_core.ActivationKind.prelu) == 11
