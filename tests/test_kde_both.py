"""Both KDE bounds in one pass: the kernel for several alphas, each unordered pair once, and the
estimator-level ``estimate_together``. Everything here must give the numbers of
the separate single-alpha calls bit for bit on the CPU."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import activations, assert_binning_matches, assert_kde_matches, labels_for

import ibfast
from ibfast import _core, kernels, reference
from ibfast.demo import demo_layers
from ibfast.estimators.base import Estimator, estimate_together

# --------------------------------------------------------------------------------------------
# The kernel
# --------------------------------------------------------------------------------------------

# n around the 16-row padding and the 256-column tiles (one tile, a ragged last tile, several);
# d = 300 (narrower tiles: 96 columns), 2100 (16 columns).
SHAPES = [(1, 1), (16, 1), (15, 3), (17, 2), (255, 7), (256, 4), (257, 10), (513, 5), (1000, 33),
          (700, 300), (130, 2100)]
ALPHA_SETS = [(500.0, 125.0), (125.0, 500.0), (1e-3, 5e4, 1.0), (50.0,), (2.0, 2.0),
              (500.0, 125.0, 31.25, 2.0)]  # three alphas a sweep: four take a sweep of three and one


def _data(n, d, kind="gauss", seed=0, scale=0.1):
    rng = np.random.default_rng(seed + 7 * n + d)
    t = activations(kind, n, d, rng) * np.float32(scale)
    return np.ascontiguousarray(t, dtype=np.float32), labels_for("unbalanced", n, rng)


@pytest.mark.parametrize("alphas", ALPHA_SETS, ids=lambda a: "-".join(f"{v:g}" for v in a))
@pytest.mark.parametrize(("n", "d"), SHAPES)
@pytest.mark.parametrize("labels", [False, True])
def test_alphas_kernel_equals_single_alpha_bit_for_bit(n, d, alphas, labels):
    t, y = _data(n, d, "tanh_sat")
    g = y if labels else None
    many = kernels.kde_log_sum_exp_alphas(t, alphas, g)
    assert len(many) == len(alphas)
    for a, (lse_all, lse_within) in zip(alphas, many, strict=True):
        one_all, one_within = kernels.kde_log_sum_exp(t, a, g)
        np.testing.assert_array_equal(lse_all, one_all)
        if labels:
            np.testing.assert_array_equal(lse_within, one_within)
        else:
            assert lse_within is None and one_within is None


@pytest.mark.parametrize(("n", "d"), [(257, 10), (1000, 3), (700, 300), (4096, 2)])
@pytest.mark.parametrize("n_alphas", [1, 2, 3])
def test_symmetric_and_plain_visits_give_the_same_bits(n, d, n_alphas):
    # each unordered pair once (the default) and every ordered pair from its row: one summation order
    t, y = _data(n, d, "gauss", scale=0.05)
    g = y.astype(np.int32)
    alphas = [500.0, 125.0, 20.0][:n_alphas]
    sym = _core.kde_log_sum_exp_alphas(t, alphas, g, symmetric=True)
    plain = _core.kde_log_sum_exp_alphas(t, alphas, g, symmetric=False)
    for (sa, sw), (pa, pw) in zip(sym, plain, strict=True):
        np.testing.assert_array_equal(sa, pa)
        np.testing.assert_array_equal(sw, pw)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_many_matrices_in_one_call_equal_separate_calls_bit_for_bit(threads):
    # several matrices in one parallel region (their tile jobs interleaved, ordered by counters);
    # more threads than cores preempt jobs mid-way, which the ordering must survive. Repeated to
    # give a race a chance to show.
    rng = np.random.default_rng(11)
    shapes = [(300, 2100), (1000, 3), (513, 40), (17, 2), (4096, 2), (700, 300), (1, 1), (2000, 7)]
    xs = [(0.05 * rng.standard_normal(s)).astype(np.float32) for s in shapes]
    gs = [rng.integers(0, 3, s[0]).astype(np.int32) if k % 3 else None for k, s in enumerate(shapes)]
    alphas = [[500.0, 125.0], [2.0], [500.0, 125.0, 40.0], [1.0, 3.0], [125.0], [0.5, 0.25, 0.1, 0.05], [1.0],
              [500.0, 125.0]]
    want = [[_core.kde_log_sum_exp(x, a, g) for a in al] for x, g, al in zip(xs, gs, alphas, strict=True)]
    try:
        ibfast.set_num_threads(threads)
        for _ in range(3):
            for symmetric in (True, False):
                got = _core.kde_log_sum_exp_many(xs, alphas, gs, symmetric=symmetric)
                for w, g_ in zip(want, got, strict=True):
                    assert len(w) == len(g_)
                    for (wa, ww), (ga, gw) in zip(w, g_, strict=True):
                        np.testing.assert_array_equal(ga, wa)
                        if ww is None:
                            assert gw is None
                        else:
                            np.testing.assert_array_equal(gw, ww)
    finally:
        ibfast.set_num_threads(0)


def test_many_entry_point_checks_its_arguments():
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="one alpha list and one grouping per matrix"):
        _core.kde_log_sum_exp_many([x, x], [[1.0]], [None, None])
    with pytest.raises(ValueError, match="one entry per row"):
        _core.kde_log_sum_exp_many([x], [[1.0]], [np.zeros(3, np.int32)])
    assert _core.kde_log_sum_exp_many([], [], []) == []
    assert _core.kde_log_sum_exp_many([x], [[]], [None]) == [[]]


def test_alphas_kernel_thread_count_does_not_change_the_bits():
    t, y = _data(1500, 6, "gauss", scale=0.05)
    alphas = [500.0, 125.0]
    try:
        ibfast.set_num_threads(1)
        one = kernels.kde_log_sum_exp_alphas(t, alphas, y)
    finally:
        ibfast.set_num_threads(0)
    many = kernels.kde_log_sum_exp_alphas(t, alphas, y)
    for (oa, ow), (ma, mw) in zip(one, many, strict=True):
        np.testing.assert_array_equal(oa, ma)
        np.testing.assert_array_equal(ow, mw)


@pytest.mark.parametrize("kind", ["gauss", "relu", "tanh_sat", "few", "ints"])
@pytest.mark.parametrize(("n", "d"), [(3, 2), (257, 7), (600, 12)])
def test_alphas_kernel_matches_reference(n, d, kind):
    t, y = _data(n, d, kind)
    alphas = [1e-3, 50.0, 500.0, 5e4]
    for a, (lse_all, lse_within) in zip(alphas, kernels.kde_log_sum_exp_alphas(t, alphas, y), strict=True):
        ref_all, ref_within = reference.kde_log_sum_exp(t, a, y)
        np.testing.assert_allclose(lse_all, ref_all, rtol=1e-5, atol=2e-6)
        np.testing.assert_allclose(lse_within, ref_within, rtol=1e-5, atol=2e-6)


def test_alphas_limits_and_empty():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((300, 4)).astype(np.float32)
    g = rng.integers(0, 5, size=300)
    (tiny_all, tiny_within), (huge_all, huge_within) = kernels.kde_log_sum_exp_alphas(t, [1e-12, 1e12], g)
    np.testing.assert_allclose(tiny_all, math.log(300), rtol=1e-9)
    np.testing.assert_allclose(tiny_within, np.log(np.bincount(g)[g]), rtol=1e-9)
    np.testing.assert_array_equal(huge_all, 0.0)
    np.testing.assert_array_equal(huge_within, 0.0)
    assert kernels.kde_log_sum_exp_alphas(t, []) == []
    # d = 0 (the kernel's own case; the public API refuses empty matrices): every distance is 0
    for lse_all, lse_within in _core.kde_log_sum_exp_alphas(np.zeros((5, 0), np.float32), [1.0, 3.0],
                                                           np.zeros(5, np.int32)):
        np.testing.assert_allclose(lse_all, math.log(5), rtol=1e-15)
        np.testing.assert_allclose(lse_within, math.log(5), rtol=1e-15)
    with pytest.raises(ValueError, match="alpha"):
        kernels.kde_log_sum_exp_alphas(t, [1.0, -1.0])
    with pytest.raises(TypeError, match="sequence"):
        kernels.kde_log_sum_exp_alphas(t, 1.0)  # type: ignore[arg-type]


def test_many_matrices_with_several_alphas_each():
    # the dispatch takes one alpha or a list of alphas per matrix, mixed
    from ibfast._dispatch import kde_lse_many

    t1, _ = _data(300, 3, "gauss")
    t2, _ = _data(300, 8, "relu")
    out = kde_lse_many([t1, t2], [[500.0, 125.0], 7.0], [None, None])  # type: ignore[list-item]
    np.testing.assert_array_equal(out[0][1][0], kernels.kde_log_sum_exp(t1, 125.0)[0])
    np.testing.assert_array_equal(out[1][0], kernels.kde_log_sum_exp(t2, 7.0)[0])


# --------------------------------------------------------------------------------------------
# estimate_together
# --------------------------------------------------------------------------------------------


def _layers():
    """The demo net's six layers (widths 10, 7, 5, 4, 3, 2 over the 4096 12-bit inputs) and labels."""
    layers, y = demo_layers(0)
    return layers, y


def _mixed_layers():
    """Layers of different widths and value ranges over N = 700 samples."""
    rng = np.random.default_rng(5)
    kinds = [("tanh_sat", 9), ("relu", 4), ("gauss", 2), ("sigmoid", 6), ("few", 3)]
    return [activations(k, 700, d, rng) * np.float32(0.3) for k, d in kinds], rng.integers(0, 3, 700)


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x == y  # every float field bit for bit
        assert x.details == y.details


PAIRS = {
    "kde": (ibfast.KDE(), ibfast.KDE(bound="lower")),
    "kde-s2=0.1": (ibfast.KDE(0.1), ibfast.KDE(0.1, bound="lower", units="nats")),
    "adaptive-p1": (ibfast.AdaptiveKDE(), ibfast.AdaptiveKDE(bound="lower")),
    "adaptive-p2": (ibfast.AdaptiveKDE(0.05, power=2), ibfast.AdaptiveKDE(0.05, bound="lower", power=2)),
}


@pytest.mark.parametrize("pair", list(PAIRS), ids=list(PAIRS))
@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("data", ["demo", "mixed"])
def test_both_bounds_together_equal_the_separate_calls(pair, labels, data):
    layers, y = _layers() if data == "demo" else _mixed_layers()
    lab = y if labels else None
    upper, lower = PAIRS[pair]
    got_upper, got_lower = estimate_together([upper, lower], layers, lab)
    _same(got_upper, upper.many(layers, lab))
    _same(got_lower, lower.many(layers, lab))
    assert all(r.estimator.endswith("_upper") for r in got_upper)
    assert all(r.estimator.endswith("_lower") for r in got_lower)
    assert (got_upper[0].i_ty is None) == (not labels)


MIXED = [
    ibfast.EBAB(),
    ibfast.KDE(),
    ibfast.KDE(bound="lower"),
    ibfast.AdaptiveKDE(),
    ibfast.AdaptiveKDE(bound="lower"),
    ibfast.AdaptiveKDE(0.05, power=2),
    ibfast.FixedWidth(0.07),
    ibfast.AdaptiveKDE(0.05, bound="lower", power=2),
    ibfast.KDE(0.1, bound="lower"),  # another noise rule: a pass of its own
    ibfast.KDE(units="nats"),  # the same rule and bound as KDE(): one alpha serves both
]


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("data", ["demo", "mixed"])
def test_estimate_together_equals_many_for_each_estimator(labels, data):
    layers, y = _layers() if data == "demo" else _mixed_layers()
    lab = y if labels else None
    together = estimate_together(MIXED, layers, lab)
    assert len(together) == len(MIXED)
    for est, got in zip(MIXED, together, strict=True):
        _same(got, est.many(layers, lab))


def test_every_kde_rule_and_bound_shares_one_kernel_call(monkeypatch):
    """Fixed and adaptive noise, both bounds: one batched call per epoch, each layer's distinct
    alphas once (a repeated estimator adds none), the results those of the separate calls."""
    import ibfast.estimators.kde as kde_module

    layers, y = _layers()
    ests = [ibfast.KDE(), ibfast.AdaptiveKDE(), ibfast.KDE(bound="lower"), ibfast.KDE(), ibfast.EBAB()]
    calls = []
    real = kde_module.kde_lse_many

    def spy(xs, alphas, gids):
        calls.append([list(a) for a in alphas])
        return real(xs, alphas, gids)

    monkeypatch.setattr(kde_module, "kde_lse_many", spy)
    together = estimate_together(ests, layers, y)
    assert len(calls) == 1 and len(calls[0]) == len(layers)
    for x, alphas in zip(layers, calls[0], strict=True):
        s2_adaptive = 1e-3 * float(np.abs(x).max())
        want = list(dict.fromkeys([1 / (2 * 1e-3), 1 / (2 * s2_adaptive), 1 / (8 * 1e-3)]))
        np.testing.assert_allclose(alphas, want, rtol=1e-12)
    monkeypatch.setattr(kde_module, "kde_lse_many", real)
    for est, got in zip(ests, together, strict=True):
        _same(got, est.many(layers, y))


def test_a_kde_class_with_its_own_estimate_together_is_fused_through_it(monkeypatch):
    calls = []

    class Counted(ibfast.KDE):
        def _estimate_together(self, members, xs, groups):
            calls.append(len(members))
            return super()._estimate_together(members, xs, groups)

    layers, y = _layers()
    ests = [ibfast.KDE(), Counted(), Counted(bound="lower")]
    together = estimate_together(ests, layers, y)
    assert calls == [2]  # its own method, for its own kind; the plain KDE apart
    for est, got in zip(ests, together, strict=True):
        _same(got, est.many(layers, y))


def test_estimate_together_with_input_ids_and_torch_input():
    torch = pytest.importorskip("torch")
    layers, y = _mixed_layers()
    ids = np.arange(700) // 2
    ests = [ibfast.EBAB(), ibfast.KDE(0.01), ibfast.KDE(0.01, bound="lower")]
    tensors = [torch.from_numpy(t) for t in layers]
    together = estimate_together(ests, tensors, y, input_ids=ids)
    for est, got in zip(ests, together, strict=True):
        _same(got, est.many(layers, y, input_ids=ids))


def test_estimate_together_agrees_with_the_reference():
    layers, y = _mixed_layers()
    ests = [ibfast.EBAB(), ibfast.KDE(0.01), ibfast.KDE(0.01, bound="lower"), ibfast.AdaptiveKDE(),
            ibfast.AdaptiveKDE(bound="lower"), ibfast.AdaptiveKDE(0.05, power=2),
            ibfast.AdaptiveKDE(0.05, bound="lower", power=2)]
    refs = [
        lambda t: reference.ebab(t, y),
        lambda t: reference.kde(t, y, noise_variance=0.01),
        lambda t: reference.kde(t, y, noise_variance=0.01, bound="lower"),
        lambda t: reference.adaptive_kde(t, y),
        lambda t: reference.adaptive_kde(t, y, bound="lower"),
        lambda t: reference.adaptive_kde(t, y, scale=0.05, power=2),
        lambda t: reference.adaptive_kde(t, y, scale=0.05, bound="lower", power=2),
    ]
    together = estimate_together(ests, layers, y)
    for est, ref, results in zip(ests, refs, together, strict=True):
        for t, r in zip(layers, results, strict=True):
            if est.name == "ebab":
                assert_binning_matches(r, ref(t), context=est.name)
            else:
                assert_kde_matches(r, ref(t), context=f"{est!r} d={t.shape[1]}")


def test_the_bounds_are_ordered():
    # the Bhattacharyya bound is the lower one: I_lower <= I_upper, layer by layer
    layers, y = _layers()
    upper, lower = estimate_together([ibfast.KDE(), ibfast.KDE(bound="lower")], layers, y)
    for u, lo in zip(upper, lower, strict=True):
        assert lo.i_xt <= u.i_xt + 1e-12
        assert lo.h_t <= u.h_t + 1e-12


def test_estimate_together_edge_cases():
    layers, y = _mixed_layers()
    assert estimate_together([], layers, y) == []
    assert estimate_together([ibfast.KDE(), ibfast.EBAB()], [], y) == [[], []]
    # one layer; the same estimator object twice
    kde = ibfast.KDE(0.01)
    a, b = estimate_together([kde, kde], layers[:1], y)
    _same(a, kde.many(layers[:1], y))
    _same(b, a)


class _CountingKDE(ibfast.KDE):
    """A KDE that overrides ``many``: many_together must go through it."""

    calls = 0

    def many(self, Ts, labels=None, *, input_ids=None, device="auto"):
        type(self).calls += 1
        return super().many(Ts, labels, input_ids=input_ids, device=device)


class _Constant(Estimator):
    """A user's estimator with no fusion key: computed on its own."""

    name = "constant"

    def params(self):
        return {"units": self.units}

    def _estimate(self, xs, groups):
        return [self._result(x.shape[0], i_xt=0.5, h_t=1.0, h_t_given_x=0.5) for x in xs]


class _HalvedKDE(ibfast.KDE):
    """A KDE subclass with its own ``_estimate``: never fused, always its own numbers."""

    def _estimate(self, xs, groups):
        return [dataclasses.replace(r, i_xt=r.i_xt / 2) for r in super()._estimate(xs, groups)]


def test_estimate_together_respects_user_estimators():
    layers, y = _mixed_layers()
    counting = _CountingKDE(0.01)
    ests = [counting, ibfast.KDE(0.01, bound="lower"), _Constant(), _HalvedKDE(0.01, bound="lower")]
    _CountingKDE.calls = 0
    together = estimate_together(ests, layers, y)
    assert _CountingKDE.calls == 1
    for est, got in zip(ests, together, strict=True):
        _same(got, est.many(layers, y))
    assert together[3][0].i_xt == pytest.approx(together[1][0].i_xt / 2, rel=1e-15)


# ---- the custom_many hook ----------------------------------------------------------------------


class _LoggedKDE(ibfast.KDE):
    """Overrides ``many`` only to log, and says so: its numbers are the KDE's, so it stays fused."""

    custom_many = False
    logged = 0

    def many(self, Ts, labels=None, *, input_ids=None, device="auto"):
        type(self).logged += 1
        return super().many(Ts, labels, input_ids=input_ids, device=device)


class _CountingKDEChild(_CountingKDE):
    """Inherits an overridden ``many``: still called through it."""


def test_custom_many_is_set_for_a_class_that_writes_many():
    assert Estimator.custom_many is False
    assert ibfast.KDE.custom_many is False and ibfast.EBAB.custom_many is False
    assert _CountingKDE.custom_many is True  # wrote many, said nothing: called through it
    assert _CountingKDEChild.custom_many is True  # inherited
    assert _LoggedKDE.custom_many is False  # said explicitly


def test_estimate_together_calls_many_exactly_when_custom_many_says(monkeypatch):
    import ibfast.estimators.kde as kde_module

    layers, y = _mixed_layers()
    batched = []
    real = kde_module.kde_lse_many

    def spy(xs, alphas, gids):
        batched.append([list(a) for a in alphas])
        return real(xs, alphas, gids)

    monkeypatch.setattr(kde_module, "kde_lse_many", spy)
    _CountingKDE.calls = _CountingKDEChild.calls = _LoggedKDE.logged = 0
    ests = [ibfast.KDE(0.01), _LoggedKDE(0.01, bound="lower"), _CountingKDEChild(0.02)]
    together = estimate_together(ests, layers, y)
    assert _LoggedKDE.logged == 0  # computed in the shared call, not through its many
    assert _CountingKDEChild.calls == 1  # through its own many: a kernel call of its own
    # two kernel calls: the child's own (one alpha per layer), and KDE with _LoggedKDE (two)
    assert sorted({len(alphas) for alphas in call} for call in batched) == [{1}, {2}]
    monkeypatch.setattr(kde_module, "kde_lse_many", real)
    for est, got in zip(ests, together, strict=True):
        _same(got, est.many(layers, y))


def test_a_user_estimator_with_its_own_many_is_called_through_it():
    class Shifted(_Constant):
        """Its many changes the numbers: estimate_together must return exactly what many does."""

        def many(self, Ts, labels=None, *, input_ids=None, device="auto"):
            return [dataclasses.replace(r, i_xt=r.i_xt + 1.0)
                    for r in super().many(Ts, labels, input_ids=input_ids, device=device)]

    layers, y = _mixed_layers()
    got = estimate_together([Shifted(), _Constant()], layers, y)
    plain = [r.i_xt for r in _Constant().many(layers, y)]
    assert [r.i_xt for r in got[1]] == plain
    assert [r.i_xt for r in got[0]] == [v + 1.0 for v in plain]


def test_estimate_together_rejects_non_estimators():
    with pytest.raises(TypeError, match=r"estimators\[1\]"):
        estimate_together([ibfast.KDE(), "kde_lower"], [np.zeros((4, 2), np.float32)])  # type: ignore[list-item]


# ---- the deprecated names ----------------------------------------------------------------------


def test_many_together_is_a_deprecated_estimate_together():
    from ibfast.estimators.base import many_together

    layers, y = _mixed_layers()
    ests = [ibfast.EBAB(), ibfast.KDE(0.01), ibfast.KDE(0.01, bound="lower")]
    with pytest.warns(DeprecationWarning, match="many_together is deprecated; use ibfast.estimate_together"):
        old = many_together(ests, layers, y, input_ids=np.arange(700))
    for got, want in zip(old, estimate_together(ests, layers, y, input_ids=np.arange(700)), strict=True):
        _same(got, want)
    assert ibfast.many_together is many_together
    assert ibfast.estimators.kde.many_together is many_together


def test_estimate_bounds_is_a_deprecated_estimate_together_of_a_pair():
    layers, y = _mixed_layers()
    upper, lower = PAIRS["adaptive-p2"]
    deprecated = r"estimate_bounds is deprecated; use ibfast\.estimate_together"
    with pytest.warns(DeprecationWarning, match=deprecated):
        got = ibfast.estimate_bounds(upper, lower, layers, y)
    assert isinstance(got, tuple) and len(got) == 2
    for g, w in zip(got, estimate_together([upper, lower], layers, y), strict=True):
        _same(g, w)


def test_estimate_bounds_keeps_its_checks():
    layers, _ = _mixed_layers()
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="same noise rule"):
        ibfast.estimate_bounds(ibfast.KDE(0.01), _HalvedKDE(0.01, bound="lower"), layers)


@pytest.mark.parametrize(
    ("upper", "lower", "match"),
    [
        (ibfast.KDE(), ibfast.KDE(), "lower must have bound='lower'"),
        (ibfast.KDE(bound="lower"), ibfast.KDE(bound="lower"), "upper must have bound='upper'"),
        (ibfast.KDE(bound="lower"), ibfast.KDE(), "upper must have bound='upper'"),
        (ibfast.KDE(1e-3), ibfast.KDE(1e-2, bound="lower"), "same noise rule"),
        (ibfast.KDE(), ibfast.AdaptiveKDE(bound="lower"), "same noise rule"),
        (ibfast.AdaptiveKDE(), ibfast.AdaptiveKDE(bound="lower", power=2), "same noise rule"),
        (ibfast.AdaptiveKDE(1e-3), ibfast.AdaptiveKDE(2e-3, bound="lower"), "same noise rule"),
    ],
)
def test_estimate_bounds_rejects_mismatched_pairs(upper, lower, match):
    T = np.zeros((10, 2), np.float32)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=match):
        ibfast.estimate_bounds(upper, lower, [T])


def test_estimate_bounds_rejects_non_kde_estimators():
    T = np.zeros((10, 2), np.float32)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="upper must be a KDE estimator"):
        ibfast.estimate_bounds(ibfast.EBAB(), ibfast.KDE(bound="lower"), [T])  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="lower must be a KDE estimator"):
        ibfast.estimate_bounds(ibfast.KDE(), "kde_lower", [T])  # type: ignore[arg-type]


def test_kde_log_sum_exp_multi_is_a_deprecated_kde_log_sum_exp_alphas():
    t, y = _data(300, 4)
    with pytest.warns(DeprecationWarning, match="use ibfast.kernels.kde_log_sum_exp_alphas"):
        old = kernels.kde_log_sum_exp_multi(t, [500.0, 125.0], y)
    for (oa, ow), (na, nw) in zip(old, kernels.kde_log_sum_exp_alphas(t, [500.0, 125.0], y), strict=True):
        np.testing.assert_array_equal(oa, na)
        np.testing.assert_array_equal(ow, nw)
    assert "kde_log_sum_exp_multi" not in kernels.__all__


def test_exports():
    assert ibfast.estimate_together is estimate_together
    assert ibfast.estimators.kde.estimate_together is estimate_together
